import Testing
@testable import TailorSwift

@Suite struct ZooTests {
    @Test func resnet8Structure() throws {
        let net = try Zoo.build("resnet8")
        #expect(net.blocks.map(\.name) == ["layer1.0", "layer2.0", "layer3.0"])
        #expect(net.blocks.map { $0.projection != nil } == [false, true, true])
        #expect(net.blocks.allSatisfy { $0.kind == .basic && $0.mode == .long })
        #expect(net.outputNode?.shape == Shape(10, 1, 1))
        // Stem 16·3·3·3, BN(16); layer1: 2 convs 16·16·9; layer2: 32·16·9 + 32·32·9 + proj 32·16;
        // layer3: 64·32·9 + 64·64·9 + proj 64·32; fc 64·10 + 10 — the MLPerf Tiny ResNet-8 weights.
        let weights = net.params.filter { $0.key.hasSuffix("weight") && !$0.key.contains("bn") && !$0.key.contains("downsample.1") }
            .map(\.value.count).reduce(0, +)
        #expect(weights == 432 + 2 * 2304 + 4608 + 9216 + 512 + 18432 + 36864 + 2048 + 640)
    }

    @Test(arguments: [("resnet20", 9), ("resnet32", 15), ("resnet44", 21), ("resnet56", 27), ("resnet110", 54),
                      ("resnet18", 8), ("resnet34", 16), ("resnet50", 16)])
    func blockCounts(name: String, blocks: Int) throws {
        let net = try Zoo.build(name)
        #expect(net.blocks.count == blocks)
        #expect(net.skips.count == blocks)
    }

    @Test func resnet50IsBottleneckWithTorchvisionNames() throws {
        let net = try Zoo.build("resnet50", { var o = Zoo.Options(); o.numClasses = 1000; return o }())
        #expect(net.blocks.allSatisfy { $0.kind == .bottleneck })
        #expect(try net.parameter("layer1.0.downsample.0.weight").shape == [256, 64, 1, 1])
        #expect(try net.parameter("layer4.2.conv3.weight").shape == [2048, 512, 1, 1])
        #expect(try net.parameter("fc.weight").shape == [1000, 2048])
        #expect(net.parameterNames.count == 320)   // torchvision resnet50().state_dict() has 320 entries
    }

    @Test func configurableInputAndClasses() throws {
        var o = Zoo.Options(); o.numClasses = 7; o.input = Shape(1, 28, 28)
        let net = try Zoo.build("resnet8", o)
        #expect(net.inputShape == Shape(1, 28, 28))
        #expect(try net.parameter("conv1.weight").shape == [16, 1, 3, 3])
        #expect(try net.parameter("fc.bias").shape == [7])
    }

    @Test func unknownNameIsAClearError() {
        #expect(throws: TailorError.self) { try Zoo.build("resnet9") }
        do { _ = try Zoo.build("resnet9") } catch let e as TailorError {
            #expect(e.code == .notFound && e.message.contains("resnet9") && e.message.contains("resnet8"))
        } catch {}
    }

    @Test func emptyInputIsAnError() {
        var o = Zoo.Options(); o.input = Shape(3, 0, 32)
        #expect(throws: TailorError.self) { try Zoo.build("resnet8", o) }
    }
}
