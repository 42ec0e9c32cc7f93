import CTailor
import Glibc
import Testing
@testable import TailorSwift

/// Numerical faults (NaN/Inf/overflow named by tensor and step, the network kept at its last good
/// state), denormals (flushed inside calls, the caller's floating-point environment restored) and
/// a regression from the capi fuzzer (an Executor whose init throws must not leak).
@Suite struct NumericFaultTests {
    /// input 2×4×4 → conv 4 → BN → ReLU → global pool → dense 3.
    func tinyNet() throws -> Network {
        let net = Network(seed: 3)
        try net.add("x", .input(Shape(2, 4, 4)))
        try net.add("conv1", .conv2d(Conv2dAttrs(outChannels: 4, kernel: 3, padding: 1)), inputs: ["x"])
        try net.add("bn1", .batchnorm(BatchNormAttrs()), inputs: ["conv1"])
        try net.add("relu1", .relu, inputs: ["bn1"])
        try net.add("pool", .globalAvgPool, inputs: ["relu1"])
        try net.add("fc", .dense(DenseAttrs(outFeatures: 3)), inputs: ["pool"])
        return net
    }

    /// MXCSR / FPCR control bits and flags of this thread.
    func controlWord() -> UInt64 {
        var e = fenv_t()
        _ = fegetenv(&e)
#if arch(x86_64)
        return UInt64(e.__mxcsr)
#elseif arch(arm64)
        return UInt64(e.__fpcr) << 32 | UInt64(e.__fpsr)
#else
        return 0
#endif
    }

    @Test func executorThatRefusesTrainingLeaksNothing() throws {
        // A conv output is not flat: the executor serves inference (one forward path for both), but
        // a training forward throws after its buffers exist. Under Tests/sanitizers/run.sh address,
        // LeakSanitizer checks nothing was left allocated; inference still works afterwards.
        let net = Network()
        try net.add("x", .input(Shape(1, 4, 4)))
        try net.add("c", .conv2d(Conv2dAttrs(outChannels: 2, kernel: 3)), inputs: ["x"])
        let x = [Float](repeating: 0.5, count: 16)
        for _ in 0..<3 {
            let e = try Executor(net)
            #expect(throws: TailorError.self) { try x.withUnsafeBufferPointer { try e.forward($0.baseAddress!, batch: 1, training: true) } }
            #expect(try x.withUnsafeBufferPointer { try e.predict($0.baseAddress!, count: 1) }.count == 2 * 2 * 2)
        }
    }

