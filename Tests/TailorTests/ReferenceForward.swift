import Glibc
@testable import TailorSwift

/// A plain node-by-node forward in inference mode (no fusion, no folding, no executor): the
/// reference the executor's inference path is checked against (InferencePlanTests). It was the
/// library's second forward path; the library now has one, and this stays here as the oracle.
enum ReferenceForward {
    /// Winograd tile for 3×3 stride-1 convs: F(4×4, 3×3) does 2.25 instead of 9 multiplies per
    /// output and channel; its error (about 1e-5 of the output scale, KernelWinogradTests) is well
    /// inside the 1e-4 parity with PyTorch.
    static let winogradTile = WinogradTile.f4

    /// Conv weights permuted once from PyTorch's OIHW to the kernel's O·K·K·Cin, and for 3×3
    /// stride-1 convs also Winograd-transformed once per predict call (not once per chunk).
    struct PreparedWeights {
        var conv: [String: [Float]] = [:]
        var winograd: [String: [Float]] = [:]
        init(_ net: Network) throws {
            for node in net.nodes {
                guard case .conv2d(let a) = node.op else { continue }
                let w = try net.parameter("\(node.name).weight")
                let O = a.outChannels, K = a.kernel, I = w.shape[1]
                var p = [Float](repeating: 0, count: w.count)
                for o in 0..<O { for i in 0..<I { for ky in 0..<K { for kx in 0..<K {
                    p[((o * K + ky) * K + kx) * I + i] = w.data[((o * I + i) * K + ky) * K + kx]
                } } } }
                conv[node.name] = p
                // The transform depends only on O and Cin; the image size is checked per chunk.
                let d = ConvDims(B: 1, H: K, W: K, Cin: I, O: O, K: K, stride: a.stride, pad: a.padding)
                if winogradSupported(d) {
                    var u = [Float](repeating: 0, count: winogradWeightCount(d, ReferenceForward.winogradTile))
                    u.withUnsafeMutableBufferPointer { winogradTransformWeights($0.baseAddress!, p, d, ReferenceForward.winogradTile) }
                    winograd[node.name] = u
                }
            }
        }
    }

