// The rest of the design — every layer that is not part of a skip — so that skip figures can be
// read as a share of the whole (docs/hardware.md).

/// One layer's hardware outside the skips.
public struct LayerRow: Sendable {
    public var node: String
    public var op: String
    public var components: [Component] = []
    public var cost: Cost { components.reduce(Cost()) { $0 + $1.cost } }
    public var macs: Int { components.reduce(0) { $0 + $1.macs } }
}

extension ResourceModel {
    /// A layer's compute and the design's streams listed with it (its output, zero padding, clone copies).
    func layerRow(_ node: Node) -> LayerRow? {
        var row = LayerRow(node: node.name, op: node.op.kind)
        let input = node.inputs.first.flatMap { net.node(named: $0)?.shape } ?? node.shape
        let b = config.bits(of: node.name)
        let pe = config.target == .peArray
        let owned = pe ? [] : streams(ownedBy: .layer(node.name))
        switch node.op {
        case .input:
            row.components = []
        case .conv2d(let a):
            row.components = convCompute(node, a, input: input)
        case .batchnorm:
            // After a conv, BN folds into its weights and bias (no layer, no stream).
            if let src = node.inputs.first.flatMap({ net.node(named: $0) }), case .conv2d = src.op { return nil }
            if pe { return nil }
            row.components = [multipliers(node: node.name, macsPerOutput: node.shape.c, inputBits: bitsOfInput(node))]
        case .relu:
            if pe { return nil }
            var logic = Component(name: "relu", shape: node.shape)
            let vpw = packing(channels: node.shape.c).valuesPerWord
            logic.cost.lut = vpw * b
            if explaining { logic.explain = [("lut", "\(vpw) values × \(b) bits, each bit gated by the sign = \(logic.cost.lut)")] }
            row.components = [logic]
        case .add:
            // Adds outside residual blocks (blocks' joins are costed with their skips).
            if pe {
                row.components = [peTraffic(node: node.name, input: Shape(2 * input.c, input.h, input.w), output: node.shape, macs: 0)]
            } else {
                row.components = [adder(shape: node.shape, bits: b)]
            }
        case .maxpool(let a), .avgpool(let a):
            if pe {
                row.components = [peTraffic(node: node.name, input: input, output: node.shape, macs: 0)]
            } else {
                var cmp = Component(name: "window logic", shape: node.shape)
                let vpw = packing(channels: node.shape.c).valuesPerWord
                cmp.cost.lut = vpw * b * (a.kernel * a.kernel - 1)
                if explaining { cmp.explain = [("lut", "\(vpw) values × (K²−1) = \(a.kernel * a.kernel - 1) \(b)-bit comparators/adders = \(cmp.cost.lut)")] }
                row.components = [cmp]
                if a.kernel > 1 { row.components.append(lineBuffer(kernel: a.kernel, padding: a.padding, input: input, bits: bitsOfInput(node))) }
            }
        case .globalAvgPool:
            if pe {
                row.components = [peTraffic(node: node.name, input: input, output: node.shape, macs: 0)]
            } else {
                var acc = Component(name: "accumulators", shape: node.shape)
                let vpw = packing(channels: node.shape.c).valuesPerWord
                let accBits = b + HardwareMath.ceilLog2(input.h * input.w)
                acc.cost.lut = vpw * accBits
                acc.cost.ff = node.shape.c * accBits
                if explaining { acc.explain = [("lut", "\(vpw) adders × (\(b) + ⌈log2 \(input.h * input.w)⌉) bits = \(acc.cost.lut)"),
                               ("ff", "\(node.shape.c) accumulators × \(accBits) bits = \(acc.cost.ff)")] }
                row.components = [acc]
            }
        case .flatten:
            return nil
        case .dense(let a):
            let params = input.c * a.outFeatures + (a.bias ? a.outFeatures : 0)
            row.components = [weights(node: node.name, params: params)]
            if pe {
                row.components.append(peTraffic(node: node.name, input: input, output: node.shape, macs: input.c * a.outFeatures))
            } else {
                var mult = multipliers(node: node.name, macsPerOutput: input.c * a.outFeatures, inputBits: bitsOfInput(node))
                mult.macs = input.c * a.outFeatures
                row.components += [mult]
            }
        }
        // A value read by several layers for reasons other than a skip is cloned here.
        let copies = owned.filter { $0.name.hasPrefix("clone copy") }
        if let first = copies.first, let shape = first.shape {
            row.components.append(clone(shape: shape, bits: first.wordBits / max(1, packing(channels: shape.c).valuesPerWord), outputs: copies.count))
        }
        row.components += owned
        return row.components.isEmpty ? nil : row
    }
}
