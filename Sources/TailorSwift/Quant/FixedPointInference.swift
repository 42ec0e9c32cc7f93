/// Inference in fixed point, bit for bit what hls4ml 1.3.0's C simulation of the network computes
/// (FixedPointProgram says which design that is). Every value is an integer mantissa of its type;
/// products and sums are exact and every conversion applies the destination type's rounding and
/// overflow, in the order hls4ml's templates apply them. The output is each output mantissa as a
/// double, as hls4ml's float64 `predict` returns it (exact up to 53 bits).
public enum FixedPointInference {
    public struct Result {
        /// n × outputs, row-major.
        public var outputs: [Double]
        /// Values the overflow mode changed, by node (its result, or "<node>.accum"), and weights
        /// or biases out of their type's range ("<node>.weight", "<node>.bias"). Empty when no
        /// value left its type's range.
        public var overflows: [String: Int]
    }

    /// Runs `n` samples of `x` (NCHW, float64: hls4ml's exact input path) through `net`'s design.
    public static func predict(_ net: Network, input x: UnsafeBufferPointer<Double>, count n: Int) throws -> Result {
        try Inference.checkInput(x, count: n, of: net)
        let program = try FixedPointProgram(net)
        let inShape = program.values[0].shape
        let outType = program.values[program.output].type
        let perSample = program.values[program.output].shape.count
        var outputs = [Double](repeating: 0, count: n * perSample)
        let workers = WorkerPool.shared.width
        var counts = [[String: Int]](repeating: [:], count: workers)
        outputs.withUnsafeMutableBufferPointer { out in
            counts.withUnsafeMutableBufferPointer { counts in
                parallelParts(n, grain: 2) { part, samples in
                    var run = Run(program)
                    for s in samples {
                        let y = run.sample(UnsafeBufferPointer(rebasing: x[(s * inShape.count)..<((s + 1) * inShape.count)]))
                        for (i, m) in y.enumerated() { out[s * perSample + i] = outType.value(ofMantissa: Int128(m)) }
                    }
                    counts[part] = run.overflows
                }
            }
        }
        var overflows = program.weightOverflows
        for c in counts { overflows.merge(c, uniquingKeysWith: +) }
        return Result(outputs: outputs, overflows: overflows)
    }

    /// One worker's evaluation of samples, with its own value buffers and overflow counts.
    struct Run {
        let program: FixedPointProgram
        var values: [[Int64]]
        var overflows: [String: Int] = [:]

        init(_ program: FixedPointProgram) {
            self.program = program
            values = program.values.map { [Int64](repeating: 0, count: $0.shape.count) }
        }

        mutating func sample(_ x: UnsafeBufferPointer<Double>) -> [Int64] {
            for step in program.steps { evaluate(step, x) }
            return values[program.output]
        }

