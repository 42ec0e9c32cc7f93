// Train-mode execution of a whole Network: forward with BatchNorm on batch statistics (running
// statistics updated with PyTorch's momentum rule, num_batches_tracked incremented), caching what
// backward needs, then backward in reverse topological order. Gradients accumulate (+=), so a node
// read by several consumers (a skip's clone point) receives the sum of their gradients.
//
// Activations and their gradients are each one contiguous buffer with one offset per node.
// Conv backward recomputes im2col into a shared workspace instead of keeping every conv's columns.
// The executor is built for one graph structure (`Network.generation`); rebuild it after a mode switch.

final class Executor {
    struct Plan {
        var op: Op
        var name: String
        var inputs: [Int]
        var inShape: Shape
        var shape: Shape
        var w = -1, b = -1          // offsets into the parameter buffers; -1 when absent
    }

    let network: ObjectIdentifier
    let generation: Int
    let store: ParameterStore
    private(set) var plans: [Plan] = []
    let outputCount: Int
    let inputShape: Shape

    // Batch-size dependent buffers.
    private(set) var batch = 0
    private var actOffset: [Int] = []
    private var acts = FloatBuffer(count: 0)
    private var dActs = FloatBuffer(count: 0)
    private var cols = FloatBuffer(count: 0)
    /// Conv workspace and dW scratch per worker part.
    private var colsPerPart = 0
    private var partialGrads = FloatBuffer(count: 0)
    private var partialPerPart = 0
    private var argmaxOffset: [Int] = []
    /// Owned only once argmaxCount > 0: a throwing init runs no deinit, so nothing may be allocated before it.
    private var argmax: UnsafeMutablePointer<Int32> = Executor.noArgmax
    // BN caches (mean, rstd) per BN node, offsets shared with the store's stats layout.
    private let bnCache: FloatBuffer

    init(_ net: Network) throws {
        guard let inShape = net.inputShape, let out = net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
        guard out.shape.h == 1, out.shape.w == 1 else {
            throw TailorError(.unsupported, "training needs a flat output (classes×1×1); the output '\(out.name)' is \(out.shape)")
        }
        network = ObjectIdentifier(net)
        generation = net.generation
        store = try ParameterStore(net)
        inputShape = inShape
        outputCount = out.shape.count
        bnCache = FloatBuffer(count: store.stats.count)
        var index: [String: Int] = [:]
        for (i, node) in net.nodes.enumerated() {
            let ins = try node.inputs.map { n -> Int in
                guard let k = index[n] else { throw TailorError(.internal, "node '\(node.name)' reads '\(n)' before it is computed") }
                return k
            }
            var p = Plan(op: node.op, name: node.name, inputs: ins, inShape: ins.first.map { plans[$0].shape } ?? node.shape, shape: node.shape)
            if let w = store.offset(of: "\(node.name).weight") { p.w = w }
            if let b = store.offset(of: "\(node.name).bias") { p.b = b }
            plans.append(p)
            index[node.name] = i
        }
    }

    nonisolated(unsafe) private static let noArgmax = UnsafeMutablePointer<Int32>.allocate(capacity: 1)   // never written
    deinit { if argmaxCount > 0 { argmax.deallocate() } }

    func matches(_ net: Network) -> Bool { ObjectIdentifier(net) == network && net.generation == generation }

    /// Output rows (positions) per conv chunk: measured on this machine, 2–8K rows keep the
    /// im2col block in L2 and give OpenBLAS the best rates for these tall, narrow GEMMs.
    static let convChunkRows = 4096
    static func imagesPerChunk(_ d: ConvDims) -> Int { max(1, convChunkRows / max(1, d.OH * d.OW)) }

    /// Largest batch accepted by one step (keeps buffer sizes and BLAS Int32 dims sane).
    static let maxBatch = 1 << 16

    /// Activation values per sample (all nodes), for sizing inference chunks.
    var activationsPerSample: Int { plans.reduce(0) { $0 + $1.shape.count } }

    /// Samples per inference chunk: up to 128, keeping the activations near 64M floats (256 MB).
    var evalChunk: Int { max(1, min(128, (1 << 26) / max(1, activationsPerSample))) }

    private var argmaxCount = 0
    /// Activation values in use for the current batch (the buffers may be larger).
    private var activationCount = 0

