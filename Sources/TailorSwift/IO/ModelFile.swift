import Glibc

/// Model files in the safetensors layout: 8-byte little-endian header length, a JSON header
/// mapping each tensor name to dtype/shape/byte range, then the raw little-endian data. The graph
/// and block modes live in `__metadata__` (string values only, as the format requires), so
/// `safetensors`, numpy and torch users read the weights directly.
public enum ModelFile {
    static let formatName = "tailor"
    static let formatVersion = 1
    /// Refuse headers beyond this size before allocating anything for them.
    static let maxHeaderBytes = 64 << 20

    // MARK: writing

    public static func encode(_ net: Network) throws -> [UInt8] {
        var entries: [(String, JSON)] = []
        let graph = try net.graphMetadata().serialized()
        entries.append(("__metadata__", .object([("format", .string(formatName)),
                                                  ("format_version", .string(String(formatVersion))),
                                                  ("graph", .string(graph))])))
        var offset = 0
        var tensors: [Tensor] = []
        for name in net.parameterNames {
            guard let t = net.params[name] else { continue }
            let bytes = t.count * (t.isInteger ? 8 : 4)
            entries.append((name, .object([("dtype", .string(t.isInteger ? "I64" : "F32")),
                                           ("shape", .array(t.shape.map { .number(Double($0)) })),
                                           ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + bytes))]))])))
            offset += bytes
            tensors.append(t)
        }
        var header = Array(JSON.object(entries).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }   // safetensors pads the header to 8 bytes with spaces
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        appendLE(UInt64(header.count), to: &out)
        out += header
        for t in tensors {
            if t.isInteger {
                for v in t.data { appendLE(UInt64(bitPattern: Int64(v)), to: &out) }
            } else {
                for v in t.data { appendLE(UInt64(v.bitPattern), to: &out, bytes: 4) }
            }
        }
        return out
    }

    private static func appendLE(_ v: UInt64, to out: inout [UInt8], bytes: Int = 8) {
        for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    /// Writes atomically: a temporary file beside the target, flushed, then renamed over it, so
    /// a crash never leaves a half-written model at `path`.
    public static func save(_ net: Network, to path: String) throws {
        let bytes = try encode(net)
        try writeAtomically(bytes, to: path)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        guard !path.isEmpty else { throw TailorError.invalid("path is empty") }
        let tmp = "\(path).tmp\(getpid())"
        guard let f = fopen(tmp, "wb") else { throw TailorError(.io, "cannot write '\(tmp)': \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard written == bytes.count, flushed else {
            unlink(tmp)
            throw TailorError(.io, "writing '\(tmp)' failed: \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw TailorError(.io, "cannot rename '\(tmp)' to '\(path)': \(why)")
        }
    }

    // MARK: reading

    public static func load(path: String) throws -> Network {
        let bytes = try readFile(path)
        do { return try decode(bytes) } catch let e as TailorError {
            throw TailorError(e.code, "'\(path)': \(e.message)")
        }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw TailorError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { bytes += chunk[0..<n] }
            if n < chunk.count {
                guard ferror(f) == 0 else { throw TailorError(.io, "reading '\(path)' failed") }
                break
            }
        }
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> Network {
        try bytes.withUnsafeBufferPointer { try decode($0) }
    }

    /// Validates everything before trusting it: header length, JSON, metadata, every tensor's
    /// dtype, shape and byte range (inside the data, no overlap, full coverage), finite values,
    /// and that the tensors are exactly the parameters the graph needs.
    public static func decode(_ buf: UnsafeBufferPointer<UInt8>) throws -> Network {
        guard buf.count >= 8 else { throw TailorError.format("file is \(buf.count) bytes, too short for a safetensors header") }
        var headerLen: UInt64 = 0
        for k in 0..<8 { headerLen |= UInt64(buf[k]) << (8 * UInt64(k)) }
        guard headerLen <= UInt64(maxHeaderBytes), Int(headerLen) <= buf.count - 8 else {
            throw TailorError.format("header length \(headerLen) exceeds the file (\(buf.count) bytes): truncated or not a model file")
        }
        let headerEnd = 8 + Int(headerLen)
        let header = try JSON.parse(UnsafeBufferPointer(rebasing: buf[8..<headerEnd]))
        guard case .object(let entries) = header else { throw TailorError.format("header is not a JSON object") }
        guard let meta = header["__metadata__"], meta["format"]?.string == formatName else {
            throw TailorError.format("not a Tailor model file (no __metadata__.format = \"tailor\"); plain safetensors weights can be loaded with load_state_dict")
        }
        guard let v = meta["format_version"]?.string, let version = Int(v) else { throw TailorError.format("missing format_version") }
        guard version <= formatVersion else {
            throw TailorError(.version, "model file format version \(version) is newer than this library's (\(formatVersion))")
        }
        guard let graphText = meta["graph"]?.string else { throw TailorError.format("missing graph in __metadata__") }
        let net = try Network.fromGraphMetadata(try JSON.parse(graphText))

        let data = UnsafeBufferPointer(rebasing: buf[headerEnd...])
        var ranges: [(Int, Int)] = []
        var seen = Set<String>()
        for (name, e) in entries where name != "__metadata__" {
            guard seen.insert(name).inserted else { throw TailorError.format("tensor '\(name)' appears twice") }
            guard let old = net.params[name] else { throw TailorError.format("tensor '\(name)' is not a parameter of the stored graph") }
            guard let dtype = e["dtype"]?.string, let shapeJ = e["shape"]?.array, let offs = e["data_offsets"]?.array, offs.count == 2,
                  let begin = offs[0].int, let end = offs[1].int else {
                throw TailorError.format("tensor '\(name)': needs dtype, shape and data_offsets [begin, end]")
            }
            let shape = shapeJ.compactMap(\.int)
            guard shape.count == shapeJ.count, shape == old.shape else {
                throw TailorError.format("tensor '\(name)': shape \(shapeJ.map { $0.serialized() }) does not match the graph's \(old.shape)")
            }
            let width: Int
            switch (dtype, old.isInteger) {
            case ("F32", false): width = 4
            case ("I64", true): width = 8
            default: throw TailorError.format("tensor '\(name)': dtype \(dtype) is not the expected \(old.isInteger ? "I64" : "F32")")
            }
            guard begin >= 0, end >= begin, end <= data.count, end - begin == old.count * width else {
                throw TailorError.format("tensor '\(name)': byte range [\(begin), \(end)) is outside the data (\(data.count) bytes) or the wrong size")
            }
            ranges.append((begin, end))
            var values = [Float](repeating: 0, count: old.count)
            for i in 0..<old.count {
                var u: UInt64 = 0
                let at = begin + i * width
                for k in 0..<width { u |= UInt64(data[at + k]) << (8 * UInt64(k)) }
                if width == 4 {
                    values[i] = Float(bitPattern: UInt32(truncatingIfNeeded: u))
                } else {
                    let n = Int64(bitPattern: u)
                    guard n >= 0, n < 1 << 24 else { throw TailorError.format("tensor '\(name)': count \(n) out of range") }
                    values[i] = Float(n)
                }
            }
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw TailorError(.numeric, "tensor '\(name)': value at flat index \(i) is \(values[i]), not finite")
            }
            net.replaceParameter(name, Tensor(shape: old.shape, data: values, isInteger: old.isInteger))
        }
        let missing = net.parameterNames.filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw TailorError.format("file lacks \(missing.count) parameter(s) of its graph, first '\(missing[0])'")
        }
        ranges.sort { $0.0 < $1.0 }
        var cursor = 0
        for r in ranges {
            guard r.0 == cursor else { throw TailorError.format("tensor byte ranges overlap or leave a gap at byte \(cursor)") }
            cursor = r.1
        }
        guard cursor == data.count else { throw TailorError.format("\(data.count - cursor) trailing bytes after the last tensor") }
        return net
    }
}
