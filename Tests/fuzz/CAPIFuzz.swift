import CTailor
import Glibc

// libFuzzer target: the input bytes are a program of C API calls on a few handles (build graphs
// node by node with odd sizes and names, wire unknown inputs, switch block modes, set parameters
// with odd shapes and values, copy, describe, save/load through memory, free), and training calls
// on them (train_step, grad, fit, evaluate, predict) with odd shapes, labels out of range,
// NaN/Inf/denormal inputs and weights, odd batch sizes and configurations, mode switches within a
// run, teachers and cancelling callbacks; fits that checkpoint, and resuming from those
// checkpoints (intact, truncated or with a byte changed) and describing them. Any crash, trap or
// sanitizer report is a bug: every call must return a status. The target also traps (so libFuzzer reports it) when a contract breaks:
// a parameter becomes non-finite, a failed train_step changes the network, a callback can enter
// the handle being trained, or a call leaves the caller's floating-point environment changed.

private struct Program {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var done: Bool { i >= bytes.count }
    mutating func byte() -> UInt8 { defer { i += 1 }; return i < bytes.count ? bytes[i] : 0 }
    mutating func small() -> Int64 { Int64(byte() % 12) - 1 }          // -1…10: edges around zero
    mutating func size() -> Int64 { [0, 1, 2, 3, 4, 7, 8, 16, 33, -5, 1 << 40][Int(byte()) % 11] }
    mutating func name(_ existing: [String]) -> String {
        let b = byte()
        if b < 200, !existing.isEmpty { return existing[Int(b) % existing.count] }
        return ["", "x", "a.b", "bad name", "ü", String(repeating: "n", count: 300), "n\(b)"][Int(b) % 7]
    }
}

