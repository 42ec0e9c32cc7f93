import CTailor

// Inference through the C boundary: NCHW in, logits out, shapes checked before any work.

@_cdecl("tailor_net_predict")
public func cPredict(_ net: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
                     _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    predictEntry(net, x, n, c, h, w, out, outCount) { hd, input, batch, outputs, out in
        let logits = try Inference.predict(hd.net, input: input, count: batch)
        // Finite inputs and weights can still overflow (huge weights, a long chain of large
        // gains): report it instead of handing back Inf/NaN as if they were results.
        if let i = logits.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "output \(i % outputs) of sample \(i / outputs) is \(logits[i]): the forward pass overflowed (weights or inputs too large); out is unchanged")
        }
        logits.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: $0.count) } }
    }
}

/// The (channels, height, width) of one sample, each in 1...TAILOR_MAX_DIM.
func requireSampleShape(_ c: Int64, _ h: Int64, _ w: Int64) throws -> Shape {
    let lim: ClosedRange<Int64> = 1...Int64(TAILOR_MAX_DIM)
    return Shape(try requireInt(c, "channels", lim), try requireInt(h, "height", lim), try requireInt(w, "width", lim))
}

/// `batch` samples of `shape` as input to `net`: the shape must be the network's input and the
/// whole batch of a bounded size. Returns the values the input holds and the outputs per sample.
func checkedInput(_ net: Network, batch: Int, shape: Shape) throws -> (total: Int, outputs: Int) {
    guard let expected = net.inputShape, let o = net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
    guard shape == expected else { throw TailorError.shape("input samples are \(shape), the network takes \(expected)") }
    let (total, overflow) = batch.multipliedReportingOverflow(by: shape.count)
    guard !overflow, total <= 1 << 34 else { throw TailorError.shape("input of \(batch) samples of \(shape) is too large") }
    return (total, o.shape.count)
}

@_cdecl("tailor_net_predict_fixed")
public func cPredictFixed(_ net: OpaquePointer?, _ x: UnsafePointer<Double>?, _ n: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
                          _ out: UnsafeMutablePointer<Double>?, _ outCount: Int64, _ overflows: UnsafeMutablePointer<Int64>?,
                          _ overflowJSON: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    predictEntry(net, x, n, c, h, w, out, outCount) { hd, input, batch, _, out in
        let r = try FixedPointInference.predict(hd.net, input: input, count: batch)
        r.outputs.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: $0.count) } }
        overflows?.pointee = Int64(r.overflows.values.reduce(0, +))
        if let overflowJSON {
            let counts = JSON.object(r.overflows.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })
            overflowJSON.pointee = hd.json("predict_fixed", counts.serialized())
        }
    }
}

/// What both predicts check before any work: x and out present, the batch size, the sample shape
/// against the network's input, and out's size. `body` gets the handle, the whole input, the
/// batch size, the outputs per sample and out.
private func predictEntry<T>(_ net: OpaquePointer?, _ x: UnsafePointer<T>?, _ n: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
                             _ out: UnsafeMutablePointer<T>?, _ outCount: Int64,
                             _ body: (NetHandle, UnsafeBufferPointer<T>, Int, Int, UnsafeMutablePointer<T>) throws -> Void) -> Int32 {
    guarded {
        guard let x else { throw TailorError.invalid("x is NULL") }
        let out = try requirePointer(out, "out")
        let batch = try requireInt(n, "n", 1...(Int64(1) << 24))
        let shape = try requireSampleShape(c, h, w)
        try withHandle(net) { hd in
            let (total, outputs) = try checkedInput(hd.net, batch: batch, shape: shape)
            guard outCount == Int64(batch * outputs) else {
                throw TailorError.shape("out holds \(outCount) values; \(batch) samples × \(outputs) outputs need \(batch * outputs)")
            }
            try body(hd, UnsafeBufferPointer(start: x, count: total), batch, outputs, out)
        }
    }
}
