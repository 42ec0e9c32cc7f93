import CTailor
import Glibc

// The hardware resource model through the C boundary: configuration in, rows + totals or JSON out.

private nonisolated(unsafe) let defaultTarget = UnsafePointer(strdup("hls4ml")!)
private nonisolated(unsafe) let defaultMemoryPolicy = UnsafePointer(strdup("auto")!)

/// Bytes of tailor_hw_config in 0.1 (through onchip_kib): all `tailor_hw_config_init` may write.
private let hwConfigFirstSize = MemoryLayout<tailor_hw_config>.offset(of: \tailor_hw_config.backend) ?? 8
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
    return c
}

private func initHwConfig(_ cfg: UnsafeMutablePointer<tailor_hw_config>?, size: Int) throws {
    var d = hwDefaults()
    d.size = Int64(size)
    try writeVersioned(cfg, d, size: size)
}

@_cdecl("tailor_hw_config_init")
public func cHwConfigInit(_ cfg: UnsafeMutablePointer<tailor_hw_config>?) -> Int32 {
    guarded { try initHwConfig(cfg, size: hwConfigFirstSize) }
}

@_cdecl("tailor_hw_config_init_2")
public func cHwConfigInit2(_ cfg: UnsafeMutablePointer<tailor_hw_config>?, _ size: Int64) -> Int32 {
    guarded { try initHwConfig(cfg, size: try requireInt(size, "size", Int64(hwConfigFirstSize)...(1 << 16))) }
}

/// A JSON text field of a C struct, at most 1 MiB.
private func jsonField(_ p: UnsafePointer<CChar>, _ field: String) throws -> JSON {
    guard strnlen(p, 1 << 20 + 1) <= 1 << 20 else { throw TailorError.invalid("cfg->\(field) is longer than 1 MiB") }
    do { return try JSON.parse(String(cString: p)) } catch let e as TailorError {
        throw TailorError.invalid("hardware config: \(field) is not valid JSON: \(e.message)")
    }
}

