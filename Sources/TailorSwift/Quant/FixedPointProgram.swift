/// A network as hls4ml 1.3.0 computes it in fixed point (Vivado backend, io_stream, Latency
/// strategy): every value's type resolved as hls4ml resolves it, batch norms folded where hls4ml
/// folds them, and every weight quantised the way it reaches the design. FixedPointInference runs
/// it. The rules, with their sources in hls4ml, are in docs/fixed-point.md:
///
///  - a role a layer does not name takes the model default; "auto" takes hls4ml's inferred type
///    (`infer_precision.py`): conv/dense accum and result wide enough to be exact, add exact,
///    batch norm exact, pooling accum input-wide (max) or 2·⌈log2 N⌉ bits wider (average), pooling
///    result the input's type, relu and input results the model default;
///  - a batch norm folds into the conv before it when that conv's result is "auto" and the batch
///    norm is its only reader (`bn_fuse.py`), in float32 as numpy computes it;
///  - weights and biases pass through hls4ml's decimal text (WeightText).
struct FixedPointProgram {
    /// One layer of the design. `inputs` and `output` index `values`.
    struct Step {
        var node: String
        var kind: Kind
        var inputs: [Int]
        var output: Int
    }

    enum Kind {
        case input
        /// Conv (any kernel; 1×1 is hls4ml's pointwise conv) or dense.
        case multiply(FixedMultiply)
        /// A batch norm hls4ml keeps as its own layer: out = x·scale + bias, one conversion.
        case scale(scale: [Int64], scaleType: FixedPointType, bias: [Int64], biasType: FixedPointType)
        case relu
        case add
        case maxPool(kernel: Int, accum: FixedPointType)
        case averagePool(kernel: (h: Int, w: Int), accum: FixedPointType)
        /// No arithmetic: the output is the input (a flatten, or a batch norm folded away).
        case alias
    }

    struct Multiply {
        var outChannels: Int, kernel: Int, stride: Int, padding: Int
        /// Mantissas, PyTorch layout [out][in][kh][kw].
        var weights: [Int64]
        var weightType: FixedPointType
        var bias: [Int64]
        var biasType: FixedPointType
        var accum: FixedPointType
        /// The type hls4ml infers for this layer: it holds every partial sum exactly.
        var exactSumType: FixedPointType? = nil
    }

    /// Type and shape of every value (one per node; a folded batch norm shares its conv's).
    var values: [(type: FixedPointType, shape: Shape)] = []
    var steps: [Step] = []
    /// Node name of each value.
    var valueNames: [String] = []
    var output: Int = 0
    /// Weights and biases the overflow mode changed, by "<node>.weight" / "<node>.bias".
    var weightOverflows: [String: Int] = [:]
    /// Batch norms folded into the conv before them (hls4ml's rule), batch norm -> conv.
    private(set) var foldedBatchNorms: [String: String] = [:]

