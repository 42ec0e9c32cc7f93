// 2-D convolution, NHWC activations, weights in OHWI = (O, K·K·Cin) so each GEMM row of the
// im2col matrix meets one contiguous weight row. (The executor permutes PyTorch's OIHW once.)
// Forward: cols(P, KKC) · Wᵀ → out(P, O), P = B·OH·OW. Backward: dW += dOutᵀ·cols,
// dCols = dOut·W then col2im scatters into dInp.
import COpenBLAS

struct ConvDims {
    var B, H, W, Cin, O, K, stride, pad: Int
    var OH: Int { (H + 2 * pad - K) / stride + 1 }
    var OW: Int { (W + 2 * pad - K) / stride + 1 }
    var P: Int { B * OH * OW }
    var KKC: Int { K * K * Cin }
}

/// cols[(b,oy,ox), (ky,kx,ci)] = inp[b, oy·s+ky-pad, ox·s+kx-pad, ci] or 0 outside.
func im2col(_ cols: UnsafeMutablePointer<Float>,   // (P, KKC)
            _ inp: UnsafePointer<Float>,           // (B, H, W, Cin)
            _ d: ConvDims) {
    let OH = d.OH, OW = d.OW, KKC = d.KKC, KC = d.K * d.Cin
    for b in 0..<d.B { for oy in 0..<OH { for ox in 0..<OW {
        let row = cols + ((b * OH + oy) * OW + ox) * KKC
        let ix0 = ox * d.stride - d.pad
        // NHWC: the K pixels of one kernel row are K·Cin consecutive floats, so away from the
        // left and right borders a kernel row is one run (three 9-float runs for an RGB stem
        // instead of nine 3-float ones).
        let interior = ix0 >= 0 && ix0 + d.K <= d.W
        for ky in 0..<d.K {
            let iy = oy * d.stride + ky - d.pad
            let dst = row + ky * KC
            if iy < 0 || iy >= d.H { fillZero(dst, KC); continue }
            let src = inp + ((b * d.H + iy) * d.W) * d.Cin
            if interior { copyRun(dst, src + ix0 * d.Cin, KC); continue }
            for kx in 0..<d.K {
                let ix = ix0 + kx
                if ix < 0 || ix >= d.W { fillZero(dst + kx * d.Cin, d.Cin) }
                else { copyRun(dst + kx * d.Cin, src + ix * d.Cin, d.Cin) }
            }
        }
    } } }
}

/// dInp += scatter of dCols (the adjoint of im2col).
func col2im(_ dInp: UnsafeMutablePointer<Float>,   // (B, H, W, Cin)
            _ dCols: UnsafePointer<Float>,         // (P, KKC)
            _ d: ConvDims) {
    let OH = d.OH, OW = d.OW, KKC = d.KKC, KC = d.K * d.Cin
    for b in 0..<d.B { for oy in 0..<OH { for ox in 0..<OW {
        let row = dCols + ((b * OH + oy) * OW + ox) * KKC
        let ix0 = ox * d.stride - d.pad
        let interior = ix0 >= 0 && ix0 + d.K <= d.W      // one run per kernel row, as in im2col
        for ky in 0..<d.K {
            let iy = oy * d.stride + ky - d.pad
            if iy < 0 || iy >= d.H { continue }
            let dst = dInp + ((b * d.H + iy) * d.W) * d.Cin, src = row + ky * KC
            if interior { addRun(dst + ix0 * d.Cin, src, KC); continue }
            for kx in 0..<d.K where ix0 + kx >= 0 && ix0 + kx < d.W {
                addRun(dst + (ix0 + kx) * d.Cin, src + kx * d.Cin, d.Cin)
            }
        }
    } } }
}