/// Converts and validates a C configuration; every error names the field.
func hardwareConfig(_ p: UnsafePointer<tailor_hw_config>?) throws -> HardwareConfig {
    guard p != nil else { throw TailorError.invalid("cfg is NULL (fill one with tailor_hw_config_init)") }
    let c = try readVersioned(p, hwDefaults(), "tailor_hw_config")
    guard c.size >= Int64(hwConfigFirstSize) else {
        throw TailorError(.version, "cfg->size is \(c.size), smaller than any tailor_hw_config: initialise it with tailor_hw_config_init")
    }
    var cfg = HardwareConfig()
    if let t = c.target { cfg.target = try HardwareConfig.parse(try requireString(t, "cfg->target"), "target", as: HardwareConfig.Target.self) }
    if let d = c.depth_policy { cfg.depthPolicy = try HardwareConfig.DepthPolicy.parse(try requireString(d, "cfg->depth_policy")) }
    if let m = c.memory_policy { cfg.memoryPolicy = try HardwareConfig.parse(try requireString(m, "cfg->memory_policy"), "memory_policy", as: HardwareConfig.MemoryPolicy.self) }
    if let b = c.backend { cfg.backend = try HardwareConfig.parse(try requireString(b, "cfg->backend"), "backend", as: HardwareConfig.Backend.self) }
    if let i = c.interface { cfg.interface = try HardwareConfig.parse(try requireString(i, "cfg->interface"), "interface", as: HardwareConfig.InputInterface.self) }
    if let s = c.strategy { cfg.strategy = try HardwareConfig.parse(try requireString(s, "cfg->strategy"), "strategy", as: HardwareConfig.Strategy.self) }
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
public func cEstimate(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?, _ rows: UnsafeMutablePointer<tailor_skip_cost>?,
                      _ capacity: Int64, _ count: UnsafeMutablePointer<Int64>?, _ totals: UnsafeMutablePointer<tailor_hw_totals>?) -> Int32 {
    guarded {
        let count = try requirePointer(count, "count")
        let cap = try requireInt(capacity, "capacity", 0...Int64(1 << 30))
        guard cap == 0 || rows != nil else { throw TailorError.invalid("rows is NULL but capacity is \(cap)") }
        let config = try hardwareConfig(cfg)
        try withHandle(net) { h in
            let report = try h.net.estimate(config, explain: false)
            for (i, r) in report.skips.prefix(cap).enumerated() {
                var row = tailor_skip_cost()
                row.block = Int64(r.skip.blockIndex)
                row.block_name = h.cString(r.skip.block)
                row.index = Int64(r.skip.index)
                row.mode = modeCode(r.skip.mode)
                row.memory = memoryCode(r.memory)
                row.buffer = r.buffer.map { h.cString($0) }
                row.shape = (Int64(r.shape?.c ?? 0), Int64(r.shape?.h ?? 0), Int64(r.shape?.w ?? 0))
                row.word_bits = Int64(r.wordBits)
                row.lag_words = Int64(r.lagWords ?? -1)
                row.depth_words = Int64(r.depthWords)
                row.macs = Int64(r.macs)
                row.cost = cCost(r.cost)
                rows?[i] = row
            }
            count.pointee = Int64(report.skips.count)
            if let totals {
                totals.pointee = tailor_hw_totals(skips: cCost(report.skipCost), rest: cCost(report.restCost), total: cCost(report.totalCost),
                                                  macs: Int64(report.macs), latency_us: report.latencyMicroseconds ?? -1)
            }
        }
    }
}

@_cdecl("tailor_net_estimate_json")
public func cEstimateJSON(_ net: OpaquePointer?, _ cfg: UnsafePointer<tailor_hw_config>?,
                          _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        let config = try hardwareConfig(cfg)
        try withHandle(net) { h in
            h.setEstimateJSON(try h.net.estimate(config).json.serialized())
            json.pointee = UnsafePointer(h.estimateBuffer)
        }
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
            h.setEstimateJSON(cmp.json.serialized())
            json.pointee = UnsafePointer(h.estimateBuffer)
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
    guarded {
        let out = try requirePointer(out, "out")
        let size = UnsafeRawPointer(out).loadUnaligned(as: Int64.self)
        guard size >= 8, size <= 1 << 16 else { throw TailorError.invalid("out->size must be sizeof(tailor_fifo) (\(MemoryLayout<tailor_fifo>.size) in this library), got \(size)") }
        try withHandle(net) { h in
            guard let fifos = h.fifos else { throw TailorError.notFound("no FIFOs on this handle yet: call tailor_net_fifos first") }
            guard index >= 0, index < Int64(fifos.count) else { throw TailorError.notFound("FIFO index \(index) is out of range 0..<\(fifos.count)") }
            let f = fifos[Int(index)]
            var r = tailor_fifo()
            r.size = size
            r.stream = h.cString(f.stream); r.producer = h.cString(f.producer); r.consumer = h.cString(f.consumer); r.role = h.cString(f.role)
            r.block = Int64(f.block ?? -1)
            r.channels = Int64(f.channels); r.height = Int64(f.height); r.width = Int64(f.width); r.bits = Int64(f.bits)
            r.default_depth = Int64(f.defaultDepth); r.max_occupancy = Int64(f.maxOccupancy ?? -1); r.hls4ml_max = Int64(f.hls4mlMax ?? -1)
            r.depth = Int64(f.depth); r.memory = memoryCode(f.memory); r.is_port = f.isPort ? 1 : 0
            r.cost = cCost(f.cost)
            withUnsafeBytes(of: &r) { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress!, byteCount: min(Int(size), $0.count)) }
        }
    }
}

@_cdecl("tailor_dataflow_simulate_json")
public func cDataflowSimulateJSON(_ design: UnsafePointer<CChar>?, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
                                  _ needed: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        guard let design else { throw TailorError.invalid("design_json is NULL") }
        let needed = try requirePointer(needed, "needed")
        let cap = try requireInt(capacity, "capacity", 0...Int64(1 << 40))
        guard cap == 0 || buf != nil else { throw TailorError.invalid("buf is NULL but capacity is \(cap)") }
        guard strnlen(design, 64 << 20 + 1) <= 64 << 20 else { throw TailorError.invalid("design_json is longer than 64 MiB") }
        let d = try DataflowDesign.fromJSON(String(cString: design))
        let text = d.simulationJSON(try d.simulate()).serialized()
        let bytes = Array(text.utf8)
        needed.pointee = Int64(bytes.count + 1)
        if let buf, cap >= bytes.count + 1 {
            bytes.withUnsafeBufferPointer { src in
                UnsafeMutableRawPointer(buf).copyMemory(from: src.baseAddress!, byteCount: bytes.count)
            }
            buf[bytes.count] = 0
        }
    }
}
