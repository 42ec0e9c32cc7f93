import Testing
@testable import TailorSwift

@Suite struct KernelBatchNormTests {
    // Running var after one train step on these inputs, computed by torch.nn.BatchNorm1d(3).
    @Test func trainForwardBackwardAndRunningStats() {
        let N = 6, C = 3
        let x = vals(N * C, 1), gm = vals(C, 2), bt = vals(C, 3), wt = vals(N * C, 4)
        func loss(_ x: [Float], _ g: [Float]) -> Double {
            var o = [Float](repeating: 0, count: N * C), m = [Float](repeating: 0, count: C), r = m, rm = m, rv = m
            batchnormForwardTrain(&o, &m, &r, &rm, &rv, x, g, bt, N, C, eps: 1e-5, momentum: 0.1)
            var s = 0.0; for i in 0..<(N * C) { s += Double(o[i] * wt[i]) }; return s
        }
        var o = [Float](repeating: 0, count: N * C), m = [Float](repeating: 0, count: C), r = m, rm = m
        var rv = [Float](repeating: 1, count: C)
        batchnormForwardTrain(&o, &m, &r, &rm, &rv, x, gm, bt, N, C, eps: 1e-5, momentum: 0.1)
        let torchRunVar: [Float] = [0.9652249217033386, 0.9462780952453613, 0.911386251449585]
        for c in 0..<C { #expect(abs(rv[c] - torchRunVar[c]) < 1e-6) }
        var dx = [Float](repeating: 0, count: N * C), dg = [Float](repeating: 0, count: C), db = dg
        batchnormBackward(&dx, &dg, &db, wt, x, m, r, gm, N, C)
        let h: Float = 1e-3
        for i in 0..<(N * C) {
            var p = x, q = x; p[i] += h; q[i] -= h
            #expect(abs((loss(p, gm) - loss(q, gm)) / Double(2 * h) - Double(dx[i])) < 1e-3)
        }
        for i in 0..<C {
            var p = gm, q = gm; p[i] += h; q[i] -= h
            #expect(abs((loss(x, p) - loss(x, q)) / Double(2 * h) - Double(dg[i])) < 1e-3)
        }
    }

    @Test func globalAvgPool() {
        let x = vals(2 * 3 * 4, 7)
        var out = [Float](repeating: 0, count: 8), dx = [Float](repeating: 0, count: 24)
        globalAvgPoolForward(&out, x, 2, 3, 4)
        #expect(abs(out[5] - (x[13] + x[17] + x[21]) / 3) < 1e-6)
        globalAvgPoolBackward(&dx, [Float](repeating: 3, count: 8), 2, 3, 4)
        #expect(dx.allSatisfy { abs($0 - 1) < 1e-6 })
    }
}