    @Test func denormalScopeFlushesAndRestores() {
        let before = controlWord()
        #expect(!FloatEnvironment.flushesDenormals)
        FloatEnvironment.withDenormalsFlushed {
            #expect(FloatEnvironment.flushesDenormals)
            FloatEnvironment.withDenormalsFlushed { #expect(FloatEnvironment.flushesDenormals) }   // nested
            #expect(FloatEnvironment.flushesDenormals)
            FloatEnvironment.inCallerEnvironment {
                #expect(!FloatEnvironment.flushesDenormals)        // a callback runs in the caller's mode
                FloatEnvironment.withDenormalsFlushed { #expect(FloatEnvironment.flushesDenormals) }
                #expect(!FloatEnvironment.flushesDenormals)
            }
            #expect(FloatEnvironment.flushesDenormals)
        }
        #expect(controlWord() == before)
        #expect(!FloatEnvironment.flushesDenormals)
    }

    @Test func trainStepOnDenormalInputsIsFiniteAndRestoresTheCallersEnvironment() throws {
        let h = makeHandle(try tinyNet())
        defer { freeHandle(h) }
        let n = 4, sample = 32
        let x = (0..<n * sample).map { Float.leastNormalMagnitude / Float(2 + $0 % 7) }
        #expect(x.allSatisfy { $0.isSubnormal })
        let labels: [Int64] = [0, 1, 2, 1]
        var logits = [Float](repeating: .nan, count: n * 3)
        var loss = Double.nan
        feclearexcept(0x3d)   // FE_ALL_EXCEPT (the macro does not import)
        let before = controlWord()
        let rc = cTrainStep(h, x, Int64(n), 2, 4, 4, labels, nil, nil, 1, &logits, Int64(n * 3), &loss)
        #expect(rc == 0, "\(String(cString: cLastError()))")
        #expect(controlWord() == before)
        #expect(loss.isFinite && logits.allSatisfy(\.isFinite))
        #expect(!FloatEnvironment.flushesDenormals)
        #expect(cPredict(h, x, Int64(n), 2, 4, 4, &logits, Int64(n * 3)) == 0)
        #expect(controlWord() == before)
    }

    @Test func nonFiniteTensorsAreNamed() throws {
        let net = try tinyNet()
        let s = try ParameterStore(net)
        #expect(s.nonFinite(in: s.grads).isEmpty)
        let fc = try #require(s.slots.first { $0.name == "fc.weight" })
        s.grads.p[fc.offset + 1] = .nan
        s.grads.p[fc.offset + 2] = .nan
        let bn = try #require(s.slots.first { $0.name == "bn1.bias" })
        s.grads.p[bn.offset] = -.infinity
        let bad = s.nonFinite(in: s.grads)
        #expect(bad.map(\.name) == ["bn1.bias", "fc.weight"])
        #expect(bad[1].what == "NaN (2 of \(fc.count) values non-finite)")
        #expect(bad[0].what.hasPrefix("-inf"))
        #expect(s.firstNonFiniteStat() == nil)
        s.stats.p[4 + 1] = .infinity   // bn1 has 4 channels: running_var[1]
        #expect(s.firstNonFiniteStat()?.name == "bn1.running_var")
    }

    @Test func overflowingTrainingNamesTheTensorAndKeepsTheLastGoodWeights() throws {
        let net = try tinyNet()
        let t = Trainer()
        let x = [Float](repeating: 0.5, count: 2 * 32).enumerated().map { $0.element * Float($0.offset % 3) }
        var o = OptimizerConfig(); o.lr = 1e30; o.momentum = 0; o.nesterov = false; o.weightDecay = 0
        _ = try x.withUnsafeBufferPointer { try t.trainStep(net, x: $0, labels: [0, 1], teacherLogits: nil, loss: .crossEntropy, optimizer: o) }
        let good = net.parameterNames.map { (try? net.parameter($0))?.data ?? [] }
        do {
            for _ in 0..<5 {
                _ = try x.withUnsafeBufferPointer { try t.trainStep(net, x: $0, labels: [0, 1], teacherLogits: nil, loss: .crossEntropy, optimizer: o) }
            }
            Issue.record("lr 1e30 never overflowed")
        } catch let e as TailorError {
            #expect(e.code == .numeric)
            // "the optimiser step made 'fc.weight' inf …", "gradient of 'bn1.weight' is NaN …", "the loss is inf …"
            #expect(e.message.contains("at this step"), "\(e.message)")
            #expect(e.message.contains("'") || e.message.hasPrefix("the loss"), "\(e.message)")
        }
        for name in net.parameterNames { #expect((try net.parameter(name)).data.allSatisfy(\.isFinite), "\(name)") }
        _ = good
    }

    @Test func predictThatOverflowsIsAnError() throws {
        let net = try tinyNet()
        let w = try net.parameter("fc.weight")
        try net.setParameter("fc.weight", shape: w.shape, data: [Float](repeating: 3e38, count: w.count))
        try net.setParameter("bn1.bias", shape: [4], data: [1e30, 1e30, 1e30, 1e30])
        let h = makeHandle(net)
        defer { freeHandle(h) }
        let x = [Float](repeating: 1, count: 32)
        var out = [Float](repeating: 7, count: 3)
        #expect(cPredict(h, x, 1, 2, 4, 4, &out, 3) == TailorError.Code.numeric.rawValue)
        #expect(String(cString: cLastError()).contains("overflowed"))
        #expect(out == [7, 7, 7])
    }

    @Test func negativeVarianceAndSubnormalEpsAreRefused() throws {
        let net = try tinyNet()
        #expect(throws: TailorError.self) { try net.setParameter("bn1.running_var", shape: [4], data: [1, -1, 1, 1]) }
        try net.setParameter("bn1.running_var", shape: [4], data: [1, 0, 1, 1])
        #expect(throws: TailorError.self) {
            try net.add("bn2", .batchnorm(BatchNormAttrs(eps: Double(Float.leastNormalMagnitude) / 4)), inputs: ["fc"])
        }
        #expect(throws: TailorError.self) { try net.add("bn3", .batchnorm(BatchNormAttrs(eps: 1e300)), inputs: ["fc"]) }
    }
}
