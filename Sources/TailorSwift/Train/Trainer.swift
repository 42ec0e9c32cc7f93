// Training state kept between steps: the executor for the current graph structure and the
// optimiser state. Rebuilt from the Network when its structure changes (a block switches mode);
// optimiser state of parameters that persist is carried over by name.

public final class Trainer {
    var exec: Executor?
    var opt: OptimizerState?
    /// Scratch for dLogits and labels.
    private var dLogits: [Float] = []
    private var labels32: [Int32] = []

    public init() {}

    /// Drops optimiser state (momentum buffers, Adam moments, step counts).
    public func resetOptimizer() { opt = nil }

    /// The executor for `net`'s current structure (rebuilt and re-synced when it changed), with
    /// optimiser state of kind `kind` laid out to match.
    @discardableResult
    func prepare(_ net: Network, optimizer kind: OptimizerKind, quantized: Bool = false) throws -> Executor {
        let e: Executor
        if let old = exec, old.matches(net) { e = old } else { e = try Executor(net); exec = e }
        try e.setQuantized(quantized, net: net)
        if let o = opt, o.kind == kind {
            if o.slots.count != e.store.slots.count || !zip(o.slots, e.store.slots).allSatisfy({ $0.name == $1.name && $0.offset == $1.offset }) {
                opt = o.remapped(to: e.store)
            }
        } else {
            opt = OptimizerState(kind: kind, slots: e.store.slots, count: e.store.parameterCount)
        }
        return e
    }

    /// Gradient of parameter `name` from the last step, PyTorch layout.
    public func gradient(_ name: String) throws -> Tensor {
        guard let e = exec else { throw TailorError.invalid("no training step has run on this network yet") }
        guard let g = e.store.gradient(name) else {
            throw TailorError.notFound("'\(name)' is not a trainable parameter of the last step (BN running statistics and num_batches_tracked have no gradient)")
        }
        return g
    }

    /// Forward, loss, backward and (if `update`) one optimiser step on a batch, in the executor's
    /// buffers. On a non-finite loss or gradient nothing changes (BN statistics restored) and a
    /// NUMERIC error names `stepLabel`. Returns the loss and the number of correct predictions.
    func step(_ e: Executor, x: UnsafePointer<Float>, batch B: Int, labels: UnsafePointer<Int32>, teacher: UnsafePointer<Float>?,
              loss: LossKind, optimizer: OptimizerConfig, lr: Float, momentum: Float, update: Bool,
              stepLabel: String) throws -> (loss: Float, correct: Int) {
        let C = e.outputCount
        let snapshot = e.store.snapshotStats()
        do {
            try e.forward(x, batch: B)
            if dLogits.count != B * C { dLogits = [Float](repeating: 0, count: B * C) }
            let logits = e.logits
            let value = try dLogits.withUnsafeMutableBufferPointer { d in
                guard let dp = d.baseAddress else { throw TailorError(.internal, "empty logits buffer") }
                return try lossForwardBackward(loss, dp, logits, labels, teacher, B, C)
            }
            guard value.isFinite else {
                let bad = (0..<B * C).first { !logits[$0].isFinite }
                let why = bad.map { "; logit \($0 % C) of sample \($0 / C) is \(logits[$0]): the forward pass overflowed" } ?? ""
                throw TailorError(.numeric, "the loss is \(value) at \(stepLabel)\(why); the network keeps the weights of the last good step")
            }
            var correct = 0
            for b in 0..<B {
                var best = 0
                for c in 1..<max(C, 1) where logits[b * C + c] > logits[b * C + best] { best = c }
                if Int32(best) == labels[b] { correct += 1 }
            }
            dLogits.withUnsafeBufferPointer { if let d = $0.baseAddress { e.backward(d) } }
            let badGrads = e.store.nonFinite(in: e.store.grads)
            if let bad = badGrads.last {
                // Backward runs from the output: the non-finite gradient nearest the output is where it began.
                let more = badGrads.count > 1 ? " (nearest the output; \(badGrads.count - 1) earlier parameter(s) too)" : ""
                throw TailorError(.numeric, "gradient of '\(bad.name)' is \(bad.what) at \(stepLabel)\(more); the network keeps the weights of the last good step")
            }
            if let bad = e.store.firstNonFiniteStat() {
                throw TailorError(.numeric, "BatchNorm statistic '\(bad.name)' is \(bad.what) at \(stepLabel); the network keeps the weights of the last good step")
            }
            if update, let o = opt {
                // Keep what an overflowing update would destroy, so the last good step survives.
                let saved = (e.store.values.array, o.m.array, o.v.array, o.steps)
                o.step(e.store, optimizer, lr: lr, momentum: momentum)
                let P = e.store.values.p
                if let bad = e.store.nonFinite(in: e.store.values).first {
                    saved.0.withUnsafeBufferPointer { if let b = $0.baseAddress { P.update(from: b, count: $0.count) } }
                    saved.1.withUnsafeBufferPointer { if let b = $0.baseAddress { o.m.p.update(from: b, count: $0.count) } }
                    saved.2.withUnsafeBufferPointer { if let b = $0.baseAddress { o.v.p.update(from: b, count: $0.count) } }
                    o.steps = saved.3
                    throw TailorError(.numeric, "the optimiser step made '\(bad.name)' \(bad.what) at \(stepLabel) (learning rate \(lr)); the network keeps the weights of the last good step")
                }
            }
            return (value, correct)
        } catch {
            e.store.restoreStats(snapshot)
            throw error
        }
    }

