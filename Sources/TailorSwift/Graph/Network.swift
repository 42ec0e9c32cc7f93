/// A feed-forward network: nodes in topological order, their parameters by PyTorch
/// `state_dict` name, and the residual blocks found in it (whose skips Tailor alters).
///
/// Not thread-safe: one thread at a time per instance (the C API enforces this per handle).
public final class Network {
    public private(set) var nodes: [Node] = []
    private(set) var indexOf: [String: Int] = [:]
    /// Every parameter and buffer, keyed by PyTorch name (`layer1.0.conv1.weight`).
    public private(set) var params: [String: Tensor] = [:] { didSet { parameterVersion &+= 1 } }
    /// Bumped on every parameter change, so caches of the weights know to reload.
    public private(set) var parameterVersion = 0
    /// The executor of the last inference (Inference.predict), kept so the next call reuses its
    /// buffers and prepared weights; rebuilt when `generation` changes.
    var inferenceCache: AnyObject?
    public internal(set) var blocks: [ResidualBlock] = []
    /// Bumped on every structural change, so caches built from the graph know to rebuild.
    public private(set) var generation = 0
    var rng: SplitMix64

    public init(seed: UInt64 = 0) { rng = SplitMix64(seed: seed) }

    /// A deep copy: same graph, parameters, blocks and modes; independent afterwards.
    public func copy() -> Network {
        let n = Network()
        n.nodes = nodes; n.indexOf = indexOf; n.params = params; n.blocks = blocks; n.rng = rng
        n.declaredOutput = declaredOutput
        n.precision = precision
        return n
    }

    public var inputShape: Shape? {
        if case .input(let s)? = nodes.first?.op { return s }
        return nil
    }
    /// The fixed-point types of the network's tensors (nil: a float network). Kept across block-mode
    /// changes: the types of nodes a mode removes come back with the mode that has them.
    public var precision: NetworkPrecision?
    /// The node declared the output (`setOutput`); nil: the last node added.
    public private(set) var declaredOutput: String?
    /// The network's output: the declared one, else the last node added.
    public var outputNode: Node? { declaredOutput.flatMap(node(named:)) ?? nodes.last }

    /// Declares which node is the output. Every node must lead to it when the network is used
    /// (`requireOutput`), so a node added off an inner tensor by mistake is an error, not a new output.
    public func setOutput(_ name: String) throws {
        guard node(named: name) != nil else { throw TailorError.notFound("no node named '\(name)' to make the output") }
        declaredOutput = name
        generation += 1
    }

    /// The output node, after checking that every node leads to it and that it is the last node
    /// computed; errors name the nodes that do not (they would be computed for nothing, or the
    /// output would not be what the caller meant).
    public func requireOutput() throws -> Node {
        guard let out = outputNode else { throw TailorError.invalid("the network has no nodes yet") }
        var reaches = Set([out.name])
        for n in nodes.reversed() where reaches.contains(n.name) { reaches.formUnion(n.inputs) }
        let dead = nodes.filter { !reaches.contains($0.name) }.map(\.name)
        guard dead.isEmpty else {
            let list = dead.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (dead.count > 5 ? " and \(dead.count - 5) more" : "")
            throw TailorError.invalid("node(s) \(list) do not lead to the output '\(out.name)'"
                + (declaredOutput == nil ? " (the last node added is the output; declare another with set_output)" : ""))
        }
        return out
    }
    public func node(named name: String) -> Node? { indexOf[name].map { nodes[$0] } }

    // MARK: building

