// The optimiser's state by parameter name, in PyTorch layout (conv buffers OIHW) and with
// torch.optim's buffer names, so a checkpoint holds it like `optimizer.state_dict()` does and a
// resumed run continues with exactly the momentum it stopped with.

extension Trainer {
    /// torch.optim's names for the state buffers of each optimiser.
    static func bufferNames(_ kind: OptimizerKind) -> (m: String, v: String?) {
        kind == .sgd ? ("momentum_buffer", nil) : ("exp_avg", "exp_avg_sq")
    }

    /// Tensors named `<buffer>.<parameter>` and the optimiser steps taken per parameter; nil
    /// before the first step (nothing to keep).
    func optimizerSnapshot() -> (kind: OptimizerKind, tensors: [(name: String, tensor: Tensor)], steps: [(name: String, steps: Int)])? {
        guard let o = opt else { return nil }
        let names = Trainer.bufferNames(o.kind)
        var tensors: [(name: String, tensor: Tensor)] = [], steps: [(name: String, steps: Int)] = []
        for (j, s) in o.slots.enumerated() {
            tensors.append(("\(names.m).\(s.name)", slotTensor(o.m, s)))
            if let v = names.v { tensors.append(("\(v).\(s.name)", slotTensor(o.v, s))) }
            steps.append((s.name, o.steps[j]))
        }
        return (o.kind, tensors, steps)
    }

    /// Installs state saved by `optimizerSnapshot` for `net`'s current structure. Every trainable
    /// parameter needs its buffers and step count, and nothing else may be there: a mismatch means
    /// the state belongs to another network (a format error, nothing installed).
    func restoreOptimizer(kind: OptimizerKind, tensors: [(name: String, tensor: Tensor)], steps: [String: Int], for net: Network) throws {
        let e = try prepare(net, optimizer: kind)
        let o = OptimizerState(kind: kind, slots: e.store.slots, count: e.store.parameterCount)
        var byName: [String: Tensor] = [:]
        for (n, t) in tensors {
            guard byName.updateValue(t, forKey: n) == nil else { throw TailorError.format("optimiser state '\(n)' appears twice") }
        }
        let names = Trainer.bufferNames(kind)
        for (j, s) in o.slots.enumerated() {
            guard let k = steps[s.name], k >= 0 else { throw TailorError.format("no optimiser step count for parameter '\(s.name)'") }
            o.steps[j] = k
            for (buffer, name) in [(o.m, names.m)] + (names.v.map { [(o.v, $0)] } ?? []) {
                guard let t = byName.removeValue(forKey: "\(name).\(s.name)") else {
                    throw TailorError.format("no optimiser state '\(name)' for parameter '\(s.name)'")
                }
                try fillSlot(buffer, s, from: t, what: "\(name).\(s.name)")
            }
        }
        if let stray = byName.keys.sorted().first {
            throw TailorError.format("optimiser state '\(stray)' matches no trainable parameter of the student (\(kind) optimiser)")
        }
        guard steps.count == o.slots.count else {
            throw TailorError.format("optimiser step counts name \(steps.count) parameters, the student trains \(o.slots.count)")
        }
        opt = o
    }
}

private func fillSlot(_ buf: FloatBuffer, _ s: ParamSlot, from t: Tensor, what: String) throws {
    guard t.shape == s.shape, !t.isInteger, t.count == s.count else {
        throw TailorError.format("optimiser state '\(what)' is \(t.shape), the parameter is \(s.shape)")
    }
    t.data.withUnsafeBufferPointer { src in
        guard let base = src.baseAddress else { return }
        if let c = s.conv { convWeightToOHWI(buf.p + s.offset, base, o: c.o, i: c.i, k: c.k) }
        else { (buf.p + s.offset).update(from: base, count: s.count) }
    }
}
