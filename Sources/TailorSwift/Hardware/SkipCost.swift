// What each skip of the current graph costs: its FIFOs, clone, adder and projection (docs/hardware.md).
// A removed skip costs nothing; a short block has one skip per convolution, each with that one
// convolution's lag.

/// One skip's hardware: the summary of its deepest buffer and every part with its cost.
public struct SkipRow: Sendable {
    public var skip: Skip
    /// The buffer that dominates (most bits) and its figures; nil for a removed skip.
    public var buffer: String?
    public var shape: Shape?
    public var wordBits = 0
    /// The most words waiting in that buffer at once (dataflow simulation); nil when removed or on a PE array.
    public var lagWords: Int?
    public var depthWords = 0
    public var memory: MemoryKind = .none
    public var components: [Component] = []
    public var cost: Cost { components.reduce(Cost()) { $0 + $1.cost } }
    public var macs: Int { components.reduce(0) { $0 + $1.macs } }
}

extension ResourceModel {
    /// Skip `index` of `net.skips`: its clone, the FIFOs the design gives it, its projection, its adder.
    func skipRow(_ skip: Skip, index si: Int) throws -> SkipRow {
        var row = SkipRow(skip: skip)
        guard skip.mode != .removed, let join = skip.join else { return row }
        guard let source = net.node(named: skip.source), let joinNode = net.node(named: join) else {
            throw TailorError(.internal, "skip of block '\(skip.block)': node '\(skip.source)' or '\(join)' is missing")
        }
        if config.target == .peArray {
            row.components = try peArraySkip(skip, source: source)
        } else {
            var parts = [clone(shape: source.shape, bits: config.bits(of: source.name), outputs: 2)]
            parts += streams(ownedBy: .skip(si))
            if let prefix = skip.projection {
                guard let pconv = net.node(named: "\(prefix).0"), case .conv2d(let pa) = pconv.op else {
                    throw TailorError(.internal, "projection '\(prefix)' of block '\(skip.block)' is missing")
                }
                var proj = convCompute(pconv, pa, input: source.shape)
                for k in proj.indices { proj[k].name = "projection \(proj[k].name)" }
                parts += proj
            }
            parts.append(adder(shape: joinNode.shape, bits: config.bits(of: join)))
            row.components = parts
        }
        // Summary: the skip path's buffer holding the most bits (the first on ties).
        if let top = row.components.filter({ $0.onSkipPath }).max(by: { $0.depthWords * $0.wordBits < $1.depthWords * $1.wordBits }) {
            row.buffer = top.name; row.shape = top.shape; row.wordBits = top.wordBits
            row.depthWords = top.depthWords; row.memory = top.memory; row.lagWords = top.lagWords
        } else if config.target == .peArray, let trip = row.components.first {
            // The skip's tensor: off-chip and back, or kept in the on-chip buffer (a short skip that fits).
            row.buffer = trip.name; row.shape = trip.shape; row.memory = trip.memory
            row.wordBits = trip.wordBits
        }
        return row
    }

    /// PE array: a long skip's tensor goes off-chip and back (2·H·W·C·b/8 bytes); a short one that
    /// fits the on-chip buffer stays there; a projection adds its weights and MACs.
    private func peArraySkip(_ skip: Skip, source: Node) throws -> [Component] {
        let b = config.bits(of: source.name)
        let tensorBytes = HardwareMath.ceilDiv(source.shape.count * b, 8)
        var trip = Component(name: "off-chip round trip", shape: source.shape)
        trip.wordBits = source.shape.c * b
        let buffer = config.onChipKiB * 1024
        if skip.mode == .short && tensorBytes <= buffer {
            trip.name = "on-chip buffer"
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
