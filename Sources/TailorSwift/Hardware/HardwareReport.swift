/// The analytic resource model of a network on one hardware target (docs/hardware.md): per-skip rows,
/// the rest of the design per layer, and totals. Deterministic and allocation-light, so that
/// ResNet-50 takes well under a millisecond.
public struct HardwareReport: Sendable {
    public var config: HardwareConfig
    public var skips: [SkipRow]
    public var layers: [LayerRow]
    /// The dataflow design behind the figures (empty for the PE array) and every stream's simulated
    /// occupancy (nil for the PE array, and at default depths for a design too large to simulate).
    public var design: DataflowDesign
    public var simulation: DataflowSimulation?

    public var skipCost: Cost { skips.reduce(Cost()) { $0 + $1.cost } }
    public var restCost: Cost { layers.reduce(Cost()) { $0 + $1.cost } }
    public var totalCost: Cost { skipCost + restCost }
    public var macs: Int { skips.reduce(0) { $0 + $1.macs } + layers.reduce(0) { $0 + $1.macs } }

    /// PE array only: Σ over layers of max(compute time, traffic time), plus the skips' off-chip
    /// traffic at the full bandwidth (conservative: it is not overlapped with compute).
    public var latencyMicroseconds: Double? {
        guard config.target == .peArray else { return nil }
        let cyclesPerUs = config.clockMHz, bytesPerUs = config.bandwidthGBps * 1e3
        func time(_ macs: Int, _ bytes: Int) -> Double {
            max(Double(macs) / Double(config.peCount) / cyclesPerUs, Double(bytes) / bytesPerUs)
        }
        let layerTime = layers.reduce(0.0) { $0 + time($1.macs, $1.cost.bytes) }
        let skipTime = skips.reduce(0.0) { $0 + time($1.macs, $1.cost.bytes) }
        return layerTime + skipTime
    }
}

/// Builds reports; holds the network, configuration, dataflow design and its simulation the formulas read.
struct ResourceModel {
    let net: Network
    let config: HardwareConfig
    /// Whether to write the `explain` text of every figure (the struct API skips it: it is most of the time).
    let explaining: Bool
    /// The design hls4ml (or FINN) builds and its simulated occupancies; empty for the PE array.
    let design: DataflowDesign
    let simulation: DataflowSimulation?
    /// Streams by the report row that lists them, FIFOs only (top-level ports have no memory).
    let streamIndex: [DataflowStream.Owner: [Int]]

    init(net: Network, config: HardwareConfig, explaining: Bool) throws {
        self.net = net; self.config = config; self.explaining = explaining
        if config.target == .peArray {
            design = DataflowDesign(); simulation = nil
        } else {
            design = try net.dataflowDesign(config)
            // Default depths need no occupancy: a design too large to simulate is still priced.
            let needed = config.target == .finn || config.effectiveDepthPolicy == .optimized
            if needed || design.streams.reduce(0, { $0 + $1.words }) <= DataflowDesign.maxWords {
                simulation = try design.simulate()
            } else {
                simulation = nil
            }
        }
        var index: [DataflowStream.Owner: [Int]] = [:]
        for (i, s) in design.streams.enumerated() where !s.isPort { index[s.owner, default: []].append(i) }
        streamIndex = index
    }
}

extension Network {
    /// The resource model of this network on `config`'s target.
    /// `explain: false` leaves every component's `explain` empty and is several times faster.
    public func estimate(_ config: HardwareConfig, explain: Bool = true) throws -> HardwareReport {
        try config.validate()
        let config = config.carryingPrecision(of: self)
        guard inputShape != nil else { throw TailorError.invalid("the network has no nodes yet") }
        _ = try requireOutput()
        for name in config.precision.keys {
            let nodeName = name.hasSuffix(".weight") ? String(name.dropLast(7)) : name
            guard node(named: nodeName) != nil else {
                throw TailorError.invalid("hardware config: precision names '\(name)', which is not a node of the network (or '<node>.weight')")
            }
        }
        let model = try ResourceModel(net: self, config: config, explaining: explain)
        let skipList = skips
        let rows = try skipList.enumerated().map { try model.skipRow($1, index: $0) }
        // Nodes the skip rows cost: joins, projections; and the clone points they own.
        var claimed = Set<String>()
        for s in skipList where s.mode != .removed {
            if let j = s.join { claimed.insert(j) }
            if let p = s.projection { claimed.insert("\(p).0"); claimed.insert("\(p).1") }
        }
        var layers: [LayerRow] = []
        layers.reserveCapacity(nodes.count)
        for n in nodes where !claimed.contains(n.name) {
            if let row = model.layerRow(n) { layers.append(row) }
        }
        return HardwareReport(config: config, skips: rows, layers: layers, design: model.design, simulation: model.simulation)
    }
}

/// One FIFO of the dataflow design behind a report: every `#pragma HLS STREAM` a toolflow writes.
public struct FifoRow: Sendable {
    public var stream: String, producer: String, consumer: String, role: String
    /// Block index of the skip it belongs to, nil when not a skip's.
    public var block: Int?
    public var channels: Int, height: Int, width: Int, bits: Int
    public var defaultDepth: Int
    /// From the simulation; nil when the report has none.
    public var maxOccupancy: Int?, hls4mlMax: Int?
    /// Depth under the report's policy (a port keeps its default: it is not a FIFO of the design).
    public var depth: Int
    public var memory: MemoryKind
    public var cost: Cost
    public var isPort: Bool
}

extension HardwareReport {
    /// Every stream of the design, in the design's order, with the figures the report gave it.
    public var fifos: [FifoRow] {
        var costed: [String: Component] = [:]
        for c in skips.flatMap(\.components) + layers.flatMap(\.components) { if let s = c.stream { costed[s] = c } }
        let skipList = skips.map(\.skip)
        return design.streams.enumerated().map { i, s in
            let o = simulation?.streams[i]
            let c = costed[s.name]
            var block: Int? = nil
            if case .skip(let si) = s.owner, si < skipList.count { block = skipList[si].blockIndex }
            return FifoRow(stream: s.name, producer: design.processes[s.producer].name, consumer: design.processes[s.consumer].name,
                           role: s.role, block: block, channels: s.channels, height: s.height, width: s.width, bits: s.bits,
                           defaultDepth: s.defaultDepth, maxOccupancy: o?.maxOccupancy, hls4mlMax: o?.hls4mlMax,
                           depth: c?.depthWords ?? s.defaultDepth, memory: c?.memory ?? .none, cost: c?.cost ?? Cost(), isPort: s.isPort)
        }
    }
}
