/// The network graph as JSON: what model files store in their metadata and what
/// `tailor_net_describe` hands to Python and C users.
extension Network {
    static func nodeJSON(_ n: Node, block: Int?) -> JSON {
        var kv: [(String, JSON)] = [("name", .string(n.name)), ("op", .string(n.op.kind)),
                                    ("inputs", .array(n.inputs.map(JSON.string))),
                                    ("shape", .array([n.shape.c, n.shape.h, n.shape.w].map { .number(Double($0)) }))]
        func num(_ k: String, _ v: Int) { kv.append((k, .number(Double(v)))) }
        switch n.op {
        case .conv2d(let a):
            num("out_channels", a.outChannels); num("kernel", a.kernel); num("stride", a.stride); num("padding", a.padding)
            kv.append(("bias", .bool(a.bias)))
        case .batchnorm(let a):
            kv.append(("eps", .number(a.eps))); kv.append(("momentum", .number(a.momentum)))
        case .maxpool(let a), .avgpool(let a):
            num("kernel", a.kernel); num("stride", a.stride); num("padding", a.padding)
        case .dense(let a):
            num("out_features", a.outFeatures); kv.append(("bias", .bool(a.bias)))
        default: break
        }
        if let b = block { num("block", b) }
        return .object(kv)
    }

    /// Rebuilds an op from its JSON form; every field is checked (files may be hostile).
    static func op(from j: JSON, node: String) throws -> Op {
        func int(_ k: String) throws -> Int {
            guard let v = j[k]?.int, v >= 0, v <= maxDimension else {
                throw TailorError.format("node '\(node)': field '\(k)' is missing or not an integer in range")
            }
            return v
        }
        func bool(_ k: String) throws -> Bool {
            guard let v = j[k]?.bool else { throw TailorError.format("node '\(node)': field '\(k)' is missing or not a boolean") }
            return v
        }
        func double(_ k: String) throws -> Double {
            guard let v = j[k]?.number else { throw TailorError.format("node '\(node)': field '\(k)' is missing or not a number") }
            return v
        }
        guard let kind = j["op"]?.string else { throw TailorError.format("node '\(node)': missing 'op'") }
        switch kind {
        case "input":
            guard let s = j["shape"]?.array, s.count == 3, let c = s[0].int, let h = s[1].int, let w = s[2].int else {
                throw TailorError.format("node '\(node)': input needs 'shape' [c, h, w]")
            }
            return .input(Shape(c, h, w))
        case "conv2d":
            return .conv2d(Conv2dAttrs(outChannels: try int("out_channels"), kernel: try int("kernel"), stride: try int("stride"),
                                       padding: try int("padding"), bias: try bool("bias")))
        case "batchnorm": return .batchnorm(BatchNormAttrs(eps: try double("eps"), momentum: try double("momentum")))
        case "relu": return .relu
        case "add": return .add
        case "maxpool": return .maxpool(PoolAttrs(kernel: try int("kernel"), stride: try int("stride"), padding: try int("padding")))
        case "avgpool": return .avgpool(PoolAttrs(kernel: try int("kernel"), stride: try int("stride"), padding: try int("padding")))
        case "global_avgpool": return .globalAvgPool
        case "flatten": return .flatten
        case "dense": return .dense(DenseAttrs(outFeatures: try int("out_features"), bias: try bool("bias")))
        default: throw TailorError.format("node '\(node)': unknown op '\(kind)'")
        }
    }

    /// Index of the block each node belongs to.
    func blockMembership() -> [String: Int] {
        var m: [String: Int] = [:]
        for (i, b) in blocks.enumerated() { for n in b.members { m[n] = i } }
        return m
    }