/// out = conv(inp, w) + bias, then max(0, ·) when `relu` (inference fuses a following ReLU).
/// `cols` is workspace of P·KKC floats (unused for 1×1 stride-1 pad-0).
func conv2dForward(_ out: UnsafeMutablePointer<Float>,  // (B, OH, OW, O)
                   _ cols: UnsafeMutablePointer<Float>, // (P, KKC) workspace, kept for backward
                   _ inp: UnsafePointer<Float>,         // (B, H, W, Cin)
                   _ w: UnsafePointer<Float>,           // (O, K, K, Cin)
                   _ bias: UnsafePointer<Float>?,       // (O)
                   _ d: ConvDims, relu: Bool = false) {
    let direct = d.K == 1 && d.stride == 1 && d.pad == 0   // input already is the im2col matrix
    if !direct { im2colParallel(cols, inp, d) }
    let a: UnsafePointer<Float> = direct ? inp : UnsafePointer(cols)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(d.P), Int32(d.O), Int32(d.KKC),
                1, a, Int32(d.KKC), w, Int32(d.KKC), 0, out, Int32(d.O))
    if let bias { for p in 0..<d.P { let o = out + p * d.O; for c in 0..<d.O { o[c] += bias[c] } } }
    if relu { for i in 0..<d.P * d.O where out[i] < 0 { out[i] = 0 } }
}

/// dW += dOutᵀ·cols, dBias += Σ dOut, dInp += col2im(dOut·W). `cols` must hold the forward's
/// im2col (or is ignored for direct 1×1); `dCols` is workspace of P·KKC floats.
func conv2dBackward(_ dInp: UnsafeMutablePointer<Float>?, // (B, H, W, Cin) nil for the first layer
                    _ dW: UnsafeMutablePointer<Float>,    // (O, K, K, Cin)
                    _ dBias: UnsafeMutablePointer<Float>?,// (O)
                    _ dCols: UnsafeMutablePointer<Float>, // (P, KKC) workspace
                    _ dOut: UnsafePointer<Float>,         // (B, OH, OW, O)
                    _ cols: UnsafePointer<Float>,         // (P, KKC) from forward
                    _ inp: UnsafePointer<Float>,          // (B, H, W, Cin)
                    _ w: UnsafePointer<Float>,            // (O, K, K, Cin)
                    _ d: ConvDims) {
    let direct = d.K == 1 && d.stride == 1 && d.pad == 0
    let a = direct ? inp : cols
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d.O), Int32(d.KKC), Int32(d.P),
                1, dOut, Int32(d.O), a, Int32(d.KKC), 1, dW, Int32(d.KKC))
    if let dBias { for p in 0..<d.P { let g = dOut + p * d.O; for c in 0..<d.O { dBias[c] += g[c] } } }
    guard let dInp else { return }
    if direct {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d.P), Int32(d.KKC), Int32(d.O),
                    1, dOut, Int32(d.O), w, Int32(d.KKC), 1, dInp, Int32(d.KKC))
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d.P), Int32(d.KKC), Int32(d.O),
                    1, dOut, Int32(d.O), w, Int32(d.KKC), 0, dCols, Int32(d.KKC))
        col2imParallel(dInp, dCols, d)
    }
}

/// im2col split over images across the worker pool (each image's rows are disjoint).
func im2colParallel(_ cols: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ d: ConvDims) {
    let inStride = d.H * d.W * d.Cin, colStride = d.OH * d.OW * d.KKC
    parallelFor(d.B, grain: 2) { r in
        var s = d; s.B = r.count
        im2col(cols + r.lowerBound * colStride, inp + r.lowerBound * inStride, s)
    }
}

/// col2im split over images across the worker pool (each image's dInp is disjoint).
func col2imParallel(_ dInp: UnsafeMutablePointer<Float>, _ dCols: UnsafePointer<Float>, _ d: ConvDims) {
    let inStride = d.H * d.W * d.Cin, colStride = d.OH * d.OW * d.KKC
    parallelFor(d.B, grain: 2) { r in
        var s = d; s.B = r.count
        col2im(dInp + r.lowerBound * inStride, dCols + r.lowerBound * colStride, s)
    }
}

// Short runs of Cin floats (16–512 in ResNets): SIMD8 steps, then a scalar tail. Cheaper than a
// memcpy/memset call per run, which dominated im2col for 16-channel layers.
@inline(__always) private func copyRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { dst[i] = src[i]; i += 1 }
}

@inline(__always) private func fillZero(_ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n { UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self); i += 8 }
    while i < n { dst[i] = 0; i += 1 }
}

@inline(__always) private func addRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let a = UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD8<Float>.self)
        let b = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: a + b, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { dst[i] += src[i]; i += 1 }
}