    /// One step on a batch from outside a fit loop (the C API's train_step): loads the network's
    /// current weights, steps, writes weights and BN statistics back. Optimiser state persists
    /// across calls. Returns the loss and the logits (B × classes) of the train-mode forward.
    public func trainStep(_ net: Network, x: UnsafeBufferPointer<Float>, labels: [Int32], teacherLogits: [Float]?,
                          loss: LossKind, optimizer: OptimizerConfig, update: Bool = true,
                          quantized: Bool = false) throws -> (loss: Float, logits: [Float]) {
        try optimizer.validate()
        let out = try net.requireOutput()
        guard let inShape = net.inputShape else { throw TailorError.invalid("the network has no nodes yet") }
        let B = labels.count
        guard B >= 1 else { throw TailorError.invalid("the batch is empty") }
        guard B <= Executor.maxBatch else { throw TailorError.invalid("batch size must be in 1...\(Executor.maxBatch), got \(B)") }
        guard x.count == B * inShape.count else {
            throw TailorError.shape("input holds \(x.count) values; \(B) samples of \(inShape) need \(B * inShape.count)")
        }
        if let i = x.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "input value at flat index \(i) (sample \(i / inShape.count)) is \(x[i]), not finite")
        }
        let C = out.shape.count
        if let i = labels.firstIndex(where: { $0 < 0 || Int($0) >= C }) {
            throw TailorError.invalid("label \(labels[i]) at sample \(i) is outside 0..<\(C)")
        }
        try checkTeacher(loss, teacherLogits, count: B * C)
        let e = try prepare(net, optimizer: optimizer.kind, quantized: quantized)
        try e.store.load(from: net)
        let mom = optimizer.kind == .adam ? optimizer.beta1 : optimizer.momentum
        guard let xp = x.baseAddress else { throw TailorError.invalid("x is empty") }
        let r = try labels.withUnsafeBufferPointer { lp in
            try withOptionalPointer(teacherLogits) { tp in
                guard let lb = lp.baseAddress else { throw TailorError.invalid("the batch is empty") }
                return try step(e, x: xp, batch: B, labels: lb, teacher: tp, loss: loss, optimizer: optimizer,
                         lr: optimizer.lr, momentum: mom, update: update, stepLabel: "this step")
            }
        }
        let logits = Array(UnsafeBufferPointer(start: e.logits, count: B * C))
        e.store.write(to: net)
        return (r.loss, logits)
    }
}

extension ParameterStore {
    /// The trainable parameters (in slot order, input to output) whose values in `buffer` (laid
    /// out like `values`: the values themselves or their gradients) are not all finite, with what
    /// went wrong ("NaN", "inf (3 of 2304 values non-finite)"). Empty when all are finite.
    func nonFinite(in buffer: FloatBuffer) -> [(name: String, what: String)] {
        let p = buffer.p
        var out: [(name: String, what: String)] = []
        for s in slots where s.offset + s.count <= buffer.count {
            var first: Float? = nil, n = 0
            for i in s.offset..<(s.offset + s.count) where !p[i].isFinite {
                if first == nil { first = p[i] }
                n += 1
            }
            if let first { out.append((s.name, nonFiniteDescription(first, n, of: s.count))) }
        }
        return out
    }

    /// The first BatchNorm running statistic ("layer1.0.bn1.running_var") that is not finite.
    func firstNonFiniteStat() -> (name: String, what: String)? {
        let p = stats.p
        for (name, off) in statOffset.sorted(by: { $0.value < $1.value }) {
            let c = statChannels[name] ?? 0
            for (k, suffix) in ["running_mean", "running_var"].enumerated() {
                let lo = off + k * c, hi = min(off + (k + 1) * c, stats.count)
                guard lo < hi else { continue }
                var first: Float? = nil, n = 0
                for i in lo..<hi where !p[i].isFinite {
                    if first == nil { first = p[i] }
                    n += 1
                }
                if let first { return ("\(name).\(suffix)", nonFiniteDescription(first, n, of: c)) }
            }
        }
        return nil
    }
}

/// "NaN", "-inf (3 of 2304 values)".
private func nonFiniteDescription(_ v: Float, _ n: Int, of count: Int) -> String {
    let what = v.isNaN ? "NaN" : (v < 0 ? "-inf" : "inf")
    return count > 1 ? "\(what) (\(n) of \(count) values non-finite)" : what
}

func checkTeacher(_ loss: LossKind, _ t: [Float]?, count: Int) throws {
    guard loss.needsTeacher else { return }
    guard let t else { throw TailorError.invalid("a KD loss needs teacher logits") }
    guard t.count == count else { throw TailorError.shape("teacher logits hold \(t.count) values, need \(count)") }
    if let i = t.firstIndex(where: { !$0.isFinite }) { throw TailorError(.numeric, "teacher logit at flat index \(i) is \(t[i]), not finite") }
}

func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let a else { return try body(nil) }
    return try a.withUnsafeBufferPointer { try body($0.baseAddress) }
}
