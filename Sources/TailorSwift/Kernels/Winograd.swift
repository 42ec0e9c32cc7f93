// Winograd minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2015) for 3×3 stride-1 convolutions, in the same layouts as Conv2d.swift:
// NHWC activations, OHWI weights. Direct convolution spends 9 multiplies per output per input
// channel; F(2×2) spends 16/4 = 4 and F(4×4) 36/16 = 2.25, which is why it can beat im2col+sgemm
// once sgemm itself runs near the machine's peak.
//
// Each output tile of m×m pixels reads an α×α input patch (α = m + 2). Per tile and channel:
//   V = Bᵀ·d·B (input transform),  U = G·g·Gᵀ (weight transform, once per weights),
//   Y = Aᵀ·[U ⊙ V]·A (output transform).
// Summing U ⊙ V over input channels is, for each of the α² positions ξ of the transformed tile,
// a matrix product: M_ξ(tiles, O) = V_ξ(tiles, Cin) · U_ξ(Cin, O), so the work is α² matrix
// products: `smallGemm` (SmallGemm.swift) up to 64 channels, where OpenBLAS's per-call packing
// costs more than the arithmetic, OpenBLAS's sgemm above. Tiles are processed in blocks sized so
// that a block's V and M stay in L2 between the input transform, the products and the output
// transform; otherwise every stage would stream the α²-times-inflated buffers through memory.
//
// The sgemms are usually below OpenBLAS's own threading threshold (M·N·K ≤ 2^18 runs on the
// calling thread), so the tiles are split into contiguous ranges, one per thread (OpenBLAS's thread
// count, read once), each with its own part of the workspace; the threads join before returning.
// Above the threshold (hundreds of channels) OpenBLAS threads each sgemm and we use one thread.
//
// Transforms run across channels (NHWC keeps them contiguous) eight lanes at a time; V and M
// rows are padded to a multiple of eight so those lanes never need a partial store or load.
//
// Weight gradient: Y = Aᵀ·(U ⊙ V)·A is linear in U, so dU = (A·dY·Aᵀ) ⊙ V per tile, summed over
// tiles, and dw = Gᵀ·dU·G. Per ξ that sum is again a matrix product, dU_ξ(O, Cin) += Z_ξᵀ·V_ξ with
// Z = A·dY·Aᵀ, so dW needs neither im2col nor its P·9·Cin buffer.
//
// Backward-data is itself a 3×3 stride-1 convolution: dInp = conv(dOut, w'), w' the kernel
// rotated by 180° with input and output channels swapped, padding 2 - pad. So it reuses the
// forward path with weights transformed once by `winogradTransformWeightsBackward`.
import COpenBLAS
import Glibc

/// Output tile edge m of F(m×m, 3×3). F(4×4) needs fewer multiplies but its transforms have
/// larger coefficients (up to 8 in Aᵀ, 5 in Bᵀ), so its rounding error is larger; see the tests.
enum WinogradTile: Int, CaseIterable, Sendable {
    case f2 = 2, f4 = 4
    var m: Int { rawValue }
    /// Edge of the input patch and of the transformed tile.
    var alpha: Int { rawValue + 2 }
}

/// True when `d` is a convolution these kernels compute: 3×3, stride 1, padding 0...2 (so the
/// backward-data convolution, padding 2 - pad, is one too), positive sizes and element counts
/// that fit in Int (and the GEMM dimensions in Int32). Callers use im2col otherwise.
func winogradSupported(_ d: ConvDims) -> Bool {
    let limit = 1 << 24
    guard d.K == 3, d.stride == 1, (0...2).contains(d.pad),
          (1...limit).contains(d.B), (1...limit).contains(d.H), (1...limit).contains(d.W),
          (1...limit).contains(d.Cin), (1...limit).contains(d.O) else { return false }
    guard d.OH >= 1, d.OW >= 1 else { return false }
    // Every count the kernels form: input, output, transformed weights, tiles × channels.
    func fits(_ f: [Int]) -> Bool {
        var p = 1
        for x in f { let (r, o) = p.multipliedReportingOverflow(by: x); if o { return false }; p = r }
        return p <= Int.max / 64
    }
    let a = WinogradTile.f4.alpha
    return fits([d.B, d.H, d.W, d.Cin]) && fits([d.B, d.H + 4, d.W + 4, d.O])
        && fits([a * a, d.O, d.Cin]) && fits([a * a, 4096, padLanes(d.Cin) + padLanes(d.O) + 32])
}

/// Floats of transformed weights: α²·Cin·O with the row length padded to the SIMD lanes (the same
/// count serves the backward-data weights).
func winogradWeightCount(_ d: ConvDims, _ tile: WinogradTile) -> Int {
    tile.alpha * tile.alpha * padLanes(d.O) * padLanes(d.Cin)
}

/// Floats of workspace that both `winogradForward` and `winogradBackwardData` need for `d`:
/// allocate once per layer shape and reuse.
func winogradWorkspaceCount(_ d: ConvDims, _ tile: WinogradTile,
                            blockBytes: Int = WinogradPlan.defaultBlockBytes) -> Int {
    WinogradPlan.threads * max(WinogradPlan(d, tile, blockBytes: blockBytes).workCount,
                               WinogradPlan(winogradBackwardDims(d), tile, blockBytes: blockBytes).workCount)
}

