import Testing
@testable import TailorSwift

/// Quantisation-aware training's float quantiser against the exact one, and its gradients.
@Suite struct QuantizationAwareTests {
    /// Every rounding and overflow mode, on ties, grid points, near-range values and far-out ones:
    /// the fast Double path gives exactly what the exact Int128 path gives.
    @Test func fakeQuantizerEqualsTheExactConversion() throws {
        var rng = SplitMix64(seed: 7)
        for spelling in ["ap_fixed<8,3>", "ap_fixed<16,6>", "ap_ufixed<8,3>", "ap_fixed<6,8>", "ap_fixed<4,-2>", "ap_fixed<24,10>", "ap_fixed<60,20>"] {
            let base = try FixedPointType(parsing: spelling)
            for q in FixedPointType.Rounding.allCases {
                for o in FixedPointType.Overflow.allCases {
                    let t = try FixedPointType(width: base.width, integerBits: base.integerBits, signed: base.signed, rounding: q, overflow: o)
                    let f = FakeQuantizer(t)
                    let grid = Float(t.value(ofMantissa: 1))
                    var values: [Float] = [0, -0.0, 1e-30, -1e-30, 3e38, -3e38]
                    for k in -40...40 { values.append(Float(k) * grid / 2); values.append(Float(k) * grid / 2 + grid / 8) }
                    let range = Float(t.value(ofMantissa: t.mantissaRange.hi))
                    for _ in 0..<400 { values.append((rng.nextUnit() * 2 - 1) * range * 3) }
                    for v in values {
                        let exact = t.quantize(Double(v))
                        let (value, inRange) = f.apply(v)
                        #expect(value == Float(t.value(ofMantissa: exact.mantissa)) && inRange == !exact.overflowed, "\(t) \(v)")
                    }
                    var buffer = values, mask = [UInt8](repeating: 9, count: values.count)
                    buffer.withUnsafeMutableBufferPointer { b in mask.withUnsafeMutableBufferPointer { m in f.apply(b.baseAddress!, count: b.count, mask: m.baseAddress) } }
                    for (i, v) in values.enumerated() {
                        #expect(buffer[i] == f.apply(v).value && (mask[i] == 1) == f.apply(v).inRange)
                    }
                }
            }
        }
    }

    /// A saturated activation passes no gradient to the layer before it; in float it does.
    @Test func clippedActivationsStopTheGradient() throws {
        let net = Network()
        _ = try net.add("x", .input(Shape(2, 1, 1)))
        _ = try net.add("flat", .flatten, inputs: ["x"])
        _ = try net.add("fc1", .dense(DenseAttrs(outFeatures: 2)), inputs: ["flat"])
        _ = try net.add("relu", .relu, inputs: ["fc1"])
        _ = try net.add("fc2", .dense(DenseAttrs(outFeatures: 2)), inputs: ["relu"])
        try net.setParameter("fc1.weight", shape: [2, 2], data: [1, 0, 0, 1])
        try net.setParameter("fc1.bias", shape: [2], data: [0, 0])
        try net.setParameter("fc2.weight", shape: [2, 2], data: [1, 0.5, -0.5, 1])
        try net.setParameter("fc2.bias", shape: [2], data: [0, 0])
        net.precision = try NetworkPrecision(hls4mlConfig: try JSON.parse("""
            {"Model": {"Precision": "ap_fixed<16,6>"},
             "LayerName": {"relu": {"Precision": "ap_fixed<8,3,AP_RND,AP_SAT>"},
                           "fc1": {"Precision": {"accum": "auto", "result": "auto"}}, "fc2": {"Precision": {"accum": "auto", "result": "auto"}}}}
            """), network: net)
        let x: [Float] = [10, 0.5]   // unit 0 saturates at 3.96875; unit 1 (0.5) is on the grid
        var cfg = OptimizerConfig(); cfg.lr = 0; cfg.weightDecay = 0
        for quantized in [false, true] {
            let trainer = Trainer()
            _ = try x.withUnsafeBufferPointer { xp in
                try trainer.trainStep(net, x: xp, labels: [1], teacherLogits: nil, loss: .crossEntropy, optimizer: cfg,
                                      update: false, quantized: quantized)
            }
            let g1 = try trainer.gradient("fc1.weight").data, g2 = try trainer.gradient("fc2.weight").data
            // fc1's row of the saturated unit gets nothing through the quantiser; the other row does.
            #expect((g1[0] == 0) == quantized && g1[3] != 0)
            // fc2 sees the quantised activation: its gradient columns scale as relu(x) does.
            let relu0: Float = quantized ? 3.96875 : 10
            #expect(abs(g2[0] / g2[1] - relu0 / 0.5) < 1e-3)
        }
    }
}
