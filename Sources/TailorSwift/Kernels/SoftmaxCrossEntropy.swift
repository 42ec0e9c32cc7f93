// Softmax cross-entropy, mean over the batch (PyTorch's nn.CrossEntropyLoss default).
import Glibc

/// Returns the mean loss; writes dLogits = (softmax - onehot) / B (overwrites, not +=: a loss
/// head starts the backward pass). Throws on a label outside 0..<C.
func softmaxCrossEntropy(_ dLogits: UnsafeMutablePointer<Float>, // (B, C)
                         _ logits: UnsafePointer<Float>,         // (B, C)
                         _ labels: UnsafePointer<Int32>,         // (B)
                         _ B: Int, _ C: Int) throws -> Float {
    var loss = 0.0
    let invB = 1 / Float(B)
    for b in 0..<B {
        let y = Int(labels[b])
        guard y >= 0 && y < C else { throw TailorError.invalid("label \(y) at sample \(b) is outside 0..<\(C)") }
        let z = logits + b * C, d = dLogits + b * C
        var m = -Float.infinity
        for c in 0..<C { m = max(m, z[c]) }
        var s: Float = 0
        for c in 0..<C { let e = expf(z[c] - m); d[c] = e; s += e }
        loss += Double(logf(s) + m - z[y])
        let inv = 1 / s
        for c in 0..<C { d[c] = d[c] * inv * invB }
        d[y] -= invB
    }
    return Float(loss / Double(B))
}
