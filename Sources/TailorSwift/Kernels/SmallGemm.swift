// C (=|+=) A·B for the small matrix products of the Winograd kernels, where OpenBLAS is slow.
//
// A Winograd convolution with 16 to 64 channels makes α² products per block of tiles whose inner
// and outer widths are the channel counts: (256 × 16)·(16 × 16) for a ResNet's first stage.
// OpenBLAS packs both operands and sets up its blocking for every call, which at these sizes
// costs more than the arithmetic: measured here 36 GFLOP/s at 16 channels and 54 at 32 on one
// core, where this register-blocked kernel reaches 105–113 (and ~100 for the Zᵀ·V products of the
// weight gradient, which OpenBLAS handles well). Above 64 channels OpenBLAS's packing pays for
// itself and the kernels call it instead (`smallGemmPays`).
//
// The kernel keeps a 4 × 16 block of C in eight AVX registers while it walks the depth: per step
// one 16-wide row of B and four broadcast elements of A. A is read through two strides, so the
// same kernel serves V·U (A's rows are tiles, depth runs along a row) and Zᵀ·V (A is Z read down
// its columns) without a transposed copy. Columns come in multiples of 8: every operand the
// Winograd kernels pass is padded to the SIMD lanes with zeros.

/// True when `smallGemm` beats OpenBLAS for products whose widths are these channel counts
/// (measured at 16, 32 and 64 channels; OpenBLAS's packing wins from 128 up).
func smallGemmPays(_ channelsA: Int, _ channelsB: Int) -> Bool { channelsA <= 64 && channelsB <= 64 }

/// C[i, j] (+ C[i, j] when `accumulate`) = Σ_p A[i·rowStride + p·depthStride]·B[p·ldb + j] for
/// i < rows, j < cols, p < depth. `cols` must be a multiple of 8 and B's rows and C's rows must
/// hold `cols` floats.
func smallGemm(rows: Int, cols: Int, depth: Int,
               _ a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
               _ b: UnsafePointer<Float>, ldb: Int,
               _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let A = StridedA(base: a, rowStride: rowStride, depthStride: depthStride)
    var j = 0
    while j < cols {
        // 16 columns while they last, then the last 8.
        if cols - j >= 16 { columnPanel(SIMD16<Float>.self, rows, depth, A, b + j, ldb, c + j, ldc, accumulate); j += 16 }
        else { columnPanel(SIMD8<Float>.self, rows, depth, A, b + j, ldb, c + j, ldc, accumulate); j += 8 }
    }
}

private struct StridedA {
    let base: UnsafePointer<Float>, rowStride: Int, depthStride: Int
}

/// One panel of V.scalarCount columns: four rows at a time, then the rows left over one by one.
@inline(__always)
private func columnPanel<V: SIMD>(_: V.Type, _ rows: Int, _ depth: Int, _ A: StridedA,
                                  _ b: UnsafePointer<Float>, _ ldb: Int,
                                  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool)
    where V.Scalar == Float {
    var i = 0
    while i + 4 <= rows {
        block4(V.self, depth, A.base + i * A.rowStride, A.rowStride, A.depthStride, b, ldb, c + i * ldc, ldc, accumulate)
        i += 4
    }
    while i < rows {
        block1(V.self, depth, A.base + i * A.rowStride, A.depthStride, b, ldb, c + i * ldc, accumulate)
        i += 1
    }
}

@inline(__always)
private func load<V: SIMD>(_ p: UnsafePointer<Float>, _: V.Type) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always)
private func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// The 4-row block: four accumulators (eight AVX registers for 16 columns) stay in registers for
/// the whole depth, which is what makes the kernel compute-bound.
@inline(__always)
private func block4<V: SIMD>(_: V.Type, _ depth: Int, _ a: UnsafePointer<Float>, _ rs: Int, _ ds: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool)
    where V.Scalar == Float {
    var c0 = V(), c1 = V(), c2 = V(), c3 = V()
    var ap = a, bp = b
    for _ in 0..<depth {
        let bv = load(bp, V.self)
        c0 = c0.addingProduct(V(repeating: ap[0]), bv)
        c1 = c1.addingProduct(V(repeating: ap[rs]), bv)
        c2 = c2.addingProduct(V(repeating: ap[2 * rs]), bv)
        c3 = c3.addingProduct(V(repeating: ap[3 * rs]), bv)
        ap += ds; bp += ldb
    }
    if accumulate {
        c0 += load(c, V.self); c1 += load(c + ldc, V.self)
        c2 += load(c + 2 * ldc, V.self); c3 += load(c + 3 * ldc, V.self)
    }
    store(c0, c); store(c1, c + ldc); store(c2, c + 2 * ldc); store(c3, c + 3 * ldc)
}

@inline(__always)
private func block1<V: SIMD>(_: V.Type, _ depth: Int, _ a: UnsafePointer<Float>, _ ds: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool)
    where V.Scalar == Float {
    var c0 = V()
    var ap = a, bp = b
    for _ in 0..<depth {
        c0 = c0.addingProduct(V(repeating: ap[0]), load(bp, V.self))
        ap += ds; bp += ldb
    }
    if accumulate { c0 += load(c, V.self) }
    store(c0, c)
}
