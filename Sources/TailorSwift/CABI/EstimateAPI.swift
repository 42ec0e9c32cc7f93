import CTailor
import Glibc

// The hardware resource model through the C boundary: configuration in, rows + totals or JSON out.

private nonisolated(unsafe) let defaultTarget = UnsafePointer(strdup("hls4ml")!)
private nonisolated(unsafe) let defaultMemoryPolicy = UnsafePointer(strdup("auto")!)
private nonisolated(unsafe) let defaultInterface = UnsafePointer(strdup("stream")!)
private nonisolated(unsafe) let defaultStrategy = UnsafePointer(strdup("latency")!)

private func hwDefaults() -> tailor_hw_config {
    let d = HardwareConfig()
    var c = tailor_hw_config()
    c.size = Int64(MemoryLayout<tailor_hw_config>.size)
    c.target = defaultTarget
    c.bits = Int32(d.bits)
    c.reuse_factor = Int32(d.reuseFactor)
    c.depth_policy = nil
    c.memory_policy = defaultMemoryPolicy
    c.precision_json = nil
    c.clock_mhz = d.clockMHz
    c.pe_count = Int64(d.peCount)
    c.bandwidth_gbps = d.bandwidthGBps
    c.onchip_kib = Int64(d.onChipKiB)
    c.backend = nil
    c.interface = defaultInterface
    c.strategy = defaultStrategy
    c.layers_json = nil
    c.precision_source = nil
    return c
}

@_cdecl("tailor_hw_config_defaults")
public func cHwConfigDefaults(_ cfg: UnsafeMutablePointer<tailor_hw_config>?, _ size: Int64) -> Int32 {
    guarded { try fillDefaults(cfg, hwDefaults(), size: size, "tailor_hw_config") }
}

/// A JSON text field of a C struct, at most TAILOR_MAX_JSON_BYTES.
private func jsonField(_ p: UnsafePointer<CChar>, _ field: String) throws -> JSON {
    let text = try requireText(p, "cfg->\(field)", limit: Int(TAILOR_MAX_JSON_BYTES), limitName: "TAILOR_MAX_JSON_BYTES")
    do { return try JSON.parse(text) } catch let e as TailorError {
        throw TailorError.invalid("hardware config: \(field) is not valid JSON: \(e.message)")
    }
}

/// Converts and validates a C configuration; every error names the field.
func hardwareConfig(_ p: UnsafePointer<tailor_hw_config>?) throws -> HardwareConfig {
    guard p != nil else { throw TailorError.invalid("cfg is NULL (fill one with tailor_hw_config_init)") }
    let c = try readVersioned(p, hwDefaults(), "tailor_hw_config")
    var cfg = HardwareConfig()
    if let t = c.target { cfg.target = try HardwareConfig.parse(try requireString(t, "cfg->target"), "target", as: HardwareConfig.Target.self) }
    if let d = c.depth_policy { cfg.depthPolicy = try HardwareConfig.DepthPolicy.parse(try requireString(d, "cfg->depth_policy")) }
    if let m = c.memory_policy { cfg.memoryPolicy = try HardwareConfig.parse(try requireString(m, "cfg->memory_policy"), "memory_policy", as: HardwareConfig.MemoryPolicy.self) }
    if let b = c.backend { cfg.backend = try HardwareConfig.parse(try requireString(b, "cfg->backend"), "backend", as: HardwareConfig.Backend.self) }
    if let i = c.interface { cfg.interface = try HardwareConfig.parse(try requireString(i, "cfg->interface"), "interface", as: HardwareConfig.InputInterface.self) }
    if let s = c.strategy { cfg.strategy = try HardwareConfig.parse(try requireString(s, "cfg->strategy"), "strategy", as: HardwareConfig.Strategy.self) }
    if let s = c.precision_source {
        cfg.precisionSource = try HardwareConfig.parse(try requireString(s, "cfg->precision_source"), "precision_source", as: HardwareConfig.PrecisionSource.self)
    }
    cfg.bits = Int(c.bits)
    cfg.reuseFactor = Int(c.reuse_factor)
    cfg.clockMHz = c.clock_mhz
    cfg.bandwidthGBps = c.bandwidth_gbps
    guard (1...Int64(1 << 24)).contains(c.pe_count) else { throw TailorError.invalid("hardware config: pe_count must be in 1...\(1 << 24), got \(c.pe_count)") }
    guard (0...Int64(1 << 30)).contains(c.onchip_kib) else { throw TailorError.invalid("hardware config: onchip_kib must be in 0...\(1 << 30), got \(c.onchip_kib)") }
    cfg.peCount = Int(c.pe_count)
    cfg.onChipKiB = Int(c.onchip_kib)
    if let pj = c.precision_json {
        guard case .object(let kv) = try jsonField(pj, "precision_json") else { throw TailorError.invalid("hardware config: precision_json must be an object {\"node\": bits}") }
        for (name, v) in kv {
            guard let b = v.int else { throw TailorError.invalid("hardware config: precision['\(name)'] must be an integer number of bits") }
            cfg.precision[name] = b
        }
    }
    if let lj = c.layers_json {
        guard case .object(let kv) = try jsonField(lj, "layers_json") else {
            throw TailorError.invalid("hardware config: layers_json must be an object {\"node\": {\"reuse_factor\": R, \"strategy\": \"resource\"}}")
        }
        for (name, v) in kv {
            guard case .object(let fields) = v else { throw TailorError.invalid("hardware config: layers['\(name)'] must be an object") }
            var l = HardwareConfig.LayerSettings()
            for (key, value) in fields where value != .null {   // null: not set (as a report's config writes it)
                switch key {
                case "reuse_factor":
                    guard let r = value.int else { throw TailorError.invalid("hardware config: layers['\(name)'].reuse_factor must be an integer") }
                    l.reuseFactor = r
                case "strategy":
                    guard let s = value.string else { throw TailorError.invalid("hardware config: layers['\(name)'].strategy must be a string") }
                    l.strategy = try HardwareConfig.parse(s, "layers['\(name)'].strategy", as: HardwareConfig.Strategy.self)
                default:
                    throw TailorError.invalid("hardware config: layers['\(name)'] has unknown field '\(key)' (expected reuse_factor, strategy)")
                }
            }
            cfg.layers[name] = l
        }
    }
    try cfg.validate()
    return cfg
}

