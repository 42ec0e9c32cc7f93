// The compute side of a layer — weights, multipliers, line buffers — with the simple estimates of
// docs/hardware.md. Coarse on purpose: they exist so the skip figures can be read as a share of a design.

extension ResourceModel {
    /// Weights of a conv or dense layer (`params` values). hls4ml and FINN read ⌈P/R⌉ weights per
    /// cycle, so the array is a ROM R words deep; R = 1 makes them constants folded into the logic.
    func weights(node: String, params: Int) -> Component {
        var comp = Component(name: "weights")
        let bw = config.weightBits(of: node)
        let bits = params * bw
        if config.target == .peArray {
            comp.memory = .dram
            comp.cost.bytes = HardwareMath.ceilDiv(bits, 8)
            if explaining { comp.explain = [("bytes", "weights read once per inference: \(params)·\(bw) bits / 8 = \(comp.cost.bytes)")] }
            return comp
        }
        let r = config.reuseFactor
        guard r > 1 else {
            if explaining { comp.explain = [("memory", "reuse factor 1: \(params) weights are constants in the multipliers")] }
            return comp
        }
        let depth = r, width = HardwareMath.ceilDiv(params, r) * bw
        comp.depthWords = depth
        comp.wordBits = width
        if depth * width <= 1024 || depth <= 2 {
            comp.memory = .lutram
            comp.cost.lut = HardwareMath.ceilDiv(depth * width, 64)
            if explaining { comp.explain = [("lut", "ROM \(depth)×\(width) bits ≤ 1024 bits or depth ≤ 2, in LUTs: ⌈\(depth * width)/64⌉ = \(comp.cost.lut)")] }
        } else {
            let (n, s) = Memory.bram18(depth: depth, width: width)
            comp.memory = .bram
            comp.cost.bram18 = n
            if explaining { comp.explain = [("bram18", "ROM \(depth) words × ⌈\(params)/\(r)⌉·\(bw) = \(width) bits: ⌈\(depth)/\(s.depth)⌉·⌈\(width)/\(s.width)⌉ = \(n) BRAM18")] }
        }
        return comp
    }

    /// Multipliers of a layer doing `macsPerOutput` multiply-accumulates per output pixel.
    /// Operands of 10 bits or more go to DSP slices, narrower ones to LUTs (≈ a·b/2 LUT each).
    func multipliers(node: String, macsPerOutput: Int, inputBits: Int) -> Component {
        var comp = Component(name: "multipliers")
        let bw = config.weightBits(of: node)
        let n = HardwareMath.ceilDiv(macsPerOutput, config.reuseFactor)
        if max(bw, inputBits) >= 10 {
            comp.cost.dsp = n
            if explaining { comp.explain = [("dsp", "⌈\(macsPerOutput) MACs per output / reuse \(config.reuseFactor)⌉ = \(n) multipliers, operands ≥ 10 bits → DSP")] }
        } else {
            let each = HardwareMath.ceilDiv(bw * inputBits, 2)
            comp.cost.lut = n * each
            if explaining { comp.explain = [("lut", "⌈\(macsPerOutput)/\(config.reuseFactor)⌉ = \(n) multipliers of \(bw)×\(inputBits) bits in LUTs, ⌈\(bw)·\(inputBits)/2⌉ each = \(comp.cost.lut)")] }
        }
        return comp
    }

    /// A K×K sliding window over a padded input: (K−1) lines of W_in values in SRLs plus the K×K window registers.
    func lineBuffer(kernel k: Int, padding p: Int, input: Shape, bits: Int) -> Component {
        var comp = Component(name: "line buffer", shape: input)
        let wIn = input.w + 2 * p
        let vpw = packing(channels: input.c).valuesPerWord
        let width = vpw * bits
        comp.memory = .srl
        comp.depthWords = (k - 1) * wIn
        comp.wordBits = width
        comp.cost.lut = (k - 1) * width * HardwareMath.ceilDiv(wIn, 32)
        comp.cost.ff = k * k * width
        if explaining { comp.explain = [("lut", "(K−1) lines × \(width) bits × ⌈W_in/32⌉ SRL = \(k - 1)·\(width)·⌈\(wIn)/32⌉ = \(comp.cost.lut)"),
                        ("ff", "K×K window of \(width)-bit words = \(k * k)·\(width) = \(comp.cost.ff)")] }
        return comp
    }

    /// Cost of a conv's compute on the configured target (weights, multipliers or PE time, line buffer).
    func convCompute(_ node: Node, _ a: Conv2dAttrs, input: Shape) -> [Component] {
        let params = a.kernel * a.kernel * input.c * a.outChannels + (a.bias ? a.outChannels : 0)
        let macsPerOutput = a.kernel * a.kernel * input.c * a.outChannels
        var parts = [weights(node: node.name, params: params)]
        if config.target == .peArray {
            parts.append(peTraffic(node: node.name, input: input, output: node.shape, macs: macsPerOutput * node.shape.h * node.shape.w))
            return parts
        }
        var mult = multipliers(node: node.name, macsPerOutput: macsPerOutput, inputBits: bitsOfInput(node))
        mult.macs = macsPerOutput * node.shape.h * node.shape.w
        parts.append(mult)
        if a.kernel > 1 { parts.append(lineBuffer(kernel: a.kernel, padding: a.padding, input: input, bits: bitsOfInput(node))) }
        return parts
    }

    func bitsOfInput(_ node: Node) -> Int { node.inputs.first.map { config.bits(of: $0) } ?? config.bits }

    /// PE array: a layer reads its input and writes its output off-chip; `macs` sets its compute time.
    func peTraffic(node: String, input: Shape, output: Shape, macs: Int) -> Component {
        var comp = Component(name: "activations", shape: output)
        let bi = config.bits, bo = config.bits(of: node)
        comp.memory = .dram
        comp.cost.bytes = HardwareMath.ceilDiv(input.count * bi, 8) + HardwareMath.ceilDiv(output.count * bo, 8)
        if explaining { comp.explain = [("bytes", "read input \(input) and write output \(output): ⌈\(input.count)·\(bi)/8⌉ + ⌈\(output.count)·\(bo)/8⌉ = \(comp.cost.bytes)"),
                        ("macs", "\(macs)")] }
        comp.macs = macs
        return comp
    }
}
