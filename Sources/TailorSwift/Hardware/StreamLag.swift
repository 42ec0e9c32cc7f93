// How far a skip's branch lags behind its clone, in words of a stream (DESIGN.md §5).
//
// The adder reads one word from each input in lockstep, so the skip FIFO must hold every word
// the clone emits before the branch's first output reaches the adder. A streaming K×K conv
// (line buffer, padding made explicit) emits output (0,0) once input pixel (K−1−p, K−1−p) has
// arrived, and then keeps pace. Walking a branch backwards from its first output gives the
// source pixel (r, c) it depends on; the clone has then emitted r·W + c + 1 pixels. That is the
// rule; hls4ml's FifoDepthOptimization sets depth = max occupancy + 1 = lag + 1.

/// One windowed op of a branch, with the input it reads.
struct Window {
    var kernel: Int, stride: Int, padding: Int
    var input: Shape
}

enum StreamLag {
    /// The source pixel (row, col) that the branch's first output depends on.
    static func firstDependency(_ branch: [Window]) -> (row: Int, col: Int) {
        var r = 0, c = 0
        for w in branch.reversed() {
            r = min(max(r * w.stride + w.kernel - 1 - w.padding, 0), w.input.h - 1)
            c = min(max(c * w.stride + w.kernel - 1 - w.padding, 0), w.input.w - 1)
        }
        return (r, c)
    }

    /// Source pixels the clone has emitted when the branch's first output appears.
    static func lagPixels(_ branch: [Window]) -> Int {
        guard let first = branch.first else { return 0 }
        let (r, c) = firstDependency(branch)
        return r * first.input.w + c + 1
    }

    /// Outputs a 1×1 projection with `stride` over a `source`-shaped stream has produced once
    /// the first `pixels` source pixels arrived: they wait in the FIFO behind the projection.
    static func projectionOutputs(afterPixels pixels: Int, source: Shape, stride s: Int) -> Int {
        let oh = (source.h - 1) / s + 1, ow = (source.w - 1) / s + 1
        var n = 0
        for i in 0..<oh {
            let rowStart = i * s * source.w
            if rowStart >= pixels { break }
            n += min(ow, (pixels - 1 - rowStart) / s + 1)
        }
        return n
    }
}
