/// The fixed-point types a network's tensors carry, as hls4ml configures them: a model default and
/// per-layer types of a layer's weight, bias, result and accumulator. Set from hls4ml's own config
/// dicts ({"Model": {"Precision": ...}, "LayerName": {node: {"Precision": ...}}}), kept in model
/// files, and read by whatever needs a tensor's type. The meaning is hls4ml's: a role a layer does
/// not name takes the model default (hls4ml's lookup order), and "auto" asks for the type hls4ml
/// infers (FixedPointProgram.swift).
public struct NetworkPrecision: Equatable, Sendable {
    /// What a layer's type applies to (hls4ml's keys under a layer's "Precision"; a batch norm's
    /// multiplier is its `scale`).
    public enum Role: String, CaseIterable, Sendable {
        case weight, scale, bias, result, accum
    }

    /// A layer's setting for one role: a type, or hls4ml's "auto" (infer it).
    public enum Setting: Equatable, Sendable {
        case type(FixedPointType)
        case auto
        public var description: String {
            switch self { case .type(let t): t.description; case .auto: "auto" }
        }
    }

    /// The type of every tensor without a layer-specific one (hls4ml's Model Precision).
    public var model: FixedPointType
    /// Layer-specific settings, by node name.
    public var layers: [String: [Role: Setting]]

    public init(model: FixedPointType, layers: [String: [Role: Setting]] = [:]) {
        self.model = model
        self.layers = layers
    }

    /// Types for nodes a graph rewrite creates (a shortened block's adds and projections): each
    /// new node without settings takes those of the first replaced node of the same kind, so a
    /// student carries the types its teacher was given. Settings of replaced nodes stay, for when
    /// the block returns to its old form.
    public mutating func adopt(_ created: [Node], from replaced: [Node]) {
        for n in created where layers[n.name] == nil {
            if let template = replaced.first(where: { $0.op.kind == n.op.kind && layers[$0.name] != nil }) {
                layers[n.name] = layers[template.name]
            }
        }
    }

    /// The setting of `role` of `node`: its own, else the model default.
    public func setting(_ role: Role, of node: String) -> Setting { layers[node]?[role] ?? .type(model) }

    // MARK: hls4ml config dicts