    /// Appends a node after validating its name, inputs and shapes; creates its parameters with
    /// PyTorch-style initialisation. Returns the node's index.
    @discardableResult
    public func add(_ name: String, _ op: Op, inputs: [String] = []) throws -> Int {
        try Network.validateName(name)
        guard indexOf[name] == nil else { throw TailorError.invalid("a node named '\(name)' already exists") }
        guard inputs.count == op.arity else {
            throw TailorError.invalid("node '\(name)': \(op.kind) takes \(op.arity) input(s), got \(inputs.count)")
        }
        if case .input = op {
            guard nodes.isEmpty else { throw TailorError.invalid("node '\(name)': a network has one input node, and it comes first") }
        } else if nodes.isEmpty {
            throw TailorError.invalid("node '\(name)': add an input node first")
        }
        var shapes: [Shape] = []
        for i in inputs {
            guard let k = indexOf[i] else { throw TailorError.notFound("node '\(name)': unknown input node '\(i)'") }
            shapes.append(nodes[k].shape)
        }
        let shape = try op.outputShape(inputs: shapes, node: name)
        guard shape.count <= Network.maxElements else {
            throw TailorError.shape("node '\(name)': one sample's output \(shape) exceeds \(Network.maxElements) values")
        }
        let node = Node(name: name, op: op, inputs: inputs, shape: shape)
        let specs = op.parameterSpecs(input: shapes.first ?? shape)
        for s in specs where try Tensor.checkedCount(s.shape, what: "node '\(name)'") > Network.maxElements {
            throw TailorError.shape("node '\(name)': parameter '\(s.suffix)' of shape \(s.shape) exceeds \(Network.maxElements) values")
        }
        for s in specs where params["\(name).\(s.suffix)"] != nil {
            throw TailorError.invalid("node '\(name)': parameter '\(name).\(s.suffix)' already exists")
        }
        try releaseBlocksUsing(internalsOf: inputs, by: name)
        nodes.append(node)
        indexOf[name] = nodes.count - 1
        initialiseParameters(of: node)
        generation += 1
        if case .relu = op { detectBlock(endingAt: node) }
        return nodes.count - 1
    }

    /// Largest activation (per sample) or parameter tensor accepted: 2^28 values (1 GiB of float32),
    /// far above any network here, low enough that a typo cannot ask for an impossible allocation.
    static let maxElements = 1 << 28

    /// Longest node name, in bytes (TAILOR_MAX_NODE_NAME_BYTES in tailor.h).
    static let maxNameBytes = 200