/// U[ξ, c, o] = (G·w[o, :, :, c]·Gᵀ)[ξ]: the forward weights, transformed once per weights, laid
/// out (depth, columns) for M = V·U, rows padded to the lanes with zeros.
func winogradTransformWeights(_ u: UnsafeMutablePointer<Float>, // (α², Cin, pad(O))
                              _ w: UnsafePointer<Float>,        // (O, 3, 3, Cin)
                              _ d: ConvDims, _ tile: WinogradTile) {
    // Permute to (Cin, 3, 3, O) first, so the transform reads and writes 8 consecutive o at a time.
    let wt = UnsafeMutablePointer<Float>.allocate(capacity: 9 * d.O * d.Cin)
    defer { wt.deallocate() }
    for o in 0..<d.O { for q in 0..<9 {
        let src = w + (o * 9 + q) * d.Cin
        for c in 0..<d.Cin { wt[(c * 9 + q) * d.O + o] = src[c] }
    } }
    transformWeights(u, rows: d.Cin, cols: d.O, tile, wt, rotated: false)
}

/// The weights of the backward-data convolution, w'[c, ky, kx, o] = w[o, 2-ky, 2-kx, c],
/// transformed: U'[ξ, o, c] (its depth is the forward's output channels). Transform once per
/// weights (per optimiser step in training).
func winogradTransformWeightsBackward(_ u: UnsafeMutablePointer<Float>, // (α², O, pad(Cin))
                                      _ w: UnsafePointer<Float>,        // (O, 3, 3, Cin)
                                      _ d: ConvDims, _ tile: WinogradTile) {
    transformWeights(u, rows: d.O, cols: d.Cin, tile, w, rotated: true)
}

/// out = conv(inp, w) + bias (then max(0, ·) when `relu`, saving inference a pass) with `u` from
/// `winogradTransformWeights`. Returns false and leaves `out` untouched when `winogradSupported(d)` is false.
@discardableResult
func winogradForward(_ out: UnsafeMutablePointer<Float>,   // (B, OH, OW, O)
                     _ work: UnsafeMutablePointer<Float>,  // winogradWorkspaceCount(d, tile)
                     _ inp: UnsafePointer<Float>,          // (B, H, W, Cin)
                     _ u: UnsafePointer<Float>,            // (α², Cin, pad(O))
                     _ bias: UnsafePointer<Float>?,        // (O)
                     _ d: ConvDims, _ tile: WinogradTile, relu: Bool = false,
                     blockBytes: Int = WinogradPlan.defaultBlockBytes) -> Bool {
    guard winogradSupported(d) else { return false }
    winogradConv(out, accumulate: false, relu: relu, work, inp, u, bias, WinogradPlan(d, tile, blockBytes: blockBytes))
    return true
}

/// dInp += (or = when not `accumulate`) (the gradient of conv(inp, w) w.r.t. inp given dOut), with `uBack` from
/// `winogradTransformWeightsBackward`. Returns false and leaves `dInp` untouched when
/// `winogradSupported(d)` is false. (dW and dBias: `winogradBackwardWeights`.)
@discardableResult
func winogradBackwardData(_ dInp: UnsafeMutablePointer<Float>, // (B, H, W, Cin) accumulated
                          _ work: UnsafeMutablePointer<Float>, // winogradWorkspaceCount(d, tile)
                          _ dOut: UnsafePointer<Float>,        // (B, OH, OW, O)
                          _ uBack: UnsafePointer<Float>,       // (α², O, pad(Cin))
                          _ d: ConvDims, _ tile: WinogradTile, accumulate: Bool = true,
                          blockBytes: Int = WinogradPlan.defaultBlockBytes) -> Bool {
    guard winogradSupported(d) else { return false }
    winogradConv(dInp, accumulate: accumulate, relu: false, work, dOut, uBack, nil,
                 WinogradPlan(winogradBackwardDims(d), tile, blockBytes: blockBytes))
    return true
}

/// Floats of workspace for `winogradBackwardWeights`: per thread, a block's V and Z and a partial dU.
func winogradWeightGradWorkspaceCount(_ d: ConvDims, _ tile: WinogradTile,
                                      blockBytes: Int = WinogradPlan.defaultBlockBytes) -> Int {
    WinogradPlan.threads * (WinogradPlan(d, tile, blockBytes: blockBytes).workCount + winogradWeightCount(d, tile))  // + dU
}

