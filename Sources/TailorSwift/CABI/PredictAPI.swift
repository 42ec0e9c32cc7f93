import CTailor

// Inference through the C boundary: NCHW in, logits out, shapes checked before any work.

@_cdecl("tailor_net_predict")
public func cPredict(_ net: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
                     _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded {
        guard let x else { throw TailorError.invalid("x is NULL") }
        let out = try requirePointer(out, "out")
        let lim: ClosedRange<Int64> = 1...Int64(maxDimension)
        let batch = try requireInt(n, "n", 1...(Int64(1) << 24))
        let shape = Shape(try requireInt(c, "channels", lim), try requireInt(h, "height", lim), try requireInt(w, "width", lim))
        try withHandle(net) { hd in
            guard let expected = hd.net.inputShape, let o = hd.net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
            guard shape == expected else { throw TailorError.shape("input samples are \(shape), the network takes \(expected)") }
            let (total, overflow) = batch.multipliedReportingOverflow(by: shape.count)
            guard !overflow, total <= 1 << 34 else { throw TailorError.shape("input of \(batch) samples of \(shape) is too large") }
            guard outCount == Int64(batch * o.shape.count) else {
                throw TailorError.shape("out holds \(outCount) values; \(batch) samples × \(o.shape.count) outputs need \(batch * o.shape.count)")
            }
            let logits = try Inference.predict(hd.net, input: UnsafeBufferPointer(start: x, count: total), count: batch)
            logits.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: $0.count) } }
        }
    }
}
