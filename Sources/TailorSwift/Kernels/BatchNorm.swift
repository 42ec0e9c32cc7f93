// BatchNorm over NHWC rows (N = B·H·W rows of C channels), PyTorch semantics:
// training normalises with the biased batch variance and updates running_var with the
// unbiased one, running = (1 - momentum)·running + momentum·batch.
import Glibc

/// Training forward. Caches per-channel mean and 1/sqrt(var+eps) for the backward pass. With
/// `relu`, writes max(0, ·) instead (the executor fuses a following ReLU: one pass, not two).
func batchnormForwardTrain(_ out: UnsafeMutablePointer<Float>,   // (N, C)
                           _ mean: UnsafeMutablePointer<Float>,  // (C) cache
                           _ rstd: UnsafeMutablePointer<Float>,  // (C) cache
                           _ runMean: UnsafeMutablePointer<Float>, // (C) updated
                           _ runVar: UnsafeMutablePointer<Float>,  // (C) updated
                           _ inp: UnsafePointer<Float>,          // (N, C)
                           _ gamma: UnsafePointer<Float>,        // (C)
                           _ beta: UnsafePointer<Float>,         // (C)
                           _ N: Int, _ C: Int, eps: Float, momentum: Float, relu: Bool = false) {
    // N can be 128·32·32 rows: sum blocks of rows in Float (vectorised), blocks in Double.
    var s = [Double](repeating: 0, count: C), ss = s
    channelSums(&s, &ss, inp, nil, nil, N, C)
    for c in 0..<C {
        let m = s[c] / Double(N), v = max(0, ss[c] / Double(N) - m * m)
        mean[c] = Float(m); rstd[c] = Float(1 / (v + Double(eps)).squareRoot())
        let unbiased = N > 1 ? v * Double(N) / Double(N - 1) : v
        runMean[c] = (1 - momentum) * runMean[c] + momentum * Float(m)
        runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(unbiased)
    }
    parallelFor(N, grain: max(1, (1 << 14) / max(C, 1))) { rows in
        if relu {
            for r in rows { let x = inp + r * C, o = out + r * C
                for c in 0..<C { let v = (x[c] - mean[c]) * rstd[c] * gamma[c] + beta[c]; o[c] = v < 0 ? 0 : v } }
        } else {
            for r in rows { let x = inp + r * C, o = out + r * C
                for c in 0..<C { o[c] = (x[c] - mean[c]) * rstd[c] * gamma[c] + beta[c] } }
        }
    }
}

/// Inference forward with running statistics.
func batchnormForwardEval(_ out: UnsafeMutablePointer<Float>,   // (N, C)
                          _ inp: UnsafePointer<Float>,          // (N, C)
                          _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, // (C)
                          _ runMean: UnsafePointer<Float>, _ runVar: UnsafePointer<Float>, // (C)
                          _ N: Int, _ C: Int, eps: Float) {
    var a = [Float](repeating: 0, count: C), b = a
    for c in 0..<C { a[c] = gamma[c] / sqrtf(runVar[c] + eps); b[c] = beta[c] - runMean[c] * a[c] }
    for r in 0..<N { let x = inp + r * C, o = out + r * C; for c in 0..<C { o[c] = x[c] * a[c] + b[c] } }
}