private func memoryCode(_ m: MemoryKind) -> Int32 {
    switch m {
    case .none: Int32(TAILOR_MEM_NONE.rawValue)
    case .srl: Int32(TAILOR_MEM_SRL.rawValue)
    case .lutram: Int32(TAILOR_MEM_LUTRAM.rawValue)
    case .bram: Int32(TAILOR_MEM_BRAM.rawValue)
    case .uram: Int32(TAILOR_MEM_URAM.rawValue)
    case .dram: Int32(TAILOR_MEM_DRAM.rawValue)
    }
}

private func cCost(_ c: Cost) -> tailor_hw_cost {
    tailor_hw_cost(bram18: Int64(c.bram18), uram: Int64(c.uram), lut: Int64(c.lut), ff: Int64(c.ff), dsp: Int64(c.dsp), bytes: Int64(c.bytes))
}

@_cdecl("tailor_net_estimate")
public func cEstimate(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?, _ count: UnsafeMutablePointer<Int64>?,
                      _ totals: UnsafeMutablePointer<tailor_hw_totals>?) -> Int32 {
    guarded {
        let count = try requirePointer(count, "count")
        let config = try hardwareConfig(cfg)
        try withHandle(net) { h in
            let report = try h.net.estimate(config, explain: false)
            let rows = report.skips.map { r in
                var row = tailor_skip_cost()
                row.block = Int64(r.skip.blockIndex)
                row.block_name = h.cString(r.skip.block)
                row.index = Int64(r.skip.index)
                row.mode = modeCode(r.skip.mode)
                row.memory = memoryCode(r.memory)
                row.buffer = r.buffer.map { h.cString($0) }
                (row.channels, row.height, row.width) = (Int64(r.shape?.c ?? 0), Int64(r.shape?.h ?? 0), Int64(r.shape?.w ?? 0))
                row.word_bits = Int64(r.wordBits)
                row.lag_words = Int64(r.lagWords ?? -1)
                row.depth_words = Int64(r.depthWords)
                row.macs = Int64(r.macs)
                row.cost = cCost(r.cost)
                return row
            }
            if let totals {   // written (its size checked) before the rows replace the handle's
                try writeVersioned(totals, "tailor_hw_totals") {
                    tailor_hw_totals(size: 0, skips: cCost(report.skipCost), rest: cCost(report.restCost), total: cCost(report.totalCost),
                                     macs: Int64(report.macs), latency_us: report.latencyMicroseconds ?? -1)
                }
            }
            h.skipCosts = rows
            count.pointee = Int64(rows.count)
        }
    }
}

@_cdecl("tailor_net_skip_cost")
public func cSkipCost(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_skip_cost>?) -> Int32 {
    structEntry(net, out, "tailor_skip_cost") { h in
        try storedRow(h.skipCosts, index, "skip cost", made: "tailor_net_estimate")
    }
}

