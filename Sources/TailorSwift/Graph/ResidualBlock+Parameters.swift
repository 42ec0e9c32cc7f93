// The parameters a residual block can hold across its modes, so a checkpoint or model file can
// check a block's set-aside parameters against the graph.

extension Network {
    /// Every parameter block `i` holds in some mode (long, removed or short), with its shape.
    func settableParameters(ofBlock i: Int) -> [String: (shape: [Int], isInteger: Bool)] {
        var out: [String: (shape: [Int], isInteger: Bool)] = [:]
        guard let entry = node(named: blocks[i].entry) else { return out }
        for mode in SkipMode.allCases {
            guard let nodes = try? blockNodes(blocks[i], mode: mode) else { continue }   // a block that cannot be shortened
            var shapes = [blocks[i].entry: entry.shape]
            for n in nodes {
                shapes[n.name] = n.shape
                guard let input = n.inputs.first.flatMap({ shapes[$0] }) else { continue }
                for s in n.op.parameterSpecs(input: input) { out["\(n.name).\(s.suffix)"] = (s.shape, s.isInteger) }
            }
        }
        return out
    }
}
