/// Inference (eval mode: BatchNorm uses running statistics) over a whole `Network`, through the
/// same executor training uses (its inference mode folds BatchNorm and fuses ReLUs, InferencePlan),
/// in chunks of samples so memory stays bounded. The boundary is NCHW like PyTorch.
public enum Inference {
    /// Logits (n × outputs, row-major) for `n` samples of `x` (NCHW, float32); fake-quantised at
    /// the network's types when `quantized` (what quantisation-aware training validates with).
    public static func predict(_ net: Network, input x: UnsafeBufferPointer<Float>, count n: Int, quantized: Bool = false) throws -> [Float] {
        try checkInput(x, count: n, of: net)
        // The engine's executor, kept on the network so the next call reuses its buffers and
        // prepared weights: the one forward path of training and inference.
        let e: Executor
        if let cached = net.inferenceCache as? Executor, cached.matches(net) {
            e = cached
            try e.syncWeights(from: net)
        } else {
            e = try Executor(net)
            net.inferenceCache = e
        }
        try e.setQuantized(quantized, net: net)
        return try e.predict(x.baseAddress!, count: n)
    }

    /// `n` samples of `x` (NCHW) are a whole, finite input of `net`, which has an output.
    static func checkInput<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, count n: Int, of net: Network) throws {
        _ = try net.requireOutput()
        guard let inShape = net.inputShape else { throw TailorError.invalid("the network has no nodes yet") }
        guard n >= 1 else { throw TailorError.invalid("batch size must be at least 1, got \(n)") }
        guard x.count == n * inShape.count else {
            throw TailorError.shape("input holds \(x.count) values; \(n) samples of \(inShape) need \(n * inShape.count)")
        }
        if let i = x.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "input value at flat index \(i) (sample \(i / inShape.count)) is \(x[i]), not finite")
        }
    }
}
