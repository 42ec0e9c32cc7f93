// Fully connected layer, weights in PyTorch layout (out, in). Both directions are one sgemm.
import COpenBLAS

/// out[B,O] = inp[B,I] · Wᵀ + bias.
func denseForward(_ out: UnsafeMutablePointer<Float>,  // (B, O)
                  _ inp: UnsafePointer<Float>,         // (B, I)
                  _ w: UnsafePointer<Float>,           // (O, I)
                  _ bias: UnsafePointer<Float>?,       // (O)
                  _ B: Int, _ I: Int, _ O: Int) {
    for b in 0..<B { for o in 0..<O { out[b * O + o] = bias?[o] ?? 0 } }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(B), Int32(O), Int32(I),
                1, inp, Int32(I), w, Int32(I), 1, out, Int32(O))
}

/// dInp += dOut·W, dW += dOutᵀ·inp, dBias += Σ_b dOut (all accumulate).
func denseBackward(_ dInp: UnsafeMutablePointer<Float>?, // (B, I) nil when not needed
                   _ dW: UnsafeMutablePointer<Float>,    // (O, I)
                   _ dBias: UnsafeMutablePointer<Float>?,// (O)
                   _ dOut: UnsafePointer<Float>,         // (B, O)
                   _ inp: UnsafePointer<Float>,          // (B, I)
                   _ w: UnsafePointer<Float>,            // (O, I)
                   _ B: Int, _ I: Int, _ O: Int) {
    if let dInp {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(B), Int32(I), Int32(O),
                    1, dOut, Int32(O), w, Int32(I), 1, dInp, Int32(I))
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(O), Int32(I), Int32(B),
                1, dOut, Int32(O), inp, Int32(I), 1, dW, Int32(I))
    if let dBias { for b in 0..<B { for o in 0..<O { dBias[o] += dOut[b * O + o] } } }
}
