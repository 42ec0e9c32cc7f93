// Residual add (optionally fused with the ReLU that follows it: one pass over memory).

/// out[n] = a[n] + b[n], then max(0, ·) when `relu`. `out` may alias `a` or `b`.
func addForward(_ out: UnsafeMutablePointer<Float>,    // (n)
                _ a: UnsafePointer<Float>,             // (n)
                _ b: UnsafePointer<Float>,             // (n)
                _ n: Int, relu: Bool) {
    if relu { for i in 0..<n { let v = a[i] + b[i]; out[i] = v < 0 ? 0 : v } }
    else { for i in 0..<n { out[i] = a[i] + b[i] } }
}

/// dA[n] += g, dB[n] += g with g = dOut (masked by out > 0 when the ReLU was fused); `assignA`
/// / `assignB` overwrite instead (the executor does so where this add is the input's only reader).
func addBackward(_ dA: UnsafeMutablePointer<Float>,    // (n)
                 _ dB: UnsafeMutablePointer<Float>,    // (n)
                 _ dOut: UnsafePointer<Float>,         // (n)
                 _ out: UnsafePointer<Float>,          // (n) forward output (read only when relu)
                 _ n: Int, relu: Bool, assignA: Bool = false, assignB: Bool = false) {
    // One loop per case, so each stays a straight vectorisable loop.
    @inline(__always) func g(_ i: Int) -> Float { (!relu || out[i] > 0) ? dOut[i] : 0 }
    switch (assignA, assignB) {
    case (false, false): for i in 0..<n { let v = g(i); dA[i] += v; dB[i] += v }
    case (true, false): for i in 0..<n { let v = g(i); dA[i] = v; dB[i] += v }
    case (false, true): for i in 0..<n { let v = g(i); dA[i] += v; dB[i] = v }
    case (true, true): for i in 0..<n { let v = g(i); dA[i] = v; dB[i] = v }
    }
}
