/// The analytic resource model of a network on one hardware target (DESIGN.md §5): per-skip rows,
/// the rest of the design per layer, and totals. Deterministic and allocation-light, so that
/// ResNet-50 takes well under a millisecond.
public struct HardwareReport: Sendable {
    public var config: HardwareConfig
    public var skips: [SkipRow]
    public var layers: [LayerRow]

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

/// Builds reports; holds the network and configuration the formulas read.
struct ResourceModel {
    let net: Network
    let config: HardwareConfig
    /// Whether to write the `explain` text of every figure (the struct API skips it: it is most of the time).
    let explaining: Bool
}

extension Network {
    /// The resource model of this network on `config`'s target.
    /// `explain: false` leaves every component's `explain` empty and is several times faster.
    public func estimate(_ config: HardwareConfig, explain: Bool = true) throws -> HardwareReport {
        try config.validate()
        guard inputShape != nil else { throw TailorError.invalid("the network has no nodes yet") }
        for name in config.precision.keys {
            let nodeName = name.hasSuffix(".weight") ? String(name.dropLast(7)) : name
            guard node(named: nodeName) != nil else {
                throw TailorError.notFound("hardware config: precision names '\(name)', which is not a node of the network (or '<node>.weight')")
            }
        }
        let model = ResourceModel(net: self, config: config, explaining: explain)
        let skipList = skips
        let rows = try skipList.map { try model.skipRow($0) }
        // Nodes the skip rows cost: joins, projections; and the clone points they own.
        var claimed = Set<String>()
        var sources = Set<String>()
        for s in skipList where s.mode != .removed {
            if let j = s.join { claimed.insert(j) }
            if let p = s.projection { claimed.insert("\(p).0"); claimed.insert("\(p).1") }
            sources.insert(s.source)
        }
        let consumers = consumerCounts()
        var layers: [LayerRow] = []
        layers.reserveCapacity(nodes.count)
        for n in nodes where !claimed.contains(n.name) {
            if let row = model.layerRow(n, consumers: consumers[n.name, default: 0], skipSources: sources) { layers.append(row) }
        }
        return HardwareReport(config: config, skips: rows, layers: layers)
    }
}
