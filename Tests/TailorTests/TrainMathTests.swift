import Glibc
import Testing
@testable import TailorSwift

/// Optimiser, schedule and loss math against hand-worked values and torch.optim / lr_scheduler
/// outputs (printed by torch 2.13 for the same settings).
@Suite struct TrainMathTests {
    /// A one-parameter store (a BN weight of one channel is the smallest trainable tensor).
    func scalarStore(_ v: Float) throws -> ParameterStore {
        let net = Network()
        try net.add("x", .input(Shape(1, 1, 1)))
        try net.add("bn", .batchnorm(BatchNormAttrs()), inputs: ["x"])
        let s = try ParameterStore(net)
        s.values.p[0] = v      // bn.weight
        s.values.p[1] = 0      // bn.bias
        return s
    }

    @Test func sgdNesterovWeightDecayTwoSteps() throws {
        let s = try scalarStore(1)
        var c = OptimizerConfig(); c.lr = 0.1; c.momentum = 0.9; c.nesterov = true; c.weightDecay = 0.01
        let o = OptimizerState(kind: .sgd, slots: s.slots, count: s.parameterCount)
        s.grads.p[0] = 0.5
        o.step(s, c, lr: 0.1, momentum: 0.9)
        #expect(abs(s.values.p[0] - 0.9031) < 1e-6)
        o.step(s, c, lr: 0.1, momentum: 0.9)
        #expect(abs(s.values.p[0] - 0.76507411) < 1e-6)
        #expect(o.steps == [2, 2])
    }

    @Test func sgdPlainMomentumAndNoDecayForNorms() throws {
        let s = try scalarStore(1)
        var c = OptimizerConfig(); c.nesterov = false; c.weightDecay = 0.5; c.decayNormAndBias = false
        let o = OptimizerState(kind: .sgd, slots: s.slots, count: s.parameterCount)
        s.grads.p[0] = 1
        o.step(s, c, lr: 0.1, momentum: 0.9)   // buf = 1 → p = 0.9 (no decay on a BN weight)
        o.step(s, c, lr: 0.1, momentum: 0.9)   // buf = 1.9 → p = 0.71
        #expect(abs(s.values.p[0] - 0.71) < 1e-6)
    }

    @Test func adamBiasCorrection() throws {
        let s = try scalarStore(1)
        var c = OptimizerConfig(); c.kind = .adam; c.weightDecay = 0
        let o = OptimizerState(kind: .adam, slots: s.slots, count: s.parameterCount)
        s.grads.p[0] = 0.5
        o.step(s, c, lr: 0.1, momentum: 0.9)
        // m = 0.05, v = 2.5e-4; step = lr/(1-0.9) = 1; denom = sqrt(v)/sqrt(1e-3) + eps = 0.5 → p = 0.9
        #expect(abs(s.values.p[0] - 0.9) < 1e-6)
        o.step(s, c, lr: 0.1, momentum: 0.9)
        // a constant gradient keeps m/denom ≈ 1 after bias correction: another −0.1
        #expect(abs(s.values.p[0] - 0.8) < 1e-5)
    }

    @Test func optimiserStateFollowsParametersByName() throws {
        let s = try scalarStore(1)
        let o = OptimizerState(kind: .adam, slots: s.slots, count: s.parameterCount)
        o.m.p[1] = 3; o.v.p[1] = 4; o.steps = [5, 6]
        let s2 = try scalarStore(2)
        let r = o.remapped(to: s2)
        #expect(r.m.p[1] == 3 && r.v.p[1] == 4 && r.steps == [5, 6])
    }

    @Test func oneCycleMatchesTorch() {
        var s = ScheduleConfig(.oneCycle(pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4))
        s.cycleMomentum = true
        let torchLR: [Float] = [0.004, 0.052, 0.1, 0.09504846, 0.08117457, 0.0611262, 0.0388742, 0.01882583, 0.00495194, 4e-07]
        let torchMom: [Float] = [0.95, 0.9, 0.85, 0.85495156, 0.86882551, 0.88887395, 0.91112605, 0.93117449, 0.94504844, 0.95]
        var ok = true
        for t in 0..<10 {
            let lr = s.lr(base: 0.1, step: t, stepsPerEpoch: 5, totalSteps: 10)
            let m = s.momentum(base: 0.9, step: t, totalSteps: 10)
            if abs(lr - torchLR[t]) > 1e-6 * max(1, torchLR[t]) || abs(m - torchMom[t]) > 1e-6 { ok = false }
        }
        #expect(ok)
    }

    @Test func cosineStepAndWarmup() {
        let cos = ScheduleConfig(.cosine(etaMin: 0.001))
        let torchCos: [Float] = [0.1, 0.0975773, 0.09054634, 0.07959537, 0.06579634, 0.0505, 0.03520366, 0.02140463, 0.01045366, 0.0034227]
        var ok = true
        for t in 0..<10 where abs(cos.lr(base: 0.1, step: t, stepsPerEpoch: 2, totalSteps: 10) - torchCos[t]) > 1e-6 { ok = false }
        #expect(ok)
        let step = ScheduleConfig(.step(stepSize: 2, gamma: 0.1))
        #expect(step.lr(base: 1, step: 3, stepsPerEpoch: 2, totalSteps: 20) == 1)     // epoch 1
        #expect(abs(step.lr(base: 1, step: 4, stepsPerEpoch: 2, totalSteps: 20) - 0.1) < 1e-7)  // epoch 2
        var warm = ScheduleConfig(.constant); warm.warmupSteps = 4
        #expect(warm.lr(base: 1, step: 0, stepsPerEpoch: 1, totalSteps: 10) == 0.25)
        #expect(warm.lr(base: 1, step: 4, stepsPerEpoch: 1, totalSteps: 10) == 1)
        #expect(warm.momentum(base: 0.9, step: 3, totalSteps: 10) == 0.9)
    }

    @Test func kdLossesValueAndGradient() throws {
        let B = 2, C = 3
        let s: [Float] = [0.5, -1, 2, 0.1, 0.2, -0.3], t: [Float] = [1, 0, 1.5, -0.5, 0.7, 0.1]
        let y: [Int32] = [2, 1]
        func value(_ kind: LossKind, _ z: [Float]) throws -> Float {
            var d = [Float](repeating: 0, count: B * C)
            return try lossForwardBackward(kind, &d, z, y, t, B, C)
        }
        for kind in [LossKind.kdMSE(alpha: 0.35), .kdHinton(alpha: 0.35, temperature: 3)] {
            var d = [Float](repeating: 0, count: B * C)
            _ = try lossForwardBackward(kind, &d, s, y, t, B, C)
            var ok = true
            for i in 0..<(B * C) {
                var p = s, q = s; p[i] += 1e-2; q[i] -= 1e-2
                let fd = (try value(kind, p) - value(kind, q)) / 2e-2
                if abs(fd - d[i]) > 1e-3 { ok = false }
            }
            #expect(ok)
        }
        // MSE part alone: alpha = 1 gives mean((s − t)²).
        var mse: Float = 0
        for i in 0..<(B * C) { mse += (s[i] - t[i]) * (s[i] - t[i]) }
        #expect(abs(try value(.kdMSE(alpha: 1), s) - mse / Float(B * C)) < 1e-6)
        var d = [Float](repeating: 0, count: B * C)
        #expect(throws: TailorError.self) { try lossForwardBackward(.kdMSE(alpha: 0.35), &d, s, y, nil, B, C) }
    }
}
