import COpenBLAS
import Glibc
import Testing
@testable import TailorSwift

/// Winograd against the im2col kernels (the reference), over shapes with partial border tiles,
/// channel counts that are and are not multiples of the 8 SIMD lanes, padding 0...2, with and
/// without bias. Errors are measured relative to the output's largest magnitude: Winograd's
/// transforms mix values of the whole tile, so an error is only small next to the tile's scale,
/// not next to each (possibly cancelling) output element.
@Suite struct KernelWinogradTests {
    /// (H, W) × (Cin, O) × batch × pad × bias, thinned from the full product so the debug-build
    /// run stays short: every size meets every pad and several channel pairs.
    static let shapes: [ConvDims] = {
        let sizes = [(1, 1), (2, 2), (3, 3), (5, 7), (8, 8), (16, 16), (32, 32)]
        // (128, 144): big enough that OpenBLAS threads each sgemm and the kernels use one thread.
        let channels = [(1, 1), (3, 16), (16, 17), (17, 3), (64, 64), (16, 64), (64, 1), (128, 144)]
        var out: [ConvDims] = []
        for (si, (h, w)) in sizes.enumerated() { for pad in 0...2 { for (ci, (c, o)) in channels.enumerated() {
            // Big images only with modest channels, to keep the reference quick.
            if h * w >= 256 && c * o > 16 * 64 { continue }
            out.append(ConvDims(B: (si + ci + pad) % 2 == 0 ? 1 : 3, H: h, W: w, Cin: c, O: o, K: 3, stride: 1, pad: pad))
        } } }
        return out
    }()

    /// Largest |a - b| and that over max |b|.
    static func errors(_ a: [Float], _ b: [Float]) -> (abs: Float, rel: Float) {
        var e: Float = 0, s: Float = 0
        for i in 0..<b.count { e = max(e, abs(a[i] - b[i])); s = max(s, abs(b[i])) }
        return (e, s > 0 ? e / s : e)
    }

    static func tolerance(_ tile: WinogradTile) -> Float { tile == .f2 ? 1e-5 : 1e-4 }

    @Test(arguments: WinogradTile.allCases)
    func forwardMatchesIm2col(_ tile: WinogradTile) {
        var worst: (abs: Float, rel: Float) = (0, 0), tested = 0
        for (n, d) in Self.shapes.enumerated() where winogradSupported(d) {
            let x = vals(d.B * d.H * d.W * d.Cin, UInt64(n + 1)), w = vals(d.O * d.KKC, UInt64(n + 100))
            let bias: [Float]? = n % 2 == 0 ? vals(d.O, UInt64(n + 200)) : nil
            var ref = [Float](repeating: 0, count: d.P * d.O), cols = [Float](repeating: 0, count: d.P * d.KKC)
            var got = [Float](repeating: .nan, count: d.P * d.O)
            var u = [Float](repeating: 0, count: winogradWeightCount(d, tile))
            // A small block size too, so several blocks and a partial last block are exercised.
            for blockBytes in [WinogradPlan.defaultBlockBytes, 1] {
                var work = [Float](repeating: 0, count: winogradWorkspaceCount(d, tile, blockBytes: blockBytes))
                winogradTransformWeights(&u, w, d, tile)
                if let bias {
                    conv2dForward(&ref, &cols, x, w, bias, d)
                    #expect(winogradForward(&got, &work, x, u, bias, d, tile, blockBytes: blockBytes))
                } else {
                    conv2dForward(&ref, &cols, x, w, nil, d)
                    #expect(winogradForward(&got, &work, x, u, nil, d, tile, blockBytes: blockBytes))
                }
                let e = Self.errors(got, ref)
                #expect(e.rel <= Self.tolerance(tile), "\(tile) \(d) bias \(bias != nil): max abs \(e.abs), rel \(e.rel)")
                worst = (max(worst.abs, e.abs), max(worst.rel, e.rel))
            }
            tested += 1
        }
        #expect(tested > 90)
        print("Winograd \(tile) forward, \(tested) shapes: max abs error \(worst.abs), max rel error \(worst.rel)")
    }

