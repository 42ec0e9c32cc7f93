/// What a residual block's skip currently is: the original long skip around the whole branch,
/// removed (SkipRemover), or one short skip per convolution (SkipShortener).
public enum SkipMode: String, Sendable, CaseIterable {
    case long, removed, short
}

public enum BlockKind: String, Sendable {
    /// Two 3×3 convolutions (ResNet-8/20/…/18/34).
    case basic
    /// 1×1, k×k, 1×1 convolutions (ResNet-50).
    case bottleneck
    /// Any other chain of conv+BN stages.
    case other
}

/// One conv → BN (→ ReLU) step of a block's main branch. The last stage's ReLU is the block output.
public struct Stage: Equatable, Sendable {
    public var conv: Node, bn: Node
    public var relu: Node?
}

/// A residual block as found in the long (original) form: `out = ReLU(branch(x) + P(x))`, with
/// `branch` a chain of conv+BN stages joined by ReLUs and `P` identity or conv 1×1 + BN.
/// The long-form nodes are kept as a template so the block can be rebuilt in any mode;
/// parameters of nodes absent in the current mode are kept in `stash` so switching back restores them.
public struct ResidualBlock: Sendable {
    public var name: String
    public var kind: BlockKind
    /// Node whose output is the block input `x` (what the skip clones).
    public var entry: String
    public var stages: [Stage]
    public var projection: (conv: Node, bn: Node)?
    public var join: Node
    /// The block's final ReLU; its name never changes, so the rest of the graph is untouched by mode switches.
    public var output: String
    public var outputRelu: Node
    public internal(set) var mode: SkipMode = .long
    /// Names of the nodes the block currently consists of.
    public internal(set) var members: Set<String>
    var stash: [String: Tensor] = [:]
    /// The short adds' names when the block was found already shortened (a network shortened
    /// elsewhere, e.g. in PyTorch, and imported), so switching back to short restores them; empty
    /// for a block found long, whose short adds are `<name>.add<k>`.
    var foundShortJoins: [String] = []

    /// Name of the add joining stage `k`'s short skip.
    func shortJoin(_ k: Int) -> String {
        foundShortJoins.indices.contains(k) ? foundShortJoins[k] : "\(name).add\(k + 1)"
    }
}

/// One skip connection of the current graph, as reported to users and the hardware model.
public struct Skip: Equatable, Sendable {
    public var blockIndex: Int
    public var block: String
    /// Position of this skip within its block (short blocks have one per convolution).
    public var index: Int
    public var mode: SkipMode
    /// Node whose output the skip carries (the clone point).
    public var source: String
    /// The add node where it joins, or nil when removed.
    public var join: String?
    /// Convolutions of the main branch that this skip bypasses.
    public var spans: [String]
    /// Prefix of the projection's parameters (`layer2.0.downsample`), or nil for identity / removed.
    public var projection: String?
    /// Shape of the tensor the skip carries.
    public var shape: Shape
}

extension Network {
    /// Called when a ReLU is appended: if it closes the pattern `ReLU(add(branch(x), P(x)))`,
    /// record the residual block.
    func detectBlock(endingAt relu: Node) {
        guard let addNode = node(named: relu.inputs[0]), addNode.op == .add,
              !blocks.contains(where: { $0.members.contains(addNode.name) }) else { return }
        let consumers = consumerCounts()
        for (mainName, skipName) in [(addNode.inputs[0], addNode.inputs[1]), (addNode.inputs[1], addNode.inputs[0])] {
            if let b = matchBlock(main: mainName, skip: skipName, join: addNode, relu: relu, consumers: consumers) {
                if let last = blocks.indices.last, let merged = mergedShortBlock(blocks[last], then: b, consumers: consumers) {
                    blocks[last] = merged
                } else {
                    blocks.append(b)
                }
                return
            }
        }
    }