public func fuzzCAPI(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var p = Program(bytes: UnsafeBufferPointer(start: data, count: size))
    // Each input starts without checkpoint files, so a run depends on its own bytes only.
    unlink(checkpointPath); unlink(damagedPath)
    defer { unlink(checkpointPath); unlink(damagedPath) }
    var nets: [OpaquePointer?] = [nil, nil, nil]
    var names: [[String]] = [[], [], []]
    var steps = 0
    while !p.done, steps < 64 {
        steps += 1
        let h = Int(p.byte() % 3)
        let net = nets[h]
        let envBefore = floatEnvironment()
        defer { if floatEnvironment() != envBefore { trap("a call changed the caller's floating-point environment") } }
        switch p.byte() % 20 {
        case 0:
            cNetFree(nets[h]); nets[h] = nil; names[h] = []
            var out: OpaquePointer?
            _ = cNetCreate(UInt64(p.byte()), &out); nets[h] = out
        case 1:
            cNetFree(nets[h]); nets[h] = nil; names[h] = []
            var out: OpaquePointer?
            let chw: [Int64] = p.byte() % 2 == 0 ? [0, 0, 0] : [p.small(), p.size(), p.size()]
            let zoo = ["resnet8", "resnet20", "nope"][Int(p.byte()) % 3]
            let classes = p.small()
            _ = cZooCreate(zoo, classes, chw[0], chw[1], chw[2], 0, &out)
            nets[h] = out
        case 2:
            let n = p.name(names[h])
            if cAddInput(net, n, p.small(), p.size(), p.size(), nil) == 0 { names[h].append(n) }
        case 3:
            let n = p.name(names[h])
            if cAddConv2d(net, n, p.name(names[h]), p.small(), p.small(), p.small(), p.small(), Int32(p.byte() % 2), nil) == 0 { names[h].append(n) }
        case 4:
            let n = p.name(names[h])
            if cAddBatchnorm(net, n, p.name(names[h]), [1e-5, 0, -1, .nan][Int(p.byte()) % 4], [0.1, 2, .infinity][Int(p.byte()) % 3], nil) == 0 { names[h].append(n) }
        case 5:
            let n = p.name(names[h])
            if cAddRelu(net, n, p.name(names[h]), nil) == 0 { names[h].append(n) }
        case 6:
            let n = p.name(names[h])
            if cAddAdd(net, n, p.name(names[h]), p.name(names[h]), nil) == 0 { names[h].append(n) }
        case 7:
            let n = p.name(names[h])
            if cAddPool(net, n, p.name(names[h]), Int32(p.small()), p.small(), p.small(), p.small(), nil) == 0 { names[h].append(n) }
        case 8:
            let n = p.name(names[h])
            let kind = p.byte() % 3
            let input = p.name(names[h])
            let rc = kind == 0 ? cAddGlobalAvgPool(net, n, input, nil) : kind == 1 ? cAddFlatten(net, n, input, nil)
                : cAddDense(net, n, input, p.small(), Int32(p.byte() % 2), nil)
            if rc == 0 { names[h].append(n) }
        case 9:
            _ = cSetBlockMode(net, p.small(), Int32(p.small()))
        case 10:
            var count: Int64 = 0
            guard cParamCount(net, &count) == 0, count > 0 else { break }
            guard let (pname, shape) = parameterShape(net, Int64(p.byte()) % count) else { break }
            let ndim = Int64(shape.count)
            var dims = shape + [Int64](repeating: 0, count: 4)
            if p.byte() % 3 == 0 { dims[Int(p.byte() % 4)] += p.small() }
            let n = max(0, min(1 << 16, dims.prefix(Int(ndim)).reduce(1, { $0 * max($1, 0) })))
            let fill: Float = [0, 1, .nan, -.infinity, 2.5, denormal, 3e38, -1e30, .leastNonzeroMagnitude, -1][Int(p.byte()) % 10]
            let values = [Float](repeating: fill, count: Int(n))
            _ = cSetParam(net, pname, values, ndim, dims)
            // The contract: count is the buffer's true length (it may disagree with the parameter).
            let bufferCount = max(0, n + p.small() % 2)
            var back = [Float](repeating: 0, count: Int(bufferCount))
            _ = cGetParam(net, pname, &back, bufferCount)
        case 11:
            var out: OpaquePointer?
            if cNetCopy(net, &out) == 0 { cNetFree(nets[(h + 1) % 3]); nets[(h + 1) % 3] = out; names[(h + 1) % 3] = names[h] }
        case 12:
            var json: UnsafePointer<CChar>?
            _ = cDescribe(net, &json)
            // Output structs with odd sizes: the library must write no more than `size` bytes.
            var info = tailor_node_info()
            info.size = oddSize(&p, MemoryLayout<tailor_node_info>.size)
            _ = cNodeInfo(net, p.small(), &info)
            var skip = tailor_skip_info()
            skip.size = oddSize(&p, MemoryLayout<tailor_skip_info>.size)
            _ = cSkipInfo(net, p.small(), &skip)
            var param = tailor_param_info()
            param.size = oddSize(&p, MemoryLayout<tailor_param_info>.size)
            _ = cParamInfo(net, p.small(), &param)
            var name: UnsafePointer<CChar>?
            var dim: Int64 = 0
            _ = cNodeInput(net, p.small(), p.small(), &name)
            _ = cSkipSpan(net, p.small(), p.small(), &name)
            let noDim = p.byte() % 5 == 0, noHeight = p.byte() % 3 == 0
            _ = withUnsafeMutablePointer(to: &dim) { cParamDim(net, p.small(), p.small(), noDim ? nil : $0) }
            var c: Int64 = 0, hh: Int64 = 0, w: Int64 = 0, outs: Int64 = 0
            _ = withUnsafeMutablePointer(to: &hh) { cIOShape(net, &c, noHeight ? nil : $0, &w, &outs) }
        case 13:
            guard let n = net, let h0 = try? withHandle(n, { try ModelFile.encode($0.net) }) else { break }
            var bytes = h0
            if !bytes.isEmpty, p.byte() % 2 == 0 { bytes[Int(p.byte()) % bytes.count] ^= p.byte() | 1 }
            var out: OpaquePointer?
            if bytes.withUnsafeBytes({ cNetLoadBuffer($0.baseAddress, $0.count, &out) }) == 0 {
                cNetFree(out)
            }
        case 14:
            cNetFree(nets[h]); nets[h] = nil; names[h] = []
        case 15:
            // The resource model with odd configurations, through every entry point.
            var cfg = tailor_hw_config()
            // Half the time a prefix ending before `backend` (as an older caller's struct), half the whole struct.
            let full = p.byte() % 2 == 0
            let prefix = MemoryLayout<tailor_hw_config>.offset(of: \tailor_hw_config.backend)!
            _ = cHwConfigDefaults(&cfg, Int64(full ? MemoryLayout<tailor_hw_config>.size : prefix))
            let choice: [UnsafeMutablePointer<CChar>?] = (["vivado", "vitis", "latency", "resource", "stream", "axi_wrapper", "simulated", "?"] as [String]).map { strdup($0) }
            let layers: UnsafeMutablePointer<CChar>? = strdup((["{\"conv1\": {\"reuse_factor\": 7}}", "{\"layer1.0.conv2\": {\"strategy\": \"resource\", \"reuse_factor\": 100000}}",
                                                                 "{\"fc\": 3}", "{\"conv1\": {\"x\": 1}}", "[]", "{"] as [String])[Int(p.byte()) % 6])
            defer { for c in choice { free(c) }; free(layers) }
            if full {
                if p.byte() % 2 == 0 { cfg.backend = choice[Int(p.byte()) % 8].map { UnsafePointer($0) } }
                if p.byte() % 2 == 0 { cfg.strategy = choice[Int(p.byte()) % 8].map { UnsafePointer($0) } }
                if p.byte() % 2 == 0 { cfg.interface = choice[Int(p.byte()) % 8].map { UnsafePointer($0) } }
                if p.byte() % 3 == 0 { cfg.layers_json = layers.map { UnsafePointer($0) } }
                if p.byte() % 3 == 0 { cfg.depth_policy = choice[6].map { UnsafePointer($0) } }
            }
            let target: [UnsafeMutablePointer<CChar>?] = (["hls4ml", "finn", "pe_array", "x"] as [String]).map { strdup($0) }
            let policy: [UnsafeMutablePointer<CChar>?] = (["default", "optimized", "auto", "srl", "lutram", "bram", "uram", ""] as [String]).map { strdup($0) }
            let precision: UnsafeMutablePointer<CChar>? = strdup((["{\"relu\": 3}", "{\"nope\": 8}", "[1]", "{\"conv1.weight\": 70}", "{", "{\"relu\": 1.5}"] as [String])[Int(p.byte()) % 6])
            defer { for c in target + policy { free(c) }; free(precision) }
            cfg.target = target[Int(p.byte()) % 4].map { UnsafePointer($0) }
            if p.byte() % 3 == 0 { cfg.depth_policy = policy[Int(p.byte()) % 8].map { UnsafePointer($0) } }
            if p.byte() % 3 == 0 { cfg.memory_policy = policy[Int(p.byte()) % 8].map { UnsafePointer($0) } }
            if p.byte() % 4 == 0 { cfg.precision_json = precision.map { UnsafePointer($0) } }
            cfg.bits = Int32(truncatingIfNeeded: p.small() * Int64(p.byte() % 9))
            cfg.reuse_factor = Int32(truncatingIfNeeded: p.size())
            if p.byte() % 5 == 0 { cfg.onchip_kib = p.size() }
            if p.byte() % 5 == 0 { cfg.pe_count = p.small() }
            if p.byte() % 7 == 0 { cfg.size = p.small() }
            var count: Int64 = 0
            var totals = tailor_hw_totals()
            totals.size = oddSize(&p, MemoryLayout<tailor_hw_totals>.size)
            let noTotals = p.byte() % 3 == 0
            if withUnsafeMutablePointer(to: &totals, { cEstimate(net, &cfg, &count, noTotals ? nil : $0) }) == 0 {
                var row = tailor_skip_cost()
                row.size = oddSize(&p, MemoryLayout<tailor_skip_cost>.size)
                for k in [0, count - 1, count, p.small()] { _ = cSkipCost(net, k, &row) }
            }
            var json: UnsafePointer<CChar>?
            _ = cEstimateJSON(net, &cfg, &json)
            _ = cCompareJSON(net, nets[Int(p.byte() % 3)], &cfg, &json)
            // Budgets: parts with odd spellings, limits of every kind, fields a target lacks.
            let budget = ["{\"part\": \"xc7z020clg400-1\"}", "{\"part\": \"PYNQ-Z2\", \"bram18\": null}", "{\"bram18\": \(p.small()), \"lut\": \(p.size())}",
                          "{\"bytes\": \(p.size()), \"onchip_kib\": 1.5}", "{\"part\": \"xc7z0201\"}", "{\"dsp\": -1}", "{}", "{\"part\": 7}", "[",
                          "{\"uram\": 1, \"uram\": 2}"][Int(p.byte()) % 10]
            if p.byte() % 4 == 0 { _ = cBudgetCheckJSON(net, nil, budget, &json) } else { _ = cBudgetCheckJSON(net, &cfg, budget, &json) }
            if p.byte() % 5 == 0 { _ = cFpgaPartsJSON(nil) } else { _ = cFpgaPartsJSON(&json) }
            var fifoCount: Int64 = 0
            if cNetFifos(net, &cfg, &fifoCount) == 0 {
                var f = tailor_fifo()
                f.size = oddSize(&p, MemoryLayout<tailor_fifo>.size)
                for k in [0, fifoCount - 1, fifoCount, p.small()] { _ = cNetFifo(net, k, &f) }
            }
            // A design given as layers, with odd sizes: shapes, kernels, strides, padding, reuse, two readers.
            let design = """
                {"interface": "\(["stream", "axi_wrapper", "x"][Int(p.byte()) % 3])", "strategy": "\(["latency", "resource"][Int(p.byte()) % 2])",
                 "layers": [{"name": "x", "class": "Input", "shape": [\(p.size()), \(p.size()), \(p.small())]},
                  {"name": "p", "class": "ZeroPadding2D", "inputs": ["x"], "pad": [\(p.small()), \(p.small()), \(p.small()), \(p.small())]},
                  {"name": "c", "class": "\(["Conv2D", "Pooling2D", "Dense", "GlobalPooling2D", "Nope"][Int(p.byte()) % 5])", "inputs": ["p"],
                   "filters": \(p.small()), "units": \(p.small()), "kernel": [\(p.small()), \(p.small())], "pool": [2, 2],
                   "stride": [\(p.small()), \(p.small())], "reuse_factor": \(p.size())},
                  {"name": "a", "class": "Add", "inputs": ["c", "\(["c", "p", "x"][Int(p.byte()) % 3])"]}]}
                """
            var result: UnsafePointer<CChar>?
            if cDataflowSimulateJSON(design, &result) == 0, result == nil { trap("dataflow_simulate_json succeeded without a result") }
            // Fixed-point conversion: odd type strings and values, in place half the time.
            let spelled = ["ap_fixed<\(p.small()),\(p.small())>", "ap_ufixed<\(p.size()),\(p.small()),AP_RND_CONV,AP_SAT_SYM>",
                           "ap_int<\(p.small())>", "fixed<8,3,\(["RND", "X", "SAT"][Int(p.byte()) % 3])>", "ap_fixed<8", ""][Int(p.byte()) % 6]
            var values = (0..<Int(p.byte() % 5)).map { _ in Double(p.value()) * [1, 1e30, 1e-30][Int(p.byte()) % 3] }
            var fixed = [Double](repeating: 0, count: values.count)
            var overflows: Int64 = 0
            let inPlace = p.byte() % 2 == 0
            let n = Int64(values.count)
            let qrc = values.withUnsafeMutableBufferPointer { vp in fixed.withUnsafeMutableBufferPointer { fp in
                cFixedQuantize(spelled, vp.baseAddress, n, inPlace ? vp.baseAddress : fp.baseAddress, &overflows)
            } }
            if qrc == 0, (inPlace ? values : fixed).contains(where: { !$0.isFinite }) { trap("fixed_quantize gave a non-finite value") }
            // Fixed-point types on the network: odd hls4ml configs, then read back.
            let layer = ["conv1", "fc", "relu", "nope", ""][Int(p.byte()) % 5]
            let role = ["weight", "bias", "result", "accum", "x"][Int(p.byte()) % 5]
            let types = ["\"\(spelled)\"", "{\"Model\": {\"Precision\": \"ap_fixed<16,6>\"}, \"LayerName\": {\"\(layer)\": {\"Precision\": {\"\(role)\": \"\(spelled)\"}}}}",
                             "{\"Model\": {}}", "[1]", "{", "null"][Int(p.byte()) % 6]
            if p.byte() % 7 == 0 { _ = cSetPrecisionJSON(net, nil) } else { _ = cSetPrecisionJSON(net, types) }
            var pj: UnsafePointer<CChar>?
            if cPrecisionJSON(net, &pj) == 0, pj == nil { trap("precision_json succeeded without a text") }
        case 16:
            cNetFree(nets[h]); nets[h] = nil
            nets[h] = tinyNet(&p); names[h] = []
        case 17, 18:
            trainingCall(&p, nets, h)
        default:
            _ = cSetBlockMode(nil, 0, 0)
            _ = cNetLoadBuffer(nil, 5, nil)
            var c: Int64 = 0
            _ = cNodeCount(net, &c)
            _ = cBlockInfo(net, p.small(), nil, nil, nil)
        }
    }
    for n in nets { cNetFree(n) }
    return 0
}