/// dW += ∂loss/∂w and dBias += Σ dOut for out = conv(inp, w) + bias, given dOut, by Winograd
/// (no im2col). Returns false and leaves dW and dBias untouched when `winogradSupported(d)` is false.
@discardableResult
func winogradBackwardWeights(_ dW: UnsafeMutablePointer<Float>,    // (O, 3, 3, Cin) accumulated
                             _ dBias: UnsafeMutablePointer<Float>?, // (O) accumulated
                             _ work: UnsafeMutablePointer<Float>,  // winogradWeightGradWorkspaceCount(d, tile)
                             _ dOut: UnsafePointer<Float>,         // (B, OH, OW, O)
                             _ inp: UnsafePointer<Float>,          // (B, H, W, Cin)
                             _ d: ConvDims, _ tile: WinogradTile,
                             blockBytes: Int = WinogradPlan.defaultBlockBytes) -> Bool {
    guard winogradSupported(d) else { return false }
    let p = WinogradPlan(d, tile, blockBytes: blockBytes)
    switch tile {
    case .f2: winogradWeightGrad(F2.self, dW, work, dOut, inp, p)
    case .f4: winogradWeightGrad(F4.self, dW, work, dOut, inp, p)
    }
    if let dBias { for q in 0..<d.P { let g = dOut + q * d.O; for c in 0..<d.O { dBias[c] += g[c] } } }
    return true
}

/// The convolution whose output is dInp: input dOut (O channels), output Cin channels, pad 2 - pad.
/// With OH = H + 2·pad - 2 its output size is OH + 2·(2 - pad) - 2 = H.
func winogradBackwardDims(_ d: ConvDims) -> ConvDims {
    ConvDims(B: d.B, H: d.OH, W: d.OW, Cin: d.O, O: d.Cin, K: 3, stride: 1, pad: 2 - d.pad)
}

// MARK: - Implementation

typealias WinogradLanes = SIMD8<Float>
private let lanes = 8
private let laneBytes = MemoryLayout<WinogradLanes>.stride

private func padLanes(_ n: Int) -> Int { (n + lanes - 1) / lanes * lanes }

/// Sizes derived once per call: tiling of the output, block size, padded row lengths.
struct WinogradPlan {
    let d: ConvDims, tile: WinogradTile
    let tilesY, tilesX, tiles: Int
    /// Tiles per block; V is (α², block, cinPad) and M is (α², block, oPad) in a thread's workspace,
    /// with vStride and mStride floats from one ξ to the next.
    let block: Int
    let cinPad, oPad, vStride, mStride: Int

    /// OpenBLAS runs an sgemm on the calling thread when M·N·K ≤ 65536 × GEMM_MULTITHREAD_THRESHOLD
    /// (4 by default, interface/gemm.c).
    static let openblasThreadingMNK = 1 << 18

    /// Threads the kernels use (and the workspace is sized for): the engine's worker pool, whose
    /// width is fixed, so the workspace size and the kernels never disagree.
    static let threads = WorkerPool.shared.width

    /// Bytes of V + M per block. 512 KiB leaves half of this machine's 1 MiB L2 for OpenBLAS's
    /// packed panels of U; compared with other sizes in the TAILOR_BENCH timing.
    static let defaultBlockBytes = 512 * 1024

    init(_ d: ConvDims, _ tile: WinogradTile, blockBytes: Int = WinogradPlan.defaultBlockBytes) {
        self.d = d; self.tile = tile
        tilesY = (d.OH + tile.m - 1) / tile.m
        tilesX = (d.OW + tile.m - 1) / tile.m
        tiles = d.B * tilesY * tilesX
        cinPad = padLanes(d.Cin); oPad = padLanes(d.O)
        let perTile = tile.alpha * tile.alpha * (cinPad + oPad) * MemoryLayout<Float>.stride
        // At least 32 tiles so the sgemms keep a useful M even for 64+ channels; at most 4096 so
        // the workspace stays bounded whatever blockBytes says. Then no more than keeps each sgemm
        // under OpenBLAS's threading threshold (see threadCount), down to 16 tiles: past it
        // OpenBLAS wakes its threads for every small sgemm, measured 4× slower for 32 channels.
        var n = max(32, min(4096, blockBytes / perTile))
        if n * d.O * d.Cin > WinogradPlan.openblasThreadingMNK { n = max(16, WinogradPlan.openblasThreadingMNK / (d.O * d.Cin)) }
        block = max(1, min(tiles, n))
        // A 64-byte skew: with power-of-two strides the α² rows one output transform reads would
        // all fall in the same L1 sets.
        vStride = block * cinPad + 16; mStride = block * oPad + 16
    }
    /// Threads for this plan: no more than there are blocks, and one when each sgemm is big enough
    /// for OpenBLAS to thread it itself (block·O·Cin above 2^18, 128+ channels), so that OpenBLAS's
    /// threads and ours never compete for the two cores.
    var threadCount: Int {
        // The pool sets OpenBLAS to one thread when it is wider than one (Parallel.swift); only a
        // multi-threaded OpenBLAS would thread big sgemms itself.
        if block * d.O * d.Cin > WinogradPlan.openblasThreadingMNK && openblas_get_num_threads() > 1 { return 1 }
        return min(WinogradPlan.threads, (tiles + block - 1) / block)
    }
    /// Channel counts for which the products run on `smallGemm` rather than OpenBLAS.
    var smallChannels: Bool { smallGemmPays(cinPad, oPad) }
    /// Floats of workspace per thread.
    var workCount: Int { tile.alpha * tile.alpha * (vStride + mStride) }
}