    private func matchBlock(main: String, skip: String, join: Node, relu: Node, consumers: [String: Int]) -> ResidualBlock? {
        func single(_ n: Node) -> Bool { consumers[n.name, default: 0] == 1 }
        // Skip side: conv1×1+BN projection of some node, or that node itself (identity).
        var projection: (conv: Node, bn: Node)?
        var candidates: [String] = [skip]
        if let pbn = node(named: skip), case .batchnorm = pbn.op, let pconv = node(named: pbn.inputs[0]),
           case .conv2d(let a) = pconv.op, a.kernel == 1, single(pbn), single(pconv) {
            projection = (pconv, pbn)
            candidates = [pconv.inputs[0], skip]
        }
        for entry in candidates {
            let proj = entry == skip ? nil : projection
            // Walk the main branch back from the add: BN ← conv (← ReLU ← BN ← conv)* ← entry.
            var stages: [Stage] = []
            var cur = main
            var nextRelu: Node? = nil
            var ok = false
            // Any length of branch: each step moves to an earlier node, so the walk ends.
            while stages.count <= nodes.count {
                guard let bn = node(named: cur), case .batchnorm = bn.op, single(bn),
                      let conv = node(named: bn.inputs[0]), case .conv2d = conv.op, single(conv) else { break }
                stages.append(Stage(conv: conv, bn: bn, relu: nextRelu))
                if conv.inputs[0] == entry { ok = true; break }
                guard let r = node(named: conv.inputs[0]), r.op == .relu, single(r) else { break }
                nextRelu = r
                cur = r.inputs[0]
            }
            stages.reverse()   // walked from the join back to the entry
            guard ok, !stages.isEmpty, let e = node(named: entry), e.shape == join.shape || proj != nil else { continue }
            var members = Set(stages.flatMap { [$0.conv.name, $0.bn.name] + ($0.relu.map { [$0.name] } ?? []) })
            members.formUnion([join.name, relu.name])
            if let p = proj { members.formUnion([p.conv.name, p.bn.name]) }
            return ResidualBlock(name: blockName(stages: stages), kind: blockKind(stages), entry: entry, stages: stages,
                                 projection: proj, join: join, output: relu.name, outputRelu: relu, members: members)
        }
        return nil
    }

