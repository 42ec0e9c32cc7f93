// Max and average pooling, NHWC, square window. Average uses count_include_pad=True (PyTorch
// default): padded cells count in the divisor K·K. Dims reuse ConvDims with O == Cin.

/// Max pool; `argmax` records the flat input index chosen per output (for backward).
func maxpoolForward(_ out: UnsafeMutablePointer<Float>,   // (B, OH, OW, C)
                    _ argmax: UnsafeMutablePointer<Int32>,// (B, OH, OW, C) cache
                    _ inp: UnsafePointer<Float>,          // (B, H, W, C)
                    _ d: ConvDims) {
    let C = d.Cin
    for b in 0..<d.B { for oy in 0..<d.OH { for ox in 0..<d.OW {
        let o = ((b * d.OH + oy) * d.OW + ox) * C
        for c in 0..<C { out[o + c] = -.infinity; argmax[o + c] = -1 }
        for ky in 0..<d.K { for kx in 0..<d.K {
            let iy = oy * d.stride + ky - d.pad, ix = ox * d.stride + kx - d.pad
            if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W { continue }
            let i = ((b * d.H + iy) * d.W + ix) * C
            for c in 0..<C where inp[i + c] > out[o + c] || argmax[o + c] < 0 {
                out[o + c] = inp[i + c]; argmax[o + c] = Int32(i + c)
            }
        } }
    } } }
}

/// dInp[argmax] += dOut.
func maxpoolBackward(_ dInp: UnsafeMutablePointer<Float>,  // (B, H, W, C)
                     _ dOut: UnsafePointer<Float>,         // (B, OH, OW, C)
                     _ argmax: UnsafePointer<Int32>,       // (B, OH, OW, C)
                     _ n: Int) {                           // B·OH·OW·C
    for i in 0..<n where argmax[i] >= 0 { dInp[Int(argmax[i])] += dOut[i] }
}

func avgpoolForward(_ out: UnsafeMutablePointer<Float>,   // (B, OH, OW, C)
                    _ inp: UnsafePointer<Float>,          // (B, H, W, C)
                    _ d: ConvDims) {
    let C = d.Cin, s = 1 / Float(d.K * d.K)
    for b in 0..<d.B { for oy in 0..<d.OH { for ox in 0..<d.OW {
        let o = out + ((b * d.OH + oy) * d.OW + ox) * C
        for c in 0..<C { o[c] = 0 }
        for ky in 0..<d.K { for kx in 0..<d.K {
            let iy = oy * d.stride + ky - d.pad, ix = ox * d.stride + kx - d.pad
            if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W { continue }
            let x = inp + ((b * d.H + iy) * d.W + ix) * C
            for c in 0..<C { o[c] += x[c] }
        } }
        for c in 0..<C { o[c] *= s }
    } } }
}

func avgpoolBackward(_ dInp: UnsafeMutablePointer<Float>,  // (B, H, W, C)
                     _ dOut: UnsafePointer<Float>,         // (B, OH, OW, C)
                     _ d: ConvDims) {
    let C = d.Cin, s = 1 / Float(d.K * d.K)
    for b in 0..<d.B { for oy in 0..<d.OH { for ox in 0..<d.OW {
        let g = dOut + ((b * d.OH + oy) * d.OW + ox) * C
        for ky in 0..<d.K { for kx in 0..<d.K {
            let iy = oy * d.stride + ky - d.pad, ix = ox * d.stride + kx - d.pad
            if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W { continue }
            let dx = dInp + ((b * d.H + iy) * d.W + ix) * C
            for c in 0..<C { dx[c] += g[c] * s }
        } }
    } } }
}
