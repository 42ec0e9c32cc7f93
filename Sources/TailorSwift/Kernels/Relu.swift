// ReLU forward/backward (llm.c style: one op, both directions, side by side).
// Elementwise, so layout-agnostic. Callers validate `n` against their buffers.
// Eight lanes at a time with SIMD8 (the scalar select compiles to a branch per element).

/// out[n] = max(0, inp[n]), NaN kept as NaN (as torch.relu), so a fault upstream reaches the
/// output checks instead of being hidden as 0. `out` may alias `inp`.
func reluForward(_ out: UnsafeMutablePointer<Float>,   // (n)
                 _ inp: UnsafePointer<Float>,          // (n)
                 _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(inp + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: v.replacing(with: 0, where: v .< 0), as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { let v = inp[i]; out[i] = v < 0 ? 0 : v; i += 1 }
}

/// dInp[n] += dOut[n] where out > 0. Uses the forward *output* so the input need not be kept.
func reluBackward(_ dInp: UnsafeMutablePointer<Float>, // (n)
                  _ dOut: UnsafePointer<Float>,        // (n)
                  _ out: UnsafePointer<Float>,         // (n) forward output
                  _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let o = UnsafeRawPointer(out + i).loadUnaligned(as: SIMD8<Float>.self)
        let g = UnsafeRawPointer(dOut + i).loadUnaligned(as: SIMD8<Float>.self)
        let d = UnsafeRawPointer(dInp + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dInp + i).storeBytes(of: d + g.replacing(with: 0, where: .!(o .> 0)), as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { if out[i] > 0 { dInp[i] += dOut[i] }; i += 1 }
}
