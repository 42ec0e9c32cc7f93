// Quantisation-aware training: the executor trains the network the FPGA runs. Each quantisation
// point of the hls4ml design (FixedPointProgram) is simulated in float ("fake quantisation"):
//
//  - weights: a conv whose batch norm hls4ml folds is deployed with Q(s·w), s = γ/√(var + ε) from
//    the running statistics; training uses w_q = Q(s·w)/s, so that after the batch norm (which
//    multiplies by s again at inference) the network computes with exactly the deployed weights.
//    Other convs and dense layers use Q(w), dense biases Q(b);
//  - activations: the input, every ReLU and pooling output, and every node given an explicit
//    result type, rounded and overflowed as the type does;
//  - gradients pass straight through each quantiser where the value was inside the type's range
//    and are zero where it was clipped or wrapped (the clipped straight-through estimator).
//
// Inference in this mode (validation during a quantised fit) uses the deployed folded weights
// and biases, quantised, and the same activation quantisers. Conversions inside a layer
// (accumulators) and hls4ml's decimal text of the weights are not simulated: with hls4ml's
// inferred accumulators the former are exact, and FixedPointInference gives the bit-exact answer.

/// One fixed-point type applied to floats, fast: v·2^F is exact in a Double, every rounding mode
/// is one Double rounding of it, and the overflow modes act on the rounded mantissa (types wider
/// than 52 bits, and values far out of range under AP_WRAP, take the exact path).
struct FakeQuantizer {
    let type: FixedPointType
    private let scale: Double, step: Double, lo: Double, hi: Double, modulus: Double

    init(_ type: FixedPointType) {
        self.type = type
        scale = Double(sign: .plus, exponent: type.fractionBits, significand: 1)
        step = Double(sign: .plus, exponent: -type.fractionBits, significand: 1)
        let (l, h) = type.mantissaRange
        // AP_SAT_SYM: the most negative mantissa is out of range too.
        lo = Double(l) + (type.overflow == .saturateSymmetric && type.signed ? 1 : 0); hi = Double(h)
        modulus = Double(sign: .plus, exponent: type.width, significand: 1)
    }

    /// The mantissa of t = v·2^F rounded by the type's mode (each mode as one Double rounding).
    @inline(__always) private static func round(_ t: Double, _ mode: FixedPointType.Rounding) -> Double {
        switch mode {
        case .truncate: t.rounded(.down)
        case .truncateToZero: t.rounded(.towardZero)
        case .round: (t + 0.5).rounded(.down)
        case .roundToZero: t >= 0 ? (t - 0.5).rounded(.up) : (t + 0.5).rounded(.down)
        case .roundMinusInfinity: (t - 0.5).rounded(.up)
        case .roundInfinity: t.rounded(.toNearestOrAwayFromZero)
        case .roundConvergent: t.rounded(.toNearestOrEven)
        }
    }

    /// `v` on the type's grid and range, and whether it was inside the range.
    @inline(__always) func apply(_ v: Float) -> (value: Float, inRange: Bool) {
        let k = Self.round(Double(v) * scale, type.rounding)
        if k >= lo && k <= hi && type.width <= 52 { return (Float(k * step), true) }
        return outOfRange(v, k)
    }

    /// A rounded mantissa outside the range (or a type too wide for the fast path, or NaN).
    private func outOfRange(_ v: Float, _ k: Double) -> (value: Float, inRange: Bool) {
        guard v.isFinite else { return (v, false) }   // left for the loss to report
        if type.width > 52 || (type.overflow == .wrap && abs(k) >= 0x1p52) {
            let q = type.quantize(Double(v))
            return (Float(type.value(ofMantissa: q.mantissa)), !q.overflowed)
        }
        switch type.overflow {
        case .wrap: return (Float((k - modulus * ((k - lo) / modulus).rounded(.down)) * step), false)
        case .saturate, .saturateSymmetric: return (Float((k > hi ? hi : lo) * step), false)
        case .saturateToZero: return (0, false)
        }
    }