    /// `quantizingWeights` false resolves the types only (the resource model's use): weights stay empty.
    init(_ net: Network, quantizingWeights: Bool = true) throws {
        guard let precision = net.precision else {
            throw TailorError.invalid("the network has no fixed-point precision: set one (tailor_net_set_precision_json / Network.set_precision) before a fixed-point predict")
        }
        let out = try net.requireOutput()
        let readers = net.consumerCounts()
        var valueOf: [String: Int] = [:]

        func concrete(_ role: NetworkPrecision.Role, _ node: String, auto inferred: @autoclosure () throws -> FixedPointType) throws -> FixedPointType {
            switch precision.setting(role, of: node) {
            case .type(let t): return t
            case .auto: return try inferred()
            }
        }
        func newValue(_ node: String, _ type: FixedPointType, _ shape: Shape) throws -> Int {
            values.append((try Self.inMantissa(type, node: node), shape)); valueNames.append(node)
            valueOf[node] = values.count - 1
            return values.count - 1
        }
        func input(_ node: Node, _ k: Int = 0) -> (index: Int, type: FixedPointType, shape: Shape) {
            let i = valueOf[node.inputs[k]]!
            return (i, values[i].type, values[i].shape)
        }

        for node in net.nodes {
            let name = node.name
            switch node.op {
            case .input(let shape):
                let t = try concrete(.result, name, auto: precision.model)
                steps.append(Step(node: name, kind: .input, inputs: [], output: try newValue(name, t, shape)))

            case .conv2d(let a):
                let x = input(node)
                let bn = Self.foldableBatchNorm(after: node, in: net, readers: readers, precision: precision)
                let (w, b) = quantizingWeights ? try Self.floatParameters(of: node, foldingInto: bn, in: net) : ([], [])
                if let bn { foldedBatchNorms[bn.name] = name }
                let m = try multiply(node, x, n: x.shape.c * a.kernel * a.kernel, w, b,
                                     attrs: (a.outChannels, a.kernel, a.stride, a.padding), dense: false)
                steps.append(Step(node: name, kind: .multiply(m), inputs: [x.index],
                                  output: try newValue(name, m.result, node.shape)))

            case .dense(let a):
                let x = input(node)
                let w = quantizingWeights ? try net.parameter("\(name).weight").data : []
                let b = !quantizingWeights ? [] : a.bias ? try net.parameter("\(name).bias").data : [Float](repeating: 0, count: a.outFeatures)
                let m = try multiply(node, x, n: x.shape.count, w, b, attrs: (a.outFeatures, 1, 1, 0), dense: true)
                steps.append(Step(node: name, kind: .multiply(m), inputs: [x.index],
                                  output: try newValue(name, m.result, node.shape)))

            case .batchnorm(let a):
                let x = input(node)
                if foldedBatchNorms[name] != nil {
                    valueOf[name] = x.index
                    steps.append(Step(node: name, kind: .alias, inputs: [x.index], output: x.index))
                    continue
                }
                let (scale, shift) = quantizingWeights ? try Self.batchNormAffine(node, eps: a.eps, in: net) : ([], [])
                let sT = try concrete(.scale, name, auto: precision.model)
                let bT = try concrete(.bias, name, auto: precision.model)
                let s = try quantizeWeights(scale, sT, "\(name).scale")
                let b = try quantizeWeights(shift, bT, "\(name).bias")
                // hls4ml's batch-norm rule: the exact product, then the exact sum with the bias.
                let product = try Self.fixed(node, "result", width: x.type.width + sT.width,
                                             integer: x.type.integerBits + sT.integerBits, signed: x.type.signed || sT.signed)
                let r = try concrete(.result, name, auto: try Self.exactSum(node, product, bT))
                steps.append(Step(node: name, kind: .scale(scale: s, scaleType: sT, bias: b, biasType: bT),
                                  inputs: [x.index], output: try newValue(name, r, node.shape)))

            case .relu:
                let x = input(node)
                let r = try concrete(.result, name, auto: precision.model)
                steps.append(Step(node: name, kind: .relu, inputs: [x.index], output: try newValue(name, r, node.shape)))

            case .add:
                let (a, b) = (input(node, 0), input(node, 1))
                let r = try concrete(.result, name, auto: try Self.exactSum(node, a.type, b.type))
                steps.append(Step(node: name, kind: .add, inputs: [a.index, b.index], output: try newValue(name, r, node.shape)))

            case .maxpool(let p), .avgpool(let p):
                // hls4ml's io_stream pooling (pooling2d_buffer_cl) asserts pool == stride and no padding.
                guard p.kernel == p.stride, p.padding == 0 else {
                    throw TailorError(.unsupported, "node '\(name)': hls4ml's streaming pooling needs kernel == stride and no padding (it aborts otherwise); got kernel \(p.kernel), stride \(p.stride), padding \(p.padding)")
                }
                let x = input(node)
                let isMax: Bool
                if case .maxpool = node.op { isMax = true } else { isMax = false }
                let accum = try Self.inMantissa(try concrete(.accum, name, auto: isMax ? x.type : try Self.averageAccum(node, x.type, window: p.kernel * p.kernel)), node: "\(name).accum")
                let r = try concrete(.result, name, auto: x.type)
                let kind: Kind = isMax ? .maxPool(kernel: p.kernel, accum: accum) : .averagePool(kernel: (p.kernel, p.kernel), accum: accum)
                steps.append(Step(node: name, kind: kind, inputs: [x.index], output: try newValue(name, r, node.shape)))

            case .globalAvgPool:
                // hls4ml's PyTorch front end: an average pool over the whole map (Pooling2D).
                let x = input(node)
                let accum = try Self.inMantissa(try concrete(.accum, name, auto: try Self.averageAccum(node, x.type, window: x.shape.h * x.shape.w)), node: "\(name).accum")
                let r = try concrete(.result, name, auto: x.type)
                steps.append(Step(node: name, kind: .averagePool(kernel: (x.shape.h, x.shape.w), accum: accum),
                                  inputs: [x.index], output: try newValue(name, r, node.shape)))

            case .flatten:
                let x = input(node)
                valueOf[name] = x.index
                steps.append(Step(node: name, kind: .alias, inputs: [x.index], output: x.index))
            }
        }
        output = valueOf[out.name]!

        /// A conv or dense layer: weights quantised, accum and result resolved.
        func multiply(_ node: Node, _ input: (index: Int, type: FixedPointType, shape: Shape), n: Int, _ w: [Float], _ b: [Float],
                      attrs: (out: Int, kernel: Int, stride: Int, padding: Int), dense: Bool) throws -> FixedMultiply {
            let name = node.name, x = input.type
            let wT = try concrete(.weight, name, auto: precision.model)
            let bT = try concrete(.bias, name, auto: precision.model)
            // hls4ml's conv/dense rule (infer_precision.py `_infer_common_precision`): products of
            // n terms need ⌈log2 n⌉ more bits, then one more for the bias (always counted).
            // Only an "auto" role needs it: an explicit accum and result stand even where the
            // inferred type would be too wide to hold.
            let grow = Self.ceilLog2(n)
            let inferred = Result {
                try Self.exactSum(node, try Self.fixed(node, "accum", width: wT.width + x.width + grow,
                                                       integer: wT.integerBits + x.integerBits + grow, signed: wT.signed || x.signed), bT)
            }
            let accum = try concrete(.accum, name, auto: try inferred.get())
            let result = try concrete(.result, name, auto: try inferred.get())
            let m = Multiply(outChannels: attrs.out, kernel: attrs.kernel, stride: attrs.stride, padding: attrs.padding,
                             weights: try quantizeWeights(w, wT, "\(name).weight"), weightType: wT,
                             bias: try quantizeWeights(b, bT, "\(name).bias"), biasType: bT,
                             accum: try Self.inMantissa(accum, node, "accum"), exactSumType: try? inferred.get())
            return FixedMultiply(m, dense: dense, input: input.shape, inputType: x, output: node.shape, result: result)
        }

        func quantizeWeights(_ v: [Float], _ t: FixedPointType, _ key: String) throws -> [Int64] {
            _ = try Self.inMantissa(t, node: key)
            var changed = 0
            let m = v.map { w -> Int64 in
                let (q, overflowed) = WeightText.mantissa(of: w, in: t)
                if overflowed { changed += 1 }
                return Int64(q)   // fits: inMantissa checked the type
            }
            if changed > 0 { weightOverflows[key] = changed }
            return m
        }
    }

