import Testing
@testable import TailorSwift

/// Fixed-point inference against hand-computed cases and the types hls4ml 1.3.0 itself resolves
/// (python/tests/test_fixed_hls4ml.py compares whole networks with hls4ml's C simulation).
@Suite struct FixedPointInferenceTests {
    // swift-format-ignore: NeverUseForceTry
    func type(_ s: String) -> FixedPointType { try! FixedPointType(parsing: s) }

    func precision(_ json: String, _ net: Network) throws -> NetworkPrecision {
        try NetworkPrecision(hls4mlConfig: try JSON.parse(json), network: net)
    }

    /// ResNet-8 with hls4ml's "name" defaults (conv/dense accum and result "auto"): the types
    /// hls4ml 1.3.0 printed for the same network (`hm.get_layers()`, PyTorch front end).
    @Test func resnet8TypesAreHls4mlsInferredOnes() throws {
        let net = try Zoo.build("resnet8")
        var layers: [String] = []
        for n in net.nodes {
            switch n.op {
            case .conv2d, .dense: layers.append("\"\(n.name)\": {\"Precision\": {\"accum\": \"auto\", \"result\": \"auto\"}}")
            case .add: layers.append("\"\(n.name)\": {\"Precision\": {\"result\": \"auto\"}}")
            case .globalAvgPool: layers.append("\"\(n.name)\": {\"Precision\": \"auto\"}")
            default: break
            }
        }
        net.precision = try precision("{\"Model\": {\"Precision\": \"ap_fixed<16,6>\"}, \"LayerName\": {\(layers.joined(separator: ","))}}", net)
        let p = try FixedPointProgram(net)
        var result: [String: String] = [:]
        for s in p.steps { result[s.node] = p.values[s.output].type.description }
        let hls4ml = ["conv1": "ap_fixed<38,18>", "relu": "ap_fixed<16,6>", "layer1.0.conv1": "ap_fixed<41,21>",
                      "layer1.0.conv2": "ap_fixed<41,21>", "layer1.0.add": "ap_fixed<42,22>", "layer2.0.conv1": "ap_fixed<41,21>",
                      "layer2.0.conv2": "ap_fixed<42,22>", "layer2.0.downsample.0": "ap_fixed<37,17>", "layer2.0.add": "ap_fixed<43,23>",
                      "layer3.0.conv1": "ap_fixed<42,22>", "layer3.0.conv2": "ap_fixed<43,23>", "layer3.0.downsample.0": "ap_fixed<38,18>",
                      "layer3.0.add": "ap_fixed<44,24>", "avgpool": "ap_fixed<16,6>", "fc": "ap_fixed<39,19>"]
        for (node, t) in hls4ml { #expect(result[node] == t, "\(node)") }
        // Each batch norm folds into its conv (the conv's result is "auto"), sharing its value.
        #expect(result["bn1"] == "ap_fixed<38,18>")
        let pool = p.steps.first { $0.node == "avgpool" }!
        if case .averagePool(_, let accum) = pool.kind { #expect(accum == type("ap_fixed<28,12>")) } else { Issue.record("avgpool") }
        // Without "auto", a role takes the model default: nothing folds, accumulators are 16-bit.
        net.precision = NetworkPrecision(model: type("ap_fixed<16,6>"))
        let plain = try FixedPointProgram(net)
        #expect(plain.steps.contains { if case .scale = $0.kind { true } else { false } })
        #expect(plain.values.allSatisfy { $0.type == type("ap_fixed<16,6>") })
    }

    /// input(3) -> dense(1): the accumulator saturates after every addition, in hls4ml's order.
    @Test func saturatingAccumulatorFollowsLatencyOrder() throws {
        let net = Network()
        _ = try net.add("x", .input(Shape(3, 1, 1)))
        _ = try net.add("fc", .dense(DenseAttrs(outFeatures: 1)), inputs: ["x"])
        try net.setParameter("fc.weight", shape: [1, 3], data: [1, 1, 1])
        try net.setParameter("fc.bias", shape: [1], data: [0])
        net.precision = try precision("""
            {"Model": {"Precision": "ap_fixed<8,4>"},
             "LayerName": {"fc": {"Precision": {"accum": "ap_fixed<4,3,AP_TRN,AP_SAT>", "result": "ap_fixed<8,4>"}}}}
            """, net)
        let x: [Double] = [3, 3, -3]
        let r = try x.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) }
        // 0 -> 3 -> min(6, 3.5) = 3.5 -> 0.5; the exact sum would be 3.
        #expect(r.outputs == [0.5])
        #expect(r.overflows == ["fc.accum": 1])
        // An exact ("auto") accumulator gives the exact sum.
        net.precision = try precision(#"{"Model": {"Precision": "ap_fixed<8,4>"}, "LayerName": {"fc": {"Precision": {"accum": "auto", "result": "auto"}}}}"#, net)
        let exact = try x.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) }
        #expect(exact.outputs == [3] && exact.overflows.isEmpty)
    }

    /// An average divides the mantissa by N truncating toward zero (C++ integer division), and
    /// sums as a balanced tree with a conversion at every node.
    @Test func averageTruncatesTowardZero() throws {
        let net = Network()
        _ = try net.add("x", .input(Shape(1, 1, 3)))
        _ = try net.add("gap", .globalAvgPool, inputs: ["x"])
        net.precision = try precision(#"{"Model": {"Precision": "ap_fixed<8,4>"}, "LayerName": {"gap": {"Precision": {"accum": "ap_fixed<8,4>"}}}}"#, net)
        let x: [Double] = [-1.0 / 16, 0, 0]
        let r = try x.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) }
        #expect(r.outputs == [0])               // trunc(-1 / 3) = 0; a floor would give -1/16
        let y: [Double] = [-4.0 / 16, 0, 0]
        #expect(try y.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) }.outputs == [-1.0 / 16])
        // Three leaves split 2 + 1, with a saturating 4-bit accumulator: (7 + 7 -> 7) + (-8) = -1
        // (the exact sum is 6).
        var counter = FixedPointInference.Counter()
        let sat4 = type("ap_fixed<4,4,AP_TRN,AP_SAT>")
        #expect(FixedPointInference.Run.treeSum([7, 7, -8], sat4, &counter) == -1 && counter.count == 1)
        // Five leaves split 4 + 1: ((7 + 7) + (-8 + -8)) + 7 = (7 + -8) + 7 = 6.
        #expect(FixedPointInference.Run.treeSum([7, 7, -8, -8, 7], sat4, &counter) == 6)
    }

    /// hls4ml writes a weight as decimal text with F digits and reads it back: a weight just below
    /// a grid point lands on it.
    @Test func weightsGoThroughHls4mlsText() throws {
        let t = type("ap_fixed<8,5>")                      // F = 3: grid 0.125, three decimals
        #expect(t.quantize(Double(Float(0.1249))).mantissa == 0)
        #expect(WeightText.mantissa(of: 0.1249, in: t).mantissa == 1)   // "0.125"
        #expect(WeightText.mantissa(of: -0.1249, in: t).mantissa == -1)  // "-0.125" (a floor gives -1 too)
        #expect(WeightText.mantissa(of: 0.1244, in: t).mantissa == 0)   // "0.124"
        #expect(WeightText.readBack(2.5, digits: 0) == 2)                  // ties to even, as Python formats
    }

    /// An explicit accum and result stand even where hls4ml's inferred type would pass 64 bits;
    /// a type whose mantissas do not fit 64 bits is refused wherever it is used, weights included.
    @Test func wideTypesAreTakenOrRefusedNeverTrapped() throws {
        let net = Network()
        _ = try net.add("x", .input(Shape(2, 1, 1)))
        _ = try net.add("fc", .dense(DenseAttrs(outFeatures: 1)), inputs: ["x"])
        try net.setParameter("fc.weight", shape: [1, 2], data: [1, 1])
        try net.setParameter("fc.bias", shape: [1], data: [1e18])
        let x: [Double] = [1, 2]
        net.precision = try precision(#"{"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"fc": {"Precision": {"bias": "ap_fixed<64,62>", "accum": "ap_fixed<64,62>", "result": "ap_fixed<64,62>"}}}}"#, net)
        let r = try x.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) }
        #expect(r.outputs == [Double(Float(1e18)) + 3] && r.overflows.isEmpty)
        net.precision = try precision(#"{"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"fc": {"Precision": {"bias": "ap_ufixed<64,62>", "accum": "ap_fixed<64,62>", "result": "ap_fixed<64,62>"}}}}"#, net)
        #expect(throws: TailorError.self) { try x.withUnsafeBufferPointer { try FixedPointInference.predict(net, input: $0, count: 1) } }
    }

    @Test func refusesWhatHls4mlCannotStream() throws {
        let net = try Zoo.build("resnet18")
        net.precision = NetworkPrecision(model: type("ap_fixed<16,6>"))
        #expect(throws: TailorError.self) { try FixedPointProgram(net, quantizingWeights: false) }
        let none = try Zoo.build("resnet8")
        let x = [Double](repeating: 0, count: 3 * 32 * 32)
        #expect(throws: TailorError.self) { try x.withUnsafeBufferPointer { try FixedPointInference.predict(none, input: $0, count: 1) } }
    }
}

