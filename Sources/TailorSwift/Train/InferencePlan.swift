// How the executor runs a forward in inference mode, where nothing is kept for a backward pass:
//  - conv → BatchNorm folds into one conv: with s = γ/√(var + eps), w' = s·w and
//    b' = s·(b − mean) + β, so the BN pass over the activations disappears;
//  - a ReLU that is the only reader of a conv (or folded conv→BN) or an add is applied as the
//    producer writes its output, so the ReLU pass disappears too;
//  - activation buffers are reused once their last reader has run, so a predict touches a few
//    activations' worth of memory instead of every node's (they stay in cache, and a cached
//    executor stays small).

struct InferencePlan {
    /// The node whose buffer receives node i's output: i itself, or the last node of its fused group.
    private(set) var target: [Int]
    /// Nodes computed by an earlier node of their group (a folded BN, a fused ReLU).
    private(set) var skipped: [Bool]
    /// conv index → index of the BatchNorm folded into it.
    private(set) var foldedBN: [Int: Int] = [:]
    /// Conv or add nodes that apply ReLU to their output.
    private(set) var reluAfter: [Bool]

    init(_ plans: [Executor.Plan]) {
        let n = plans.count
        target = Array(0..<n); skipped = [Bool](repeating: false, count: n); reluAfter = skipped
        var readers = [[Int]](repeating: [], count: n)
        for (i, p) in plans.enumerated() { for j in p.inputs { readers[j].append(i) } }
        /// The only reader of node i, if it has exactly one and it is `op`-like.
        func soleReader(_ i: Int, _ isOp: (Op) -> Bool) -> Int? {
            guard readers[i].count == 1, let r = readers[i].first, isOp(plans[r].op) else { return nil }
            return r
        }
        let isBN: (Op) -> Bool = { if case .batchnorm = $0 { return true }; return false }
        let isReLU: (Op) -> Bool = { if case .relu = $0 { return true }; return false }
        for (i, p) in plans.enumerated() {
            var last = i
            switch p.op {
            case .conv2d:
                if let bn = soleReader(i, isBN) { foldedBN[i] = bn; skipped[bn] = true; last = bn }
            case .add: break
            default: continue
            }
            if let r = soleReader(last, isReLU) { reluAfter[i] = true; skipped[r] = true; last = r }
            target[i] = last
        }
    }

    /// Activation offsets for a batch of B: a node's buffer is taken when its group's first node runs
    /// and returned once its last reader has run (the output's never is). Returns the offsets and
    /// the floats they span.
    func offsets(_ plans: [Executor.Plan], batch B: Int) -> (offsets: [Int], total: Int) {
        let n = plans.count
        var lastRead = Array(0..<n)
        for (i, p) in plans.enumerated() { for j in p.inputs { lastRead[target[j]] = max(lastRead[target[j]], i) } }
        if let out = plans.indices.last { lastRead[out] = Int.max }
        var offsets = [Int](repeating: 0, count: n), total = 0
        var free: [(offset: Int, size: Int)] = []
        var owned: [Int: (offset: Int, size: Int)] = [:]   // live buffers by owning node
        for i in 0..<n {
            let t = target[i]
            if !skipped[i] {
                let need = B * plans[t].shape.count
                // Best fit among the free buffers, else a new one at the end.
                var best: Int? = nil
                for (k, f) in free.enumerated() where f.size >= need && (best.map { f.size < free[$0].size } ?? true) { best = k }
                let slot: (offset: Int, size: Int)
                if let best { slot = free.remove(at: best) } else { slot = (total, need); total += need }
                owned[t] = slot
                offsets[i] = slot.offset; offsets[t] = slot.offset
            }
            // Buffers whose last reader has now run are free for the nodes after this one.
            for o in owned.keys.sorted() where o != t && lastRead[o] <= i {
                if let s = owned.removeValue(forKey: o) { free.append(s) }
            }
        }
        return (offsets, total)
    }
}
