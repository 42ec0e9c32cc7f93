// Trainable parameters, their gradients and BatchNorm statistics as contiguous buffers with one
// offset table each (llm.c style): zeroing every gradient is one fill, an optimiser step one loop.
// Conv weights live here in the kernels' OHWI layout; they are converted from / to the Network's
// PyTorch OIHW tensors only in `load(from:)` and `write(to:)`.

/// A fixed-size, zero-initialised float buffer that frees itself. Pointer access is unchecked:
/// callers index within `count`.
final class FloatBuffer {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = max(count, 0)
        p = .allocate(capacity: max(self.count, 1))
        p.initialize(repeating: 0, count: max(self.count, 1))
    }
    deinit { p.deallocate() }
    func zero() { p.update(repeating: 0, count: count) }
    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

/// One trainable tensor inside the flat buffers.
struct ParamSlot {
    var name: String
    var offset: Int
    var count: Int
    /// PyTorch shape (what the Network holds).
    var shape: [Int]
    /// Set for conv weights: stored OHWI here, OIHW in the Network.
    var conv: (o: Int, i: Int, k: Int)?
    /// BatchNorm weight/bias or any bias (for an optional no-decay rule).
    var isNormOrBias: Bool
}

/// OIHW (PyTorch) → OHWI (kernel layout).
func convWeightToOHWI(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, o O: Int, i I: Int, k K: Int) {
    for o in 0..<O { for i in 0..<I { for ky in 0..<K { for kx in 0..<K {
        dst[((o * K + ky) * K + kx) * I + i] = src[((o * I + i) * K + ky) * K + kx]
    } } } }
}

/// OHWI (kernel layout) → OIHW (PyTorch).
func convWeightToOIHW(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, o O: Int, i I: Int, k K: Int) {
    for o in 0..<O { for i in 0..<I { for ky in 0..<K { for kx in 0..<K {
        dst[((o * I + i) * K + ky) * K + kx] = src[((o * K + ky) * K + kx) * I + i]
    } } } }
}

/// The parameter layout of one network structure, with values, gradients and BN statistics.
final class ParameterStore {
    private(set) var slots: [ParamSlot] = []
    private(set) var slotIndex: [String: Int] = [:]
    let values: FloatBuffer
    let grads: FloatBuffer
    /// BatchNorm running_mean and running_var, per BN node: mean at `statOffset[name]`, var after it.
    private(set) var statOffset: [String: Int] = [:]
    private(set) var statChannels: [String: Int] = [:]
    let stats: FloatBuffer
    /// num_batches_tracked per BN node (not a trainable parameter).
    var batchesTracked: [String: Float] = [:]

    init(_ net: Network) throws {
        var slots: [ParamSlot] = []
        var off = 0, statOff = 0
        var statOffset: [String: Int] = [:], statChannels: [String: Int] = [:]
        for node in net.nodes {
            switch node.op {
            case .conv2d(let a):
                let w = try net.parameter("\(node.name).weight")
                guard w.shape.count == 4 else { throw TailorError(.internal, "conv '\(node.name)' weight has shape \(w.shape)") }
                slots.append(ParamSlot(name: "\(node.name).weight", offset: off, count: w.count, shape: w.shape,
                                       conv: (a.outChannels, w.shape[1], a.kernel), isNormOrBias: false))
                off += w.count
                if a.bias {
                    slots.append(ParamSlot(name: "\(node.name).bias", offset: off, count: a.outChannels, shape: [a.outChannels], conv: nil, isNormOrBias: true))
                    off += a.outChannels
                }
            case .batchnorm:
                let c = node.shape.c
                for s in ["weight", "bias"] {
                    slots.append(ParamSlot(name: "\(node.name).\(s)", offset: off, count: c, shape: [c], conv: nil, isNormOrBias: true))
                    off += c
                }
                statOffset[node.name] = statOff; statChannels[node.name] = c
                statOff += 2 * c
            case .dense(let a):
                let w = try net.parameter("\(node.name).weight")
                slots.append(ParamSlot(name: "\(node.name).weight", offset: off, count: w.count, shape: w.shape, conv: nil, isNormOrBias: false))
                off += w.count
                if a.bias {
                    slots.append(ParamSlot(name: "\(node.name).bias", offset: off, count: a.outFeatures, shape: [a.outFeatures], conv: nil, isNormOrBias: true))
                    off += a.outFeatures
                }
            default:
                break
            }
        }
        self.slots = slots
        for (i, s) in slots.enumerated() { slotIndex[s.name] = i }
        self.statOffset = statOffset
        self.statChannels = statChannels
        values = FloatBuffer(count: off)
        grads = FloatBuffer(count: off)
        stats = FloatBuffer(count: statOff)
        try load(from: net)
    }

