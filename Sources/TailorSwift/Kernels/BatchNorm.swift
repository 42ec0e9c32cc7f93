// BatchNorm over NHWC rows (N = B·H·W rows of C channels), PyTorch semantics:
// training normalises with the biased batch variance and updates running_var with the
// unbiased one, running = (1 - momentum)·running + momentum·batch.
import Glibc

/// Training forward. Caches per-channel mean and 1/sqrt(var+eps) for the backward pass.
func batchnormForwardTrain(_ out: UnsafeMutablePointer<Float>,   // (N, C)
                           _ mean: UnsafeMutablePointer<Float>,  // (C) cache
                           _ rstd: UnsafeMutablePointer<Float>,  // (C) cache
                           _ runMean: UnsafeMutablePointer<Float>, // (C) updated
                           _ runVar: UnsafeMutablePointer<Float>,  // (C) updated
                           _ inp: UnsafePointer<Float>,          // (N, C)
                           _ gamma: UnsafePointer<Float>,        // (C)
                           _ beta: UnsafePointer<Float>,         // (C)
                           _ N: Int, _ C: Int, eps: Float, momentum: Float) {
    // Accumulate in Double: N can be 128·32·32 rows.
    var s = [Double](repeating: 0, count: C), ss = s
    for r in 0..<N { let x = inp + r * C; for c in 0..<C { let v = Double(x[c]); s[c] += v; ss[c] += v * v } }
    for c in 0..<C {
        let m = s[c] / Double(N), v = max(0, ss[c] / Double(N) - m * m)
        mean[c] = Float(m); rstd[c] = Float(1 / (v + Double(eps)).squareRoot())
        let unbiased = N > 1 ? v * Double(N) / Double(N - 1) : v
        runMean[c] = (1 - momentum) * runMean[c] + momentum * Float(m)
        runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(unbiased)
    }
    for r in 0..<N { let x = inp + r * C, o = out + r * C
        for c in 0..<C { o[c] = (x[c] - mean[c]) * rstd[c] * gamma[c] + beta[c] } }
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

/// Training backward: dInp, dGamma, dBeta all accumulate.
func batchnormBackward(_ dInp: UnsafeMutablePointer<Float>,    // (N, C)
                       _ dGamma: UnsafeMutablePointer<Float>,  // (C)
                       _ dBeta: UnsafeMutablePointer<Float>,   // (C)
                       _ dOut: UnsafePointer<Float>,           // (N, C)
                       _ inp: UnsafePointer<Float>,            // (N, C)
                       _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, // (C) cache
                       _ gamma: UnsafePointer<Float>,          // (C)
                       _ N: Int, _ C: Int) {
    var sg = [Double](repeating: 0, count: C), sgx = sg
    for r in 0..<N { let x = inp + r * C, g = dOut + r * C
        for c in 0..<C { sg[c] += Double(g[c]); sgx[c] += Double(g[c] * (x[c] - mean[c]) * rstd[c]) } }
    for c in 0..<C { dBeta[c] += Float(sg[c]); dGamma[c] += Float(sgx[c]) }
    let invN = 1 / Float(N)
    for r in 0..<N { let x = inp + r * C, g = dOut + r * C, d = dInp + r * C
        for c in 0..<C {
            let xh = (x[c] - mean[c]) * rstd[c]
            d[c] += gamma[c] * rstd[c] * (g[c] - Float(sg[c]) * invN - xh * Float(sgx[c]) * invN)
        } }
}