/// G for each tile size (α × 3), row-major, as exact fractions; callers round them to Float.
private func gMatrix(_ tile: WinogradTile) -> [Double] {
    switch tile {
    case .f2: return [1, 0, 0,
                      0.5, 0.5, 0.5,
                      0.5, -0.5, 0.5,
                      0, 0, 1]
    case .f4: return [1.0 / 4, 0, 0,
                      -1.0 / 6, -1.0 / 6, -1.0 / 6,
                      -1.0 / 6, 1.0 / 6, -1.0 / 6,
                      1.0 / 24, 1.0 / 12, 1.0 / 6,
                      1.0 / 24, -1.0 / 12, 1.0 / 6,
                      0, 0, 1]
    }
}

/// u[ξ, r, c] = (G·g(r, c)·Gᵀ)[ξ] for the 3×3 kernels g(r, c)[ky, kx] = w[r, ky, kx, c] (or
/// w[r, 2-ky, 2-kx, c] when `rotated`), eight c at a time, rows padded to the lanes with zeros: in
/// training this runs every step, twice per layer. Float arithmetic: rounding G's sixths and
/// twenty-fourths adds ~1e-7 relative, far below the Winograd error itself.
private func transformWeights(_ u: UnsafeMutablePointer<Float>,   // (α², rows, pad(cols))
                              rows: Int, cols: Int, _ tile: WinogradTile,
                              _ w: UnsafePointer<Float>,          // (rows, 3, 3, cols)
                              rotated: Bool) {
    let a = tile.alpha, ld = padLanes(cols), plane = rows * ld
    let G = gMatrix(tile).map { Float($0) }
    let scratch = UnsafeMutablePointer<WinogradLanes>.allocate(capacity: 9 + 3 * a)
    defer { scratch.deallocate() }
    let k = scratch, t = scratch + 9
    for r in 0..<rows {
        var c0 = 0
        while c0 < cols {
            let nl = min(lanes, cols - c0)
            for q in 0..<9 { k[q] = loadLanes(w + (r * 9 + (rotated ? 8 - q : q)) * cols + c0, nl) }
            // t = G·k (α × 3), then U = t·Gᵀ (α × α).
            for i in 0..<a { for x in 0..<3 { t[i * 3 + x] = G[i * 3] * k[x] + G[i * 3 + 1] * k[3 + x] + G[i * 3 + 2] * k[6 + x] } }
            // Whole lanes: the ones past `cols` are zeros and pad the row.
            let dst = UnsafeMutableRawPointer(u + r * ld + c0)
            for i in 0..<a { for j in 0..<a {
                dst.storeBytes(of: t[i * 3] * G[j * 3] + t[i * 3 + 1] * G[j * 3 + 1] + t[i * 3 + 2] * G[j * 3 + 2],
                               toByteOffset: (i * a + j) * plane * MemoryLayout<Float>.stride, as: WinogradLanes.self)
            } }
            c0 += lanes
        }
    }
}

/// `n` (1...8) floats from p into the low lanes, zeros above.
@inline(__always)
private func loadLanes(_ p: UnsafePointer<Float>, _ n: Int) -> WinogradLanes {
    if n == lanes { return UnsafeRawPointer(p).loadUnaligned(as: WinogradLanes.self) }
    var v = WinogradLanes()
    withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n * MemoryLayout<Float>.stride) }
    return v
}

/// The low `n` (1...8) lanes of v to p.
@inline(__always)
private func storeLanes(_ v: WinogradLanes, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == lanes { UnsafeMutableRawPointer(p).storeBytes(of: v, as: WinogradLanes.self); return }
    withUnsafeBytes(of: v) { src in
        UnsafeMutableRawPointer(p).copyMemory(from: src.baseAddress!, byteCount: n * MemoryLayout<Float>.stride)
    }
}

/// One-dimensional transforms over lanes at byte strides, so the same code reads input pixels,
/// scratch rows and the strided V and M buffers. Written out per tile size so each is a handful
/// of vector adds.
private protocol WinogradTransforms {
    /// d = Bᵀ·s (α lanes in, α lanes out).
    static func input(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int)
    /// d = Aᵀ·s (α lanes in, m lanes out).
    static func output(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int)
    /// d = A·s, the adjoint of `output` (m lanes in, α lanes out), for the weight gradient.
    static func outputAdjoint(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int)
}

