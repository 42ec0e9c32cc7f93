import Glibc

// Train-mode execution of a whole Network: forward with BatchNorm on batch statistics (running
// statistics updated with PyTorch's momentum rule, num_batches_tracked incremented), caching what
// backward needs, then backward in reverse topological order. Gradients accumulate (+=), so a node
// read by several consumers (a skip's clone point) receives the sum of their gradients.
//
// Activations and their gradients are each one contiguous buffer with one offset per node.
// Conv backward recomputes im2col into a shared workspace instead of keeping every conv's columns.
// 3×3 stride-1 convs (all but the stem and the projections in a ResNet) run as Winograd instead
// (Kernels/Winograd.swift): forward, backward-data and the weight gradient, with the weights
// transformed once per step (once per weights in inference).
// The executor is built for one graph structure (`Network.generation`); rebuild it after a mode switch.

final class Executor {
    struct Plan {
        var op: Op
        var name: String
        var inputs: [Int]
        var inShape: Shape
        var shape: Shape
        var w = -1, b = -1          // offsets into the parameter buffers; -1 when absent
        /// Offset of this conv's Winograd-transformed weights in `winogradU`; -1: im2col + sgemm.
        var winograd = -1
        func dims(batch B: Int) -> ConvDims? {
            guard case .conv2d(let a) = op else { return nil }
            return ConvDims(B: B, H: inShape.h, W: inShape.w, Cin: inShape.c, O: a.outChannels, K: a.kernel, stride: a.stride, pad: a.padding)
        }
    }

    /// Inference: F(4×4) does 2.25 multiplies per output and channel where im2col does 9; its
    /// rounding error (~1e-5 of the output scale, KernelWinogradTests) keeps logits within 1e-4.
    /// Training: F(2×2) (4 multiplies). F(4×4)'s error made ~100× more ReLU pre-activations flip
    /// sign against an exact reference, and in deep plain nets (ResNet-20 with skips removed) that
    /// moved weight gradients by up to 2e-1; F(2×2) stays at float32 PyTorch's own error
    /// (test_train_parity.py).
    static func winogradTile(training: Bool) -> WinogradTile { training ? .f2 : .f4 }
    /// Backward-data and the weight gradient: F(4×4). No ReLU mask depends on them, so its error
    /// stays ~1e-5 of each gradient's scale (test_train_parity.py).
    static let backwardTile = WinogradTile.f4
    /// Convs computed by Winograd. Below 8 input channels (the RGB stem) a transformed tile would
    /// be mostly padding lanes and im2col's K = 27 sgemm is faster.
    static func usesWinograd(_ d: ConvDims) -> Bool { winogradSupported(d) && d.Cin >= 8 }

    let network: ObjectIdentifier
    let generation: Int
    let store: ParameterStore
    private(set) var plans: [Plan] = []
    let outputCount: Int
    /// The output's shape: training needs it flat (classes×1×1); inference takes any.
    let outputShape: Shape
    private let outputName: String
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
    /// Winograd-transformed forward weights of every Winograd conv, and the store version they were
    /// made from (-1: stale, rebuilt by the next forward).
    private let winogradU: FloatBuffer
    /// Inference-mode state: fusions and liveness (InferencePlan), the parameters with BatchNorm
    /// folded into convs, the folded biases, and the store version they were made from (-1: stale).
    private let inference: InferencePlan
    private let inferenceValues: FloatBuffer
    private let foldedBias: FloatBuffer
    private var foldedBiasOffset: [Int: Int] = [:]
    private var inferenceVersion = -1
    private var layoutForTraining = false
    /// Training: a ReLU that is the only reader of a BatchNorm or an add is computed by that node,
    /// forward (writing the ReLU's buffer) and backward (masking the ReLU's output gradient as it
    /// reads it), saving a pass over the activations each way. For node i: the ReLU fused into it
    /// or -1; for a ReLU: whether its producer computes it.
    private let fusedReLU: [Int]
    private let reluFused: [Bool]
    /// Gradient slots written (=) by their only reader's backward (a Winograd conv, a BatchNorm or
    /// an add), so they need no zeroing before each backward; and the slots zeroed per backward
    /// (accumulated into by several readers or by kernels that only accumulate), as (node, floats per sample).
    private let assignsGradient: [Bool]
    private let zeroedSlots: [(node: Int, count: Int)]
    /// The backward-data weights of one conv at a time (transformed where used) and the workspace
    /// all Winograd convs share.
    private var winogradBackU = FloatBuffer(count: 0)
    private var winogradWork = FloatBuffer(count: 0)
    /// Quantisation-aware mode (QuantizationAware.swift): nil computes in float.
    private(set) var quantization: QuantizationPlan?