    static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= maxNameBytes else {
            throw TailorError.invalid("node names must be 1 to \(maxNameBytes) bytes (TAILOR_MAX_NODE_NAME_BYTES), got '\(name.prefix(40))'")
        }
        for b in name.utf8 {
            let ok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 46 || b == 45
            guard ok else { throw TailorError.invalid("node name '\(name)': use letters, digits, '_', '.' and '-' only") }
        }
    }

    /// A new consumer of a block's inner node makes that block no longer a self-contained
    /// residual block, so it stops being switchable (allowed only while it is still long).
    private func releaseBlocksUsing(internalsOf inputs: [String], by name: String) throws {
        for i in inputs {
            guard let b = blocks.firstIndex(where: { $0.members.contains(i) && $0.output != i }) else { continue }
            // A block found already short has nothing stashed either: it can be released as it was found.
            guard blocks[b].mode == .long || (blocks[b].mode == .short && !blocks[b].foundShortJoins.isEmpty) else {
                throw TailorError.invalid("node '\(name)' cannot read '\(i)', an inner node of block '\(blocks[b].name)' whose skip is \(blocks[b].mode)")
            }
            blocks.remove(at: b)
        }
    }

    // MARK: parameters

    /// Parameter and buffer names in PyTorch `state_dict` order.
    /// Every parameter's name in state_dict order; computed once per structural change, so reading
    /// parameters by index (the C API's `tailor_net_param_info`) is not quadratic over a network.
    public var parameterNames: [String] {
        if let c = parameterNameCache, c.generation == generation { return c.names }
        let names = nodes.flatMap { parameterNames(of: $0) }
        parameterNameCache = (generation, names)
        return names
    }
    private var parameterNameCache: (generation: Int, names: [String])?

    /// Position of parameter `name` in `parameterNames` (state_dict order), found by its node.
    func parameterIndex(of name: String) -> Int? {
        guard params[name] != nil else { return nil }
        return parameterNames.firstIndex(of: name)
    }

    func parameterNames(of node: Node) -> [String] {
        let input = node.inputs.first.flatMap { indexOf[$0] }.map { nodes[$0].shape } ?? node.shape
        return node.op.parameterSpecs(input: input).map { "\(node.name).\($0.suffix)" }
    }

    public func parameter(_ name: String) throws -> Tensor {
        guard let t = params[name] else { throw TailorError.notFound("no parameter named '\(name)'\(suggestion(for: name))") }
        return t
    }

    /// Replaces a parameter's values. Shape must match exactly (PyTorch layout); values must be finite.
    public func setParameter(_ name: String, shape: [Int], data: [Float]) throws {
        guard let old = params[name] else { throw TailorError.notFound("no parameter named '\(name)'\(suggestion(for: name))") }
        guard shape == old.shape else {
            throw TailorError.shape("parameter '\(name)' has shape \(old.shape), got \(shape)")
        }
        guard data.count == old.count else { throw TailorError.shape("parameter '\(name)' needs \(old.count) values, got \(data.count)") }
        if let i = data.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "parameter '\(name)': value \(data[i]) at flat index \(i) is not finite")
        }
        if name.hasSuffix(".running_var"), let i = data.firstIndex(where: { $0 < 0 }) {
            throw TailorError.invalid("parameter '\(name)': value \(data[i]) at flat index \(i) is negative; a running variance must be ≥ 0")
        }
        if old.isInteger, let i = data.firstIndex(where: { $0 < 0 || $0 != $0.rounded() }) {
            throw TailorError.invalid("parameter '\(name)' holds a count; value \(data[i]) at \(i) is not a non-negative integer")
        }
        params[name] = Tensor(shape: shape, data: data, isInteger: old.isInteger)
    }

    /// Used by the engine and the file loader, which have already validated shapes.
    func replaceParameter(_ name: String, _ t: Tensor) { params[name] = t }

    private func suggestion(for name: String) -> String {
        let close = parameterNames.filter { $0.hasSuffix(name.split(separator: ".").last.map(String.init) ?? name) }.prefix(3)
        return close.isEmpty ? "" : " (similar: \(close.joined(separator: ", ")))"
    }

    /// Fresh parameters for `node` (torchvision's ResNet init: Kaiming-normal fan-out convs,
    /// BN weight 1 / bias 0, Linear uniform ±1/√fan_in), unless they already exist.
    func initialiseParameters(of node: Node) {
        let input = node.inputs.first.flatMap { indexOf[$0] }.map { nodes[$0].shape } ?? node.shape
        for s in node.op.parameterSpecs(input: input) {
            let key = "\(node.name).\(s.suffix)"
            if params[key] != nil { continue }
            var t = Tensor(zeros: s.shape, isInteger: s.isInteger)
            switch (node.op, s.suffix) {
            case (.conv2d(let a), "weight"):
                let std = (2.0 / Float(a.outChannels * a.kernel * a.kernel)).squareRoot()
                for i in 0..<t.count { t.data[i] = rng.nextNormal() * std }
            case (.conv2d, "bias"):
                let bound = 1 / Float(max(1, input.c * s.shape.count)).squareRoot()
                for i in 0..<t.count { t.data[i] = (rng.nextUnit() * 2 - 1) * bound }
            case (.batchnorm, "weight"), (.batchnorm, "running_var"):
                t = Tensor(filled: 1, shape: s.shape)
            case (.dense, _):
                let bound = 1 / Float(input.c).squareRoot()
                for i in 0..<t.count { t.data[i] = (rng.nextUnit() * 2 - 1) * bound }
            default:
                break
            }
            params[key] = t
        }
    }

    // MARK: rewriting (used by residual-block mode switches and the file loader)

    /// Replaces the nodes named in `old` by `new`, inserted where the first of `old` stood.
    /// Parameters of removed nodes are returned (so a block can restore them later).
    func splice(removing old: Set<String>, inserting new: [Node]) -> [String: Tensor] {
        let at = nodes.firstIndex { old.contains($0.name) } ?? nodes.count
        var removedParams: [String: Tensor] = [:]
        for n in nodes where old.contains(n.name) {
            for p in parameterNames(of: n) { removedParams[p] = params.removeValue(forKey: p) }
        }
        precision?.adopt(new.filter { indexOf[$0.name] == nil },
                         from: nodes.filter { old.contains($0.name) })
        var rebuilt = Array(nodes[..<at].filter { !old.contains($0.name) })
        rebuilt += new
        rebuilt += nodes[at...].filter { !old.contains($0.name) }
        nodes = rebuilt
        indexOf = [:]
        for (i, n) in nodes.enumerated() { indexOf[n.name] = i }
        generation += 1
        return removedParams
    }

    /// Number of nodes reading each node's output.
    func consumerCounts() -> [String: Int] {
        var c: [String: Int] = [:]
        for n in nodes { for i in n.inputs { c[i, default: 0] += 1 } }
        return c
    }
}