private enum F2: WinogradTransforms {
    @inline(__always)
    static func input(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let x0 = s.loadUnaligned(as: WinogradLanes.self), x1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        let x2 = s.loadUnaligned(fromByteOffset: 2 * ss, as: WinogradLanes.self)
        let x3 = s.loadUnaligned(fromByteOffset: 3 * ss, as: WinogradLanes.self)
        d.storeBytes(of: x0 - x2, as: WinogradLanes.self)
        d.storeBytes(of: x1 + x2, toByteOffset: ds, as: WinogradLanes.self)
        d.storeBytes(of: x2 - x1, toByteOffset: 2 * ds, as: WinogradLanes.self)
        d.storeBytes(of: x1 - x3, toByteOffset: 3 * ds, as: WinogradLanes.self)
    }
    @inline(__always)
    static func output(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let m0 = s.loadUnaligned(as: WinogradLanes.self), m1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        let m2 = s.loadUnaligned(fromByteOffset: 2 * ss, as: WinogradLanes.self)
        let m3 = s.loadUnaligned(fromByteOffset: 3 * ss, as: WinogradLanes.self)
        d.storeBytes(of: m0 + m1 + m2, as: WinogradLanes.self)
        d.storeBytes(of: m1 - m2 - m3, toByteOffset: ds, as: WinogradLanes.self)
    }
    @inline(__always)
    static func outputAdjoint(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let y0 = s.loadUnaligned(as: WinogradLanes.self), y1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        d.storeBytes(of: y0, as: WinogradLanes.self)
        d.storeBytes(of: y0 + y1, toByteOffset: ds, as: WinogradLanes.self)
        d.storeBytes(of: y0 - y1, toByteOffset: 2 * ds, as: WinogradLanes.self)
        d.storeBytes(of: -y1, toByteOffset: 3 * ds, as: WinogradLanes.self)
    }
}

private enum F4: WinogradTransforms {
    @inline(__always)
    static func input(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let x0 = s.loadUnaligned(as: WinogradLanes.self), x1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        let x2 = s.loadUnaligned(fromByteOffset: 2 * ss, as: WinogradLanes.self)
        let x3 = s.loadUnaligned(fromByteOffset: 3 * ss, as: WinogradLanes.self)
        let x4 = s.loadUnaligned(fromByteOffset: 4 * ss, as: WinogradLanes.self)
        let x5 = s.loadUnaligned(fromByteOffset: 5 * ss, as: WinogradLanes.self)
        // Shared sums keep it to 12 adds and 6 scalings instead of the 22 nonzeros of Bᵀ.
        let p = x4 - 4 * x2, q = x3 - 4 * x1      // rows 1, 2: p ± q
        let r = x4 - x2, t = 2 * (x3 - x1)        // rows 3, 4: r ± t
        d.storeBytes(of: 4 * x0 - 5 * x2 + x4, as: WinogradLanes.self)
        d.storeBytes(of: p + q, toByteOffset: ds, as: WinogradLanes.self)
        d.storeBytes(of: p - q, toByteOffset: 2 * ds, as: WinogradLanes.self)
        d.storeBytes(of: r + t, toByteOffset: 3 * ds, as: WinogradLanes.self)
        d.storeBytes(of: r - t, toByteOffset: 4 * ds, as: WinogradLanes.self)
        d.storeBytes(of: 4 * x1 - 5 * x3 + x5, toByteOffset: 5 * ds, as: WinogradLanes.self)
    }
    @inline(__always)
    static func output(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let m0 = s.loadUnaligned(as: WinogradLanes.self), m1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        let m2 = s.loadUnaligned(fromByteOffset: 2 * ss, as: WinogradLanes.self)
        let m3 = s.loadUnaligned(fromByteOffset: 3 * ss, as: WinogradLanes.self)
        let m4 = s.loadUnaligned(fromByteOffset: 4 * ss, as: WinogradLanes.self)
        let m5 = s.loadUnaligned(fromByteOffset: 5 * ss, as: WinogradLanes.self)
        let a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4
        d.storeBytes(of: m0 + a + c, as: WinogradLanes.self)
        d.storeBytes(of: b + 2 * e, toByteOffset: ds, as: WinogradLanes.self)
        d.storeBytes(of: a + 4 * c, toByteOffset: 2 * ds, as: WinogradLanes.self)
        d.storeBytes(of: b + 8 * e + m5, toByteOffset: 3 * ds, as: WinogradLanes.self)
    }
    @inline(__always)
    static func outputAdjoint(_ s: UnsafeRawPointer, _ ss: Int, _ d: UnsafeMutableRawPointer, _ ds: Int) {
        let y0 = s.loadUnaligned(as: WinogradLanes.self), y1 = s.loadUnaligned(fromByteOffset: ss, as: WinogradLanes.self)
        let y2 = s.loadUnaligned(fromByteOffset: 2 * ss, as: WinogradLanes.self)
        let y3 = s.loadUnaligned(fromByteOffset: 3 * ss, as: WinogradLanes.self)
        let ev = y0 + y2, od = y1 + y3, ev4 = y0 + 4 * y2, od8 = 2 * y1 + 8 * y3
        d.storeBytes(of: y0, as: WinogradLanes.self)
        d.storeBytes(of: ev + od, toByteOffset: ds, as: WinogradLanes.self)
        d.storeBytes(of: ev - od, toByteOffset: 2 * ds, as: WinogradLanes.self)
        d.storeBytes(of: ev4 + od8, toByteOffset: 3 * ds, as: WinogradLanes.self)
        d.storeBytes(of: ev4 - od8, toByteOffset: 4 * ds, as: WinogradLanes.self)
        d.storeBytes(of: y3, toByteOffset: 5 * ds, as: WinogradLanes.self)
    }
}

