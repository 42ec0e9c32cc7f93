import Testing
@testable import TailorSwift

@Suite struct KernelConvTests {
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 2, 0), (1, 1, 0)])
    func conv(_ cfg: (Int, Int, Int)) {
        let (K, s, p) = cfg
        let d = ConvDims(B: 2, H: 5, W: 4, Cin: 3, O: 2, K: K, stride: s, pad: p)
        let x = vals(2 * 5 * 4 * 3, 1), w = vals(2 * d.KKC, 2), bias = vals(2, 3), g = vals(d.P * 2, 4)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            var o = [Float](repeating: 0, count: d.P * 2), c = [Float](repeating: 0, count: d.P * d.KKC)
            conv2dForward(&o, &c, x, w, bias, d)
            var s = 0.0; for i in 0..<o.count { s += Double(o[i] * g[i]) }; return s
        }
        var o = [Float](repeating: 0, count: d.P * 2), c = [Float](repeating: 0, count: d.P * d.KKC)
        conv2dForward(&o, &c, x, w, bias, d)
        // Naive direct loops.
        for b in 0..<2 { for oy in 0..<d.OH { for ox in 0..<d.OW { for oc in 0..<2 {
            var acc = bias[oc]
            for ky in 0..<K { for kx in 0..<K { for ci in 0..<3 {
                let iy = oy * s + ky - p, ix = ox * s + kx - p
                if iy >= 0 && iy < 5 && ix >= 0 && ix < 4 {
                    acc += x[((b * 5 + iy) * 4 + ix) * 3 + ci] * w[oc * d.KKC + (ky * K + kx) * 3 + ci]
                }
            } } }
            #expect(abs(acc - o[((b * d.OH + oy) * d.OW + ox) * 2 + oc]) < 1e-5)
        } } } }
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: 2), dc = c
        conv2dBackward(&dx, &dw, &db, &dc, g, c, x, w, d)
        let h: Float = 1e-2
        for i in 0..<x.count {
            var a = x, b = x; a[i] += h; b[i] -= h
            #expect(abs((loss(a, w) - loss(b, w)) / Double(2 * h) - Double(dx[i])) < 1e-3)
        }
        for i in 0..<w.count {
            var a = w, b = w; a[i] += h; b[i] -= h
            #expect(abs((loss(x, a) - loss(x, b)) / Double(2 * h) - Double(dw[i])) < 1e-3)
        }
    }
}
