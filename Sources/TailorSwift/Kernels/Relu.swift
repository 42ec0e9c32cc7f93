// ReLU forward/backward (llm.c style: one op, both directions, side by side).
// Elementwise, so layout-agnostic. Callers validate `n` against their buffers.

/// out[n] = max(0, inp[n]). `out` may alias `inp`.
func reluForward(_ out: UnsafeMutablePointer<Float>,   // (n)
                 _ inp: UnsafePointer<Float>,          // (n)
                 _ n: Int) {
    for i in 0..<n { let v = inp[i]; out[i] = v > 0 ? v : 0 }
}

/// dInp[n] += dOut[n] where out > 0. Uses the forward *output* so the input need not be kept.
func reluBackward(_ dInp: UnsafeMutablePointer<Float>, // (n)
                  _ dOut: UnsafePointer<Float>,        // (n)
                  _ out: UnsafePointer<Float>,         // (n) forward output
                  _ n: Int) {
    // Branch-free so it vectorises: a masked add per element.
    for i in 0..<n { dInp[i] += out[i] > 0 ? dOut[i] : 0 }
}