/// Shared by forward (accumulate false: out = Y + bias) and backward-data (accumulate true:
/// out += Y). The plan's dims are validated by the callers.
private func winogradConv(_ out: UnsafeMutablePointer<Float>, accumulate: Bool, relu: Bool,
                          _ work: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ p: WinogradPlan) {
    switch p.tile {
    case .f2: winogradConv(F2.self, out, accumulate, relu, work, inp, u, bias, p)
    case .f4: winogradConv(F4.self, out, accumulate, relu, work, inp, u, bias, p)
    }
}

private func winogradConv<T: WinogradTransforms>(_: T.Type, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ relu: Bool,
                                                 _ work: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                                 _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                                 _ p: WinogradPlan) {
    let d = p.d, a = p.tile.alpha, m = p.tile.m, aa = a * a
    let queue = BlockQueue(p)
    parallelFor(p.threadCount) { th in
        let v = work + th * p.workCount, mm = v + aa * p.vStride
        // Scratch: a gathered input row (α lanes), the row-transformed tile (α² lanes), output rows.
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: (a + aa + a * m + m) * laneBytes, alignment: 64)
        defer { scratch.deallocate() }
        let row = scratch, tmp = scratch + a * laneBytes, orow = tmp + aa * laneBytes, ycol = orow + a * m * laneBytes
        while let (t0, n) = queue.take() {
            for k in 0..<n { inputTile(T.self, v, k, t0 + k, inp, p, row, tmp) }
            for xi in 0..<aa {
                let vx = v + xi * p.vStride, ux = u + xi * d.Cin * p.oPad, mx = mm + xi * p.mStride
                if p.smallChannels {
                    smallGemm(rows: n, cols: p.oPad, depth: d.Cin, vx, rowStride: p.cinPad, depthStride: 1,
                              ux, ldb: p.oPad, mx, ldc: p.oPad, accumulate: false)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(d.O), Int32(d.Cin),
                                1, vx, Int32(p.cinPad), ux, Int32(p.oPad), 0, mx, Int32(p.oPad))
                }
            }
            for k in 0..<n { outputTile(T.self, out, accumulate, relu, mm, k, t0 + k, bias, p, orow, ycol) }
        }
    }
}

/// dW += Gᵀ·(Σ_tiles Z ⊙ V)·G. Each thread sums its range of blocks into its own dU (beta = 1);
/// the caller's thread then adds the others' and transforms back to 3×3.
private func winogradWeightGrad<T: WinogradTransforms>(_: T.Type, _ dW: UnsafeMutablePointer<Float>,
                                                       _ work: UnsafeMutablePointer<Float>,
                                                       _ dOut: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                                                       _ p: WinogradPlan) {
    // dU is (α², pad(O), pad(Cin)): whole lanes for smallGemm, zeros in the padding.
    let d = p.d, a = p.tile.alpha, m = p.tile.m, aa = a * a, plane = p.oPad * p.cinPad, uCount = aa * plane
    // Fixed contiguous shares, not the BlockQueue: the partial sums then always cover the same
    // tiles, so dW is the same bit for bit from run to run (for a given thread count).
    let blocks = (p.tiles + p.block - 1) / p.block
    let nt = p.threadCount, perThread = (blocks + nt - 1) / nt * p.block
    let perThreadWork = p.workCount + uCount
    parallelFor(nt) { th in
        let v = work + th * perThreadWork, z = v + aa * p.vStride, du = v + p.workCount
        du.update(repeating: 0, count: uCount)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: (a + aa + a * m + m) * laneBytes, alignment: 64)
        defer { scratch.deallocate() }
        let row = scratch, tmp = scratch + a * laneBytes, yrow = tmp + aa * laneBytes
        var t0 = th * perThread
        let end = min(p.tiles, t0 + perThread)
        while t0 < end {
            let n = min(p.block, end - t0)
            for k in 0..<n {
                inputTile(T.self, v, k, t0 + k, inp, p, row, tmp)
                gradTile(T.self, z, k, t0 + k, dOut, p, yrow, tmp)
            }
            for xi in 0..<aa {
                let zx = z + xi * p.mStride, vx = v + xi * p.vStride, ux = du + xi * plane
                if p.smallChannels {
                    smallGemm(rows: p.oPad, cols: p.cinPad, depth: n, zx, rowStride: 1, depthStride: p.oPad,
                              vx, ldb: p.cinPad, ux, ldc: p.cinPad, accumulate: true)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d.O), Int32(d.Cin), Int32(n),
                                1, zx, Int32(p.oPad), vx, Int32(p.cinPad), 1, ux, Int32(p.cinPad))
                }
            }
            t0 += n
        }
    }
    let du0 = work + p.workCount
    for th in 1..<max(1, nt) {
        let other = work + th * perThreadWork + p.workCount
        for i in 0..<uCount { du0[i] += other[i] }
    }
    // dw[o, ky, kx, c] += Σ_ij G[i, ky]·dU[(i, j), o, c]·G[j, kx], eight c at a time.
    let G = gMatrix(p.tile).map { Float($0) }
    let scratch = UnsafeMutablePointer<WinogradLanes>.allocate(capacity: aa + 3 * a)
    defer { scratch.deallocate() }
    let uu = scratch, t = scratch + aa
    for o in 0..<d.O {
        var c0 = 0
        while c0 < d.Cin {
            let nl = min(lanes, d.Cin - c0)
            for xi in 0..<aa { uu[xi] = loadLanes(du0 + xi * plane + o * p.cinPad + c0, nl) }
            // t = dU·G (α × 3), then Gᵀ·t (3 × 3).
            for i in 0..<a { for x in 0..<3 {
                var s = WinogradLanes()
                for j in 0..<a { s += G[j * 3 + x] * uu[i * a + j] }
                t[i * 3 + x] = s
            } }
            for y in 0..<3 { for x in 0..<3 {
                var s = WinogradLanes()
                for i in 0..<a { s += G[i * 3 + y] * t[i * 3 + x] }
                let dst = dW + ((o * 3 + y) * 3 + x) * d.Cin + c0
                storeLanes(loadLanes(dst, nl) + s, dst, nl)
            } }
            c0 += lanes
        }
    }
}

