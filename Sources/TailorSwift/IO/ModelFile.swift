/// Model files: a safetensors container whose tensors are the network's parameters (PyTorch
/// names, so `safetensors`/numpy/torch users read the weights directly) and whose `__metadata__`
/// holds the graph and block modes. Extra tensors under a prefix (a checkpoint's optimiser
/// state, say) may ride along and are handed back separately.
public enum ModelFile {
    static let formatName = "tailor"
    static let formatVersion = 1

    /// The container for `net`, plus any `extra` tensors (names must not clash with parameters).
    public static func container(_ net: Network, extraMetadata: [(String, String)] = [],
                                 extraTensors: [(name: String, tensor: Tensor)] = []) throws -> Safetensors {
        var c = Safetensors()
        c.metadata = [("format", formatName), ("format_version", String(formatVersion)),
                      ("graph", try net.graphMetadata().serialized())]
            + (net.precision.map { [("precision", $0.json.serialized())] } ?? []) + extraMetadata
        for name in net.parameterNames { if let t = net.params[name] { c.tensors.append((name, t)) } }
        for e in extraTensors {
            guard net.params[e.name] == nil else { throw TailorError.invalid("extra tensor '\(e.name)' clashes with a parameter") }
            c.tensors.append(e)
        }
        return c
    }

    public static func encode(_ net: Network) throws -> [UInt8] { try container(net).encode() }

    public static func save(_ net: Network, to path: String) throws {
        try Safetensors.writeAtomically(try encode(net), to: path)
    }

    public static func load(path: String) throws -> Network {
        let bytes = try Safetensors.readFile(path)
        do { return try decode(bytes) } catch let e as TailorError {
            throw TailorError(e.code, "'\(path)': \(e.message)")
        }
    }

    public static func decode(_ bytes: [UInt8]) throws -> Network {
        try bytes.withUnsafeBufferPointer { try decode($0) }
    }

    public static func decode(_ buf: UnsafeBufferPointer<UInt8>) throws -> Network {
        try network(from: try Safetensors.decode(buf), extraPrefixes: []).net
    }

    /// Rebuilds the network from a container: the graph through the same validated path any
    /// caller uses, then every parameter, which must be exactly those the graph needs. Tensors
    /// whose names start with one of `extraPrefixes` are returned instead.
    /// `graphKey` and `prefix` select a second network stored in the same container (a
    /// checkpoint keeps its teacher under `teacher_graph` and `teacher.`).
    public static func network(from c: Safetensors, extraPrefixes: [String], graphKey: String = "graph",
                               prefix: String = "") throws -> (net: Network, extra: [(name: String, tensor: Tensor)]) {
        guard c.meta("format") == formatName else {
            throw TailorError.format("not a Tailor model file (no __metadata__.format = \"tailor\"); plain safetensors weights can be loaded with load_state_dict")
        }
        guard let v = c.meta("format_version"), let version = Int(v) else { throw TailorError.format("missing format_version") }
        guard version <= formatVersion else {
            throw TailorError(.version, "model file format version \(version) is newer than this library's (\(formatVersion))")
        }
        guard let graphText = c.meta(graphKey) else { throw TailorError.format("missing \(graphKey) in __metadata__") }
        let net = try Network.fromGraphMetadata(try JSON.parse(graphText))
        if graphKey == "graph", let text = c.meta("precision") {
            do { net.precision = try NetworkPrecision(hls4mlConfig: try JSON.parse(text)) } catch let e as TailorError {
                throw TailorError.format("__metadata__.precision: \(e.message)")
            }
        }
        var extra: [(name: String, tensor: Tensor)] = []
        var seen = Set<String>()
        for (fullName, t) in c.tensors {
            if extraPrefixes.contains(where: { fullName.hasPrefix($0) }) { extra.append((fullName, t)); continue }
            guard fullName.hasPrefix(prefix) else { continue }
            let name = String(fullName.dropFirst(prefix.count))
            guard let old = net.params[name] else { throw TailorError.format("tensor '\(name)' is not a parameter of the stored graph") }
            guard t.shape == old.shape, t.isInteger == old.isInteger else {
                throw TailorError.format("tensor '\(name)': \(t.isInteger ? "I64" : "F32") \(t.shape) does not match the graph's \(old.isInteger ? "I64" : "F32") \(old.shape)")
            }
            if name.hasSuffix(".running_var"), let i = t.data.firstIndex(where: { $0 < 0 }) {
                throw TailorError.format("tensor '\(name)': value \(t.data[i]) at flat index \(i) is negative; a running variance must be ≥ 0")
            }
            seen.insert(name)
            net.replaceParameter(name, t)
        }
        let missing = net.parameterNames.filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw TailorError.format("file lacks \(missing.count) parameter(s) of its graph, first '\(missing[0])'")
        }
        return (net, extra)
    }
}