        private mutating func evaluate(_ step: FixedPointProgram.Step, _ x: UnsafeBufferPointer<Double>) {
            let out = program.values[step.output]
            var counter = Counter()
            var y = [Int64](repeating: 0, count: out.shape.count)
            switch step.kind {
            case .input:
                // predict() hands each double to the input type (ap_fixed(double)).
                for i in 0..<y.count { y[i] = counter.fit(out.type.quantize(x[i])) }
            case .alias:
                return
            case .multiply(let m):
                var accumCounter = Counter()
                values[step.inputs[0]].withUnsafeBufferPointer { m.run($0, into: &y, results: &counter, accum: &accumCounter) }
                accumCounter.record(into: &overflows, "\(step.node).accum")
            case .scale(let s, let sT, let b, let bT):
                let input = program.values[step.inputs[0]]
                let plane = input.shape.h * input.shape.w
                let fProduct = input.type.fractionBits + sT.fractionBits
                let f = max(fProduct, bT.fractionBits)
                for i in 0..<y.count {
                    let c = i / plane
                    let sum = (Int128(values[step.inputs[0]][i]) * Int128(s[c])) << (f - fProduct) + Int128(b[c]) << (f - bT.fractionBits)
                    y[i] = counter.fit(out.type.quantize(mantissa: sum, fractionBits: f))
                }
            case .relu:
                let input = program.values[step.inputs[0]]
                let f = input.type.fractionBits
                for (i, v) in values[step.inputs[0]].enumerated() where v > 0 {
                    y[i] = counter.fit(out.type.quantize(mantissa: Int128(v), fractionBits: f))
                }
            case .add:
                let (a, b) = (program.values[step.inputs[0]].type, program.values[step.inputs[1]].type)
                let f = max(a.fractionBits, b.fractionBits)
                let (xa, xb) = (values[step.inputs[0]], values[step.inputs[1]])
                for i in 0..<y.count {
                    let sum = Int128(xa[i]) << (f - a.fractionBits) + Int128(xb[i]) << (f - b.fractionBits)
                    y[i] = counter.fit(out.type.quantize(mantissa: sum, fractionBits: f))
                }
            case .maxPool(let k, let accum):
                var accumCounter = Counter()
                pool(step, window: (k, k), into: &y, results: &counter) { window, fx in
                    // Each value into accum_t, then a >= b ? a : b over the window.
                    window.map { accumCounter.fit(accum.quantize(mantissa: Int128($0), fractionBits: fx)) }.max()!
                } finish: { m in (m, accum.fractionBits) }
                accumCounter.record(into: &overflows, "\(step.node).accum")
            case .averagePool(let k, let accum):
                var accumCounter = Counter()
                let count = Int128(k.h * k.w)
                pool(step, window: k, into: &y, results: &counter) { window, fx in
                    let leaves = window.map { accumCounter.fit(accum.quantize(mantissa: Int128($0), fractionBits: fx)) }
                    return Self.treeSum(leaves[...], accum, &accumCounter)
                } finish: { sum in
                    // `sum / N` with an int N: the mantissa divided, truncated toward zero.
                    (Int64(Int128(sum) / count), accum.fractionBits)
                }
                accumCounter.record(into: &overflows, "\(step.node).accum")
            }
            counter.record(into: &overflows, step.node)
            values[step.output] = y
        }

        /// hls4ml's balanced-tree reduce (nnet_common.h `reduce`): the left part is the largest
        /// power of two below N, and every partial sum is converted to accum_t.
        static func treeSum(_ x: ArraySlice<Int64>, _ accum: FixedPointType, _ counter: inout Counter) -> Int64 {
            if x.count == 1 { return x.first! }
            let left = 1 << (Int.bitWidth - 1 - (x.count - 1).leadingZeroBitCount)
            let a = treeSum(x.prefix(left), accum, &counter), b = treeSum(x.dropFirst(left), accum, &counter)
            return counter.fit(accum.quantize(mantissa: Int128(a) + Int128(b), fractionBits: accum.fractionBits))
        }

        /// Non-overlapping pooling windows (hls4ml's streaming pooling: kernel == stride, no
        /// padding), window values in (kh, kw) order.
        private func pool(_ step: FixedPointProgram.Step, window k: (h: Int, w: Int), into y: inout [Int64], results: inout Counter,
                          reduce: ([Int64], Int) -> Int64, finish: (Int64) -> (mantissa: Int64, fractionBits: Int)) {
            let input = program.values[step.inputs[0]]
            let out = program.values[step.output]
            let xs = values[step.inputs[0]]
            let (H, W) = (input.shape.h, input.shape.w)
            var window = [Int64](repeating: 0, count: k.h * k.w)
            for c in 0..<out.shape.c {
                for oh in 0..<out.shape.h {
                    for ow in 0..<out.shape.w {
                        for kh in 0..<k.h { for kw in 0..<k.w {
                            window[kh * k.w + kw] = xs[(c * H + oh * k.h + kh) * W + ow * k.w + kw]
                        } }
                        let (m, f) = finish(reduce(window, input.type.fractionBits))
                        y[(c * out.shape.h + oh) * out.shape.w + ow] = results.fit(out.type.quantize(mantissa: Int128(m), fractionBits: f))
                    }
                }
            }
        }
    }

    /// Counts conversions the overflow mode changed.
    struct Counter {
        var count = 0
        @inline(__always) mutating func fit(_ q: (mantissa: Int128, overflowed: Bool)) -> Int64 {
            if q.overflowed { count += 1 }
            return Int64(truncatingIfNeeded: q.mantissa)
        }
        func record(into overflows: inout [String: Int], _ key: String) {
            if count > 0 { overflows[key, default: 0] += count }
        }
    }
}