/// Entry `index` of a list an earlier call kept on the handle (tailor.h rule 4).
func storedRow<T>(_ rows: [T]?, _ index: Int64, _ what: String, made call: String) throws -> T {
    guard let rows else { throw TailorError.notFound("no \(what) rows on this handle yet: call \(call) first") }
    guard index >= 0, index < Int64(rows.count) else { throw TailorError.notFound("\(what) index \(index) is out of range 0..<\(rows.count)") }
    return rows[Int(index)]
}

@_cdecl("tailor_net_estimate_json")
public func cEstimateJSON(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?,
                          _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        let config = try hardwareConfig(cfg)
        try withHandle(net) { h in json.pointee = h.json("estimate", try h.net.estimate(config).json.serialized()) }
    }
}

@_cdecl("tailor_net_compare_json")
public func cCompareJSON(_ before: OpaquePointer?, _ after: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?,
                         _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        let config = try hardwareConfig(cfg)
        guard before != nil else { throw TailorError.invalid("before is NULL") }
        // One handle at a time: comparing a network with itself, or two threads comparing a/b and b/a, cannot deadlock.
        let beforeReport = try withHandle(before) { try $0.net.estimate(config) }
        try withHandle(after) { h in
            let cmp = try HardwareComparison(before: beforeReport, after: try h.net.estimate(config))
            json.pointee = h.json("compare", cmp.json.serialized())
        }
    }
}

@_cdecl("tailor_net_fifos")
public func cNetFifos(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let count = try requirePointer(count, "count")
        let config = try hardwareConfig(cfg)
        guard config.target != .peArray else { throw TailorError.invalid("hardware config: target 'pe_array' has no FIFOs (use hls4ml or finn)") }
        try withHandle(net) { h in
            let report = try h.net.estimate(config, explain: false)
            h.fifos = report.fifos
            count.pointee = Int64(report.fifos.count)
        }
    }
}

@_cdecl("tailor_net_fifo")
public func cNetFifo(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_fifo>?) -> Int32 {
    structEntry(net, out, "tailor_fifo") { h in
        let f = try storedRow(h.fifos, index, "FIFO", made: "tailor_net_fifos")
        var r = tailor_fifo()
        r.stream = h.cString(f.stream); r.producer = h.cString(f.producer); r.consumer = h.cString(f.consumer); r.role = h.cString(f.role)
        r.block = Int64(f.block ?? -1)
        r.channels = Int64(f.channels); r.height = Int64(f.height); r.width = Int64(f.width); r.bits = Int64(f.bits)
        r.default_depth = Int64(f.defaultDepth); r.max_occupancy = Int64(f.maxOccupancy ?? -1); r.hls4ml_max = Int64(f.hls4mlMax ?? -1)
        r.depth = Int64(f.depth); r.memory = memoryCode(f.memory); r.is_port = f.isPort ? 1 : 0
        r.cost = cCost(f.cost)
        return r
    }
}

@_cdecl("tailor_dataflow_simulate_json")
public func cDataflowSimulateJSON(_ design: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let text = try requireText(design, "design_json", limit: Int(TAILOR_MAX_DESIGN_JSON_BYTES), limitName: "TAILOR_MAX_DESIGN_JSON_BYTES")
        let json = try requirePointer(json, "json")
        let d = try DataflowDesign.fromJSON(text)
        json.pointee = threadString(d.simulationJSON(try d.simulate()).serialized())
    }
}

// MARK: FPGA parts and budgets

/// The parts table never changes: made once, kept for the process (static storage, tailor.h rule 5).
private nonisolated(unsafe) let fpgaPartsJSON = UnsafePointer(strdup(FPGAPart.tableJSON)!)

@_cdecl("tailor_fpga_parts_json")
public func cFpgaPartsJSON(_ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let out = try requirePointer(out, "out")
        out.pointee = fpgaPartsJSON
    }
}

@_cdecl("tailor_net_budget_check_json")
public func cBudgetCheckJSON(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?, _ budget: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let out = try requirePointer(out, "out")
        let text = try requireText(budget, "budget_json", limit: Int(TAILOR_MAX_JSON_BYTES), limitName: "TAILOR_MAX_JSON_BYTES")
        let parsed: JSON
        do { parsed = try JSON.parse(text) } catch let e as TailorError {
            throw TailorError.invalid("budget_json is not valid JSON: \(e.message)")
        }
        // The budget and the configuration are checked before the (slower) estimate runs.
        let limits = try ResourceBudget.fromJSON(parsed)
        let config = try hardwareConfig(cfg)
        try limits.requireFields(on: config.target)
        try withHandle(net) { h in
            let check = try h.net.estimate(config, explain: false).check(limits)
            out.pointee = h.json("budget_check", check.json.serialized())
        }
    }
}