    /// Turns quantisation-aware mode on (with the network's current types) or off.
    func setQuantized(_ on: Bool, net: Network) throws {
        if !on { if quantization != nil { quantization = nil; inferenceVersion = -1 }; return }
        if let q = quantization, q.matches(net) { return }
        quantization = try QuantizationPlan(net, plans: plans, store: store)
        inferenceVersion = -1
    }

    init(_ net: Network) throws {
        let out = try net.requireOutput()
        guard let inShape = net.inputShape else { throw TailorError.invalid("the network has no nodes yet") }
        network = ObjectIdentifier(net)
        generation = net.generation
        store = try ParameterStore(net)
        loadedParameters = net.parameterVersion
        inputShape = inShape
        outputCount = out.shape.count
        outputShape = out.shape
        outputName = out.name
        bnCache = FloatBuffer(count: store.stats.count)
        var index: [String: Int] = [:], winogradCount = 0, plans: [Plan] = []
        for (i, node) in net.nodes.enumerated() {
            let ins = try node.inputs.map { n -> Int in
                guard let k = index[n] else { throw TailorError(.internal, "node '\(node.name)' reads '\(n)' before it is computed") }
                return k
            }
            var p = Plan(op: node.op, name: node.name, inputs: ins, inShape: ins.first.map { plans[$0].shape } ?? node.shape, shape: node.shape)
            if let w = store.offset(of: "\(node.name).weight") { p.w = w }
            if let b = store.offset(of: "\(node.name).bias") { p.b = b }
            if let d = p.dims(batch: 1), Executor.usesWinograd(d) {
                p.winograd = winogradCount
                winogradCount += winogradWeightCount(d, .f4)   // the larger of the two tiles
            }
            plans.append(p)
            index[node.name] = i
        }
        self.plans = plans
        winogradU = FloatBuffer(count: winogradCount)
        inference = InferencePlan(plans)
        var readers = [[Int]](repeating: [], count: plans.count)
        for (i, p) in plans.enumerated() { for j in p.inputs { readers[j].append(i) } }
        var fused = [Int](repeating: -1, count: plans.count), isFused = [Bool](repeating: false, count: plans.count)
        for (i, p) in plans.enumerated() {
            switch p.op { case .batchnorm, .add: break; default: continue }
            guard readers[i].count == 1, let k = readers[i].first, case .relu = plans[k].op else { continue }
            fused[i] = k; isFused[k] = true
        }
        fusedReLU = fused; reluFused = isFused
        var assigns = [Bool](repeating: false, count: plans.count), zeroed: [(node: Int, count: Int)] = []
        for (j, p) in plans.enumerated() {
            if readers[j].count == 1, let r = readers[j].first {
                switch plans[r].op {
                case .batchnorm, .add: assigns[j] = true
                case .conv2d: assigns[j] = plans[r].winograd >= 0
                default: break
                }
            }
            // Slots nobody reads need nothing: the network input's, and a node's whose ReLU is fused
            // (its backward reads the ReLU's slot).
            if case .input = p.op { continue }
            if !assigns[j] && fused[j] < 0 { zeroed.append((j, p.shape.count)) }
        }
        assignsGradient = assigns; zeroedSlots = zeroed
        inferenceValues = FloatBuffer(count: store.values.count)
        var biasCount = 0
        for i in inference.foldedBN.keys.sorted() { foldedBiasOffset[i] = biasCount; biasCount += plans[i].shape.c }
        foldedBias = FloatBuffer(count: biasCount)
    }

    nonisolated(unsafe) private static let noArgmax = UnsafeMutablePointer<Int32>.allocate(capacity: 1)   // never written
    deinit { if argmaxCount > 0 { argmax.deallocate() } }