    /// A block already shortened when the graph was built (a shortened network exported to PyTorch
    /// or ONNX and imported) looks like a chain of one-conv residual blocks. `next` continues
    /// `previous` as one shortened block when it is that block's next stage: one conv with an
    /// identity skip reading exactly `previous`'s output, and its conv under the same module
    /// (`layer1.0.conv2` after `layer1.0.conv1`). The module prefix is the evidence that both
    /// convs were one block; a network built of genuinely one-conv blocks keeps them apart.
    private func mergedShortBlock(_ previous: ResidualBlock, then next: ResidualBlock, consumers: [String: Int]) -> ResidualBlock? {
        let foundShort = !previous.foundShortJoins.isEmpty
        guard next.stages.count == 1, next.entry == previous.output,
              previous.mode == (foundShort ? .short : .long), foundShort || previous.stages.count == 1,
              consumers[previous.output, default: 0] == 2,
              let module = moduleName(of: previous.stages), !module.isEmpty, moduleName(of: next.stages) == module
        else { return nil }
        var stages = previous.stages
        stages[stages.count - 1].relu = previous.outputRelu
        stages += next.stages
        let projection = longProjection(name: previous.name, entry: previous.entry, found: previous.projection,
                                        output: next.join.shape, lastBatchNorm: next.stages[0].bn.op)
        // The long form's join does not exist yet: name it as a block found long would have it,
        // unless the graph already uses that name.
        var joinName = "\(previous.name).add", k = 0
        while node(named: joinName) != nil { k += 1; joinName = "\(previous.name).add_long\(k)" }
        var merged = ResidualBlock(name: previous.name, kind: blockKind(stages), entry: previous.entry, stages: stages,
                                   projection: projection,
                                   join: Node(name: joinName, op: .add, inputs: [], shape: next.join.shape),
                                   output: next.output, outputRelu: next.outputRelu,
                                   members: previous.members.union(next.members))
        merged.mode = .short
        merged.foundShortJoins = (foundShort ? previous.foundShortJoins : [previous.join.name]) + [next.join.name]
        // Only a block Tailor could have shortened: its short form must be exactly the nodes found
        // (a later stage's projection named `<block>.downsample<k>`, as shortening names it), and
        // its long form must exist (the first projection maps the block input to the output).
        func byName(_ ns: [Node]) -> [String: Node] { Dictionary(ns.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }) }
        guard let short = try? blockNodes(merged, mode: .short), short.count == merged.members.count,
              byName(short) == byName(nodes.filter { merged.members.contains($0.name) }),
              (try? blockNodes(merged, mode: .long)) != nil else { return nil }
        return merged
    }

    /// The long form's projection of a block found short: the first short skip's, when it maps the
    /// block input to the block output (basic blocks); none when the shapes already agree; else a
    /// new 1×1 conv + BN named `<block>.downsample`, initialised when the block is switched to long,
    /// as shortening left the original aside (bottlenecks, whose first conv changes the channels
    /// differently from the whole block). Shapes no 1×1 conv maps fail the caller's long-form check.
    private func longProjection(name: String, entry: String, found: (conv: Node, bn: Node)?, output: Shape,
                                lastBatchNorm: Op) -> (conv: Node, bn: Node)? {
        if let p = found, p.bn.shape == output { return p }
        guard let input = node(named: entry)?.shape, input != output, output.h > 0 else { return nil }
        var prefix = "\(name).downsample", k = 0
        while node(named: "\(prefix).0") != nil || node(named: "\(prefix).1") != nil { k += 1; prefix = "\(name).downsample_long\(k)" }
        let conv = Node(name: "\(prefix).0", op: .conv2d(Conv2dAttrs(outChannels: output.c, kernel: 1, stride: max(1, input.h / output.h))),
                        inputs: [], shape: Shape(0, 0, 0))
        return (conv, Node(name: "\(prefix).1", op: lastBatchNorm, inputs: [], shape: Shape(0, 0, 0)))
    }

    private func blockKind(_ stages: [Stage]) -> BlockKind {
        let ks = stages.map { s -> Int in if case .conv2d(let a) = s.conv.op { return a.kernel }; return 0 }
        if ks.count == 2, ks.allSatisfy({ $0 > 1 }) { return .basic }
        if ks.count == 3, ks[0] == 1, ks[1] > 1, ks[2] == 1 { return .bottleneck }
        return .other
    }

    /// Longest common dotted prefix of the branch's conv names (`layer1.0`): the module holding them.
    private func moduleName(of stages: [Stage]) -> String? {
        let parts = stages.map { $0.conv.name.split(separator: ".").dropLast().map(String.init) }
        guard var prefix = parts.first else { return nil }
        for p in parts.dropFirst() {
            var k = 0
            while k < min(prefix.count, p.count), prefix[k] == p[k] { k += 1 }
            prefix = Array(prefix[..<k])
        }
        return prefix.joined(separator: ".")
    }

    /// The block's module name (`layer1.0`), else `block<k>`.
    private func blockName(stages: [Stage]) -> String {
        let name = moduleName(of: stages) ?? ""
        return name.isEmpty || blocks.contains(where: { $0.name == name }) ? "block\(blocks.count)" : name
    }

    // MARK: switching modes

    /// Rebuilds block `index` in `mode`. Parameters of nodes that disappear are kept aside and
    /// restored if the block returns to a mode that has them; new projections are initialised fresh.
    public func setMode(block index: Int, _ mode: SkipMode) throws {
        guard blocks.indices.contains(index) else {
            throw TailorError.invalid("block index \(index) is out of range: the network has \(blocks.count) residual block(s)")
        }
        var b = blocks[index]
        if b.mode == mode { return }
        let new = try blockNodes(b, mode: mode)
        var pool = b.stash
        for (k, v) in splice(removing: b.members, inserting: new) { pool[k] = v }
        for n in new {
            for p in parameterNames(of: n) { if let t = pool.removeValue(forKey: p) { replaceParameter(p, t) } }
            initialiseParameters(of: n)
        }
        b.stash = pool
        b.mode = mode
        b.members = Set(new.map(\.name))
        blocks[index] = b
    }

    /// The nodes of `b` in `mode`, in topological order, with shapes computed.
    func blockNodes(_ b: ResidualBlock, mode: SkipMode) throws -> [Node] {
        var out: [Node] = []
        var shapes: [String: Shape] = [:]
        guard let entryNode = node(named: b.entry) else { throw TailorError(.internal, "block '\(b.name)': entry '\(b.entry)' is missing") }
        shapes[b.entry] = entryNode.shape
        func emit(_ name: String, _ op: Op, _ inputs: [String]) throws {
            let ins = try inputs.map { i -> Shape in
                guard let s = shapes[i] else { throw TailorError(.internal, "block '\(b.name)': '\(i)' used before it is built") }
                return s
            }
            let s = try op.outputShape(inputs: ins, node: name)
            shapes[name] = s
            out.append(Node(name: name, op: op, inputs: inputs, shape: s))
        }
        let last = b.stages.count - 1
        switch mode {
        case .long, .removed:
            var x = b.entry
            for (k, st) in b.stages.enumerated() {
                try emit(st.conv.name, st.conv.op, [x])
                try emit(st.bn.name, st.bn.op, [st.conv.name])
                x = st.bn.name
                if k < last, let r = st.relu { try emit(r.name, .relu, [st.bn.name]); x = r.name }
            }
            if mode == .long {
                var skip = b.entry
                if let p = b.projection {
                    try emit(p.conv.name, p.conv.op, [b.entry])
                    try emit(p.bn.name, p.bn.op, [p.conv.name])
                    skip = p.bn.name
                }
                try emit(b.join.name, .add, [x, skip])
                x = b.join.name
            }
            try emit(b.output, .relu, [x])
        case .short:
            var x = b.entry
            for (k, st) in b.stages.enumerated() {
                try emit(st.conv.name, st.conv.op, [x])
                try emit(st.bn.name, st.bn.op, [st.conv.name])
                var skip = x
                if shapes[x] != shapes[st.bn.name] {
                    guard case .conv2d(let a) = st.conv.op else { throw TailorError(.internal, "stage without conv") }
                    let projConv: Node, projBn: Node
                    if k == 0, let p = b.projection, p.bn.shape == shapes[st.bn.name] {
                        (projConv, projBn) = p   // the block's projection moves onto the first short skip (basic blocks)
                    } else {
                        let prefix = "\(b.name).downsample\(k + 1)"
                        projConv = Node(name: "\(prefix).0", op: .conv2d(Conv2dAttrs(outChannels: a.outChannels, kernel: 1, stride: a.stride)),
                                        inputs: [], shape: Shape(0, 0, 0))
                        projBn = Node(name: "\(prefix).1", op: st.bn.op, inputs: [], shape: Shape(0, 0, 0))
                    }
                    try emit(projConv.name, projConv.op, [x])
                    try emit(projBn.name, projBn.op, [projConv.name])
                    guard shapes[projBn.name] == shapes[st.bn.name] else {
                        throw TailorError.shape("block '\(b.name)': a 1×1 projection cannot match convolution '\(st.conv.name)', so it cannot be shortened")
                    }
                    skip = projBn.name
                }
                let addName = b.shortJoin(k)
                try emit(addName, .add, [st.bn.name, skip])
                let reluName = k == last ? b.output : (st.relu?.name ?? "\(b.name).relu\(k + 1)")
                try emit(reluName, .relu, [addName])
                x = reluName
            }
        }
        for n in out where n.name != b.output && !b.members.contains(n.name) && indexOf[n.name] != nil {
            throw TailorError.invalid("block '\(b.name)': a node named '\(n.name)' already exists outside the block")
        }
        return out
    }

    /// The skip inventory: one entry per skip of every block (one per conv when short, one marked
    /// removed when removed).
    public var skips: [Skip] {
        var result: [Skip] = []
        for (bi, b) in blocks.enumerated() {
            let entryShape = node(named: b.entry)?.shape ?? Shape(0, 0, 0)
            let convs = b.stages.map(\.conv.name)
            switch b.mode {
            case .long:
                result.append(Skip(blockIndex: bi, block: b.name, index: 0, mode: .long, source: b.entry, join: b.join.name,
                                   spans: convs, projection: b.projection.map { prefix(of: $0.conv.name) }, shape: entryShape))
            case .removed:
                result.append(Skip(blockIndex: bi, block: b.name, index: 0, mode: .removed, source: b.entry, join: nil,
                                   spans: convs, projection: nil, shape: entryShape))
            case .short:
                for (k, st) in b.stages.enumerated() {
                    let addName = b.shortJoin(k)
                    guard let add = node(named: addName) else { continue }
                    // The short skip carries the conv's own input: x for the first, the previous ReLU after.
                    let source = node(named: st.conv.name)?.inputs[0] ?? b.entry
                    let projBn = add.inputs[1] == source ? nil : add.inputs[1]
                    result.append(Skip(blockIndex: bi, block: b.name, index: k, mode: .short, source: source, join: addName,
                                       spans: [st.conv.name], projection: projBn.map(prefix(of:)),
                                       shape: node(named: source)?.shape ?? entryShape))
                }
            }
        }
        return result
    }

    private func prefix(of name: String) -> String {
        name.split(separator: ".").dropLast().joined(separator: ".")
    }
}
