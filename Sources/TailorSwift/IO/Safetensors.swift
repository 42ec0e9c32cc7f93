import Glibc

/// The safetensors container: 8-byte little-endian header length, a JSON header mapping each
/// tensor name to dtype/shape/byte range (plus a `__metadata__` map of strings), then the raw
/// little-endian data. Only F32 and I64 tensors are used here. Decoding trusts nothing.
public struct Safetensors {
    public var metadata: [(String, String)] = []
    /// Tensors in file order.
    public var tensors: [(name: String, tensor: Tensor)] = []

    public init(metadata: [(String, String)] = [], tensors: [(name: String, tensor: Tensor)] = []) {
        self.metadata = metadata; self.tensors = tensors
    }

    public func meta(_ key: String) -> String? { metadata.first { $0.0 == key }?.1 }

    /// Refuse headers beyond this size before allocating anything for them.
    static let maxHeaderBytes = 64 << 20

    // MARK: writing

    public func encode() -> [UInt8] {
        var entries: [(String, JSON)] = []
        if !metadata.isEmpty { entries.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for (name, t) in tensors {
            let bytes = t.count * (t.isInteger ? 8 : 4)
            entries.append((name, .object([("dtype", .string(t.isInteger ? "I64" : "F32")),
                                           ("shape", .array(t.shape.map { .number(Double($0)) })),
                                           ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + bytes))]))])))
            offset += bytes
        }
        var header = Array(JSON.object(entries).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }   // the format pads the header to 8 bytes with spaces
        var out = [UInt8](repeating: 0, count: 8 + header.count + offset)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            header.withUnsafeBytes { raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var at = 8 + header.count
            for (_, t) in tensors {
                for v in t.data {
                    if t.isInteger {
                        raw.storeBytes(of: Int64(v).littleEndian, toByteOffset: at, as: Int64.self); at += 8
                    } else {
                        raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: at, as: UInt32.self); at += 4
                    }
                }
            }
        }
        return out
    }

    // MARK: reading

    /// Validates the header length, JSON, every tensor's dtype, shape and byte range (inside
    /// the data, no overlap, no gap, full coverage) and finite values.
    public static func decode(_ buf: UnsafeBufferPointer<UInt8>) throws -> Safetensors {
        guard buf.count >= 8 else { throw TailorError.format("file is \(buf.count) bytes, too short for a safetensors header") }
        var headerLen: UInt64 = 0
        for k in 0..<8 { headerLen |= UInt64(buf[k]) << (8 * UInt64(k)) }
        guard headerLen <= UInt64(maxHeaderBytes), Int(headerLen) <= buf.count - 8 else {
            throw TailorError.format("header length \(headerLen) exceeds the file (\(buf.count) bytes): truncated or not a safetensors file")
        }
        let headerEnd = 8 + Int(headerLen)
        let header = try JSON.parse(UnsafeBufferPointer(rebasing: buf[8..<headerEnd]))
        guard case .object(let entries) = header else { throw TailorError.format("header is not a JSON object") }
        let data = UnsafeBufferPointer(rebasing: buf[headerEnd...])
        var result = Safetensors()
        var seen = Set<String>()
        var ranges: [(Int, Int)] = []
        for (name, e) in entries {
            guard seen.insert(name).inserted else { throw TailorError.format("'\(name)' appears twice in the header") }
            if name == "__metadata__" {
                guard case .object(let kv) = e else { throw TailorError.format("__metadata__ is not an object") }
                for (k, v) in kv {
                    guard let s = v.string else { throw TailorError.format("__metadata__ value '\(k)' is not a string") }
                    result.metadata.append((k, s))
                }
                continue
            }
            guard let dtype = e["dtype"]?.string, let shapeJ = e["shape"]?.array, let offs = e["data_offsets"]?.array, offs.count == 2,
                  let begin = offs[0].int, let end = offs[1].int else {
                throw TailorError.format("tensor '\(name)': needs dtype, shape and data_offsets [begin, end]")
            }
            let shape = shapeJ.compactMap(\.int)
            guard shape.count == shapeJ.count, shape.count <= 8, shape.allSatisfy({ $0 >= 0 }) else {
                throw TailorError.format("tensor '\(name)': shape is not a list of up to 8 non-negative integers")
            }
            let count = try Tensor.checkedCount(shape, what: "tensor '\(name)'")
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "I64": width = 8
            default: throw TailorError.format("tensor '\(name)': dtype \(dtype) is not supported (F32 or I64)")
            }
            guard begin >= 0, end >= begin, end <= data.count, end - begin == count * width else {
                throw TailorError.format("tensor '\(name)': byte range [\(begin), \(end)) is outside the data (\(data.count) bytes) or does not fit shape \(shape)")
            }
            ranges.append((begin, end))
            let raw = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(data)[begin..<end])
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count {
                if width == 4 {
                    values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                } else {
                    let n = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    guard n >= 0, n < 1 << 24 else { throw TailorError.format("tensor '\(name)': count \(n) out of range") }
                    values[i] = Float(n)
                }
            }
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw TailorError(.numeric, "tensor '\(name)': value at flat index \(i) is \(values[i]), not finite")
            }
            result.tensors.append((name, Tensor(shape: shape, data: values, isInteger: width == 8)))
        }
        ranges.sort { $0.0 < $1.0 }
        var cursor = 0
        for r in ranges {
            guard r.0 == cursor else { throw TailorError.format("tensor byte ranges overlap or leave a gap at byte \(cursor)") }
            cursor = r.1
        }
        guard cursor == data.count else { throw TailorError.format("\(data.count - cursor) trailing bytes after the last tensor") }
        return result
    }

    // MARK: files

    /// Writes atomically: a temporary file beside the target, flushed to disk, then renamed over
    /// it, so a crash never leaves a half-written file at `path`. The temporary name is unique
    /// per process and thread, so two writers never share one; the directory is synced after the
    /// rename so the new name survives a power cut too. A process killed mid-write leaves its
    /// `<path>.tmp<pid>-<thread>` behind, never a damaged `path`; the next successful write to
    /// `path` (or a resumed run's start, for checkpoints) deletes such leftovers of processes that
    /// no longer exist.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        guard !path.isEmpty else { throw TailorError.invalid("path is empty") }
        let tmp = "\(path).tmp\(getpid())-\(String(pthread_self(), radix: 16))"
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
        let fd = open(directoryAndName(path).dir, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }   // best effort: some file systems refuse fsync on a directory
        removeTemporariesOfDeadWriters(of: path)
    }

    /// Deletes the `<path>.tmp<pid>-<thread>` files whose writer process is gone (killed
    /// mid-write). A live process's temporary (another writer at work) is left alone; best effort.
    static func removeTemporariesOfDeadWriters(of path: String) {
        let (dir, base) = directoryAndName(path)
        guard let d = opendir(dir) else { return }
        let prefix = base + ".tmp"
        // Collected first and deleted after closedir: unlinking while reading the directory can
        // make readdir skip the entry after the deleted one (seen on tmpfs).
        var dead: [String] = []
        let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
        while let entry = readdir(d) {
            // Read the name in place, up to its NUL: the record may be shorter than `struct dirent`,
            // so copying the whole `d_name` array would read bytes the record does not have.
            let name = String(cString: (UnsafeRawPointer(entry) + direntNameOffset).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0,
                  UInt64(rest[rest.index(after: dash)...], radix: 16) != nil else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { dead.append(name) }
        }
        closedir(d)
        for name in dead { unlink(dir + "/" + name) }
    }

    /// The directory holding `path` ("." for a bare name) and the file's name in it.
    private static func directoryAndName(_ path: String) -> (dir: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        return (slash == path.utf8.startIndex ? "/" : String(path[..<slash]), String(path[path.utf8.index(after: slash)...]))
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw TailorError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { bytes += chunk[0..<n] }
            if n < chunk.count {
                guard ferror(f) == 0 else { throw TailorError(.io, "reading '\(path)' failed: \(String(cString: strerror(errno)))") }
                break
            }
        }
        return bytes
    }
}