    /// From hls4ml's config layout, or a bare type string for the model default. A layer's
    /// "Precision" is a dict of roles or one string for all of them; "auto" (hls4ml: infer it)
    /// leaves a role to the default. Other hls4ml keys (ReuseFactor, Strategy, Trace…) belong to
    /// the hardware configuration and are ignored here. With `network`, every layer must name one
    /// of its nodes and every role one that node has. Errors name the place in the config.
    public init(hls4mlConfig json: JSON, network: Network? = nil) throws {
        if let s = json.string {
            self.init(model: try Self.type(s, at: "Precision"))
            return
        }
        guard case .object(let top) = json else {
            throw TailorError.invalid("precision must be a type string (\"ap_fixed<16,6>\") or an hls4ml config {\"Model\": {\"Precision\": ...}, \"LayerName\": {...}}")
        }
        for (key, _) in top where !(["Model", "LayerName", "LayerType"] + Self.hls4mlProjectKeys).contains(key) {
            throw TailorError.invalid("precision config: unknown key '\(key)' (expected Model, LayerName)")
        }
        if top.contains(where: { $0.0 == "LayerType" }) {
            throw TailorError(.unsupported, "precision config: LayerType settings are not supported; name the layers under LayerName")
        }
        guard let modelText = json["Model"]?["Precision"] else {
            throw TailorError.invalid("precision config: Model.Precision is missing (the default type, e.g. \"ap_fixed<16,6>\")")
        }
        // hls4ml's config_from_* writes {"default": type}; roles at the model level are not modelled.
        var m = modelText.string
        if m == nil, case .object(let kv) = modelText {
            for (key, _) in kv where key != "default" {
                throw TailorError(.unsupported, "precision config: Model.Precision.\(key): model-level roles are not supported; give the model one default type and name roles per layer")
            }
            m = modelText["default"]?.string
        }
        guard let m else {
            throw TailorError.invalid("precision config: Model.Precision must be one type string (or {\"default\": type}); per-role types belong to layers")
        }
        self.init(model: try Self.type(m, at: "Model.Precision"))
        guard let named = json["LayerName"] else { return }
        guard case .object(let entries) = named else { throw TailorError.invalid("precision config: LayerName must be an object {node: {...}}") }
        for (node, settings) in entries {
            let place = "LayerName['\(node)']"
            let roles = try Self.roles(of: node, in: network, place: place)
            guard let p = settings["Precision"] else { continue }   // a layer configured for other things only
            var types: [Role: Setting] = [:]
            if let s = p.string {
                let setting = try Self.setting(s, at: "\(place).Precision")
                for r in roles { types[r] = setting }
            } else if case .object(let kv) = p {
                for (key, value) in kv where !Self.ignoredRoles.contains(key) {
                    // A batch norm's multiplier: hls4ml says scale; weight is accepted for it too.
                    let key = key == "weight" && roles.contains(.scale) && !roles.contains(.weight) ? "scale" : key
                    guard let role = Role(rawValue: key) else {
                        throw TailorError.invalid("precision config: \(place).Precision has unknown key '\(key)' (expected \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard roles.contains(role) else {
                        throw TailorError.invalid("precision config: \(place).Precision.\(key): node '\(node)' has no \(key) (it has \(roles.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard let s = value.string else { throw TailorError.invalid("precision config: \(place).Precision.\(key) must be a type string or \"auto\"") }
                    types[role] = try Self.setting(s, at: "\(place).Precision.\(key)")
                }
            } else {
                throw TailorError.invalid("precision config: \(place).Precision must be a type string or {role: type}")
            }
            if !types.isEmpty { layers[node] = types }
        }
    }

    /// The hls4ml config layout, roles in a fixed order, layers by name.
    public var json: JSON {
        var entries: [(String, JSON)] = []
        for node in layers.keys.sorted() {
            let types = layers[node]!
            let kv = Role.allCases.compactMap { r in types[r].map { (r.rawValue, JSON.string($0.description)) } }
            entries.append((node, .object([("Precision", .object(kv))])))
        }
        return .object([("Model", .object([("Precision", .string(model.description))])), ("LayerName", .object(entries))])
    }

    /// Top-level keys of an hls4ml config that describe the project, not types.
    static let hls4mlProjectKeys = ["InputShape", "Backend", "IOType", "OutputDir", "ProjectName", "Part", "ClockPeriod",
                                    "HLSConfig", "Flows", "SkipOptimizers", "Optimizers", "ChannelsLastConversion",
                                    "TransposeOutputs"]
    /// Roles hls4ml writes that do not type a tensor Tailor computes (an activation's lookup table).
    static let ignoredRoles: Set<String> = ["table"]

    private static func setting(_ text: String, at place: String) throws -> Setting {
        text == "auto" ? .auto : .type(try type(text, at: place))
    }

    private static func type(_ text: String, at place: String) throws -> FixedPointType {
        do { return try FixedPointType(parsing: text) } catch let e as TailorError {
            throw TailorError(e.code, "precision config: \(place): \(e.message)")
        }
    }

    /// The roles node `name` has (every role when no network is given to check against).
    private static func roles(of name: String, in network: Network?, place: String) throws -> [Role] {
        guard let network else { return Role.allCases }
        guard let node = network.node(named: name) else {
            // hls4ml's PyTorch front end writes "." as "_": name the node it means.
            let flat = network.nodes.first { $0.name.replacing(".", with: "_") == name }
            let close = network.nodes.map(\.name).filter { $0.hasPrefix(name.split(separator: ".").first.map(String.init) ?? name) }.prefix(3)
            throw TailorError.invalid("precision config: \(place): no node named '\(name)'"
                                      + (flat.map { " (hls4ml's name for '\($0.name)'; use Tailor's node names)" }
                                         ?? (close.isEmpty ? "" : " (similar: \(close.joined(separator: ", ")))")))
        }
        switch node.op {
        case .conv2d, .dense: return [.weight, .bias, .result, .accum]
        case .batchnorm: return [.scale, .bias, .result]
        case .maxpool, .avgpool, .globalAvgPool: return [.result, .accum]
        default: return [.result]
        }
    }
}
