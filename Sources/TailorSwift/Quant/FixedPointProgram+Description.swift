/// The fixed-point design as data, for tools that write it out (the QONNX exporter): every layer
/// with its resolved types and where each came from, and the parameters as the design holds them.
/// Exporters read these instead of re-deriving hls4ml's rules.
extension FixedPointProgram {
    /// {"model": type, "layers": [{"node", "kind", "inputs", "result", "accum"?, "accum_inferred"?,
    /// "accum_holds_exact_sum"?, "weight"?, "bias"?, "scale"?, "folded_into"?}]}; a type is {"type":
    /// spelling, "width", "integer", "signed", "rounding", "overflow", "source": "layer" (the
    /// config names it), "auto" (hls4ml's inferred type) or "model" (the default)}.
    func description(_ precision: NetworkPrecision) -> JSON {
        func type(_ t: FixedPointType, _ node: String, _ role: NetworkPrecision.Role, inferred: Bool = false) -> JSON {
            let source: String
            switch inferred ? .auto : precision.layers[node]?[role] {
            case .type?: source = "layer"
            case .auto?: source = "auto"
            case nil: source = "model"
            }
            return .object([("type", .string(t.description)), ("width", .number(Double(t.width))),
                            ("integer", .number(Double(t.integerBits))), ("signed", .bool(t.signed)),
                            ("rounding", .string(t.rounding.rawValue)), ("overflow", .string(t.overflow.rawValue)),
                            ("source", .string(source))])
        }
        /// A layer's accumulator, the one hls4ml would infer, and whether the first holds every
        /// value of the second (then the sum is exact whatever the order).
        func accum(_ a: FixedPointType, inferred: FixedPointType?, _ node: String) -> [(String, JSON)] {
            var f: [(String, JSON)] = [("accum", type(a, node, .accum))]
            if let inferred { f.append(("accum_inferred", type(inferred, node, .accum, inferred: true))) }
            f.append(("accum_holds_exact_sum", .bool(inferred.map { FixedPointType.holds(a, $0) } ?? false)))
            return f
        }
        var layers: [JSON] = []
        for step in steps {
            let node = step.node
            var fields: [(String, JSON)] = [("node", .string(node)), ("inputs", .array(step.inputs.map { .string(valueNames[$0]) }))]
            let result = values[step.output].type
            switch step.kind {
            case .input: fields += [("kind", .string("input")), ("result", type(result, node, .result))]
            case .multiply(let m):
                fields += [("kind", .string(m.dense ? "dense" : "conv2d")), ("result", type(result, node, .result))]
                fields += accum(m.m.accum, inferred: m.m.exactSumType, node)
                fields += [("weight", type(m.m.weightType, node, .weight)), ("bias", type(m.m.biasType, node, .bias))]
            case .scale(_, let sT, _, let bT):
                fields += [("kind", .string("batchnorm")), ("result", type(result, node, .result)),
                           ("scale", type(sT, node, .scale)), ("bias", type(bT, node, .bias))]
            case .relu: fields += [("kind", .string("relu")), ("result", type(result, node, .result))]
            case .add: fields += [("kind", .string("add")), ("result", type(result, node, .result))]
            case .maxPool(_, let a):
                fields += [("kind", .string("maxpool")), ("result", type(result, node, .result))]
                fields += accum(a, inferred: values[step.inputs[0]].type, node)
            case .averagePool(let k, let a):
                let x = values[step.inputs[0]].type, e = Self.ceilLog2(k.h * k.w)
                let inferred = try? FixedPointType(width: x.width + 2 * e, integerBits: x.integerBits + e, signed: x.signed)
                fields += [("kind", .string("average")), ("result", type(result, node, .result))]
                fields += accum(a, inferred: inferred, node)
            case .alias:
                // A flatten, or a batch norm hls4ml folds into the conv that computes this value.
                fields += [("kind", .string("alias"))]
                if let conv = foldedBatchNorms[node] { fields += [("folded_into", .string(conv))] }
            }
            layers.append(.object(fields))
        }
        return .object([("model", .string(precision.model.description)), ("layers", .array(layers))])
    }

    /// The values of `role` ("weight", "bias", "scale") of `node` as the design holds them
    /// (PyTorch layout; a folded batch norm's scale and shift are in its conv's weight and bias).
    func parameter(_ node: String, _ role: String) throws -> (values: [Double], type: FixedPointType) {
        guard let step = steps.first(where: { $0.node == node }) else {
            throw TailorError.notFound("node '\(node)' is not a layer of the fixed-point design")
        }
        switch (step.kind, role) {
        case (.multiply(let m), "weight"): return (m.m.weights.map { m.m.weightType.value(ofMantissa: Int128($0)) }, m.m.weightType)
        case (.multiply(let m), "bias"): return (m.m.bias.map { m.m.biasType.value(ofMantissa: Int128($0)) }, m.m.biasType)
        case (.scale(let s, let sT, _, _), "scale"): return (s.map { sT.value(ofMantissa: Int128($0)) }, sT)
        case (.scale(_, _, let b, let bT), "bias"): return (b.map { bT.value(ofMantissa: Int128($0)) }, bT)
        default:
            throw TailorError.notFound("node '\(node)' has no \(role) in the fixed-point design (a conv or dense has weight and bias, an unfolded batch norm scale and bias)")
        }
    }
}

extension FixedPointType {
    /// Whether every value of `inner` is a value of `outer` (outer's grid is as fine and its range as wide).
    static func holds(_ outer: FixedPointType, _ inner: FixedPointType) -> Bool {
        guard outer.fractionBits >= inner.fractionBits else { return false }
        let (olo, ohi) = outer.mantissaRange, (ilo, ihi) = inner.mantissaRange
        let shift = outer.fractionBits - inner.fractionBits
        func scaled(_ m: Int128) -> Double { Double(m) * Double(sign: .plus, exponent: shift, significand: 1) }
        return Double(olo) <= scaled(ilo) && Double(ohi) >= scaled(ihi)
    }
}