/// The exact fast path (planes, any order) against hls4ml's one-addition-at-a-time order, on
/// convs whose windows leave the image in every way (stride, padding, a map smaller than the kernel).
@Suite struct FixedMultiplyPathTests {
    @Test(arguments: [(3, 1, 1, 5, 5), (3, 2, 1, 6, 5), (3, 1, 1, 1, 1), (3, 2, 1, 1, 2), (1, 2, 0, 7, 4), (5, 3, 2, 4, 9), (3, 1, 0, 3, 3)])
    func planesEqualTheOrderedSum(_ k: Int, _ s: Int, _ p: Int, _ h: Int, _ w: Int) throws {
        var rng = SplitMix64(seed: UInt64(k * 100 + s * 10 + p + h * 1000 + w * 10000))
        let (c, f) = (3, 4)
        let xType = try FixedPointType(parsing: "ap_fixed<8,3>"), wType = try FixedPointType(parsing: "ap_fixed<6,2>")
        let bType = try FixedPointType(parsing: "ap_fixed<10,4>"), accum = try FixedPointType(parsing: "ap_fixed<40,20>")
        let result = try FixedPointType(parsing: "ap_fixed<8,1,AP_RND,AP_SAT>")
        let weights = (0..<(f * c * k * k)).map { _ in Int64(Int(rng.nextUnit() * 64) - 32) }
        let bias = (0..<f).map { _ in Int64(Int(rng.nextUnit() * 1024) - 512) }
        let m = FixedPointProgram.Multiply(outChannels: f, kernel: k, stride: s, padding: p, weights: weights, weightType: wType,
                                           bias: bias, biasType: bType, accum: accum)
        let out = Shape(f, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
        let layer = FixedMultiply(m, dense: false, input: Shape(c, h, w), inputType: xType, output: out, result: result)
        #expect(layer.exact)
        let x = (0..<(c * h * w)).map { _ in Int64(Int(rng.nextUnit() * 256) - 128) }
        var fast = [Int64](repeating: 0, count: out.count), ordered = fast
        var r1 = FixedPointInference.Counter(), r2 = FixedPointInference.Counter(), a = FixedPointInference.Counter()
        x.withUnsafeBufferPointer { xs in
            layer.runExact(xs, into: &fast, results: &r1)
            layer.runInOrder(xs, into: &ordered, results: &r2, accum: &a)
        }
        #expect(fast == ordered && r1.count == r2.count && a.count == 0)
        #expect(r1.count > 0)   // some sums saturate the 8-bit result: the comparison covers overflow too
    }
}
