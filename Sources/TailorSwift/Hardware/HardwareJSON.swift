// Reports as JSON for Python (`Report.to_dict()`) and C/C++ toolflows. Every component carries
// `explain`: for each figure, the formula and the inputs that produced it.

extension Cost {
    var json: JSON { .object(fields.map { ($0.0, .number(Double($0.1))) }) }
}

extension HardwareConfig {
    var json: JSON {
        var kv: [(String, JSON)] = [
            ("target", .string(target.rawValue)), ("bits", .number(Double(bits))),
            ("reuse_factor", .number(Double(reuseFactor))),
            ("depth_policy", target == .peArray ? .null : .string(effectiveDepthPolicy.rawValue)),
            ("memory_policy", .string(memoryPolicy.rawValue)),
            ("precision", .object(precision.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })),
        ]
        if target == .hls4ml { kv.append(("backend", .string(effectiveBackend.rawValue))) }
        if target != .peArray {
            kv += [("interface", .string(interface.rawValue)), ("strategy", .string(strategy.rawValue)),
                   ("layers", .object(layers.sorted { $0.key < $1.key }.map { name, l in
                       (name, .object([("reuse_factor", int(l.reuseFactor)), ("strategy", l.strategy.map { .string($0.rawValue) } ?? .null)]))
                   }))]
        }
        if target == .peArray {
            kv += [("clock_mhz", .number(clockMHz)), ("pe_count", .number(Double(peCount))),
                   ("bandwidth_gbps", .number(bandwidthGBps)), ("onchip_kib", .number(Double(onChipKiB)))]
        }
        return .object(kv)
    }
}

private func shapeJSON(_ s: Shape?) -> JSON {
    s.map { .array([.number(Double($0.c)), .number(Double($0.h)), .number(Double($0.w))]) } ?? .null
}
private func int(_ v: Int?) -> JSON { v.map { .number(Double($0)) } ?? .null }

extension Component {
    var json: JSON {
        .object([
            ("name", .string(name)), ("shape", shapeJSON(shape)), ("word_bits", int(wordBits)),
            ("stream", stream.map { .string($0) } ?? .null), ("lag_words", int(lagWords)), ("simulated_max", int(simulatedMax)), ("depth_words", int(depthWords)), ("memory", .string(memory.rawValue)),
            ("cost", cost.json), ("macs", int(macs)),
            ("explain", .object(explain.map { ($0.0, .string($0.1)) })),
        ])
    }
}

extension HardwareReport {
    public var json: JSON {
        let skipRows: [JSON] = skips.map { r in
            .object([
                ("block", .string(r.skip.block)), ("block_index", int(r.skip.blockIndex)), ("index", int(r.skip.index)),
                ("mode", .string(r.skip.mode.rawValue)), ("source", .string(r.skip.source)),
                ("join", r.skip.join.map { .string($0) } ?? .null), ("projection", r.skip.projection.map { .string($0) } ?? .null),
                ("spans", .array(r.skip.spans.map { .string($0) })),
                ("buffer", r.buffer.map { .string($0) } ?? .null), ("shape", shapeJSON(r.shape)), ("word_bits", int(r.wordBits)),
                ("lag_words", int(r.lagWords)), ("depth_words", int(r.depthWords)), ("memory", .string(r.memory.rawValue)),
                ("cost", r.cost.json), ("macs", int(r.macs)), ("components", .array(r.components.map(\.json))),
            ])
        }
        let layerRows: [JSON] = layers.map { l in
            .object([("node", .string(l.node)), ("op", .string(l.op)), ("cost", l.cost.json), ("macs", int(l.macs)),
                     ("components", .array(l.components.map(\.json)))])
        }
        let total = totalCost, skip = skipCost
        let share: [(String, JSON)] = zip(skip.fields, total.fields).map { s, t in
            (s.0, t.1 == 0 ? .null : .number(Double(s.1) / Double(t.1) * 100))
        }
        let fifoRows: [JSON] = fifos.map { f in
            .object([("stream", .string(f.stream)), ("producer", .string(f.producer)), ("consumer", .string(f.consumer)),
                     ("role", .string(f.role)), ("block", int(f.block)),
                     ("shape", .array([.number(Double(f.channels)), .number(Double(f.height)), .number(Double(f.width))])),
                     ("bits", int(f.bits)), ("default_depth", int(f.defaultDepth)), ("max_occupancy", int(f.maxOccupancy)),
                     ("hls4ml_max", int(f.hls4mlMax)), ("depth", int(f.depth)), ("memory", .string(f.memory.rawValue)),
                     ("port", .bool(f.isPort)), ("cost", f.cost.json)])
        }
        return .object([
            ("config", config.json), ("skips", .array(skipRows)), ("layers", .array(layerRows)), ("fifos", .array(fifoRows)),
            ("latency_cycles", config.target == .peArray ? .null : int(simulation?.latencyCycles)),
            ("totals", .object([("skips", skip.json), ("rest", restCost.json), ("total", total.json),
                                ("skip_share_percent", .object(share)), ("macs", int(macs)),
                                ("latency_us", latencyMicroseconds.map { .number($0) } ?? .null)])),
        ])
    }
}