    /// The inference parameters: the store's, with every folded BatchNorm's scale multiplied into its
    /// conv's weights and its shift into the conv's bias (InferencePlan), then Winograd-transformed.
    private func prepareInferenceWeights() {
        let P = inferenceValues.p, S = store.stats.p
        P.update(from: store.values.p, count: store.values.count)
        for (i, j) in inference.foldedBN {
            let conv = plans[i], bn = plans[j]
            guard case .batchnorm(let a) = bn.op, let so = store.statOffset[bn.name], let bo = foldedBiasOffset[i],
                  let d = conv.dims(batch: 1) else { continue }
            let C = d.O, eps = Float(a.eps)
            for o in 0..<C {
                let scale = P[bn.w + o] / sqrtf(S[so + C + o] + eps)
                let row = P + conv.w + o * d.KKC
                for k in 0..<d.KKC { row[k] *= scale }
                let b = conv.b >= 0 ? P[conv.b + o] : 0
                foldedBias.p[bo + o] = scale * (b - S[so + o]) + P[bn.b + o]
            }
        }
        quantization?.quantizeInferenceWeights(P, foldedBias: foldedBias.p, foldedBiasOffset: foldedBiasOffset)
        transformWinogradWeights(Executor.winogradTile(training: false), from: P)
    }

    /// Winograd-transforms every Winograd conv's weights in `P`, one conv per pool part.
    private func transformWinogradWeights(_ tile: WinogradTile, from P: UnsafeMutablePointer<Float>) {
        let convs = plans.filter { $0.winograd >= 0 }
        let U = winogradU.p
        parallelFor(convs.count, grain: 1) { r in
            for p in convs[r] {
                if let d = p.dims(batch: 1) { winogradTransformWeights(U + p.winograd, P + p.w, d, tile) }
            }
        }
    }

    func matches(_ net: Network) -> Bool { ObjectIdentifier(net) == network && net.generation == generation }