// MARK: training calls

/// A subnormal float (about 1.2e-41).
private let denormal = Float.leastNormalMagnitude / 1000

private func trap(_ why: String) -> Never {
    fputs("CAPIFuzz contract broken: \(why)\n", stderr)
    abort()
}

/// The thread's MXCSR (x86-64) / FPCR (arm64) control bits (rounding, exception masks, FTZ/DAZ).
/// The status flags are left out: the target's own float code may raise them between calls.
private func floatEnvironment() -> UInt64 {
    var e = fenv_t()
    guard fegetenv(&e) == 0 else { return 0 }
#if arch(x86_64)
    return UInt64(e.__mxcsr & ~0x3F)
#elseif arch(arm64)
    return UInt64(e.__fpcr)
#else
    return 0
#endif
}

/// A small trainable network in a few bytes: input, conv-BN-ReLU, conv-BN, a projection or
/// identity skip, add, ReLU, then global average pooling or max pooling + flatten, and a dense
/// layer. Odd choices (an identity skip across a shape change) leave a half-built network.
private func tinyNet(_ p: inout Program) -> OpaquePointer? {
    var out: OpaquePointer?
    guard cNetCreate(UInt64(p.byte()), &out) == 0, let net = out else { return nil }
    let c = Int64(1 + p.byte() % 3), hw = Int64(1 + p.byte() % 6), width = Int64(1 + p.byte() % 4)
    let stride = Int64(1 + p.byte() % 2), classes = Int64(1 + p.byte() % 4)
    let projection = p.byte() % 3 != 0, gap = p.byte() % 2 == 0, bias = Int32(p.byte() % 2)
    _ = cAddInput(net, "x", c, hw, hw, nil)
    _ = cAddConv2d(net, "conv1", "x", width, 3, 1, 1, 0, nil)
    _ = cAddBatchnorm(net, "bn1", "conv1", [1e-5, 1e-3][Int(p.byte()) % 2], 0.1, nil)
    _ = cAddRelu(net, "relu1", "bn1", nil)
    _ = cAddConv2d(net, "conv2", "relu1", width, 3, stride, 1, 0, nil)
    _ = cAddBatchnorm(net, "bn2", "conv2", 1e-5, 0.1, nil)
    var skip = "x"
    if projection {
        _ = cAddConv2d(net, "downsample.0", "x", width, 1, stride, 0, 0, nil)
        _ = cAddBatchnorm(net, "downsample.1", "downsample.0", 1e-5, 0.1, nil)
        skip = "downsample.1"
    }
    _ = cAddAdd(net, "add", "bn2", skip, nil)
    _ = cAddRelu(net, "out", "add", nil)
    if gap {
        _ = cAddGlobalAvgPool(net, "pool", "out", nil)
    } else {
        _ = cAddPool(net, "mp", "out", Int32(p.byte() % 2), 2, 2, 0, nil)
        _ = cAddFlatten(net, "pool", "mp", nil)
    }
    _ = cAddDense(net, "fc", "pool", classes, bias, nil)
    return net
}

