import Testing
@testable import TailorSwift

@Suite struct KernelElementwiseTests {
    @Test func reluAndAdd() {
        let n = 37
        let a = vals(n, 1), b = vals(n, 2), g = vals(n, 3)
        var out = [Float](repeating: 0, count: n), da = out, db = out
        reluForward(&out, a, n)
        for i in 0..<n { #expect(out[i] == max(0, a[i])) }
        reluBackward(&da, g, out, n)
        for i in 0..<n { #expect(da[i] == (a[i] > 0 ? g[i] : 0)) }
        addForward(&out, a, b, n, relu: true)
        da = [Float](repeating: 0, count: n)
        addBackward(&da, &db, g, out, n, relu: true)
        for i in 0..<n {
            #expect(out[i] == max(0, a[i] + b[i]))
            #expect(da[i] == (a[i] + b[i] > 0 ? g[i] : 0) && db[i] == da[i])
        }
    }

    /// NaN passes through every ReLU (plain, fused into an add or a BatchNorm) as torch.relu lets
    /// it, so a fault upstream reaches the output checks instead of turning into a quiet 0; its
    /// gradient is 0 (the mask out > 0 is false), as in torch.
    @Test func reluKeepsNaN() {
        let n = 19   // two SIMD8 steps and a scalar tail
        var x = vals(n, 4)
        for i in [0, 9, 18] { x[i] = .nan }
        var out = [Float](repeating: 0, count: n), d = out
        reluForward(&out, x, n)
        addForward(&d, x, [Float](repeating: 0, count: n), n, relu: true)
        for i in 0..<n { #expect(x[i].isNaN ? out[i].isNaN && d[i].isNaN : out[i] == max(0, x[i]) && d[i] == out[i]) }
        var g = [Float](repeating: 0, count: n)
        reluBackward(&g, [Float](repeating: 1, count: n), out, n)
        for i in [0, 9, 18] { #expect(g[i] == 0) }
        var mean: Float = 0, rstd: Float = 0, rm: Float = 0, rv: Float = 1
        var bn = [Float](repeating: 0, count: 2)
        batchnormForwardTrain(&bn, &mean, &rstd, &rm, &rv, [Float.nan, 1], [1], [0], 2, 1, eps: 1e-5, momentum: 0.1, relu: true)
        #expect(bn.allSatisfy { $0.isNaN })
    }

    @Test func denseMatchesLoopsAndFiniteDifference() throws {
        let B = 3, I = 5, O = 4
        let x = vals(B * I, 4), w = vals(O * I, 5), bias = vals(O, 6)
        var out = [Float](repeating: 0, count: B * O)
        denseForward(&out, x, w, bias, B, I, O)
        for b in 0..<B { for o in 0..<O {
            var s = bias[o]; for i in 0..<I { s += x[b * I + i] * w[o * I + i] }
            #expect(abs(s - out[b * O + o]) < 1e-5)
        } }
        // Loss = CE(dense(x)); check dW and dx against central differences.
        let y: [Int32] = [1, 3, 0]
        func loss(_ x: [Float], _ w: [Float]) throws -> Float {
            var o = [Float](repeating: 0, count: B * O), d = o
            denseForward(&o, x, w, bias, B, I, O)
            return try softmaxCrossEntropy(&d, o, y, B, O)
        }
        var dl = [Float](repeating: 0, count: B * O)
        _ = try softmaxCrossEntropy(&dl, out, y, B, O)
        var dx = [Float](repeating: 0, count: B * I), dw = [Float](repeating: 0, count: O * I)
        var db = [Float](repeating: 0, count: O)
        denseBackward(&dx, &dw, &db, dl, x, w, B, I, O)
        let h: Float = 1e-2
        for i in 0..<(O * I) {
            var p = w, m = w; p[i] += h; m[i] -= h
            let fd = (try loss(x, p) - loss(x, m)) / (2 * h)
            #expect(abs(fd - dw[i]) < 2e-3, "dW[\(i)] fd \(fd) vs \(dw[i])")
        }
        for i in 0..<(B * I) {
            var p = x, m = x; p[i] += h; m[i] -= h
            let fd = (try loss(p, w) - loss(m, w)) / (2 * h)
            #expect(abs(fd - dx[i]) < 2e-3, "dx[\(i)] fd \(fd) vs \(dx[i])")
        }
    }

    @Test func crossEntropyRejectsBadLabel() {
        var d = [Float](repeating: 0, count: 2)
        #expect(throws: TailorError.self) { try softmaxCrossEntropy(&d, [0, 0], [5], 1, 2) }
    }
}
