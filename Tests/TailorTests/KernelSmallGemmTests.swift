import Testing
@testable import TailorSwift

/// smallGemm against a float64 triple loop: row counts around the 4-row block (remainder rows),
/// column counts with and without the 8-wide tail, zero and odd depths, A read along its rows
/// (V·U) and down its columns (Zᵀ·V), overwrite and accumulate, padded leading dimensions.
@Suite struct KernelSmallGemmTests {
    @Test func matchesFloat64Reference() {
        var worst: Double = 0, cases = 0
        for rows in [1, 3, 4, 5, 9] { for cols in [8, 16, 24, 40] { for depth in [0, 1, 7, 16] {
            for transposedA in [false, true] { for accumulate in [false, true] {
                let seed = UInt64(rows * 1000 + cols * 10 + depth)
                // A as (rows, depth) with row stride depth + 3, or stored (depth, rows) with row stride rows + 2.
                let lda = transposedA ? rows + 2 : depth + 3
                let a = vals(max(1, (transposedA ? depth : rows) * lda), seed)
                let (rs, ds) = transposedA ? (1, lda) : (lda, 1)
                let ldb = cols + 8, ldc = cols + 16
                let b = vals(max(1, depth * ldb), seed + 1)
                var c = vals(rows * ldc, seed + 2)
                let c0 = c
                smallGemm(rows: rows, cols: cols, depth: depth, a, rowStride: rs, depthStride: ds,
                          b, ldb: ldb, &c, ldc: ldc, accumulate: accumulate)
                for i in 0..<rows { for j in 0..<ldc {
                    guard j < cols else {
                        #expect(c[i * ldc + j] == c0[i * ldc + j], "wrote past cols at (\(i), \(j))"); continue
                    }
                    var want = accumulate ? Double(c0[i * ldc + j]) : 0
                    for p in 0..<depth { want += Double(a[i * rs + p * ds]) * Double(b[p * ldb + j]) }
                    worst = max(worst, abs(Double(c[i * ldc + j]) - want))
                } }
                cases += 1
            } }
        } } }
        print("smallGemm, \(cases) cases: max abs error \(worst)")
        #expect(worst < 1e-5)
    }
}