/// Multiply-accumulates of one forward pass of one sample (an upper bound for pooling etc.), so
/// the target skips training calls too slow for fuzzing; nil for an unusable handle.
private func forwardCost(_ net: OpaquePointer?) -> Int? {
    guard let net else { return nil }
    return try? withHandle(net) { h -> Int in
        var macs = 0
        for node in h.net.nodes {
            switch node.op {
            case .conv2d, .dense:
                let w = (try? h.net.parameter("\(node.name).weight"))?.count ?? 0
                macs += w * node.shape.h * node.shape.w
            default:
                macs += node.shape.count * 4
            }
        }
        return macs
    }
}

/// Every parameter and buffer of the network by name (nil for an unusable handle).
private func snapshot(_ net: OpaquePointer?) -> [String: [Float]]? {
    var count: Int64 = 0
    guard cParamCount(net, &count) == 0 else { return nil }
    var out: [String: [Float]] = [:]
    for i in 0..<count {
        guard let (name, shape) = parameterShape(net, i) else { return nil }
        let n = shape.reduce(1, *)
        var v = [Float](repeating: 0, count: Int(n))
        guard cGetParam(net, name, &v, n) == 0 else { return nil }
        out[name] = v
    }
    return out
}

/// Name and shape of parameter `index`, through tailor_net_param_info and tailor_net_param_dim.
private func parameterShape(_ net: OpaquePointer?, _ index: Int64) -> (String, [Int64])? {
    var info = tailor_param_info()
    info.size = Int64(MemoryLayout<tailor_param_info>.size)
    guard cParamInfo(net, index, &info) == 0, let name = info.name else { return nil }
    var shape: [Int64] = []
    for k in 0..<info.ndim {
        var d: Int64 = 0
        guard cParamDim(net, index, k, &d) == 0 else { return nil }
        shape.append(d)
    }
    if shape.reduce(1, *) != info.count { trap("parameter \(index): count \(info.count) is not the product of its dims \(shape)") }
    return (String(cString: name), shape)
}

private func checkFinite(_ net: OpaquePointer?, after what: String) {
    guard let s = snapshot(net) else { return }
    for (name, v) in s where v.contains(where: { !$0.isFinite }) { trap("parameter '\(name)' is not finite after \(what)") }
}

extension Program {
    mutating func double() -> Double {
        [0.1, 0, -1, .nan, .infinity, -.infinity, 1e30, 1e31, 1e-40, Double.leastNormalMagnitude / 1000, 0.5, 1, 1e12, 2, 0.9, 1e-8][Int(byte()) % 16]
    }
    mutating func int64() -> Int64 { [0, 1, 2, -1, 3, 1_000_001, .max, .min, 1 << 31][Int(byte()) % 9] }
    mutating func flag() -> Int32 { [0, 1, 1, 0, 2, -1][Int(byte()) % 6] }
    /// A float with an occasional non-finite, denormal or huge value.
    mutating func value() -> Float {
        let b = byte()
        switch b % 16 {
        case 0: return .nan
        case 1: return .infinity
        case 2: return denormal
        case 3: return .leastNonzeroMagnitude
        case 4: return 1e30
        default: return Float(Int(b) - 128) / 32
        }
    }
}

