// Residual add (optionally fused with the ReLU that follows it: one pass over memory).

/// out[n] = a[n] + b[n], then max(0, ·) when `relu`. `out` may alias `a` or `b`.
func addForward(_ out: UnsafeMutablePointer<Float>,    // (n)
                _ a: UnsafePointer<Float>,             // (n)
                _ b: UnsafePointer<Float>,             // (n)
                _ n: Int, relu: Bool) {
    if relu { for i in 0..<n { let v = a[i] + b[i]; out[i] = v < 0 ? 0 : v } }
    else { for i in 0..<n { out[i] = a[i] + b[i] } }
}

/// dA[n] += g, dB[n] += g with g = dOut (masked by out > 0 when the ReLU was fused).
func addBackward(_ dA: UnsafeMutablePointer<Float>,    // (n)
                 _ dB: UnsafeMutablePointer<Float>,    // (n)
                 _ dOut: UnsafePointer<Float>,         // (n)
                 _ out: UnsafePointer<Float>,          // (n) forward output (read only when relu)
                 _ n: Int, relu: Bool) {
    for i in 0..<n {
        let g = (!relu || out[i] > 0) ? dOut[i] : 0
        dA[i] += g; dB[i] += g
    }
}
