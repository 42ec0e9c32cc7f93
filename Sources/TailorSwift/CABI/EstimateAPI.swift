import CTailor
import Glibc

// The hardware resource model through the C boundary: configuration in, rows + totals or JSON out.

private nonisolated(unsafe) let defaultTarget = UnsafePointer(strdup("hls4ml")!)
private nonisolated(unsafe) let defaultMemoryPolicy = UnsafePointer(strdup("auto")!)

@_cdecl("tailor_hw_config_init")
public func cHwConfigInit(_ cfg: UnsafeMutablePointer<tailor_hw_config>?) -> Int32 {
    guarded {
        let cfg = try requirePointer(cfg, "cfg")
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
        cfg.pointee = c
    }
}

/// Converts and validates a C configuration; every error names the field.
func hardwareConfig(_ p: UnsafePointer<tailor_hw_config>?) throws -> HardwareConfig {
    guard let p else { throw TailorError.invalid("cfg is NULL (fill one with tailor_hw_config_init)") }
    let expected = Int64(MemoryLayout<tailor_hw_config>.size)
    guard p.pointee.size == expected else {
        throw TailorError(.version, "cfg->size is \(p.pointee.size), this library expects \(expected): initialise it with tailor_hw_config_init")
    }
    let c = p.pointee
    var cfg = HardwareConfig()
    if let t = c.target { cfg.target = try HardwareConfig.parse(try requireString(t, "cfg->target"), "target", as: HardwareConfig.Target.self) }
    if let d = c.depth_policy { cfg.depthPolicy = try HardwareConfig.parse(try requireString(d, "cfg->depth_policy"), "depth_policy", as: HardwareConfig.DepthPolicy.self) }
    if let m = c.memory_policy { cfg.memoryPolicy = try HardwareConfig.parse(try requireString(m, "cfg->memory_policy"), "memory_policy", as: HardwareConfig.MemoryPolicy.self) }
    cfg.bits = Int(c.bits)
    cfg.reuseFactor = Int(c.reuse_factor)
    cfg.clockMHz = c.clock_mhz
    cfg.bandwidthGBps = c.bandwidth_gbps
    guard (1...Int64(1 << 24)).contains(c.pe_count) else { throw TailorError.invalid("hardware config: pe_count must be in 1...\(1 << 24), got \(c.pe_count)") }
    guard (0...Int64(1 << 30)).contains(c.onchip_kib) else { throw TailorError.invalid("hardware config: onchip_kib must be in 0...\(1 << 30), got \(c.onchip_kib)") }
    cfg.peCount = Int(c.pe_count)
    cfg.onChipKiB = Int(c.onchip_kib)
    if let pj = c.precision_json {
        guard strnlen(pj, 1 << 20 + 1) <= 1 << 20 else { throw TailorError.invalid("cfg->precision_json is longer than 1 MiB") }
        let parsed: JSON
        do { parsed = try JSON.parse(String(cString: pj)) } catch let e as TailorError {
            throw TailorError.invalid("hardware config: precision_json is not valid JSON: \(e.message)")
        }
        guard case .object(let kv) = parsed else { throw TailorError.invalid("hardware config: precision_json must be an object {\"node\": bits}") }
        for (name, v) in kv {
            guard let b = v.int else { throw TailorError.invalid("hardware config: precision['\(name)'] must be an integer number of bits") }
            cfg.precision[name] = b
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