/// Z[ξ, k, :] = (A·dY·Aᵀ)[ξ] for tile `t`, block row `k`; dY outside the output is zero.
private func gradTile<T: WinogradTransforms>(_: T.Type, _ z: UnsafeMutablePointer<Float>, _ k: Int, _ t: Int,
                                             _ dOut: UnsafePointer<Float>, _ p: WinogradPlan,
                                             _ yrow: UnsafeMutableRawPointer, _ tmp: UnsafeMutableRawPointer) {
    let d = p.d, a = p.tile.alpha, m = p.tile.m
    let b = t / (p.tilesY * p.tilesX), ty = t / p.tilesX % p.tilesY, tx = t % p.tilesX
    let rows = min(m, d.OH - ty * m), cols = min(m, d.OW - tx * m)
    let zs = p.mStride * MemoryLayout<Float>.stride
    let zk = UnsafeMutableRawPointer(z + k * p.oPad)
    var o0 = 0
    while o0 < d.O {
        let nl = min(lanes, d.O - o0)
        // Rows: tmp[y, j] = (A along x of dY row y)[j]; rows past the output are zero.
        for y in 0..<m {
            let dst = tmp + y * a * laneBytes
            for x in 0..<m {
                let lane = yrow + x * laneBytes
                lane.storeBytes(of: WinogradLanes(), as: WinogradLanes.self)
                guard y < rows && x < cols else { continue }
                let src = dOut + ((b * d.OH + ty * m + y) * d.OW + tx * m + x) * d.O + o0
                if nl == lanes { lane.storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: WinogradLanes.self), as: WinogradLanes.self) }
                else { lane.copyMemory(from: src, byteCount: nl * MemoryLayout<Float>.stride) }
            }
            T.outputAdjoint(UnsafeRawPointer(yrow), laneBytes, dst, laneBytes)
        }
        // Columns: Z[(i, j), k, o0..] = (A along y of tmp column j)[i].
        let zc = zk + o0 * MemoryLayout<Float>.stride
        for j in 0..<a { T.outputAdjoint(UnsafeRawPointer(tmp + j * laneBytes), a * laneBytes, zc + j * zs, a * zs) }
        o0 += lanes
    }
}

/// Hands out blocks of tiles (first tile, count) one at a time under a mutex, for the forward and
/// backward-data passes (each tile's output is written once, so the order does not matter). Fixed
/// equal shares made every call wait for the slowest thread, and on this shared machine a thread
/// the OS delays for a scheduler tick held up the whole call by 4 ms; now the others take its blocks.
private final class BlockQueue: @unchecked Sendable {   // `next` only under `mutex`
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var next = 0
    private let tiles: Int, block: Int
    init(_ p: WinogradPlan) {
        tiles = p.tiles; block = p.block
        mutex.initialize(to: pthread_mutex_t()); pthread_mutex_init(mutex, nil)
    }
    deinit { pthread_mutex_destroy(mutex); mutex.deinitialize(count: 1); mutex.deallocate() }
    func take() -> (Int, Int)? {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        guard next < tiles else { return nil }
        let t0 = next, n = min(block, tiles - next)
        next += n
        return (t0, n)
    }
}

/// Runs body(0..<n) on the engine's worker pool (Kernels/Parallel.swift), one index per thread
/// part; n never exceeds the pool's width (WinogradPlan.threads), so every index runs at once.
private func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 1 { body(0); return }
    parallelParts(n, grain: 1) { _, r in for i in r { body(i) } }
}