    /// `type`, if its mantissas fit the Int64 the design holds them in (every type in use passes
    /// here: a 64-bit unsigned mantissa would not).
    static func inMantissa(_ type: FixedPointType, node: String) throws -> FixedPointType {
        guard type.signed || type.width < 64 else {
            throw TailorError(.unsupported, "'\(node)': fixed-point inference holds mantissas in 64 bits; \(type) does not fit (use 63 bits or fewer, or a signed type)")
        }
        return type
    }

    static func inMantissa(_ type: FixedPointType, _ node: Node, _ role: String) throws -> FixedPointType {
        try inMantissa(type, node: "\(node.name).\(role)")
    }

    // MARK: hls4ml's rules

    /// The batch norm hls4ml folds into `conv`: its only reader, when the conv's result is "auto".
    static func foldableBatchNorm(after conv: Node, in net: Network, readers: [String: Int], precision: NetworkPrecision) -> Node? {
        guard precision.setting(.result, of: conv.name) == .auto, readers[conv.name] == 1 else { return nil }
        return net.nodes.first { n in
            if case .batchnorm = n.op, n.inputs == [conv.name] { return true }
            return false
        }
    }

    /// A conv's float32 weights and bias, folded with `bn` as hls4ml folds (bn_fuse.py, numpy
    /// float32: w' = scale·w, b' = scale·b + shift).
    static func floatParameters(of conv: Node, foldingInto bn: Node?, in net: Network) throws -> (weight: [Float], bias: [Float]) {
        guard case .conv2d(let a) = conv.op else { preconditionFailure("floatParameters of a conv") }
        var w = try net.parameter("\(conv.name).weight").data
        let conBias = a.bias ? try net.parameter("\(conv.name).bias").data : nil
        guard let bn, case .batchnorm(let attrs) = bn.op else {
            return (w, conBias ?? [Float](repeating: 0, count: a.outChannels))
        }
        let (scale, shift) = try batchNormAffine(bn, eps: attrs.eps, in: net)
        let perFilter = w.count / a.outChannels
        for f in 0..<a.outChannels { for i in 0..<perFilter { w[f * perFilter + i] = scale[f] * w[f * perFilter + i] } }
        let b = (0..<a.outChannels).map { f in conBias.map { scale[f] * $0[f] + shift[f] } ?? shift[f] }
        return (w, b)
    }