    static func forwardChunk(_ net: Network, _ prepared: PreparedWeights, _ x: UnsafePointer<Float>, batch B: Int) throws -> [Float] {
        var remaining = net.consumerCounts()
        var acts: [String: [Float]] = [:]
        func take(_ name: String) throws -> [Float] {
            guard let a = acts[name] else { throw TailorError(.internal, "activation '\(name)' missing") }
            remaining[name, default: 1] -= 1
            if remaining[name, default: 0] <= 0 { acts[name] = nil }
            return a
        }
        func param(_ n: String) throws -> [Float] { try net.parameter(n).data }
        var inputShapes: [String: Shape] = [:]
        for node in net.nodes { inputShapes[node.name] = node.shape }
        var last: [Float] = []
        // Winograd workspace shared by the chunk's convs, grown to the largest: zero-filling a fresh
        // one per layer showed up in profiles.
        var work: [Float] = []
        for node in net.nodes {
            let s = node.shape
            let inShape = node.inputs.first.flatMap { inputShapes[$0] } ?? s
            var out = [Float](repeating: 0, count: B * s.count)
            switch node.op {
            case .input:
                // NCHW → NHWC
                for b in 0..<B { for c in 0..<s.c { for p in 0..<(s.h * s.w) {
                    out[(b * s.h * s.w + p) * s.c + c] = x[(b * s.c + c) * s.h * s.w + p]
                } } }
            case .conv2d(let a):
                let inp = try take(node.inputs[0])
                let d = ConvDims(B: B, H: inShape.h, W: inShape.w, Cin: inShape.c, O: a.outChannels, K: a.kernel,
                                 stride: a.stride, pad: a.padding)
                guard let w = prepared.conv[node.name] else { throw TailorError(.internal, "weights of '\(node.name)' missing") }
                let bias = a.bias ? try param("\(node.name).bias") : nil
                if let u = prepared.winograd[node.name], winogradSupported(d) {
                    let tile = ReferenceForward.winogradTile
                    let need = winogradWorkspaceCount(d, tile)
                    if work.count < need { work = [Float](repeating: 0, count: need) }
                    inp.withUnsafeBufferPointer { ip in u.withUnsafeBufferPointer { up in work.withUnsafeMutableBufferPointer { wk in
                        out.withUnsafeMutableBufferPointer { op in
                            if let bias {
                                bias.withUnsafeBufferPointer { _ = winogradForward(op.baseAddress!, wk.baseAddress!, ip.baseAddress!, up.baseAddress!, $0.baseAddress!, d, tile) }
                            } else {
                                winogradForward(op.baseAddress!, wk.baseAddress!, ip.baseAddress!, up.baseAddress!, nil, d, tile)
                            }
                        } } } }
                    break
                }
                var cols = [Float](repeating: 0, count: (a.kernel == 1 && a.stride == 1 && a.padding == 0) ? 1 : d.P * d.KKC)
                inp.withUnsafeBufferPointer { ip in w.withUnsafeBufferPointer { wp in cols.withUnsafeMutableBufferPointer { cp in
                    out.withUnsafeMutableBufferPointer { op in
                        if let bias {
                            bias.withUnsafeBufferPointer { conv2dForward(op.baseAddress!, cp.baseAddress!, ip.baseAddress!, wp.baseAddress!, $0.baseAddress!, d) }
                        } else {
                            conv2dForward(op.baseAddress!, cp.baseAddress!, ip.baseAddress!, wp.baseAddress!, nil, d)
                        }
                    } } } }
            case .batchnorm(let a):
                let inp = try take(node.inputs[0])
                let g = try param("\(node.name).weight"), be = try param("\(node.name).bias")
                let m = try param("\(node.name).running_mean"), v = try param("\(node.name).running_var")
                out.withUnsafeMutableBufferPointer { op in
                    batchnormForwardEval(op.baseAddress!, inp, g, be, m, v, B * s.h * s.w, s.c, eps: Float(a.eps))
                }
            case .relu:
                let inp = try take(node.inputs[0])
                out.withUnsafeMutableBufferPointer { reluForward($0.baseAddress!, inp, inp.count) }
            case .add:
                let a = try take(node.inputs[0]), b = try take(node.inputs[1])
                out.withUnsafeMutableBufferPointer { addForward($0.baseAddress!, a, b, a.count, relu: false) }
            case .maxpool(let a), .avgpool(let a):
                let inp = try take(node.inputs[0])
                let d = ConvDims(B: B, H: inShape.h, W: inShape.w, Cin: inShape.c, O: inShape.c, K: a.kernel,
                                 stride: a.stride, pad: a.padding)
                if case .maxpool = node.op {
                    var argmax = [Int32](repeating: 0, count: out.count)
                    out.withUnsafeMutableBufferPointer { maxpoolForward($0.baseAddress!, &argmax, inp, d) }
                } else {
                    out.withUnsafeMutableBufferPointer { avgpoolForward($0.baseAddress!, inp, d) }
                }
            case .globalAvgPool:
                let inp = try take(node.inputs[0])
                out.withUnsafeMutableBufferPointer { globalAvgPoolForward($0.baseAddress!, inp, B, inShape.h * inShape.w, inShape.c) }
            case .flatten:
                // PyTorch flattens C×H×W in that order; NHWC must be permuted unless H·W = 1.
                let inp = try take(node.inputs[0])
                let hw = inShape.h * inShape.w, c = inShape.c
                for b in 0..<B { for p in 0..<hw { for ch in 0..<c { out[b * s.c + ch * hw + p] = inp[(b * hw + p) * c + ch] } } }
            case .dense(let a):
                let inp = try take(node.inputs[0])
                let w = try param("\(node.name).weight")
                let bias = a.bias ? try param("\(node.name).bias") : nil
                out.withUnsafeMutableBufferPointer { op in
                    if let bias { bias.withUnsafeBufferPointer { denseForward(op.baseAddress!, inp, w, $0.baseAddress!, B, inShape.c, a.outFeatures) } }
                    else { denseForward(op.baseAddress!, inp, w, nil, B, inShape.c, a.outFeatures) }
                }
            }
            if node.name == net.nodes.last?.name { last = out } else { acts[node.name] = out }
        }
        // Output back to NCHW order per sample (a no-op for the usual (classes, 1, 1) logits).
        guard let o = net.outputNode?.shape, o.h * o.w > 1 else { return last }
        var nchw = [Float](repeating: 0, count: last.count)
        for b in 0..<B { for p in 0..<(o.h * o.w) { for c in 0..<o.c { nchw[(b * o.c + c) * o.h * o.w + p] = last[(b * o.h * o.w + p) * o.c + c] } } }
        return nchw
    }
}
