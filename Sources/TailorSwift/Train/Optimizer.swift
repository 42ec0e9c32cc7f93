// Optimisers with torch.optim semantics, over the flat parameter buffer.
//  SGD:  g = grad + wd·p; buf = g on the first step, else momentum·buf + (1 − dampening)·g;
//        g = g + momentum·buf (Nesterov) or buf; p −= lr·g.
//  Adam: g = grad + wd·p (L2, as torch.optim.Adam); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
//        p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps).
// Weight decay applies to every trainable parameter, BN weights and biases included (torch's
// default when all parameters are in one group); `decayNormAndBias = false` exempts them.
// BN running statistics and num_batches_tracked are buffers, never optimised.
import Glibc

public enum OptimizerKind: Equatable, Sendable { case sgd, adam }

public struct OptimizerConfig: Equatable, Sendable {
    public var kind: OptimizerKind = .sgd
    public var lr: Float = 0.1
    public var momentum: Float = 0.9
    public var dampening: Float = 0
    public var nesterov = true
    public var weightDecay: Float = 5e-4
    public var decayNormAndBias = true
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    public init() {}

    func validate() throws {
        func finite(_ v: Float, _ what: String, min: Float = 0) throws {
            guard v.isFinite, v >= min else { throw TailorError.invalid("\(what) must be a finite number ≥ \(min), got \(v)") }
        }
        try finite(lr, "lr"); try finite(momentum, "momentum"); try finite(dampening, "dampening")
        try finite(weightDecay, "weight_decay"); try finite(eps, "eps")
        guard beta1 >= 0, beta1 < 1, beta2 >= 0, beta2 < 1 else { throw TailorError.invalid("Adam betas must be in [0, 1), got \(beta1), \(beta2)") }
        if nesterov && kind == .sgd && (momentum <= 0 || dampening != 0) {
            throw TailorError.invalid("Nesterov momentum requires a momentum > 0 and zero dampening")
        }
    }
}

/// Per-parameter optimiser state, laid out like the parameter buffer (one offset table), so it
/// can be carried over by name when the executor is rebuilt for a new graph structure.
final class OptimizerState {
    let kind: OptimizerKind
    let m: FloatBuffer     // SGD momentum buffer / Adam exp_avg
    let v: FloatBuffer     // Adam exp_avg_sq (empty for SGD)
    var steps: [Int]       // per slot: optimiser steps taken (0 = no buffer yet)
    let slots: [ParamSlot]

    init(kind: OptimizerKind, slots: [ParamSlot], count: Int) {
        self.kind = kind; self.slots = slots
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: kind == .adam ? count : 0)
        steps = [Int](repeating: 0, count: slots.count)
    }

    /// State for a new layout, keeping the state of parameters present in both (by name and size).
    func remapped(to store: ParameterStore) -> OptimizerState {
        let new = OptimizerState(kind: kind, slots: store.slots, count: store.parameterCount)
        var old: [String: Int] = [:]
        for (i, s) in slots.enumerated() { old[s.name] = i }
        for (j, s) in store.slots.enumerated() {
            guard let i = old[s.name], slots[i].count == s.count else { continue }
            (new.m.p + s.offset).update(from: m.p + slots[i].offset, count: s.count)
            if kind == .adam { (new.v.p + s.offset).update(from: v.p + slots[i].offset, count: s.count) }
            new.steps[j] = steps[i]
        }
        return new
    }

    /// One optimiser step over every parameter with gradient `store.grads`.
    func step(_ store: ParameterStore, _ c: OptimizerConfig, lr: Float, momentum: Float) {
        let P = store.values.p, G = store.grads.p
        for (j, s) in slots.enumerated() {
            let wd: Float = (s.isNormOrBias && !c.decayNormAndBias) ? 0 : c.weightDecay
            let p = P + s.offset, g = G + s.offset, m = self.m.p + s.offset
            switch kind {
            case .sgd:
                let first = steps[j] == 0
                for i in 0..<s.count {
                    var d = g[i]
                    if wd != 0 { d += wd * p[i] }
                    if momentum != 0 {
                        m[i] = first ? d : momentum * m[i] + (1 - c.dampening) * d
                        d = c.nesterov ? d + momentum * m[i] : m[i]
                    }
                    p[i] -= lr * d
                }
            case .adam:
                let t = Double(steps[j] + 1)
                let b1 = momentum   // β1 (cycled by one-cycle schedules like torch does)
                let bc1 = 1 - pow(Double(b1), t), bc2 = 1 - pow(Double(c.beta2), t)
                let stepSize = Float(Double(lr) / bc1), bc2s = Float(bc2.squareRoot())
                let v = self.v.p + s.offset
                for i in 0..<s.count {
                    var d = g[i]
                    if wd != 0 { d += wd * p[i] }
                    m[i] = b1 * m[i] + (1 - b1) * d
                    v[i] = c.beta2 * v[i] + (1 - c.beta2) * d * d
                    let denom = v[i].squareRoot() / bc2s + c.eps
                    p[i] -= stepSize * (m[i] / denom)
                }
            }
            steps[j] += 1
        }
    }
}