    @Test(arguments: WinogradTile.allCases)
    func backwardDataMatchesIm2col(_ tile: WinogradTile) {
        var worst: (abs: Float, rel: Float) = (0, 0), tested = 0
        for (n, d) in Self.shapes.enumerated() where winogradSupported(d) {
            let x = vals(d.B * d.H * d.W * d.Cin, UInt64(n + 1)), w = vals(d.O * d.KKC, UInt64(n + 100))
            let g = vals(d.P * d.O, UInt64(n + 300)), start = vals(x.count, UInt64(n + 400))
            var cols = [Float](repeating: 0, count: d.P * d.KKC), dCols = cols
            var dw = [Float](repeating: 0, count: w.count)
            im2col(&cols, x, d)
            // Both start from the same nonzero dInp: the kernels accumulate.
            var ref = start, got = start
            conv2dBackward(&ref, &dw, nil, &dCols, g, cols, x, w, d)
            var u = [Float](repeating: 0, count: winogradWeightCount(d, tile))
            var work = [Float](repeating: 0, count: winogradWorkspaceCount(d, tile))
            winogradTransformWeightsBackward(&u, w, d, tile)
            #expect(winogradBackwardData(&got, &work, g, u, d, tile))
            // Scale of the gradient itself, not of the offset it was added to.
            let delta = zip(ref, start).map { $0 - $1 }, e = Self.errors(got, ref)
            let rel = e.abs / max(delta.map(abs).max() ?? 0, .leastNormalMagnitude)
            #expect(rel <= Self.tolerance(tile), "\(tile) \(d): max abs \(e.abs), rel \(rel)")
            worst = (max(worst.abs, e.abs), max(worst.rel, rel))
            tested += 1
        }
        #expect(tested > 90)
        print("Winograd \(tile) backward-data, \(tested) shapes: max abs error \(worst.abs), max rel error \(worst.rel)")
    }

    @Test(arguments: WinogradTile.allCases)
    func backwardWeightsMatchesIm2col(_ tile: WinogradTile) {
        var worst: (abs: Float, rel: Float) = (0, 0), worstBias: Float = 0, tested = 0
        for (n, d) in Self.shapes.enumerated() where winogradSupported(d) {
            let x = vals(d.B * d.H * d.W * d.Cin, UInt64(n + 1)), w = vals(d.O * d.KKC, UInt64(n + 100))
            let g = vals(d.P * d.O, UInt64(n + 300)), startW = vals(w.count, UInt64(n + 500)), startB = vals(d.O, UInt64(n + 600))
            var cols = [Float](repeating: 0, count: d.P * d.KKC), dCols = cols
            im2col(&cols, x, d)
            var refW = startW, refB = startB
            conv2dBackward(nil, &refW, &refB, &dCols, g, cols, x, w, d)
            // Several blocks per thread too, so the beta = 1 accumulation across blocks is exercised.
            for blockBytes in [WinogradPlan.defaultBlockBytes, 1] {
                var gotW = startW, gotB = startB
                var work = [Float](repeating: .nan, count: winogradWeightGradWorkspaceCount(d, tile, blockBytes: blockBytes))
                #expect(winogradBackwardWeights(&gotW, &gotB, &work, g, x, d, tile, blockBytes: blockBytes))
                let delta = zip(refW, startW).map { $0 - $1 }, e = Self.errors(gotW, refW)
                let rel = e.abs / max(delta.map(abs).max() ?? 0, .leastNormalMagnitude)
                #expect(rel <= Self.tolerance(tile), "\(tile) \(d): dW max abs \(e.abs), rel \(rel)")
                let eb = Self.errors(gotB, refB).abs
                #expect(eb <= 1e-3, "\(tile) \(d): dBias max abs \(eb)")
                worst = (max(worst.abs, e.abs), max(worst.rel, rel)); worstBias = max(worstBias, eb)
            }
            tested += 1
        }
        #expect(tested > 90)
        print("Winograd \(tile) backward-weights, \(tested) shapes: max abs error \(worst.abs), max rel error \(worst.rel); dBias max abs \(worstBias)")
    }