    /// The network's parameter version the store was last loaded from.
    private var loadedParameters: Int
    /// Reloads the store when the network's parameters changed since (set_param, a file load, fit).
    func syncWeights(from net: Network) throws {
        guard net.parameterVersion != loadedParameters else { return }
        try store.load(from: net)
        loadedParameters = net.parameterVersion
    }

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
        // A training layout (every activation kept) also serves inference; not the other way round.
        if B == batch && (layoutForTraining || !training) { return }
        guard B >= 1, B <= Executor.maxBatch else { throw TailorError.invalid("batch size must be in 1...\(Executor.maxBatch), got \(B)") }
        var offs: [Int] = [], total = 0, colsMax = 0, amOffs: [Int] = [], amTotal = 0, wMax = 0
        var winoWork = 0, winoBack = 0
        for p in plans {
            offs.append(total)
            let (n, o) = B.multipliedReportingOverflow(by: p.shape.count)
            guard !o else { throw TailorError.shape("batch \(B) is too large for this network") }
            total += n
            amOffs.append(amTotal)
            switch p.op {
            case .conv2d(let a):
                let d = ConvDims(B: B, H: p.inShape.h, W: p.inShape.w, Cin: p.inShape.c, O: a.outChannels, K: a.kernel, stride: a.stride, pad: a.padding)
                if p.winograd >= 0 {
                    // Sized for both tiles: an inference forward (validation, the teacher) may run on
                    // buffers a training step sized.
                    for tile in WinogradTile.allCases {
                        winoWork = max(winoWork, winogradWorkspaceCount(d, tile), training ? winogradWeightGradWorkspaceCount(d, tile) : 0)
                    }
                    if training { winoBack = max(winoBack, winogradWeightCount(d, Executor.backwardTile)) }
                    continue
                }
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
        // Inference keeps only live activations (InferencePlan); `total` above still bounds them.
        if !training { (offs, total) = inference.offsets(plans, batch: B) }
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
        if winogradWork.count < winoWork { winogradWork = FloatBuffer(count: winoWork) }
        if winogradBackU.count < winoBack { winogradBackU = FloatBuffer(count: winoBack) }
        if argmaxCount < amTotal {
            if argmaxCount > 0 { argmax.deallocate() }
            argmax = .allocate(capacity: max(amTotal, 1))
            argmax.initialize(repeating: -1, count: max(amTotal, 1))
            argmaxCount = amTotal
        }
        activationCount = total
        layoutForTraining = training
        actOffset = offs
        argmaxOffset = amOffs
        batch = B
    }

    /// Output logits of the last forward, (batch, outputCount).
    var logits: UnsafeMutablePointer<Float> { acts.p + (actOffset.last ?? 0) }

    /// Forward of `B` samples `x` (NCHW). Training mode: BN on batch statistics, running statistics
    /// and num_batches_tracked updated. Otherwise inference mode (running statistics, nothing changes).
    func forward(_ x: UnsafePointer<Float>, batch B: Int, training: Bool = true) throws {
        if training, outputShape.h * outputShape.w != 1 {
            throw TailorError(.unsupported, "training needs a flat output (classes×1×1); the output '\(outputName)' is \(outputShape)")
        }
        try ensureBatch(B, training: training)
        // Training changes the weights after every forward, so their transforms are rebuilt each
        // step; inference folds and transforms once and reuses them until the store is reloaded.
        let tile = Executor.winogradTile(training: training)
        if training {
            quantization?.prepareTrainingWeights(store, plans: plans)
            transformWinogradWeights(tile, from: quantization?.values.p ?? store.values.p)
            inferenceVersion = -1
        } else if inferenceVersion != store.version {
            prepareInferenceWeights()
            inferenceVersion = store.version
        }
        let P = training ? quantization?.values.p ?? store.values.p : inferenceValues.p, S = store.stats.p
        for (i, p) in plans.enumerated() {
            // A folded BN or fused ReLU was computed by its group's first node, into this buffer.
            if !training && inference.skipped[i] { continue }
            if training && reluFused[i] { continue }
            // Quantisation-aware: the value this node wrote (its fused ReLU's, its group's) goes
            // to its type once the node is done.
            defer {
                if let q = quantization {
                    // The nodes computed together: with a fused ReLU in training; with a folded
                    // BatchNorm and a fused ReLU in inference.
                    var group = [i]
                    if training {
                        if fusedReLU[i] >= 0 { group.append(fusedReLU[i]) }
                    } else if inference.target[i] != i {
                        if let bn = inference.foldedBN[i] { group.append(bn) }
                        if inference.reluAfter[i] { group.append(inference.target[i]) }
                    }
                    let t = group.last!
                    q.quantize(group, acts.p + actOffset[training ? t : i], count: B * plans[t].shape.count, training: training)
                }
            }
            let started = ExecutorProfile.enabled ? ExecutorProfile.now() : 0
            defer { if ExecutorProfile.enabled { ExecutorProfile.record(p, training ? "forward (train)" : "forward (inference)", since: started) } }
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
                let w = P + p.w
                var bias: UnsafePointer<Float>? = p.b >= 0 ? UnsafePointer(P + p.b) : nil
                if !training, let o = foldedBiasOffset[i] { bias = UnsafePointer(foldedBias.p + o) }
                let relu = !training && inference.reluAfter[i]
                if p.winograd >= 0 {
                    // The whole batch at once: the kernel blocks tiles for the cache and runs on the pool.
                    winogradForward(out, winogradWork.p, inp, winogradU.p + p.winograd, bias, d, tile, relu: relu)
                    continue
                }
                let per = Executor.imagesPerChunk(d), inStride = d.H * d.W * d.Cin, outStride = d.OH * d.OW * d.O
                let chunks = (B + per - 1) / per
                let ws = cols.p, wsStride = colsPerPart
                parallelParts(chunks, grain: 2) { part, range in
                    for ci in range {
                        var dc = d
                        let b0 = ci * per
                        dc.B = min(per, B - b0)
                        conv2dForward(out + b0 * outStride, ws + part * wsStride, inp + b0 * inStride, w, bias, dc, relu: relu)
                    }
                }
            case .batchnorm(let a):
                guard let so = store.statOffset[p.name] else { throw TailorError(.internal, "BN '\(p.name)' has no statistics") }
                let C = s.c
                if training {
                    let k = fusedReLU[i]
                    batchnormForwardTrain(k >= 0 ? acts.p + actOffset[k] : out, bnCache.p + so, bnCache.p + so + C, S + so, S + so + C,
                                          inp, P + p.w, P + p.b, B * s.h * s.w, C, eps: Float(a.eps), momentum: Float(a.momentum), relu: k >= 0)
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
                let k = training ? fusedReLU[i] : -1
                let relu = training ? k >= 0 : inference.reluAfter[i]
                let dst = k >= 0 ? acts.p + actOffset[k] : out
                parallelFor(B * s.count) { r in addForward(dst + r.lowerBound, inp + r.lowerBound, other + r.lowerBound, r.count, relu: relu) }
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
        let zeroing = ExecutorProfile.enabled ? ExecutorProfile.now() : 0
        for (j, count) in zeroedSlots {
            let slot = dA + actOffset[j]
            parallelFor(B * count, grain: 1 << 16) { r in (slot + r.lowerBound).update(repeating: 0, count: r.count) }
        }
        store.grads.zero()
        if ExecutorProfile.enabled { ExecutorProfile.record("zero gradients", since: zeroing) }
        (dActs.p + lastOff).update(from: dLogits, count: B * outputCount)
        // Data gradients go through the weights the forward used (quantised ones in that mode).
        let P = quantization?.values.p ?? store.values.p, G = store.grads.p
        defer { quantization?.maskWeightGradients(G) }
        for i in plans.indices.reversed() {
            let p = plans[i]
            // Straight-through: no gradient where this node's output quantiser clipped.
            quantization?.maskGradient(i, dActs.p + actOffset[i], count: B * p.shape.count)
            let started = ExecutorProfile.enabled ? ExecutorProfile.now() : 0
            defer { if ExecutorProfile.enabled { ExecutorProfile.record(p, "backward", since: started) } }
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
                if p.winograd >= 0 {
                    let tile = Executor.backwardTile
                    winogradBackwardWeights(G + p.w, p.b >= 0 ? G + p.b : nil, winogradWork.p, g, inp, d, tile)
                    if let dInp {
                        winogradTransformWeightsBackward(winogradBackU.p, P + p.w, d, tile)
                        winogradBackwardData(dInp, winogradWork.p, g, winogradBackU.p, d, tile, accumulate: !assignsGradient[first])
                    }
                    continue
                }
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
                // γ and β need their gradients even when the input (the network's input) needs none:
                // its slot in dActs takes the unused input gradient.
                guard let so = store.statOffset[p.name] else { continue }
                let k = fusedReLU[i]
                batchnormBackward(dActs.p + actOffset[first], G + p.w, G + p.b, k >= 0 ? dActs.p + actOffset[k] : g, inp,
                                  bnCache.p + so, bnCache.p + so + s.c, P + p.w, B * s.h * s.w, s.c,
                                  reluOut: k >= 0 ? UnsafePointer(acts.p + actOffset[k]) : nil, accumulate: !assignsGradient[first])
            case .relu:
                // A fused ReLU's gradient is read, masked, by its producer.
                if !reluFused[i], let dInp { parallelFor(B * s.count) { r in reluBackward(dInp + r.lowerBound, g + r.lowerBound, out + r.lowerBound, r.count) } }
            case .add:
                // Both inputs' gradient slots exist (the network input's too), so both are written
                // in one pass; with a fused ReLU the gradient is its output gradient, masked.
                let k = fusedReLU[i]
                let dA = dActs.p + actOffset[p.inputs[0]], dB = dActs.p + actOffset[p.inputs[1]]
                let gIn = k >= 0 ? dActs.p + actOffset[k] : g, o = acts.p + actOffset[k >= 0 ? k : i]
                let assignA = assignsGradient[p.inputs[0]], assignB = assignsGradient[p.inputs[1]]
                parallelFor(B * s.count) { r in
                    addBackward(dA + r.lowerBound, dB + r.lowerBound, gIn + r.lowerBound, o + r.lowerBound, r.count, relu: k >= 0,
                                assignA: assignA, assignB: assignB)
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
    /// Outputs (n × outputCount, each sample in NCHW order like PyTorch) in inference mode for `n`
    /// samples of `x` (NCHW), in chunks.
    func predict(_ x: UnsafePointer<Float>, count n: Int) throws -> [Float] {
        let chunk = evalChunk, per = inputShape.count, C = outputCount
        let o = outputShape, hw = o.h * o.w
        var result = [Float](repeating: 0, count: n * C)
        var start = 0
        while start < n {
            let b = min(chunk, n - start)
            try forward(x + start * per, batch: b, training: false)
            let l = logits
            result.withUnsafeMutableBufferPointer { r in
                guard let base = r.baseAddress else { return }
                if hw == 1 {
                    (base + start * C).update(from: l, count: b * C)
                } else {
                    // Activations are NHWC inside; a spatial output goes back to NCHW at the boundary.
                    for s in 0..<b { for p in 0..<hw { for c in 0..<o.c {
                        base[(start + s) * C + c * hw + p] = l[(s * hw + p) * o.c + c]
                    } } }
                }
            }
            start += b
        }
        return result
    }
}