extension HardwareComparison {
    private func change(_ b: Cost, _ a: Cost) -> JSON {
        .object(zip(b.fields, a.fields).map { x, y in
            (x.0, .object([("before", int(x.1)), ("after", int(y.1)), ("delta", int(y.1 - x.1)),
                           ("percent", HardwareComparison.percent(x.1, y.1).map { .number($0) } ?? .null)]))
        })
    }

    public var json: JSON {
        var totals: [(String, JSON)] = [("skips", change(before.skipCost, after.skipCost)),
                                        ("total", change(before.totalCost, after.totalCost))]
        if let lb = before.latencyMicroseconds, let la = after.latencyMicroseconds {
            totals.append(("latency_us", .object([("before", .number(lb)), ("after", .number(la)), ("delta", .number(la - lb)),
                                                  ("percent", lb > 0 ? .number((la - lb) / lb * 100) : .null)])))
        }
        return .object([
            ("config", before.config.json),
            ("blocks", .array(blocks.map { d in
                .object([("block", .string(d.block)), ("block_index", int(d.blockIndex)),
                         ("mode_before", .string(d.modeBefore.rawValue)), ("mode_after", .string(d.modeAfter.rawValue)),
                         ("change", change(d.before, d.after))])
            })),
            ("totals", .object(totals)),
            ("before", before.json), ("after", after.json),
        ])
    }
}

extension HardwareConfig {
    /// A configuration from the JSON a report's "config" holds (what a Tailor run's checkpoint note
    /// keeps); fields it lacks keep their defaults, and every error names the field.
    init(json: JSON) throws {
        self.init()
        guard case .object(let kv) = json else { throw TailorError.invalid("hardware config: expected a JSON object") }
        func text(_ v: JSON, _ k: String) throws -> String {
            guard let s = v.string else { throw TailorError.invalid("hardware config: \(k) must be a string") }
            return s
        }
        func integer(_ v: JSON, _ k: String) throws -> Int {
            guard let i = v.int else { throw TailorError.invalid("hardware config: \(k) must be an integer") }
            return i
        }
        func number(_ v: JSON, _ k: String) throws -> Double {
            guard let d = v.number else { throw TailorError.invalid("hardware config: \(k) must be a number") }
            return d
        }
        for (k, v) in kv where v != .null {
            switch k {
            case "target": target = try Self.parse(try text(v, k), k, as: Target.self)
            case "bits": bits = try integer(v, k)
            case "reuse_factor": reuseFactor = try integer(v, k)
            case "depth_policy": depthPolicy = try DepthPolicy.parse(try text(v, k))
            case "memory_policy": memoryPolicy = try Self.parse(try text(v, k), k, as: MemoryPolicy.self)
            case "backend": backend = try Self.parse(try text(v, k), k, as: Backend.self)
            case "interface": interface = try Self.parse(try text(v, k), k, as: InputInterface.self)
            case "strategy": strategy = try Self.parse(try text(v, k), k, as: Strategy.self)
            case "clock_mhz": clockMHz = try number(v, k)
            case "pe_count": peCount = try integer(v, k)
            case "bandwidth_gbps": bandwidthGBps = try number(v, k)
            case "onchip_kib": onChipKiB = try integer(v, k)
            case "precision":
                guard case .object(let p) = v else { throw TailorError.invalid("hardware config: precision must be an object") }
                for (name, b) in p { precision[name] = try integer(b, "precision['\(name)']") }
            case "layers":
                guard case .object(let l) = v else { throw TailorError.invalid("hardware config: layers must be an object") }
                for (name, s) in l {
                    var settings = LayerSettings()
                    if let r = s["reuse_factor"], r != .null { settings.reuseFactor = try integer(r, "layers['\(name)'].reuse_factor") }
                    if let st = s["strategy"], st != .null { settings.strategy = try Self.parse(try text(st, "strategy"), "layers['\(name)'].strategy", as: Strategy.self) }
                    layers[name] = settings
                }
            default: throw TailorError.invalid("hardware config: unknown field '\(k)'")
            }
        }
        // A report writes the target's own depth policy out; for FINN that is its only one.
        try validate()
    }
}