    var parameterCount: Int { values.count }

    func offset(of name: String) -> Int? { slotIndex[name].map { slots[$0].offset } }

    /// Bumped by every `load`, so caches derived from the weights (the executor's Winograd
    /// transforms) know when to rebuild.
    private(set) var version = 0

    /// Copies every parameter and BN buffer from the network (PyTorch layout) into the buffers.
    func load(from net: Network) throws {
        version &+= 1
        for s in slots {
            let t = try net.parameter(s.name)
            guard t.count == s.count else { throw TailorError(.internal, "parameter '\(s.name)' changed size") }
            t.data.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                if let c = s.conv { convWeightToOHWI(values.p + s.offset, base, o: c.o, i: c.i, k: c.k) }
                else { (values.p + s.offset).update(from: base, count: s.count) }
            }
        }
        for (name, off) in statOffset {
            let c = statChannels[name] ?? 0
            let m = try net.parameter("\(name).running_mean"), v = try net.parameter("\(name).running_var")
            guard m.count == c, v.count == c else { throw TailorError(.internal, "BN '\(name)' statistics changed size") }
            for i in 0..<c { stats.p[off + i] = m.data[i]; stats.p[off + c + i] = v.data[i] }
            batchesTracked[name] = (try? net.parameter("\(name).num_batches_tracked"))?.data.first ?? 0
        }
    }

    /// Writes parameters and BN buffers back into the network's tensors (PyTorch layout).
    func write(to net: Network) {
        for s in slots { net.replaceParameter(s.name, slotTensor(values, s)) }
        for (name, off) in statOffset {
            let c = statChannels[name] ?? 0
            net.replaceParameter("\(name).running_mean", Tensor(shape: [c], data: Array(UnsafeBufferPointer(start: stats.p + off, count: c))))
            net.replaceParameter("\(name).running_var", Tensor(shape: [c], data: Array(UnsafeBufferPointer(start: stats.p + off + c, count: c))))
            net.replaceParameter("\(name).num_batches_tracked", Tensor(shape: [], data: [batchesTracked[name] ?? 0], isInteger: true))
        }
    }

    /// The gradient of `name` in PyTorch layout, or nil for an unknown name.
    func gradient(_ name: String) -> Tensor? {
        slotIndex[name].map { slotTensor(grads, slots[$0]) }
    }

    /// A copy of the BN statistics (to restore after a failed step).
    func snapshotStats() -> ([Float], [String: Float]) { (stats.array, batchesTracked) }
    func restoreStats(_ s: ([Float], [String: Float])) {
        s.0.withUnsafeBufferPointer { if let b = $0.baseAddress { stats.p.update(from: b, count: min(stats.count, $0.count)) } }
        batchesTracked = s.1
    }
}

/// One parameter's slice of a flat buffer (values, gradients, optimiser state) as a PyTorch-layout tensor.
func slotTensor(_ buf: FloatBuffer, _ s: ParamSlot) -> Tensor {
    var data = [Float](repeating: 0, count: s.count)
    data.withUnsafeMutableBufferPointer { dst in
        guard let base = dst.baseAddress else { return }
        if let c = s.conv { convWeightToOIHW(base, buf.p + s.offset, o: c.o, i: c.i, k: c.k) }
        else { base.update(from: buf.p + s.offset, count: s.count) }
    }
    return Tensor(shape: s.shape, data: data)
}
