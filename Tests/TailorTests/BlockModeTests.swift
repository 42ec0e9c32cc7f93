import Testing
@testable import TailorSwift

@Suite struct BlockModeTests {
    @Test func removedBasicBlockHasNoSkipNodes() throws {
        let net = try Zoo.build("resnet8")
        try net.setMode(block: 1, .removed)
        #expect(net.node(named: "layer2.0.add") == nil)
        #expect(net.node(named: "layer2.0.downsample.0") == nil)
        #expect(net.params["layer2.0.downsample.0.weight"] == nil)
        #expect(net.node(named: "layer2.0.relu")?.inputs == ["layer2.0.bn2"])
        #expect(net.skips[1].mode == .removed && net.skips[1].join == nil)
    }

    @Test func shortBasicBlockMovesProjectionOntoFirstSkip() throws {
        let net = try Zoo.build("resnet8")
        try net.setMode(block: 1, .short)
        // h = ReLU(BN1(conv1 x) + P(x)); out = ReLU(BN2(conv2 h) + h)
        #expect(net.node(named: "layer2.0.add1")?.inputs == ["layer2.0.bn1", "layer2.0.downsample.1"])
        #expect(net.node(named: "layer2.0.relu1")?.inputs == ["layer2.0.add1"])
        #expect(net.node(named: "layer2.0.add2")?.inputs == ["layer2.0.bn2", "layer2.0.relu1"])
        #expect(net.node(named: "layer2.0.relu")?.inputs == ["layer2.0.add2"])
        let s = net.skips.filter { $0.blockIndex == 1 }
        #expect(s.map(\.source) == ["layer1.0.relu", "layer2.0.relu1"])
        #expect(s.map(\.projection) == ["layer2.0.downsample", nil])
        #expect(s.map(\.shape) == [Shape(16, 32, 32), Shape(32, 16, 16)])
    }

    @Test func shortBottleneckAddsProjectionsWhereShapesChange() throws {
        var o = Zoo.Options(); o.input = Shape(3, 64, 64)
        let net = try Zoo.build("resnet50", o)
        let b = net.blocks.firstIndex { $0.name == "layer2.0" }!
        try net.setMode(block: b, .short)
        // conv1 1×1 256→128: projection; conv2 3×3/2 128→128: strided projection; conv3 1×1 128→512: projection.
        #expect(try net.parameter("layer2.0.downsample1.0.weight").shape == [128, 256, 1, 1])
        #expect(try net.parameter("layer2.0.downsample2.0.weight").shape == [128, 128, 1, 1])
        if case .conv2d(let a)? = net.node(named: "layer2.0.downsample2.0")?.op { #expect(a.stride == 2) } else { Issue.record("no downsample2 conv") }
        #expect(try net.parameter("layer2.0.downsample3.0.weight").shape == [512, 128, 1, 1])
        #expect(net.params["layer2.0.downsample.0.weight"] == nil)
        #expect(net.skips.filter { $0.blockIndex == b }.count == 3)
        // layer1.1: 256→64 needs a projection, 64→64 none, 64→256 one.
        let b2 = net.blocks.firstIndex { $0.name == "layer1.1" }!
        try net.setMode(block: b2, .short)
        #expect(net.params["layer1.1.downsample1.0.weight"] != nil)
        #expect(net.params["layer1.1.downsample2.0.weight"] == nil)
        #expect(net.params["layer1.1.downsample3.0.weight"] != nil)
    }

    @Test func switchingBackRestoresExactParameters() throws {
        let net = try Zoo.build("resnet20")
        let before = net.params
        let namesBefore = net.parameterNames
        for i in net.blocks.indices { try net.setMode(block: i, .removed) }
        for i in net.blocks.indices { try net.setMode(block: i, .short) }
        for i in net.blocks.indices { try net.setMode(block: i, .long) }
        let restored = net.params == before
        #expect(restored, "parameters differ after switching back")
        #expect(net.parameterNames == namesBefore)
    }

    @Test func outOfRangeBlockIsAnError() throws {
        let net = try Zoo.build("resnet8")
        #expect(throws: TailorError.self) { try net.setMode(block: 3, .removed) }
        #expect(throws: TailorError.self) { try net.setMode(block: -1, .removed) }
    }

    @Test func handBuiltBlockIsDetected() throws {
        let net = Network()
        try net.add("x", .input(Shape(8, 8, 8)))
        try net.add("c1", .conv2d(Conv2dAttrs(outChannels: 8, kernel: 3, padding: 1)), inputs: ["x"])
        try net.add("b1", .batchnorm(BatchNormAttrs()), inputs: ["c1"])
        try net.add("r1", .relu, inputs: ["b1"])
        try net.add("c2", .conv2d(Conv2dAttrs(outChannels: 8, kernel: 3, padding: 1)), inputs: ["r1"])
        try net.add("b2", .batchnorm(BatchNormAttrs()), inputs: ["c2"])
        try net.add("sum", .add, inputs: ["x", "b2"])
        try net.add("out", .relu, inputs: ["sum"])
        #expect(net.blocks.count == 1)
        #expect(net.blocks[0].entry == "x" && net.blocks[0].kind == .basic && net.blocks[0].name == "block0")
        // A later reader of an inner node dissolves the block (it is no longer self-contained).
        try net.add("peek", .relu, inputs: ["r1"])
        #expect(net.blocks.isEmpty)
    }

    @Test func wiringErrorsAreClear() throws {
        let net = Network()
        #expect(throws: TailorError.self) { try net.add("c", .relu, inputs: ["x"]) }   // no input node yet
        try net.add("x", .input(Shape(3, 8, 8)))
        #expect(throws: TailorError.self) { try net.add("x", .relu, inputs: ["x"]) }   // duplicate name
        #expect(throws: TailorError.self) { try net.add("c", .relu, inputs: ["nope"]) }
        #expect(throws: TailorError.self) { try net.add("bad name", .relu, inputs: ["x"]) }
        try net.add("c", .conv2d(Conv2dAttrs(outChannels: 4, kernel: 3)), inputs: ["x"])
        #expect(throws: TailorError.self) { try net.add("s", .add, inputs: ["x", "c"]) }  // 3×8×8 + 4×6×6
        #expect(throws: TailorError.self) { try net.add("d", .dense(DenseAttrs(outFeatures: 2)), inputs: ["c"]) }
        #expect(throws: TailorError.self) { try net.add("k", .conv2d(Conv2dAttrs(outChannels: 4, kernel: 9)), inputs: ["c"]) }
        #expect(net.nodes.count == 2)
    }

    @Test func setParameterValidates() throws {
        let net = try Zoo.build("resnet8")
        #expect(throws: TailorError.self) { try net.setParameter("conv1.weight", shape: [16, 3, 3], data: [Float](repeating: 0, count: 144)) }
        #expect(throws: TailorError.self) { try net.setParameter("conv1.weight", shape: [16, 3, 3, 3], data: [Float](repeating: .nan, count: 432)) }
        #expect(throws: TailorError.self) { try net.setParameter("bn1.num_batches_tracked", shape: [], data: [-1]) }
        #expect(throws: TailorError.self) { try net.setParameter("nope", shape: [], data: [0]) }
        try net.setParameter("bn1.num_batches_tracked", shape: [], data: [5])
        #expect(try net.parameter("bn1.num_batches_tracked").data == [5])
    }
}