/// A training configuration: the defaults with a small batch, then a few fields set to odd values.
private func trainConfig(_ p: inout Program, switches: Buffer<tailor_mode_switch>) -> tailor_train_config {
    var c = tailor_train_config()
    // What the header's tailor_train_config_init macro calls: every field this build knows.
    _ = cTrainConfigDefaults(&c, Int64(MemoryLayout<tailor_train_config>.size))
    c.batch_size = Int64(1 + p.byte() % 3)
    c.epochs = Int64(1 + p.byte() % 2)
    if p.byte() % 2 == 0 {
        c.mode_switches = UnsafePointer(switches.p)
        c.num_mode_switches = [Int64(switches.count), Int64(switches.count), -1, 2_000_000][Int(p.byte()) % 4]
    }
    for _ in 0..<Int(p.byte() % 5) {
        switch p.byte() % 35 {
        case 0: c.size = [8, 16, 0, 3, 1 << 20, Int64(MemoryLayout<tailor_train_config>.size) - 8][Int(p.byte()) % 6]
        case 1: c.optimizer = Int32(p.small())
        case 2: c.nesterov = p.flag()
        case 3: c.lr = p.double()
        case 4: c.momentum = p.double()
        case 5: c.dampening = p.double()
        case 6: c.weight_decay = p.double()
        case 7: c.decay_norm_and_bias = p.flag()
        case 8: c.loss = Int32(p.small())
        case 9: c.beta1 = p.double()
        case 10: c.beta2 = p.double()
        case 11: c.eps = p.double()
        case 12: c.kd_alpha = p.double()
        case 13: c.kd_temperature = p.double()
        case 14: c.schedule = Int32(p.small())
        case 15: c.cycle_momentum = p.flag()
        case 16: c.base_momentum = p.double()
        case 17: c.max_momentum = p.double()
        case 18: c.step_size = p.int64()
        case 19: c.step_gamma = p.double()
        case 20: c.eta_min = p.double()
        case 21: c.pct_start = p.double()
        case 22: c.div_factor = p.double()
        case 23: c.final_div_factor = p.double()
        case 24: c.warmup_steps = p.int64()
        case 25: c.epochs = p.int64()
        case 26: c.batch_size = p.int64()
        case 27: c.augment = p.flag()
        case 28: c.shuffle = p.flag()
        case 29: c.crop_padding = [0, 1, 4, -1, 1024, 1025][Int(p.byte()) % 6]
        case 30: c.drop_last = p.flag()
        case 31: c.keep_optimizer_state = p.flag()
        case 32: c.seed = UInt64(p.byte())
        case 33: c.quantized = p.flag()
        default: c.lr = Double(p.value())
        }
    }
    // Valid-but-slow settings would only make executions slow: keep a run to a few steps.
    if c.epochs > 3 && c.epochs <= 1_000_000 { c.epochs = 3 }
    return c
}

/// A buffer that stays where it is until freed (what a C caller hands over).
private final class Buffer<T> {
    let p: UnsafeMutablePointer<T>
    let count: Int
    init(_ values: [T]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        if let first = values.first { p.initialize(repeating: first, count: max(count, 1)) }
        for (i, v) in values.enumerated() { p[i] = v }
    }
    deinit { p.deallocate() }
}

/// A data set for `net`'s input (sometimes another shape), with odd values and labels. The
/// buffers are sized for what the struct claims whenever the library could read them.
private final class FuzzData {
    let x: Buffer<Float>, labels: Buffer<Int64>, mean: Buffer<Float>, std: Buffer<Float>
    var d = tailor_data()

    init(_ p: inout Program, chw: [Int64], classes: Int64) {
        var shape = chw
        if p.byte() % 8 == 0 { shape[Int(p.byte() % 3)] += p.small() }
        let n = [1, 2, 3, 4, 5, 0, -1, 1 << 40][Int(p.byte()) % 8] as Int64
        let perSample = shape.allSatisfy { $0 >= 1 } ? shape.reduce(1, *) : 0
        let claimed = n >= 1 && n <= 8 ? n * perSample : 0
        let allDenormal = p.byte() % 6 == 0
        x = Buffer((0..<Int(max(claimed, 1))).map { i in allDenormal ? denormal : i % 7 == 0 ? p.value() : Float(i % 5) / 4 })
        labels = Buffer((0..<Int(max(min(n, 8), 1))).map { _ in
            let b = p.byte()
            return b % 16 == 0 ? [-1, classes, .max][Int(b / 16) % 3] : Int64(b) % max(classes, 1)
        })
        d.size = [Int64(MemoryLayout<tailor_data>.size), Int64(MemoryLayout<tailor_data>.size), 8, 0,
                  Int64(MemoryLayout<tailor_data>.offset(of: \tailor_data.mean)!)][Int(p.byte()) % 5]
        d.n = n; d.channels = shape[0]; d.height = shape[1]; d.width = shape[2]
        d.x = UnsafePointer(x.p); d.labels = UnsafePointer(labels.p)
        let norm = p.byte() % 4
        let c = Int(max(1, min(shape[0], 16)))
        mean = Buffer((0..<c).map { _ in norm >= 1 ? p.value() : 0 })
        std = Buffer((0..<c).map { _ in norm >= 1 ? [1, 0.5, 0, -1, .nan, denormal][Int(p.byte()) % 6] : 1 })
        if norm >= 1, c == Int(shape[0]) {
            d.mean = UnsafePointer(mean.p)
            if norm >= 2 { d.std = UnsafePointer(std.p) }
        }
    }
}

/// What the progress callback sees: the handle being trained (which it must not be able to
/// enter; nil for a resume, whose student is not a handle yet) and when to cancel.
private struct CallbackState {
    var net: OpaquePointer?
    var calls = 0
    var cancelAt = -1
}

