// Losses on logits (B, C): value and dLogits (overwritten, not accumulated: a loss starts backward).
//  - cross-entropy, mean over the batch (nn.CrossEntropyLoss);
//  - KD with MSE (Tailor authors' code): alpha·MSE(teacher, student) + (1−alpha)·CE, MSE the mean
//    over all B·C elements (F.mse_loss);
//  - KD Hinton: alpha·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−alpha)·CE, KL with 'batchmean'
//    (F.kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean')).
import Glibc

public enum LossKind: Equatable, Sendable {
    case crossEntropy
    case kdMSE(alpha: Float)
    case kdHinton(alpha: Float, temperature: Float)

    var needsTeacher: Bool { self != .crossEntropy }
}

/// Loss value; writes dLogits. `teacher` (B, C) is required for the KD losses.
func lossForwardBackward(_ kind: LossKind,
                         _ dLogits: UnsafeMutablePointer<Float>,  // (B, C)
                         _ logits: UnsafePointer<Float>,          // (B, C)
                         _ labels: UnsafePointer<Int32>,          // (B)
                         _ teacher: UnsafePointer<Float>?,        // (B, C) or nil
                         _ B: Int, _ C: Int) throws -> Float {
    let ce = try softmaxCrossEntropy(dLogits, logits, labels, B, C)
    switch kind {
    case .crossEntropy:
        return ce
    case .kdMSE(let alpha):
        guard let t = teacher else { throw TailorError.invalid("the KD loss needs teacher logits") }
        let n = B * C
        var mse = 0.0
        let scale = 2 * alpha / Float(n)
        for i in 0..<n {
            let d = logits[i] - t[i]
            mse += Double(d * d)
            dLogits[i] = (1 - alpha) * dLogits[i] + scale * d
        }
        return alpha * Float(mse / Double(n)) + (1 - alpha) * ce
    case .kdHinton(let alpha, let T):
        guard let t = teacher else { throw TailorError.invalid("the KD loss needs teacher logits") }
        var kl = 0.0
        var ps = [Float](repeating: 0, count: C), pt = ps, lps = ps, lpt = ps
        for b in 0..<B {
            logSoftmax(&lps, logits + b * C, C, T)
            logSoftmax(&lpt, t + b * C, C, T)
            for c in 0..<C {
                ps[c] = expf(lps[c]); pt[c] = expf(lpt[c])
                if pt[c] > 0 { kl += Double(pt[c] * (lpt[c] - lps[c])) }
            }
            // d/ds of alpha·T²·KL/B = alpha·T·(ps − pt)/B.
            let scale = alpha * T / Float(B)
            let d = dLogits + b * C
            for c in 0..<C { d[c] = (1 - alpha) * d[c] + scale * (ps[c] - pt[c]) }
        }
        return alpha * T * T * Float(kl / Double(B)) + (1 - alpha) * ce
    }
}

/// out[c] = log softmax(z / T)[c].
private func logSoftmax(_ out: inout [Float], _ z: UnsafePointer<Float>, _ C: Int, _ T: Float) {
    var m = -Float.infinity
    for c in 0..<C { m = max(m, z[c] / T) }
    var s: Float = 0
    for c in 0..<C { s += expf(z[c] / T - m) }
    let lse = logf(s) + m
    for c in 0..<C { out[c] = z[c] / T - lse }
}
