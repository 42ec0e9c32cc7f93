// What each skip of the current graph costs: its FIFOs, clone, adder and projection (DESIGN.md §5).
// A removed skip costs nothing; a short block has one skip per convolution, each with that one
// convolution's lag.

/// One skip's hardware: the summary of its deepest buffer and every part with its cost.
public struct SkipRow: Sendable {
    public var skip: Skip
    /// The buffer that dominates (most bits) and its figures; nil for a removed skip.
    public var buffer: String?
    public var shape: Shape?
    public var wordBits = 0
    /// Words of the source stream the branch lags behind the clone.
    public var lagWords: Int?
    public var depthWords = 0
    public var memory: MemoryKind = .none
    public var components: [Component] = []
    public var cost: Cost { components.reduce(Cost()) { $0 + $1.cost } }
    public var macs: Int { components.reduce(0) { $0 + $1.macs } }
}

extension ResourceModel {
    func skipRow(_ skip: Skip) throws -> SkipRow {
        var row = SkipRow(skip: skip)
        guard skip.mode != .removed, let join = skip.join else { return row }
        guard let source = net.node(named: skip.source), let joinNode = net.node(named: join) else {
            throw TailorError(.internal, "skip of block '\(skip.block)': node '\(skip.source)' or '\(join)' is missing")
        }
        let branch = try skip.spans.map { name -> Window in
            guard let n = net.node(named: name), case .conv2d(let a) = n.op, let i = n.inputs.first, let inp = net.node(named: i) else {
                throw TailorError(.internal, "skip of block '\(skip.block)': '\(name)' is not a convolution of the graph")
            }
            return Window(kernel: a.kernel, stride: a.stride, padding: a.padding, input: inp.shape)
        }
        let lag = StreamLag.lagPixels(branch)
        let (r, c) = StreamLag.firstDependency(branch)
        let lagText = !explaining ? "" : "branch \(skip.spans.joined(separator: " → ")): first output needs source pixel (\(r), \(c)); the clone has emitted \(r)·\(source.shape.w) + \(c) + 1 = \(lag) pixels"
        let bs = config.bits(of: source.name)
        row.lagWords = lag * packing(channels: source.shape.c).wordsPerPixel

        if config.target == .peArray {
            row.components = try peArraySkip(skip, source: source, lagText: lagText)
        } else {
            var parts: [Component] = []
            parts.append(clone(shape: source.shape, bits: bs, outputs: 2))
            var branchCopy = stream("clone -> branch stream", shape: source.shape, bits: bs, occupancyPixels: nil)
            if explaining { branchCopy.explain.insert(("why", "the clone's copy for the branch: without the skip the branch reads the source stream directly"), at: 0) }
            if let prefix = skip.projection {
                // The projection runs ahead of the branch, so the words wait behind it, at the adder.
                guard let pconv = net.node(named: "\(prefix).0"), case .conv2d(let pa) = pconv.op,
                      let pbn = net.node(named: "\(prefix).1") else {
                    throw TailorError(.internal, "projection '\(prefix)' of block '\(skip.block)' is missing")
                }
                var toProj = stream("clone -> projection stream", shape: source.shape, bits: bs, occupancyPixels: nil)
                if explaining { toProj.explain.insert(("why", "the clone's copy for the projection, which keeps pace with it"), at: 0) }
                toProj.onSkipPath = true
                let waiting = StreamLag.projectionOutputs(afterPixels: lag, source: source.shape, stride: pa.stride)
                var fifo = stream("projection -> adder FIFO", shape: pbn.shape, bits: config.bits(of: pbn.name), occupancyPixels: waiting)
                if explaining { fifo.explain.insert(("lag", lagText + "; by then the 1×1 stride-\(pa.stride) projection has produced \(waiting) outputs"), at: 0) }
                fifo.onSkipPath = true
                var proj = convCompute(pconv, pa, input: source.shape)
                for k in proj.indices { proj[k].name = "projection \(proj[k].name)" }
                parts += [toProj, branchCopy] + proj + [fifo]
            } else {
                var fifo = stream("clone -> adder skip FIFO", shape: source.shape, bits: bs, occupancyPixels: lag)
                if explaining { fifo.explain.insert(("lag", lagText), at: 0) }
                fifo.onSkipPath = true
                parts += [fifo, branchCopy]
            }
            parts.append(adder(shape: joinNode.shape, bits: config.bits(of: join)))
            var out = stream("adder output stream", shape: joinNode.shape, bits: config.bits(of: join) + (config.target == .finn ? 1 : 0), occupancyPixels: nil)
            if explaining { out.explain.insert(("why", "without the add, the ReLU reads the branch's stream directly"), at: 0) }
            parts.append(out)
            row.components = parts
        }
        // Summary: the skip path's buffer holding the most bits (the first on ties).
        if let top = row.components.filter({ $0.onSkipPath }).max(by: { $0.depthWords * $0.wordBits < $1.depthWords * $1.wordBits }) {
            row.buffer = top.name; row.shape = top.shape; row.wordBits = top.wordBits
            row.depthWords = top.depthWords; row.memory = top.memory
        } else if let trip = row.components.first(where: { $0.memory == .dram && $0.name == "off-chip round trip" }) {
            row.buffer = trip.name; row.shape = trip.shape; row.memory = .dram
            row.wordBits = trip.wordBits
        }
        return row
    }

    /// PE array: a long skip's tensor goes off-chip and back (2·H·W·C·b/8 bytes); a short one that
    /// fits the on-chip buffer stays there; a projection adds its weights and MACs.
    private func peArraySkip(_ skip: Skip, source: Node, lagText: String) throws -> [Component] {
        let b = config.bits(of: source.name)
        let tensorBytes = HardwareMath.ceilDiv(source.shape.count * b, 8)
        var trip = Component(name: "off-chip round trip", shape: source.shape)
        trip.wordBits = source.shape.c * b
        let buffer = config.onChipKiB * 1024
        if skip.mode == .short && tensorBytes <= buffer {
            trip.memory = .none
            if explaining { trip.explain = [("bytes", "short skip: its tensor (\(tensorBytes) bytes) fits the \(config.onChipKiB) KiB on-chip buffer and stays there: 0")] }
        } else {
            trip.memory = .dram
            trip.cost.bytes = 2 * tensorBytes
            let why = skip.mode == .long ? "long skip: its tensor outlives the layer that reads it" : "short skip larger than the \(config.onChipKiB) KiB on-chip buffer"
            if explaining { trip.explain = [("bytes", "\(why), written off-chip and read back at the join: 2·⌈\(source.shape.c)·\(source.shape.h)·\(source.shape.w)·\(b)/8⌉ = \(trip.cost.bytes)")] }
        }
        var parts = [trip]
        if let prefix = skip.projection {
            guard let pconv = net.node(named: "\(prefix).0"), case .conv2d(let pa) = pconv.op else {
                throw TailorError(.internal, "projection '\(prefix)' of block '\(skip.block)' is missing")
            }
            let params = source.shape.c * pa.outChannels + (pa.bias ? pa.outChannels : 0)
            var w = weights(node: pconv.name, params: params)
            w.name = "projection weights"
            w.macs = source.shape.c * pa.outChannels * pconv.shape.h * pconv.shape.w
            parts.append(w)
        }
        return parts
    }
}