/// V[ξ, k, :] = (Bᵀ·patch·B)[ξ] for tile `t`, block row `k`. Input outside the image is zero.
private func inputTile<T: WinogradTransforms>(_: T.Type, _ v: UnsafeMutablePointer<Float>, _ k: Int, _ t: Int,
                                              _ inp: UnsafePointer<Float>, _ p: WinogradPlan,
                                              _ row: UnsafeMutableRawPointer, _ tmp: UnsafeMutableRawPointer) {
    let d = p.d, a = p.tile.alpha, m = p.tile.m
    let b = t / (p.tilesY * p.tilesX), ty = t / p.tilesX % p.tilesY, tx = t % p.tilesX
    let y0 = ty * m - d.pad, x0 = tx * m - d.pad
    let interiorX = x0 >= 0 && x0 + a <= d.W
    let cs = d.Cin * MemoryLayout<Float>.stride                  // bytes between neighbouring pixels
    let vs = p.vStride * MemoryLayout<Float>.stride              // bytes between ξ and ξ+1 in V
    let vk = UnsafeMutableRawPointer(v + k * p.cinPad)
    var c0 = 0
    while c0 < d.Cin {
        let nl = min(lanes, d.Cin - c0)
        // Rows: tmp[r, j] = (Bᵀ along x of patch row r)[j].
        for r in 0..<a {
            let iy = y0 + r, dst = tmp + r * a * laneBytes
            if iy < 0 || iy >= d.H {
                dst.initializeMemory(as: UInt8.self, repeating: 0, count: a * laneBytes)
                continue
            }
            let src = inp + ((b * d.H + iy) * d.W) * d.Cin + c0
            if interiorX && nl == lanes {
                T.input(UnsafeRawPointer(src + x0 * d.Cin), cs, dst, laneBytes)
            } else {
                // Border column or last partial group of channels: gather with zeros.
                // Whole-vector copies where possible: inserting lanes one by one into a SIMD
                // value compiles to stack spills and was the hot spot of the input transform.
                for j in 0..<a {
                    let ix = x0 + j, dstJ = row + j * laneBytes
                    if ix < 0 || ix >= d.W {
                        dstJ.storeBytes(of: WinogradLanes(), as: WinogradLanes.self)
                    } else if nl == lanes {
                        dstJ.storeBytes(of: UnsafeRawPointer(src + ix * d.Cin).loadUnaligned(as: WinogradLanes.self),
                                        as: WinogradLanes.self)
                    } else {
                        dstJ.storeBytes(of: WinogradLanes(), as: WinogradLanes.self)
                        dstJ.copyMemory(from: src + ix * d.Cin, byteCount: nl * MemoryLayout<Float>.stride)
                    }
                }
                T.input(UnsafeRawPointer(row), laneBytes, dst, laneBytes)
            }
        }
        // Columns: V[(i, j), k, c0..] = (Bᵀ along y of tmp column j)[i].
        let vc = vk + c0 * MemoryLayout<Float>.stride
        for j in 0..<a { T.input(UnsafeRawPointer(tmp + j * laneBytes), a * laneBytes, vc + j * vs, a * vs) }
        c0 += lanes
    }
}

/// out[tile pixels] (=|+=) (Aᵀ·M[:, k, :]·A) (+ bias, then ReLU if `relu`), clipped to the output.
private func outputTile<T: WinogradTransforms>(_: T.Type, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ relu: Bool,
                                               _ mm: UnsafeMutablePointer<Float>, _ k: Int, _ t: Int,
                                               _ bias: UnsafePointer<Float>?, _ p: WinogradPlan,
                                               _ orow: UnsafeMutableRawPointer, _ ycol: UnsafeMutableRawPointer) {
    let d = p.d, a = p.tile.alpha, m = p.tile.m
    let OH = d.OH, OW = d.OW
    let b = t / (p.tilesY * p.tilesX), ty = t / p.tilesX % p.tilesY, tx = t % p.tilesX
    let ms = p.mStride * MemoryLayout<Float>.stride              // bytes between ξ and ξ+1 in M
    let mk = UnsafeRawPointer(mm + k * p.oPad)
    let rows = min(m, OH - ty * m), cols = min(m, OW - tx * m)
    var o0 = 0
    while o0 < d.O {
        let nl = min(lanes, d.O - o0)
        let mc = mk + o0 * MemoryLayout<Float>.stride
        // Rows: orow[i, x] = (Aᵀ along j of M[(i, ·)])[x].
        for i in 0..<a { T.output(mc + i * a * ms, ms, orow + i * m * laneBytes, laneBytes) }
        var bl = WinogradLanes()
        if let bias, !accumulate { for l in 0..<nl { bl[l] = bias[o0 + l] } }
        for x in 0..<cols {
            // Column x: ycol[y] = (Aᵀ along i of orow[·, x])[y].
            T.output(UnsafeRawPointer(orow + x * laneBytes), m * laneBytes, ycol, laneBytes)
            for y in 0..<rows {
                let yv = ycol.load(fromByteOffset: y * laneBytes, as: WinogradLanes.self)
                let dst = out + ((b * OH + ty * m + y) * OW + tx * m + x) * d.O + o0
                if nl == lanes {
                    let raw = UnsafeMutableRawPointer(dst)
                    var r = accumulate ? raw.loadUnaligned(as: WinogradLanes.self) + yv : yv + bl
                    if relu { r = r.replacing(with: 0, where: r .< 0) }
                    raw.storeBytes(of: r, as: WinogradLanes.self)
                } else if accumulate {
                    for l in 0..<nl { dst[l] += yv[l] }
                } else {
                    for l in 0..<nl { let r = yv[l] + bl[l]; dst[l] = relu && r < 0 ? 0 : r }
                }
            }
        }
        o0 += lanes
    }
}