    /// Threads take forward blocks in whatever order they get to them, and sum dW over fixed
    /// ranges: both must give the same bits every run.
    @Test(arguments: WinogradTile.allCases)
    func repeatedRunsAreBitIdentical(_ tile: WinogradTile) {
        let d = ConvDims(B: 3, H: 32, W: 32, Cin: 16, O: 16, K: 3, stride: 1, pad: 1)
        let x = vals(d.B * d.H * d.W * d.Cin, 7), w = vals(d.O * d.KKC, 8), g = vals(d.P * d.O, 9)
        var u = [Float](repeating: 0, count: winogradWeightCount(d, tile))
        winogradTransformWeights(&u, w, d, tile)
        var work = [Float](repeating: 0, count: max(winogradWorkspaceCount(d, tile, blockBytes: 1),
                                                    winogradWeightGradWorkspaceCount(d, tile, blockBytes: 1)))
        var runs: [[Float]] = [], grads: [[Float]] = []
        for _ in 0..<4 {
            var out = [Float](repeating: 0, count: d.P * d.O), dw = [Float](repeating: 0, count: w.count)
            winogradForward(&out, &work, x, u, nil, d, tile, blockBytes: 1)
            winogradBackwardWeights(&dw, nil, &work, g, x, d, tile, blockBytes: 1)
            runs.append(out); grads.append(dw)
        }
        for r in 1..<4 {
            #expect(runs[r].elementsEqual(runs[0]), "forward run \(r) differs")
            #expect(grads[r].elementsEqual(grads[0]), "dW run \(r) differs")
        }
    }