    /// Allocates activation buffers for `B` samples (reused while B does not change); gradient
    /// buffers only when `training`.
    func ensureBatch(_ B: Int, training: Bool = true) throws {
        if B == batch && (!training || dActs.count >= activationCount) { return }
        guard B >= 1, B <= Executor.maxBatch else { throw TailorError.invalid("batch size must be in 1...\(Executor.maxBatch), got \(B)") }
        var offs: [Int] = [], total = 0, colsMax = 0, amOffs: [Int] = [], amTotal = 0, wMax = 0
        for p in plans {
            offs.append(total)
            let (n, o) = B.multipliedReportingOverflow(by: p.shape.count)
            guard !o else { throw TailorError.shape("batch \(B) is too large for this network") }
            total += n
            amOffs.append(amTotal)
            switch p.op {
            case .conv2d(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: a.outChannels, K: a.kernel, stride: a.stride, pad: a.padding)
                wMax = max(wMax, d.O * d.KKC + d.O)
                if !(a.kernel == 1 && a.stride == 1 && a.padding == 0) {
                    colsMax = max(colsMax, min(B, Executor.imagesPerChunk(d)) * d.OH * d.OW * d.KKC)
                }
                let rows = min(B, Executor.imagesPerChunk(d)) * d.OH * d.OW   // GEMM rows of one chunk
                guard rows * d.KKC < Int(Int32.max), rows * d.O < Int(Int32.max) else {
                    throw TailorError.shape("batch \(B) is too large for convolution '\(p.name)'; use a smaller batch")
                }
            case .maxpool: amTotal += n
            default: break
            }
        }
        // Activations and their gradients are each one buffer: cap each at 2^31 floats (8 GiB).
        guard total <= 1 << 31, colsMax <= 1 << 28 else {
            throw TailorError.shape("batch \(B) needs \(total) activation values (over 2^31); use a smaller batch")
        }
        batch = 0
        // Every size grows with B, so buffers allocated for a larger batch serve a smaller one
        // (an epoch's last partial batch does not reallocate anything).
        let parts = WorkerPool.shared.width
        if acts.count < total { acts = FloatBuffer(count: total) }
        if training && dActs.count < total { dActs = FloatBuffer(count: total) }
        if colsPerPart < colsMax { colsPerPart = colsMax; cols = FloatBuffer(count: colsMax * parts) }
        if partialPerPart < wMax { partialPerPart = wMax; partialGrads = FloatBuffer(count: wMax * parts) }
        if argmaxCount < amTotal {
            if argmaxCount > 0 { argmax.deallocate() }
            argmax = .allocate(capacity: max(amTotal, 1))
            argmax.initialize(repeating: -1, count: max(amTotal, 1))
            argmaxCount = amTotal
        }
        activationCount = total
        actOffset = offs
        argmaxOffset = amOffs
        batch = B
    }

    /// Output logits of the last forward, (batch, outputCount).
    var logits: UnsafeMutablePointer<Float> { acts.p + (actOffset.last ?? 0) }