    /// Quantises `count` floats in place; mask[i] = 1 where the value was in range (may be nil),
    /// or with `combine`, mask[i] stays 1 only where it was and the value was in range.
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int, mask: UnsafeMutablePointer<UInt8>?, combine: Bool = false) {
        switch type.rounding {
        case .truncate: run(p, count, mask, combine, .truncate)
        case .truncateToZero: run(p, count, mask, combine, .truncateToZero)
        case .round: run(p, count, mask, combine, .round)
        case .roundToZero: run(p, count, mask, combine, .roundToZero)
        case .roundMinusInfinity: run(p, count, mask, combine, .roundMinusInfinity)
        case .roundInfinity: run(p, count, mask, combine, .roundInfinity)
        case .roundConvergent: run(p, count, mask, combine, .roundConvergent)
        }
    }

    /// One loop per rounding mode (the mode a constant, so the loop body is a few instructions).
    @inline(__always) private func run(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ mask: UnsafeMutablePointer<UInt8>?,
                                       _ combine: Bool, _ mode: FixedPointType.Rounding) {
        let (scale, step, lo, hi) = (scale, step, lo, hi)
        let fast = type.width <= 52
        parallelFor(count, grain: 1 << 16) { r in
            for i in r {
                let v = p[i]
                let k = Self.round(Double(v) * scale, mode)
                if fast && k >= lo && k <= hi {
                    p[i] = Float(k * step)
                    if !combine { mask?[i] = 1 }
                } else {
                    let (q, ok) = outOfRange(v, k)
                    p[i] = q
                    if !ok || !combine { mask?[i] = ok ? 1 : 0 }
                }
            }
        }
    }
}

/// A gradient mask: 1 where a quantiser's input was in range.
final class MaskBuffer {
    let p: UnsafeMutablePointer<UInt8>
    let count: Int
    init(count: Int) { self.count = count; p = .allocate(capacity: max(count, 1)); p.initialize(repeating: 1, count: max(count, 1)) }
    deinit { p.deallocate() }
}

/// Where an executor quantises, built from the network's precision (FixedPointProgram's types).
final class QuantizationPlan {
    struct Weights {
        let node: Int, weight: Int, count: Int, outChannels: Int
        let weights: FakeQuantizer
        /// The bias and its quantiser: dense layers and convs hls4ml keeps unfolded (-1: none).
        let bias: Int
        let biases: FakeQuantizer
        /// The batch norm hls4ml folds into this conv (node index), if any.
        let foldedBN: Int?
    }

    let precision: NetworkPrecision
    let weights: [Weights]
    /// Quantiser of each node's output, by node index.
    let activations: [Int: FakeQuantizer]
    private let isReLU: [Bool]
    /// Training: the store's values with the weights quantised, and the gradient masks.
    let values: FloatBuffer
    private var weightMask: [UInt8]
    private var activationMask: [Int: MaskBuffer] = [:]

    init(_ net: Network, plans: [Executor.Plan], store: ParameterStore) throws {
        guard let precision = net.precision else {
            throw TailorError.invalid("quantised training needs the network's fixed-point types: set a precision (Network.set_precision) first")
        }
        self.precision = precision
        let program = try FixedPointProgram(net, quantizingWeights: false)
        var index: [String: Int] = [:]
        for (i, p) in plans.enumerated() { index[p.name] = i }
        var weights: [Weights] = [], activations: [Int: FakeQuantizer] = [:]
        var foldedInto: [String: String] = [:]   // conv -> the batch norm hls4ml folds into it
        for (bn, conv) in program.foldedBatchNorms { foldedInto[conv] = bn }
        for step in program.steps {
            guard let i = index[step.node] else { continue }
            let p = plans[i]
            switch step.kind {
            case .multiply(let m):
                let bn = foldedInto[step.node].flatMap { index[$0] }
                let count = store.slots.first { $0.offset == p.w }?.count ?? 0
                weights.append(Weights(node: i, weight: p.w, count: count,
                                       outChannels: m.m.outChannels, weights: FakeQuantizer(m.m.weightType),
                                       bias: bn == nil ? p.b : -1, biases: FakeQuantizer(m.m.biasType), foldedBN: bn))
                if case .type = precision.setting(.result, of: step.node) { activations[i] = FakeQuantizer(program.values[step.output].type) }
            case .input, .relu, .maxPool, .averagePool:
                activations[i] = FakeQuantizer(program.values[step.output].type)
            case .scale, .add:
                if case .type = precision.setting(.result, of: step.node) { activations[i] = FakeQuantizer(program.values[step.output].type) }
            case .alias:
                break
            }
        }
        self.weights = weights
        self.activations = activations
        isReLU = plans.map { if case .relu = $0.op { true } else { false } }
        values = FloatBuffer(count: store.values.count)
        weightMask = [UInt8](repeating: 1, count: store.values.count)
    }