    @Test func unsupportedDimsAreRefused() {
        let ok = ConvDims(B: 2, H: 8, W: 8, Cin: 4, O: 4, K: 3, stride: 1, pad: 1)
        #expect(winogradSupported(ok))
        var bad: [ConvDims] = []
        for change in [{ (d: inout ConvDims) in d.K = 1 }, { $0.K = 5 }, { $0.stride = 2 }, { $0.pad = 3 },
                       { $0.pad = -1 }, { $0.B = 0 }, { $0.Cin = 0 }, { $0.O = -3 }, { $0.H = 0 },
                       { $0.H = 1; $0.pad = 0 }, { $0.W = 2; $0.pad = 0 },        // output would be empty
                       { $0.B = 1 << 24; $0.H = 1 << 24; $0.W = 1 << 24 },       // counts overflow Int
                       { $0.Cin = 1 << 30 }] {
            var d = ok; change(&d); bad.append(d)
        }
        for d in bad { #expect(!winogradSupported(d), "\(d)") }
        // The kernels refuse them too, without touching their outputs.
        let d = ConvDims(B: 1, H: 4, W: 4, Cin: 2, O: 2, K: 3, stride: 2, pad: 1)
        var out = [Float](repeating: 7, count: 64), work = [Float](repeating: 0, count: 4096)
        let x = vals(32, 1), u = vals(72, 2)
        #expect(!winogradForward(&out, &work, x, u, nil, d, .f2))
        #expect(!winogradBackwardData(&out, &work, x, u, d, .f4))
        #expect(!winogradBackwardWeights(&out, nil, &work, x, u, d, .f2))
        #expect(out.allSatisfy { $0 == 7 })
    }

    /// Not a check: with TAILOR_BENCH=1, times im2col against Winograd on the 3×3 layers of the
    /// CIFAR ResNets at batch 128 and prints direct-convolution GFLOP/s (2·P·O·9·Cin / time, so
    /// Winograd's rate is "as if" it did all the multiplies) and the speed-up over im2col. Medians of
    /// 9 runs after a warm-up. Run it on an optimised build:
    ///   TAILOR_BENCH=1 swift test -Xswiftc -O --scratch-path .build-bench --filter KernelWinogradTests/benchmark
    @Test func benchmark() {
        guard let e = getenv("TAILOR_BENCH"), String(cString: e) == "1" else { return }
        func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
        func median(_ f: () -> Void) -> Double {
            f()   // warm-up
            var ts: [Double] = []
            for _ in 0..<9 { let t = now(); f(); ts.append(now() - t) }
            return ts.sorted()[ts.count / 2]
        }
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        func fixed(_ x: Double) -> String { String(Int(x)) + "." + String(Int(x * 100) % 100 / 10) + String(Int(x * 100) % 10) }
        print("Winograd benchmark, \(WinogradPlan.threads) threads (OpenBLAS's count)")
        print(pad("layer C×H×W, B=128", 20) + pad("pass", 18) + pad("variant", 22) + pad("ms", 9) + pad("GFLOP/s", 9) + "× im2col")
        for (c, s) in [(16, 32), (32, 16), (64, 8)] {
            let d = ConvDims(B: 128, H: s, W: s, Cin: c, O: c, K: 3, stride: 1, pad: 1)
            let flops = 2.0 * Double(d.P * d.O * d.KKC)
            let x = vals(d.B * d.H * d.W * d.Cin, 1), w = vals(d.O * d.KKC, 2), bias = vals(d.O, 3), g = vals(d.P * d.O, 4)
            var out = [Float](repeating: 0, count: d.P * d.O), cols = [Float](repeating: 0, count: d.P * d.KKC)
            var dx = [Float](repeating: 0, count: x.count), dCols = cols, dw = [Float](repeating: 0, count: w.count)
            func line(_ pass: String, _ v: String, _ t: Double, _ ref: Double, flops f: Double = flops) {
                print(pad("\(c)×\(s)×\(s)", 20) + pad(pass, 18) + pad(v, 22) + pad(fixed(t * 1e3), 9)
                      + pad(fixed(f / t / 1e9), 9) + fixed(ref / t))
            }
            let tF = median { conv2dForward(&out, &cols, x, w, bias, d) }
            line("forward", "im2col", tF, tF)
            for tile in WinogradTile.allCases {
                for kb in [256, 512, 2048] {
                    var work = [Float](repeating: 0, count: winogradWorkspaceCount(d, tile, blockBytes: kb * 1024))
                    var u = [Float](repeating: 0, count: winogradWeightCount(d, tile))
                    winogradTransformWeights(&u, w, d, tile)
                    let t = median { winogradForward(&out, &work, x, u, bias, d, tile, blockBytes: kb * 1024) }
                    line("forward", "\(tile) block \(kb)K", t, tF)
                }
            }
            // im2col backward-data alone: the dCols GEMM and col2im of conv2dBackward.
            let tB = median {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d.P), Int32(d.KKC), Int32(d.O),
                            1, g, Int32(d.O), w, Int32(d.KKC), 0, &dCols, Int32(d.KKC))
                col2im(&dx, dCols, d)
            }
            line("backward-data", "im2col", tB, tB)
            for tile in WinogradTile.allCases {
                var work = [Float](repeating: 0, count: winogradWorkspaceCount(d, tile))
                var ub = [Float](repeating: 0, count: winogradWeightCount(d, tile))
                winogradTransformWeightsBackward(&ub, w, d, tile)
                let t = median { winogradBackwardData(&dx, &work, g, ub, d, tile) }
                line("backward-data", "\(tile)", t, tB)
            }
            // im2col weight gradient: the dW GEMM alone (cols cached by an im2col forward), and
            // with the im2col it needs when the forward ran through Winograd.
            let dwGemm = {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d.O), Int32(d.KKC), Int32(d.P),
                            1, g, Int32(d.O), cols, Int32(d.KKC), 1, &dw, Int32(d.KKC))
            }
            let tW = median { dwGemm() }
            let tWi = median { im2col(&cols, x, d); dwGemm() }
            line("backward-weights", "im2col GEMM only", tW, tW)
            line("backward-weights", "im2col + GEMM", tWi, tW)
            for tile in WinogradTile.allCases {
                for kb in [512, 2048] {
                    var work = [Float](repeating: 0, count: winogradWeightGradWorkspaceCount(d, tile, blockBytes: kb * 1024))
                    let t = median { winogradBackwardWeights(&dw, nil, &work, g, x, d, tile, blockBytes: kb * 1024) }
                    line("backward-weights", "\(tile) block \(kb)K", t, tW)
                }
            }
            for tile in WinogradTile.allCases {
                var u = [Float](repeating: 0, count: winogradWeightCount(d, tile)), ub = u
                let t = median { winogradTransformWeights(&u, w, d, tile); winogradTransformWeightsBackward(&ub, w, d, tile) }
                line("weight transforms", "\(tile) fwd + bwd", t, tF)
            }
        }
    }
}
