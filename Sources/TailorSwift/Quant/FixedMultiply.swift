/// A conv or dense layer on mantissas, as hls4ml's Latency kernel computes each output
/// (nnet_dense_latency.h, fed by the conv line buffer's window in (kh, kw, c) order):
///
///     acc = accum(bias);  for each window index i ascending: acc = accum(acc + accum(x[i]·w[i]));
///     out = result(acc)
///
/// Products are exact; `accum(·)` is the conversion to the accumulator type, applied to every
/// product and after every addition. When the accumulator holds every partial sum exactly (no
/// rounding, no overflow: what hls4ml's inferred "auto" accumulator guarantees), those conversions
/// are identities and the order cannot matter, so the fast path sums in Int64 in any order.
struct FixedMultiply {
    let m: FixedPointProgram.Multiply
    let input: Shape, inputType: FixedPointType, output: Shape, result: FixedPointType
    /// A dense layer (its input read as one vector) rather than a conv.
    let dense: Bool
    /// Whether the fast exact path gives hls4ml's values (decided once, from the weights).
    private(set) var exact = false

    /// `dense`: the input is read as one vector (C·H·W order, as the flatten hands it over).
    init(_ m: FixedPointProgram.Multiply, dense: Bool, input: Shape, inputType: FixedPointType, output: Shape, result: FixedPointType) {
        self.m = m; self.inputType = inputType; self.output = output; self.result = result; self.dense = dense
        self.input = dense ? Shape(input.count, 1, 1) : input
        exact = !m.weights.isEmpty && exactInInt64()
    }

    /// Fraction bits of a product, and of the exact sum of products and bias.
    private var productBits: Int { inputType.fractionBits + m.weightType.fractionBits }
    private var sumBits: Int { max(productBits, m.biasType.fractionBits) }

    func run(_ x: UnsafeBufferPointer<Int64>, into y: inout [Int64], results: inout FixedPointInference.Counter,
             accum: inout FixedPointInference.Counter) {
        if exact { runExact(x, into: &y, results: &results) } else { runInOrder(x, into: &y, results: &results, accum: &accum) }
    }

    /// Whether the accumulator holds every partial sum of every output exactly, and Int64 does too.
    private func exactInInt64() -> Bool {
        let a = m.accum
        guard a.fractionBits >= sumBits else { return false }
        // Largest |partial sum| in units of 2^-sumBits: |bias| plus Σ|w|·max|x|.
        let (xlo, xhi) = inputType.mantissaRange
        let xmax = Double(max(-xlo, xhi))
        let taps = input.c * m.kernel * m.kernel
        var worst = 0.0
        for f in 0..<m.outChannels {
            var s = 0.0
            for i in 0..<taps { s += Double(m.weights[f * taps + i].magnitude) }
            let bias = Double(m.bias[f].magnitude) * Double(sign: .plus, exponent: sumBits - m.biasType.fractionBits, significand: 1)
            worst = max(worst, s * xmax * Double(sign: .plus, exponent: sumBits - productBits, significand: 1) + bias)
        }
        // Margin for the double's rounding of the bound; the accumulator's range in the same units.
        let bound = worst * (1 + 1e-9) + 1
        let (alo, ahi) = a.mantissaRange
        let scale = Double(sign: .plus, exponent: a.fractionBits - sumBits, significand: 1)
        // Sums can be negative unless every operand is unsigned.
        let negativeOK = !(inputType.signed || m.weightType.signed || m.biasType.signed) || Double(alo) / scale <= -bound
        return bound < 0x1p62 && Double(ahi) / scale >= bound && negativeOK
    }

    /// Exact sums in Int64, one conversion to the result type per output. Each weight scales a
    /// whole input plane into the output plane (the inner loop runs along a row, which the
    /// compiler vectorises), so the order of additions differs from hls4ml's; exact sums make that
    /// invisible.
    func runExact(_ x: UnsafeBufferPointer<Int64>, into y: inout [Int64], results: inout FixedPointInference.Counter) {
        let (C, H, W) = (input.c, input.h, input.w)
        let (K, S, P) = (m.kernel, m.stride, m.padding)
        let (OH, OW) = (output.h, output.w)
        let taps = C * K * K
        let productShift = sumBits - productBits, biasShift = sumBits - m.biasType.fractionBits
        var plane = [Int64](repeating: 0, count: OH * OW)
        // The output columns whose input column is inside the image, per kw.
        // (iw = ow·S + kw − P must lie in 0..<W; floor divisions, the numerators may be negative.)
        func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
        let columns = (0..<K).map { kw -> Range<Int> in
            let lo = max(0, -floorDiv(kw - P, S)), hi = min(OW, floorDiv(W - 1 + P - kw, S) + 1)
            return lo < hi ? lo..<hi : 0..<0
        }
        m.weights.withUnsafeBufferPointer { w in
            plane.withUnsafeMutableBufferPointer { acc in
                for f in 0..<m.outChannels {
                    acc.update(repeating: 0)
                    for c in 0..<C {
                        for kh in 0..<K {
                            for kw in 0..<K {
                                let weight = w[f * taps + (c * K + kh) * K + kw]
                                if weight == 0 { continue }
                                let cols = columns[kw]
                                for oh in 0..<OH {
                                    let ih = oh * S + kh - P
                                    guard ih >= 0, ih < H else { continue }
                                    let row = (c * H + ih) * W + kw - P, out = oh * OW
                                    for ow in cols { acc[out + ow] &+= x[row + ow * S] &* weight }
                                }
                            }
                        }
                    }
                    let bias = Int128(m.bias[f] << biasShift)
                    for q in 0..<(OH * OW) {
                        let total = Int128(acc[q]) << productShift + bias
                        y[f * OH * OW + q] = results.fit(result.quantize(mantissa: total, fractionBits: sumBits))
                    }
                }
            }
        }
    }

    /// hls4ml's order and conversions, one addition at a time (a rounding or saturating accumulator).
    func runInOrder(_ x: UnsafeBufferPointer<Int64>, into y: inout [Int64], results: inout FixedPointInference.Counter,
                            accum: inout FixedPointInference.Counter) {
        let (C, H, W) = (input.c, input.h, input.w)
        let (K, S, P) = (m.kernel, m.stride, m.padding)
        let taps = C * K * K
        let a = m.accum, fa = a.fractionBits, fp = productBits
        for f in 0..<m.outChannels {
            let bias = accum.fit(a.quantize(mantissa: Int128(m.bias[f]), fractionBits: m.biasType.fractionBits))
            for oh in 0..<output.h {
                for ow in 0..<output.w {
                    var acc = bias
                    for kh in 0..<K {
                        let ih = oh * S + kh - P
                        // A padded position contributes accum(0) = 0, and acc + 0 is acc again.
                        guard ih >= 0, ih < H else { continue }
                        for kw in 0..<K {
                            let iw = ow * S + kw - P
                            guard iw >= 0, iw < W else { continue }
                            for c in 0..<C {
                                let product = Int128(x[(c * H + ih) * W + iw]) * Int128(m.weights[f * taps + (c * K + kh) * K + kw])
                                let term = accum.fit(a.quantize(mantissa: product, fractionBits: fp))
                                acc = accum.fit(a.quantize(mantissa: Int128(acc) + Int128(term), fractionBits: fa))
                            }
                        }
                    }
                    y[(f * output.h + oh) * output.w + ow] = results.fit(result.quantize(mantissa: Int128(acc), fractionBits: fa))
                }
            }
        }
    }
}
