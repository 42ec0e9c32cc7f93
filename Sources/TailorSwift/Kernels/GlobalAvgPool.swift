// Global average pool over H·W, NHWC in, (B, C) out.

func globalAvgPoolForward(_ out: UnsafeMutablePointer<Float>, // (B, C)
                          _ inp: UnsafePointer<Float>,        // (B, HW, C)
                          _ B: Int, _ HW: Int, _ C: Int) {
    let s = 1 / Float(HW)
    for b in 0..<B {
        let o = out + b * C
        for c in 0..<C { o[c] = 0 }
        for p in 0..<HW { let x = inp + (b * HW + p) * C; for c in 0..<C { o[c] += x[c] } }
        for c in 0..<C { o[c] *= s }
    }
}

/// dInp[b,p,c] += dOut[b,c] / HW.
func globalAvgPoolBackward(_ dInp: UnsafeMutablePointer<Float>, // (B, HW, C)
                           _ dOut: UnsafePointer<Float>,        // (B, C)
                           _ B: Int, _ HW: Int, _ C: Int) {
    let s = 1 / Float(HW)
    for b in 0..<B { for p in 0..<HW {
        let d = dInp + (b * HW + p) * C, g = dOut + b * C
        for c in 0..<C { d[c] += g[c] * s }
    } }
}