    /// hls4ml's batch-norm scale and shift in float32 (layers.py BatchNormalization.initialize):
    /// scale = γ / √(var + ε), shift = β − scale·μ, ε rounded to float32 as numpy does.
    static func batchNormAffine(_ bn: Node, eps: Double, in net: Network) throws -> (scale: [Float], shift: [Float]) {
        let gamma = try net.parameter("\(bn.name).weight").data, beta = try net.parameter("\(bn.name).bias").data
        let mean = try net.parameter("\(bn.name).running_mean").data, variance = try net.parameter("\(bn.name).running_var").data
        let e = Float(eps)
        let scale = (0..<gamma.count).map { gamma[$0] / (variance[$0] + e).squareRoot() }
        let shift = (0..<gamma.count).map { beta[$0] - scale[$0] * mean[$0] }
        return (scale, shift)
    }

    /// hls4ml's exact-sum type of a + b (the merge rule; also the bias step of conv and batch norm).
    static func exactSum(_ node: Node, _ a: FixedPointType, _ b: FixedPointType) throws -> FixedPointType {
        let integer = max(a.integerBits + (b.signed && !a.signed ? 1 : 0), b.integerBits + (a.signed && !b.signed ? 1 : 0)) + 1
        return try fixed(node, "result", width: integer + max(a.fractionBits, b.fractionBits), integer: integer,
                         signed: a.signed || b.signed)
    }

    /// hls4ml's average-pool accumulator: ⌈log2 N⌉ more integer bits and as many more fraction bits.
    static func averageAccum(_ node: Node, _ x: FixedPointType, window: Int) throws -> FixedPointType {
        let e = ceilLog2(window)
        return try fixed(node, "accum", width: x.width + 2 * e, integer: x.integerBits + e, signed: x.signed)
    }

    static func ceilLog2(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

    /// An inferred type (TRN, WRAP as hls4ml infers them), or an error naming the node when it is
    /// wider than the 64 bits a fixed-point type may have here.
    static func fixed(_ node: Node, _ role: String, width: Int, integer: Int, signed: Bool) throws -> FixedPointType {
        guard FixedPointType.widthRange.contains(width) else {
            throw TailorError(.unsupported, "node '\(node.name)': hls4ml would infer a \(width)-bit \(role) type here; set the \(role) of '\(node.name)' explicitly (at most 64 bits)")
        }
        return try FixedPointType(width: width, integerBits: integer, signed: signed)
    }
}