    /// Everything a user may want to see: nodes, blocks, skips, parameters.
    public func describe() -> JSON {
        let member = blockMembership()
        let nodesJ = JSON.array(nodes.map { Network.nodeJSON($0, block: member[$0.name]) })
        let blocksJ = JSON.array(blocks.map { b in
            .object([("name", .string(b.name)), ("kind", .string(b.kind.rawValue)), ("mode", .string(b.mode.rawValue)),
                     ("entry", .string(b.entry)), ("output", .string(b.output)),
                     ("convs", .array(b.stages.map { .string($0.conv.name) })),
                     ("projection", b.projection.map { .string($0.conv.name) } ?? .null)])
        })
        let skipsJ = JSON.array(skips.map { s in
            .object([("block", .number(Double(s.blockIndex))), ("block_name", .string(s.block)), ("index", .number(Double(s.index))),
                     ("mode", .string(s.mode.rawValue)), ("kind", .string(blocks[s.blockIndex].kind.rawValue)),
                     ("source", .string(s.source)), ("join", s.join.map(JSON.string) ?? .null),
                     ("projection", s.projection.map(JSON.string) ?? .null), ("spans", .array(s.spans.map(JSON.string))),
                     ("shape", .array([s.shape.c, s.shape.h, s.shape.w].map { .number(Double($0)) }))])
        })
        let paramsJ = JSON.array(parameterNames.compactMap { name in
            params[name].map { t in
                .object([("name", .string(name)), ("shape", .array(t.shape.map { .number(Double($0)) })),
                         ("dtype", .string(t.isInteger ? "int64" : "float32"))])
            }
        })
        return .object([("nodes", nodesJ), ("blocks", blocksJ), ("skips", skipsJ), ("params", paramsJ)])
    }

    /// Graph for files: the long (original) form of every node plus each block's mode, so a
    /// loader rebuilds blocks with the same detection as any other graph, then switches modes.
    func graphMetadata() throws -> JSON {
        let long = copy()
        for i in long.blocks.indices { try long.setMode(block: i, .long) }
        return .object([
            ("nodes", .array(long.nodes.map { Network.nodeJSON($0, block: nil) })),
            ("blocks", .array(blocks.map { b in
                var fields: [(String, JSON)] = [("name", .string(b.name)), ("mode", .string(b.mode.rawValue))]
                if !b.foundShortJoins.isEmpty { fields.append(("short_joins", .array(b.foundShortJoins.map(JSON.string)))) }
                return .object(fields)
            })),
        ])
    }

    /// Inverse of `graphMetadata`: rebuilds the graph through the same validated `add` path
    /// any caller uses, then applies the block modes. Parameters are left at their initial values.
    static func fromGraphMetadata(_ g: JSON) throws -> Network {
        guard let nodesJ = g["nodes"]?.array, let blocksJ = g["blocks"]?.array else {
            throw TailorError.format("graph metadata needs 'nodes' and 'blocks' arrays")
        }
        guard nodesJ.count <= 100_000 else { throw TailorError.format("graph has too many nodes (\(nodesJ.count))") }
        let net = Network()
        for (i, nj) in nodesJ.enumerated() {
            guard let name = nj["name"]?.string else { throw TailorError.format("node \(i) has no name") }
            guard let inputs = nj["inputs"]?.array?.compactMap(\.string), inputs.count == nj["inputs"]?.array?.count else {
                throw TailorError.format("node '\(name)': 'inputs' must be an array of names")
            }
            do { try net.add(name, try op(from: nj, node: name), inputs: inputs) } catch let e as TailorError {
                throw TailorError.format("graph metadata: \(e.message)")
            }
        }
        for bj in blocksJ {
            guard let name = bj["name"]?.string, let modeName = bj["mode"]?.string, let mode = SkipMode(rawValue: modeName) else {
                throw TailorError.format("graph metadata: each block needs a 'name' and a 'mode' of long/removed/short")
            }
            guard let i = net.blocks.firstIndex(where: { $0.name == name }) else {
                throw TailorError.format("graph metadata names block '\(name)', which the graph does not form")
            }
            if let joins = bj["short_joins"]?.array {
                let names = joins.compactMap(\.string)
                guard names.count == joins.count, names.count == net.blocks[i].stages.count else {
                    throw TailorError.format("graph metadata: block '\(name)': 'short_joins' must name one add per convolution")
                }
                try names.forEach(Network.validateName)
                net.blocks[i].foundShortJoins = names
            }
            try net.setMode(block: i, mode)
        }
        return net
    }
}