private let progressCallback: tailor_progress_fn = { progress, user in
    guard let user else { return 0 }
    let s = user.assumingMemoryBound(to: CallbackState.self)
    s.pointee.calls += 1
    var n: Int64 = 0
    if let net = s.pointee.net, cNodeCount(net, &n) != Int32(TAILOR_ERR_BUSY.rawValue) {
        trap("a callback entered the network being trained")
    }
    if let progress, progress.pointee.loss.isNaN { trap("progress reported a NaN loss") }
    return s.pointee.calls == s.pointee.cancelAt ? 1 : 0
}

/// CAPIFUZZ_TRACE=1 prints each training call's status (to check what seeds reach).
private let tracing = getenv("CAPIFUZZ_TRACE") != nil
private func trace(_ what: String, _ rc: Int32) {
    if tracing { fputs("\(what): \(String(cString: cStatusName(rc))) \(String(cString: cLastError()))\n", stderr) }
}

private func trainingCall(_ p: inout Program, _ nets: [OpaquePointer?], _ h: Int) {
    let net = nets[h]
    var c: Int64 = 0, hh: Int64 = 0, w: Int64 = 0, classes: Int64 = 0
    let usable = cIOShape(net, &c, &hh, &w, &classes) == 0
    var chw = [c, hh, w]
    if !usable { chw = [p.small(), p.small(), p.small()]; classes = p.small() }
    let cost = forwardCost(net) ?? 0
    let budget = 3_000_000   // multiply-accumulates per call (forward + backward ≈ 3×)
    switch p.byte() % 8 {
    case 0:
        // train_step
        var shape = chw
        if p.byte() % 8 == 0 { shape[Int(p.byte() % 3)] += p.small() }
        let n = [1, 2, 3, 0, -1, 70_000, 1 << 40][Int(p.byte()) % 7] as Int64
        guard n < 1 || n > 3 || cost * Int(n) * 3 <= budget else { return }
        let perSample = shape.allSatisfy { $0 >= 1 } ? shape.reduce(1, *) : 0
        let x: [Float] = (0..<Int(max(n >= 1 && n <= 3 ? n * perSample : 0, 1))).map { i in i % 5 == 0 ? p.value() : Float(i % 3) }
        let labels: [Int64] = (0..<3).map { _ in let b = p.byte(); return b % 16 == 0 ? -1 : Int64(b) % max(classes, 1) }
        let switches = Buffer([tailor_mode_switch(epoch: 0, block: 0, mode: 1)])
        var cfg = trainConfig(&p, switches: switches)
        let teacher: [Float]? = p.byte() % 2 == 0 ? (0..<Int(max(0, min(n, 3) * max(classes, 0)))).map { _ in p.value() } : nil
        let outCount = max(0, min(n, 3) * max(classes, 0)) + [0, 0, 1, -1][Int(p.byte()) % 4]
        var logits = [Float](repeating: 0, count: Int(max(outCount, 1)))
        var loss = 0.0
        let before = snapshot(net)
        let update = p.flag()
        let noConfig = p.byte() % 8 == 0, noLogits = p.byte() % 3 == 0
        let rc = x.withUnsafeBufferPointer { xp in labels.withUnsafeBufferPointer { lp in
            withOptionalPointer(teacher) { tp in
                withUnsafePointer(to: &cfg) { cp in
                    logits.withUnsafeMutableBufferPointer { op in
                        cTrainStep(net, xp.baseAddress, n, shape[0], shape[1], shape[2], lp.baseAddress, tp, noConfig ? nil : cp,
                                   update, noLogits ? nil : op.baseAddress, outCount, &loss)
                    }
                }
            } } }
        trace("train_step n=\(n)", rc)
        if rc != 0, let before, let after = snapshot(net), before != after {
            let changed = before.keys.sorted().first { before[$0] != after[$0] } ?? "?"
            trap("a failed train_step (status \(rc)) changed parameter '\(changed)'")
        }
        if rc == 0, !loss.isFinite { trap("train_step succeeded with loss \(loss)") }
        checkFinite(net, after: "train_step")
    case 1:
        // grad
        var count: Int64 = 0
        var name = "fc.weight"
        if cParamCount(net, &count) == 0, count > 0 {
            var info = tailor_param_info()
            info.size = Int64(MemoryLayout<tailor_param_info>.size)
            if cParamInfo(net, Int64(p.byte()) % count, &info) == 0, let cname = info.name {
                name = String(cString: cname)
                count = info.count
            }
        }
        if p.byte() % 5 == 0 { name = ["", "nope", "bn1.running_mean", "fc.weight"][Int(p.byte()) % 4] }
        let claim = count + [0, 0, 1, -1, -count - 1][Int(p.byte()) % 5]
        var out = [Float](repeating: 0, count: Int(max(claim, 1)))
        let noOut = p.byte() % 7 == 0
        trace("grad \(name)", out.withUnsafeMutableBufferPointer { cGrad(net, name, noOut ? nil : $0.baseAddress, claim) })
    case 2:
        // fit, with validation data, a teacher, mode switches, a callback and a history
        let train = FuzzData(&p, chw: chw, classes: classes)
        let val = p.byte() % 3 == 0 ? FuzzData(&p, chw: chw, classes: classes) : nil
        let switches = Buffer((0..<Int(p.byte() % 3)).map { _ in tailor_mode_switch(epoch: p.small(), block: p.small(), mode: Int32(p.small())) })
        var cfg = trainConfig(&p, switches: switches)
        let samples = Int(min(max(train.d.n, 0), 8)) + Int(min(max(val?.d.n ?? 0, 0), 8))
        guard cost * samples * Int(min(max(cfg.epochs, 1), 3)) * 3 <= 4 * budget else { return }
        let teacher: OpaquePointer? = [nil, nil, nets[(h + 1) % 3], net][Int(p.byte()) % 4]
        var state = CallbackState(net: net, calls: 0, cancelAt: p.byte() % 3 == 0 ? Int(p.byte() % 6) : -1)
        let useCallback = p.byte() % 2 == 0
        // Some fits checkpoint every epoch (to the file the resume calls below read), with a note.
        let note = ["", "run 1", String(repeating: "n", count: 5000)][Int(p.byte()) % 3]
        let checkpointing = p.byte() % 3 == 0
        if p.byte() % 4 == 0 {
            // The whole Tailor run instead of a fit: odd plans, algorithms and configurations.
            var blocks: Int64 = 0
            _ = cBlockCount(net, &blocks)
            let every = [1, 0, -1, 2][Int(p.byte()) % 4] as Int64
            guard cost * samples * Int(max(blocks + 1, 1) * max(every, 1)) * 3 <= 4 * budget else { return }
            var run = tailor_run_config()
            _ = cRunConfigDefaults(&run, Int64(MemoryLayout<tailor_run_config>.size))
            run.every = every
            if p.byte() % 5 == 0 { run.epochs = p.small() }
            let order = Buffer([p.small(), p.small()])
            if p.byte() % 4 == 0 { run.blocks = UnsafePointer(order.p); run.num_blocks = Int64(p.byte() % 3) }
            let algorithm = ["remove", "shorten", "prune"][Int(p.byte()) % 3]
            let noConfig = p.byte() % 3 == 0
            if !noConfig, p.byte() % 2 == 0 { cfg.loss = Int32(TAILOR_LOSS_KD_MSE.rawValue); cfg.num_mode_switches = 0 }
            var student: OpaquePointer?
            let rc = withUnsafeMutablePointer(to: &state) { sp in withUnsafePointer(to: &train.d) { tp in withOptionalData(val) { vp in
                algorithm.withCString { a in withUnsafePointer(to: &cfg) { cp in
                    run.algorithm = a
                    return cRun(net, tp, vp, &run, noConfig ? nil : cp, useCallback ? progressCallback : nil, UnsafeMutableRawPointer(sp),
                                &student)
                } }
            } } }
            trace("tailor_run \(algorithm) every=\(every)", rc)
            if rc == 0 {
                var json: UnsafePointer<CChar>?
                if cRunHistoryJSON(student, &json) != 0 { trap("a run's student has no history: \(String(cString: cLastError()))") }
                readHistory(&p, student, after: "tailor_run")
                checkFinite(student, after: "tailor_run")
            } else if student != nil {
                trap("tailor_run failed (status \(rc)) but handed out a student")
            }
            cNetFree(student)
            return
        }
        let rc = withUnsafeMutablePointer(to: &state) { sp in
            withUnsafePointer(to: &train.d) { tp in
                withOptionalData(val) { vp in
                    checkpointPath.withCString { path in note.withCString { nt in
                        if checkpointing { cfg.checkpoint_path = path; cfg.checkpoint_note = note.isEmpty ? nil : nt }
                        return cFit(net, tp, vp, &cfg, teacher, useCallback ? progressCallback : nil, UnsafeMutableRawPointer(sp))
                    } }
                }
            }
        }
        let historyCount = readHistory(&p, net, after: "fit")
        trace("fit n=\(train.d.n) epochs=\(cfg.epochs) history=\(historyCount) callbacks=\(state.calls)", rc)
        if rc == 0, historyCount != min(max(cfg.epochs, 0), 3) && cfg.size == Int64(MemoryLayout<tailor_train_config>.size) {
            trap("fit succeeded with \(historyCount) epochs of history, configured \(cfg.epochs)")
        }
        checkFinite(net, after: "fit")
    case 3:
        // evaluate
        let data = FuzzData(&p, chw: chw, classes: classes)
        guard cost * Int(min(max(data.d.n, 0), 8)) <= budget else { return }
        var loss = 0.0, acc = 0.0
        let useLoss = p.byte() % 4 != 0
        let rc = withUnsafeMutablePointer(to: &loss) { lp in withUnsafePointer(to: &data.d) { cEvaluate(net, $0, useLoss ? lp : nil, &acc) } }
        trace("evaluate n=\(data.d.n) loss=\(loss) accuracy=\(acc)", rc)
        if rc == 0, !(acc >= 0 && acc <= 1) { trap("evaluate gave accuracy \(acc)") }
    case 4:
        // predict
        let data = FuzzData(&p, chw: chw, classes: classes)
        let n = data.d.n
        guard cost * Int(min(max(n, 0), 8)) <= budget else { return }
        let outCount = max(0, min(n, 8) * max(classes, 0)) + [0, 0, 1, -1][Int(p.byte()) % 4]
        var out = [Float](repeating: 0, count: Int(max(outCount, 1)))
        let rc = cPredict(net, data.x.p, n, data.d.channels, data.d.height, data.d.width, &out, outCount)
        trace("predict n=\(n)", rc)
        if rc == 0, out.prefix(Int(outCount)).contains(where: { !$0.isFinite }) { trap("predict succeeded with non-finite outputs") }
        // Fixed point: the network given odd types (wide, narrow, unsigned 64-bit, wrapping), or none.
        let types = [nil, "\"ap_fixed<16,6>\"", "\"ap_fixed<4,2>\"", "\"ap_ufixed<64,3>\"", "\"ap_fixed<64,60,AP_RND,AP_SAT>\"",
                     "{\"Model\": {\"Precision\": \"ap_fixed<8,3>\"}, \"LayerName\": {\"\(p.name([]))\": {\"Precision\": \"auto\"}}}"]
        if let t = types[Int(p.byte()) % types.count] { _ = cSetPrecisionJSON(net, t) } else { _ = cSetPrecisionJSON(net, nil) }
        var outD = [Double](repeating: 0, count: Int(max(outCount, 1)))
        let xd = (0..<data.x.count).map { Double(data.x.p[$0]) }
        var overflows: Int64 = -1
        var json: UnsafePointer<CChar>?
        let (countIt, nameIt) = (p.byte() % 2 == 0, p.byte() % 2 == 0)
        let rcFixed = withUnsafeMutablePointer(to: &overflows) { op in
            withUnsafeMutablePointer(to: &json) { jp in
                cPredictFixed(net, xd, n, data.d.channels, data.d.height, data.d.width, &outD, outCount,
                              countIt ? op : nil, nameIt ? jp : nil)
            }
        }
        trace("predict_fixed n=\(n)", rcFixed)
        if rcFixed == 0, outD.prefix(Int(outCount)).contains(where: { !$0.isFinite }) { trap("predict_fixed succeeded with non-finite outputs") }
    case 5:
        resumeCall(&p, nets, h, chw: chw, classes: classes, cost: cost, budget: budget)
    case 6:
        // tailor_checkpoint_json on the checkpoint (or a damaged copy)
        let path = damagedCheckpoint(&p)
        var json: UnsafePointer<CChar>?
        let noOut = p.byte() % 4 == 0
        let rc = withUnsafeMutablePointer(to: &json) { cCheckpointJSON(path, noOut ? nil : $0) }
        trace("checkpoint_json", rc)
        if rc == 0, json == nil { trap("checkpoint_json succeeded without a text") }
    default:
        _ = cTrainReset(p.byte() % 2 == 0 ? net : nil)
        _ = cTrainConfigDefaults(nil, 8)
        var first = tailor_train_config()
        _ = cTrainConfigDefaults(&first, [-1, 0, 8, 1 << 17][Int(p.byte()) % 4])
        _ = cEvaluate(net, nil, nil, nil)
        _ = cFit(net, nil, nil, nil, nil, nil, nil)
    }
}

