import Glibc
import CTailor

// libFuzzer target: the input bytes are a program of C API calls on a few handles (build graphs
// node by node with odd sizes and names, wire unknown inputs, switch block modes, set parameters
// with odd shapes and values, copy, describe, save/load through memory, free). Any crash, trap or
// sanitizer report is a bug: every call must return a status.

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

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCAPI(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var p = Program(bytes: UnsafeBufferPointer(start: data, count: size))
    var nets: [OpaquePointer?] = [nil, nil, nil]
    var names: [[String]] = [[], [], []]
    var steps = 0
    while !p.done, steps < 64 {
        steps += 1
        let h = Int(p.byte() % 3)
        let net = nets[h]
        switch p.byte() % 17 {
        case 0:
            cNetFree(nets[h]); nets[h] = nil; names[h] = []
            var out: OpaquePointer?
            _ = cNetCreate(UInt64(p.byte()), &out); nets[h] = out
        case 1:
            cNetFree(nets[h]); nets[h] = nil; names[h] = []
            var out: OpaquePointer?
            var chw: [Int64] = [p.small(), p.size(), p.size()]
            let zoo = ["resnet8", "resnet20", "nope"][Int(p.byte()) % 3]
            let classes = p.small()
            if p.byte() % 2 == 0 { _ = cZooCreate(zoo, classes, nil, 0, &out) } else { _ = cZooCreate(zoo, classes, &chw, 0, &out) }
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
            var name: UnsafePointer<CChar>?
            var ndim: Int64 = 0
            var dims = [Int64](repeating: 0, count: 4)
            guard cParamInfo(net, Int64(p.byte()) % count, &name, &ndim, &dims, nil) == 0, let name else { break }
            let pname = String(cString: name)
            if p.byte() % 3 == 0 { dims[Int(p.byte() % 4)] += p.small() }
            let n = max(0, min(1 << 16, dims.prefix(Int(ndim)).reduce(1, { $0 * max($1, 0) })))
            let fill: Float = [0, 1, .nan, -.infinity, 2.5][Int(p.byte()) % 5]
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
            var info = tailor_node_info()
            _ = cNodeInfo(net, p.small(), &info)
            var skip = tailor_skip_info()
            _ = cSkipInfo(net, p.small(), &skip)
            var chw = [Int64](repeating: 0, count: 3)
            var outs: Int64 = 0
            _ = cIOShape(net, &chw, &outs)
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
            _ = cHwConfigInit(&cfg)
            let target: [UnsafeMutablePointer<CChar>?] = (["hls4ml", "finn", "pe_array", "x"] as [String]).map { strdup($0) }
            let policy: [UnsafeMutablePointer<CChar>?] = (["default", "optimized", "auto", "srl", "lutram", "bram", "uram", ""] as [String]).map { strdup($0) }
            let precision: UnsafeMutablePointer<CChar>? = strdup((["{\"relu\": 3}", "{\"nope\": 8}", "[1]", "{\"conv1.weight\": 70}", "{", "{\"relu\": 1.5}"] as [String])[Int(p.byte()) % 6])
            defer { target.forEach { free($0) }; policy.forEach { free($0) }; free(precision) }
            cfg.target = target[Int(p.byte()) % 4].map { UnsafePointer($0) }
            if p.byte() % 3 == 0 { cfg.depth_policy = policy[Int(p.byte()) % 8].map { UnsafePointer($0) } }
            if p.byte() % 3 == 0 { cfg.memory_policy = policy[Int(p.byte()) % 8].map { UnsafePointer($0) } }
            if p.byte() % 4 == 0 { cfg.precision_json = precision.map { UnsafePointer($0) } }
            cfg.bits = Int32(truncatingIfNeeded: p.small() * Int64(p.byte() % 9))
            cfg.reuse_factor = Int32(truncatingIfNeeded: p.size())
            if p.byte() % 5 == 0 { cfg.onchip_kib = p.size() }
            if p.byte() % 5 == 0 { cfg.pe_count = p.small() }
            if p.byte() % 7 == 0 { cfg.size = p.small() }
            var rows = [tailor_skip_cost](repeating: tailor_skip_cost(), count: 4)
            var count: Int64 = 0
            var totals = tailor_hw_totals()
            _ = cEstimate(net, &cfg, &rows, min(4, max(0, p.small())), &count, &totals)
            _ = cEstimate(net, &cfg, nil, p.small(), &count, nil)
            var json: UnsafePointer<CChar>?
            _ = cEstimateJSON(net, &cfg, &json)
            _ = cCompareJSON(net, nets[Int(p.byte() % 3)], &cfg, &json)
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