/// Training backward: dInp (unless not `accumulate`: then it is overwritten), dGamma, dBeta
/// accumulate. With `reluOut` (a fused ReLU's forward
/// output), dOut is the ReLU's output gradient and is masked by reluOut > 0 as it is read.
func batchnormBackward(_ dInp: UnsafeMutablePointer<Float>,    // (N, C)
                       _ dGamma: UnsafeMutablePointer<Float>,  // (C)
                       _ dBeta: UnsafeMutablePointer<Float>,   // (C)
                       _ dOut: UnsafePointer<Float>,           // (N, C)
                       _ inp: UnsafePointer<Float>,            // (N, C)
                       _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, // (C) cache
                       _ gamma: UnsafePointer<Float>,          // (C)
                       _ N: Int, _ C: Int, reluOut: UnsafePointer<Float>? = nil, accumulate: Bool = true) {
    var sg = [Double](repeating: 0, count: C), sgx = sg
    channelSums(&sg, &sgx, dOut, inp, mean, N, C, mask: reluOut)
    for c in 0..<C { sgx[c] *= Double(rstd[c]) }
    for c in 0..<C { dBeta[c] += Float(sg[c]); dGamma[c] += Float(sgx[c]) }
    // d += k·g − k·mean(g) − k·xh·mean(g·xh) with k = γ·rstd, xh = (x − mean)·rstd, folded
    // into d += k·g + a·x + b per channel.
    let invN = 1 / Double(N)
    let k = UnsafeMutablePointer<Float>.allocate(capacity: 3 * C)
    defer { k.deallocate() }
    let aa = k + C, bb = k + 2 * C
    for c in 0..<C {
        let kc = Double(gamma[c]) * Double(rstd[c]), r = Double(rstd[c])
        let a = -kc * r * sgx[c] * invN
        k[c] = Float(kc); aa[c] = Float(a)
        bb[c] = Float(-kc * sg[c] * invN - a * Double(mean[c]))
    }
    parallelFor(N, grain: max(1, (1 << 14) / max(C, 1))) { rows in
        if let reluOut, !accumulate {
            for r in rows { let x = inp + r * C, g = dOut + r * C, d = dInp + r * C, m = reluOut + r * C
                for c in 0..<C { d[c] = k[c] * (m[c] > 0 ? g[c] : 0) + aa[c] * x[c] + bb[c] } }
        } else if let reluOut {
            for r in rows { let x = inp + r * C, g = dOut + r * C, d = dInp + r * C, m = reluOut + r * C
                for c in 0..<C { d[c] += k[c] * (m[c] > 0 ? g[c] : 0) + aa[c] * x[c] + bb[c] } }
        } else if !accumulate {
            for r in rows { let x = inp + r * C, g = dOut + r * C, d = dInp + r * C
                for c in 0..<C { d[c] = k[c] * g[c] + aa[c] * x[c] + bb[c] } }
        } else {
            for r in rows { let x = inp + r * C, g = dOut + r * C, d = dInp + r * C
                for c in 0..<C { d[c] += k[c] * g[c] + aa[c] * x[c] + bb[c] } }
        }
    }
}

/// Per-channel sums over N rows of C: with `x`/`mean` nil, s += v and ss += v² of `a`;
/// otherwise s += a and ss += a·(x − mean), with a read as 0 where `mask` ≤ 0 when given. Rows are summed in Float in blocks of 64 (a
/// vectorisable inner loop), each block's partial sums added in Double; row ranges run on the
/// worker pool and their Double totals are added in part order (deterministic).
private func channelSums(_ s: inout [Double], _ ss: inout [Double],
                         _ a: UnsafePointer<Float>,            // (N, C)
                         _ x: UnsafePointer<Float>?,           // (N, C) or nil
                         _ mean: UnsafePointer<Float>?,        // (C) or nil
                         _ N: Int, _ C: Int, mask: UnsafePointer<Float>? = nil) {
    let parts = WorkerPool.shared.width
    let totals = UnsafeMutablePointer<Double>.allocate(capacity: 2 * C * parts)
    totals.initialize(repeating: 0, count: 2 * C * parts)
    defer { totals.deallocate() }
    parallelParts(N, grain: max(1, (1 << 14) / max(C, 1))) { part, rows in
        let ts = totals + 2 * C * part, tss = ts + C
        let ps = UnsafeMutablePointer<Float>.allocate(capacity: 2 * C)
        defer { ps.deallocate() }
        let pss = ps + C
        var r0 = rows.lowerBound
        while r0 < rows.upperBound {
            let r1 = min(rows.upperBound, r0 + 64)
            ps.update(repeating: 0, count: 2 * C)
            if let x, let mean, let mask {
                for r in r0..<r1 { let g = a + r * C, xr = x + r * C, m = mask + r * C
                    for c in 0..<C { let gc = m[c] > 0 ? g[c] : 0; ps[c] += gc; pss[c] += gc * (xr[c] - mean[c]) } }
            } else if let x, let mean {
                for r in r0..<r1 { let g = a + r * C, xr = x + r * C
                    for c in 0..<C { ps[c] += g[c]; pss[c] += g[c] * (xr[c] - mean[c]) } }
            } else {
                for r in r0..<r1 { let v = a + r * C
                    for c in 0..<C { ps[c] += v[c]; pss[c] += v[c] * v[c] } }
            }
            for c in 0..<C { ts[c] += Double(ps[c]); tss[c] += Double(pss[c]) }
            r0 = r1
        }
    }
    for p in 0..<parts { let ts = totals + 2 * C * p; for c in 0..<C { s[c] += ts[c]; ss[c] += ts[C + c] } }
}