private func withOptionalData<R>(_ d: FuzzData?, _ body: (UnsafePointer<tailor_data>?) -> R) -> R {
    guard let d else { return body(nil) }
    return withUnsafePointer(to: &d.d) { body($0) }
}

// MARK: checkpoints

/// Where fits in this process write their checkpoint, and where damaged copies go.
private let checkpointPath = "/tmp/capifuzz-\(getpid()).ckpt"
private let damagedPath = "/tmp/capifuzz-\(getpid())-damaged.ckpt"

/// The checkpoint's path, or that of a copy truncated or with one byte changed (or a missing file).
private func damagedCheckpoint(_ p: inout Program) -> String {
    let kind = p.byte() % 4                 // 0 intact, 1 truncated, 2 one bit flipped, 3 missing
    if kind == 0 { return checkpointPath }
    if kind == 3 { return "/nonexistent/capifuzz.ckpt" }
    guard let f = fopen(checkpointPath, "rb") else { return checkpointPath }
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
    fclose(f)
    bytes.removeLast(bytes.count - n)
    guard n > 0 else { return checkpointPath }
    let at = (Int(p.byte()) << 8 | Int(p.byte())) % n
    if kind == 1 { bytes.removeLast(n - at) } else { bytes[at] ^= 1 << (p.byte() % 8) }
    guard let g = fopen(damagedPath, "wb") else { return checkpointPath }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, g) }
    fclose(g)
    return damagedPath
}