    /// Forward of `B` samples `x` (NCHW). Training mode: BN on batch statistics, running statistics
    /// and num_batches_tracked updated. Otherwise inference mode (running statistics, nothing changes).
    func forward(_ x: UnsafePointer<Float>, batch B: Int, training: Bool = true) throws {
        try ensureBatch(B, training: training)
        let P = store.values.p, S = store.stats.p
        for (i, p) in plans.enumerated() {
            let out = acts.p + actOffset[i]
            let s = p.shape
            let inp: UnsafeMutablePointer<Float> = acts.p + (p.inputs.first.map { actOffset[$0] } ?? 0)
            switch p.op {
            case .input:
                let hw = s.h * s.w
                for b in 0..<B { for c in 0..<s.c { let src = x + (b * s.c + c) * hw, dst = out + b * hw * s.c + c
                    for q in 0..<hw { dst[q * s.c] = src[q] } } }
            case .conv2d(let a):
                // In chunks of whole images (~convChunkRows output rows) so the im2col columns are
                // still in cache when the GEMM reads them; chunks run on the worker pool, each part
                // with its own workspace.
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: a.outChannels, K: a.kernel, stride: a.stride, pad: a.padding)
                let per = Executor.imagesPerChunk(d), inStride = d.H * d.W * d.Cin, outStride = d.OH * d.OW * d.O
                let chunks = (B + per - 1) / per
                let w = P + p.w, bias: UnsafePointer<Float>? = p.b >= 0 ? UnsafePointer(P + p.b) : nil
                let ws = cols.p, wsStride = colsPerPart
                parallelParts(chunks, grain: 2) { part, range in
                    for ci in range {
                        var dc = d
                        let b0 = ci * per
                        dc.B = min(per, B - b0)
                        conv2dForward(out + b0 * outStride, ws + part * wsStride, inp + b0 * inStride, w, bias, dc)
                    }
                }
            case .batchnorm(let a):
                guard let so = store.statOffset[p.name] else { throw TailorError(.internal, "BN '\(p.name)' has no statistics") }
                let C = s.c
                if training {
                    batchnormForwardTrain(out, bnCache.p + so, bnCache.p + so + C, S + so, S + so + C, inp, P + p.w, P + p.b,
                                          B * s.h * s.w, C, eps: Float(a.eps), momentum: Float(a.momentum))
                    store.batchesTracked[p.name, default: 0] += 1
                } else {
                    let gamma = P + p.w, beta = P + p.b, eps = Float(a.eps)
                    parallelFor(B * s.h * s.w, grain: max(1, (1 << 14) / C)) { r in
                        batchnormForwardEval(out + r.lowerBound * C, inp + r.lowerBound * C, gamma, beta, S + so, S + so + C, r.count, C, eps: eps)
                    }
                }
            case .relu:
                parallelFor(B * s.count) { r in reluForward(out + r.lowerBound, inp + r.lowerBound, r.count) }
            case .add:
                let other = acts.p + actOffset[p.inputs[1]]
                parallelFor(B * s.count) { r in addForward(out + r.lowerBound, inp + r.lowerBound, other + r.lowerBound, r.count, relu: false) }
            case .maxpool(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: p.inShape.c, K: a.kernel, stride: a.stride, pad: a.padding)
                maxpoolForward(out, argmax + argmaxOffset[i], inp, d)
            case .avgpool(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: p.inShape.c, K: a.kernel, stride: a.stride, pad: a.padding)
                avgpoolForward(out, inp, d)
            case .globalAvgPool:
                globalAvgPoolForward(out, inp, B, p.inShape.h * p.inShape.w, p.inShape.c)
            case .flatten:
                // PyTorch flattens C×H×W in that order; activations here are NHWC.
                let hw = p.inShape.h * p.inShape.w, c = p.inShape.c
                for b in 0..<B { for q in 0..<hw { for ch in 0..<c { out[b * s.c + ch * hw + q] = inp[(b * hw + q) * c + ch] } } }
            case .dense(let a):
                denseForward(out, inp, P + p.w, p.b >= 0 ? UnsafePointer(P + p.b) : nil, B, p.inShape.c, a.outFeatures)
            }
        }
    }

    /// Backward from `dLogits` (batch × outputCount) of the last forward. Overwrites (zeroes then
    /// accumulates) the parameter gradients in `store.grads`.
    func backward(_ dLogits: UnsafePointer<Float>) {
        let B = batch
        // Gradient buffers exist only after a training-mode forward of this batch size.
        guard B > 0, dActs.count >= activationCount, let lastOff = actOffset.last else { return }
        let dA = dActs.p
        parallelFor(activationCount, grain: 1 << 16) { r in (dA + r.lowerBound).update(repeating: 0, count: r.count) }
        store.grads.zero()
        (dActs.p + lastOff).update(from: dLogits, count: B * outputCount)
        let P = store.values.p, G = store.grads.p
        for i in plans.indices.reversed() {
            let p = plans[i]
            let g = dActs.p + actOffset[i]
            let out = acts.p + actOffset[i]
            let s = p.shape
            guard let first = p.inputs.first else { continue }   // the input node needs no gradient
            let inp = acts.p + actOffset[first]
            let needInput: Bool = { if case .input = plans[first].op { return false }; return true }()
            let dInp: UnsafeMutablePointer<Float>? = needInput ? dActs.p + actOffset[first] : nil
            switch p.op {
            case .input:
                break
            case .conv2d(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: a.outChannels, K: a.kernel, stride: a.stride, pad: a.padding)
                let direct = a.kernel == 1 && a.stride == 1 && a.padding == 0
                let per = Executor.imagesPerChunk(d), inStride = d.H * d.W * d.Cin, outStride = d.OH * d.OW * d.O
                let chunks = (B + per - 1) / per
                let wCount = d.O * d.KKC, hasBias = p.b >= 0
                let ws = cols.p, wsStride = colsPerPart, partial = partialGrads.p, pStride = partialPerPart
                let usedParts = min(chunks, WorkerPool.shared.width)
                // Each part accumulates dW (and dBias) of its chunks into its own buffer; the parts
                // are then added in order, so results do not depend on thread timing.
                parallelParts(chunks, grain: 2) { part, range in
                    let dW = partial + part * pStride
                    dW.update(repeating: 0, count: wCount + d.O)
                    for ci in range {
                        var dc = d
                        let b0 = ci * per
                        dc.B = min(per, B - b0)
                        let x = inp + b0 * inStride
                        let cw = ws + part * wsStride
                        if !direct { im2col(cw, x, dc) }
                        // conv2dBackward reads the columns (for dW) before it overwrites the workspace with dCols.
                        conv2dBackward(dInp.map { $0 + b0 * inStride }, dW, hasBias ? dW + wCount : nil, cw, g + b0 * outStride,
                                       cw, x, P + p.w, dc)
                    }
                }
                let dWt = G + p.w
                for part in 0..<max(1, usedParts) {
                    let src = partial + part * pStride
                    for i in 0..<wCount { dWt[i] += src[i] }
                    if hasBias { let db = G + p.b; for i in 0..<d.O { db[i] += src[wCount + i] } }
                }
            case .batchnorm:
                guard let so = store.statOffset[p.name], let dInp else { continue }
                batchnormBackward(dInp, G + p.w, G + p.b, g, inp, bnCache.p + so, bnCache.p + so + s.c, P + p.w, B * s.h * s.w, s.c)
            case .relu:
                if let dInp { parallelFor(B * s.count) { r in reluBackward(dInp + r.lowerBound, g + r.lowerBound, out + r.lowerBound, r.count) } }
            case .add:
                let n = B * s.count
                let a = plans[p.inputs[0]], b = plans[p.inputs[1]]
                for (k, src) in [a, b].enumerated() {
                    if case .input = src.op { continue }
                    let d = dActs.p + actOffset[p.inputs[k]]
                    parallelFor(n) { r in for i in r { d[i] += g[i] } }
                }
            case .maxpool:
                if let dInp { maxpoolBackward(dInp, g, argmax + argmaxOffset[i], B * s.count) }
            case .avgpool(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: p.inShape.c, K: a.kernel, stride: a.stride, pad: a.padding)
                if let dInp { avgpoolBackward(dInp, g, d) }
            case .globalAvgPool:
                if let dInp { globalAvgPoolBackward(dInp, g, B, p.inShape.h * p.inShape.w, p.inShape.c) }
            case .flatten:
                let hw = p.inShape.h * p.inShape.w, c = p.inShape.c
                if let dInp { for b in 0..<B { for q in 0..<hw { for ch in 0..<c { dInp[(b * hw + q) * c + ch] += g[b * s.c + ch * hw + q] } } } }
            case .dense(let a):
                denseBackward(dInp, G + p.w, p.b >= 0 ? G + p.b : nil, g, inp, P + p.w, B, p.inShape.c, a.outFeatures)
            }
        }
    }
}

extension Executor {
    /// Logits (n × outputCount) in inference mode for `n` samples of `x` (NCHW), in chunks.
    func predict(_ x: UnsafePointer<Float>, count n: Int) throws -> [Float] {
        let chunk = evalChunk, per = inputShape.count, C = outputCount
        var result = [Float](repeating: 0, count: n * C)
        var start = 0
        while start < n {
            let b = min(chunk, n - start)
            try forward(x + start * per, batch: b, training: false)
            let l = logits
            result.withUnsafeMutableBufferPointer { r in
                if let base = r.baseAddress { (base + start * C).update(from: l, count: b * C) }
            }
            start += b
        }
        return result
    }
}