    func matches(_ net: Network) -> Bool { net.precision == precision }

    // MARK: training

    /// The training weights: the store's values with every quantised weight replaced by w_q.
    func prepareTrainingWeights(_ store: ParameterStore, plans: [Executor.Plan]) {
        let P = values.p, S = store.stats.p
        P.update(from: store.values.p, count: store.values.count)
        weightMask.withUnsafeMutableBufferPointer { mask in
            let M = mask.baseAddress!
            for w in weights {
                let perOut = w.count / max(1, w.outChannels)
                for o in 0..<w.outChannels {
                    var s: Float = 1
                    if let j = w.foldedBN, case .batchnorm(let a) = plans[j].op, let so = store.statOffset[plans[j].name] {
                        let C = plans[j].shape.c
                        s = P[plans[j].w + o] / (S[so + C + o] + Float(a.eps)).squareRoot()
                        if !(s.isFinite && s != 0) { s = 1 }
                    }
                    let row = P + w.weight + o * perOut, m = M + w.weight + o * perOut
                    for k in 0..<perOut {
                        let (v, ok) = w.weights.apply(s * row[k])
                        row[k] = v / s
                        m[k] = ok ? 1 : 0
                    }
                }
                if w.bias >= 0 { w.biases.apply(P + w.bias, count: w.outChannels, mask: M + w.bias) }
            }
        }
    }

    /// Quantises the value the nodes `group` computed together into `p` (a node, or a node and
    /// the ReLU, BatchNorm and ReLU it computes with it; the value is the last one's), each
    /// node's type in turn. A producer's type is applied to the ReLU's output and clamped at 0:
    /// relu(Q(x)) = max(0, Q(relu(x))) since Q(0) = 0 and Q keeps the sign (all but a wrapping
    /// type whose range a negative value leaves). In training the mask for the value's gradient
    /// is in range for every type applied.
    func quantize(_ group: [Int], _ p: UnsafeMutablePointer<Float>, count: Int, training: Bool) {
        let applied = group.filter { activations[$0] != nil }
        guard let last = group.last, !applied.isEmpty else { return }
        var mask: UnsafeMutablePointer<UInt8>? = nil
        if training {
            let m: MaskBuffer
            if let old = activationMask[last], old.count == count { m = old } else { m = MaskBuffer(count: count); activationMask[last] = m }
            mask = m.p
        }
        for (k, node) in applied.enumerated() {
            if k > 0, isReLU[node] { parallelFor(count, grain: 1 << 16) { r in for j in r where p[j] < 0 { p[j] = 0 } } }
            activations[node]!.apply(p, count: count, mask: mask, combine: k > 0)
        }
    }

    /// Straight-through: node `i`'s output gradient is zero where its quantiser clipped.
    func maskGradient(_ i: Int, _ g: UnsafeMutablePointer<Float>, count: Int) {
        guard let mask = activationMask[i], mask.count == count else { return }
        let m = mask.p
        parallelFor(count, grain: 1 << 16) { r in for k in r { g[k] = m[k] != 0 ? g[k] : 0 } }
    }

    /// Straight-through for weights: zero gradient where s·w was outside the weight type.
    func maskWeightGradients(_ G: UnsafeMutablePointer<Float>) {
        weightMask.withUnsafeBufferPointer { m in
            for w in weights {
                for k in w.weight..<(w.weight + w.count) where m[k] == 0 { G[k] = 0 }
                if w.bias >= 0 { for k in w.bias..<(w.bias + w.outChannels) where m[k] == 0 { G[k] = 0 } }
            }
        }
    }

    // MARK: inference

    /// The deployed parameters in the executor's inference buffers (BatchNorm already folded):
    /// every weight and bias on its type's grid.
    func quantizeInferenceWeights(_ P: UnsafeMutablePointer<Float>, foldedBias: UnsafeMutablePointer<Float>, foldedBiasOffset: [Int: Int]) {
        for w in weights {
            w.weights.apply(P + w.weight, count: w.count, mask: nil)
            if let o = foldedBiasOffset[w.node] {
                w.biases.apply(foldedBias + o, count: w.outChannels, mask: nil)
            } else if w.bias >= 0 {
                w.biases.apply(P + w.bias, count: w.outChannels, mask: nil)
            }
        }
    }
}