/// tailor_net_fit_resume from the checkpoint (or a damaged copy) with data that may or may not be
/// the run's, an expected network, a cancelling callback and a history buffer of odd capacity.
private func resumeCall(_ p: inout Program, _ nets: [OpaquePointer?], _ h: Int, chw: [Int64], classes: Int64,
                        cost: Int, budget: Int) {
    let path = damagedCheckpoint(&p)
    let train = FuzzData(&p, chw: chw, classes: classes)
    let val = p.byte() % 3 == 0 ? FuzzData(&p, chw: chw, classes: classes) : nil
    let samples = Int(min(max(train.d.n, 0), 8)) + Int(min(max(val?.d.n ?? 0, 0), 8))
    guard cost * samples * 3 * 3 <= 4 * budget else { return }
    let expected: OpaquePointer? = [nil, nets[h], nets[(h + 1) % 3]][Int(p.byte()) % 3]
    var state = CallbackState(net: nil, calls: 0, cancelAt: p.byte() % 3 == 0 ? Int(p.byte() % 6) : -1)
    var student: OpaquePointer?, teacher: OpaquePointer?
    let wantTeacher = p.byte() % 2 == 0
    let useCallback = p.byte() % 2 == 0
    let rc = withUnsafeMutablePointer(to: &state) { sp in
        withUnsafePointer(to: &train.d) { tp in
            withOptionalData(val) { vp in
                withUnsafeMutablePointer(to: &teacher) { teacherOut in
                    cFitResume(path, tp, vp, expected, useCallback ? progressCallback : nil, UnsafeMutableRawPointer(sp),
                               &student, wantTeacher ? teacherOut : nil)
                }
            }
        }
    }
    trace("fit_resume \(path == checkpointPath ? "intact" : "damaged")", rc)
    if rc == 0 {
        guard student != nil else { trap("fit_resume succeeded without a student") }
        readHistory(&p, student, after: "fit_resume")
        checkFinite(student, after: "fit_resume")
    } else if student != nil || teacher != nil {
        trap("fit_resume failed (status \(rc)) but handed out a handle")
    }
    cNetFree(student)
    cNetFree(teacher)
}

// MARK: versioned output structs

/// A `size` for an output struct of `full` bytes: mostly right, sometimes a prefix, larger, or invalid.
private func oddSize(_ p: inout Program, _ full: Int) -> Int64 {
    [Int64(full), Int64(full), 8, 16, Int64(full) - 8, Int64(full) + 64, 4, 0, 1 << 20][Int(p.byte()) % 9]
}

/// Reads a handle's training history through the accessors (odd sizes and indexes); its count.
@discardableResult
private func readHistory(_ p: inout Program, _ net: OpaquePointer?, after call: String) -> Int64 {
    var count: Int64 = -1
    guard cHistoryCount(net, &count) == 0 else { return -1 }
    if count < 0 { trap("\(call): a negative history count \(count)") }
    var stats = tailor_epoch_stats()
    stats.size = oddSize(&p, MemoryLayout<tailor_epoch_stats>.size)
    for k in [0, count - 1, count, p.small()] { _ = cHistory(net, k, &stats) }
    return count
}
