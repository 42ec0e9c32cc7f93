// The FIFOs of a dataflow design (hls4ml io_stream, FINN), costed under the configured depth
// policy, backend and memory policy. A tensor C×H×W is a stream of H·W·f words of ⌈C/f⌉ values
// each, f = 1 for hls4ml and the folding factor for FINN (docs/hardware.md). The streams themselves,
// and their occupancies, come from the design and its simulation (Dataflow*.swift).

extension ResourceModel {
    /// Words per pixel and values per word of a C-channel stream.
    func packing(channels c: Int) -> (wordsPerPixel: Int, valuesPerWord: Int) {
        guard config.target == .finn else { return (1, c) }
        let vpw = HardwareMath.ceilDiv(c, min(config.reuseFactor, c))
        return (HardwareMath.ceilDiv(c, vpw), vpw)
    }

    /// The design's streams listed in a report row.
    func streams(ownedBy owner: DataflowStream.Owner) -> [Component] {
        (streamIndex[owner] ?? []).map(fifo)
    }

    /// Stream `i` of the design as a costed FIFO.
    func fifo(_ i: Int) -> Component {
        let s = design.streams[i]
        // Default depths need no simulation; without one (a design too large to simulate) there is no occupancy.
        let occ = simulation?.streams[i] ?? StreamOccupancy(maxOccupancy: 0, hls4mlMax: 0)
        let simulated = simulation != nil
        var comp = Component(name: s.role, shape: Shape(s.channels, s.height, s.width))
        comp.stream = s.name
        comp.onSkipPath = s.onSkipPath
        let (wpp, vpw) = packing(channels: s.channels)
        let width = vpw * s.bits
        comp.wordBits = width
        comp.lagWords = simulated ? occ.maxOccupancy * wpp : nil
        comp.simulatedMax = simulated ? occ.hls4mlMax * wpp : nil
        if explaining {
            comp.explain.append(("word_bits", wpp == 1 ? "\(s.channels) values × \(s.bits) bits = \(width) bits per word"
                : "⌈\(s.channels)/\(wpp)⌉ = \(vpw) values × \(s.bits) bits = \(width) bits per word, \(wpp) words per pixel"))
            if simulated {
                comp.explain.append(("occupancy", "dataflow simulation: at most \(occ.maxOccupancy) of the stream's \(s.words) words wait at once"
                                     + (wpp > 1 ? " (× \(wpp) words per pixel)" : "")))
            }
        }
        switch config.target {
        case .finn:
            let (depth, mapping) = FINNFifo.fifo(occupancy: occ.maxOccupancy * wpp, width: width, policy: config.memoryPolicy, explaining: explaining)
            comp.depthWords = depth
            comp.memory = mapping.kind
            comp.cost = mapping.cost
            if explaining { comp.explain += mapping.explain }
        case .hls4ml, .peArray:
            let depth: Int
            if config.effectiveDepthPolicy == .default {
                depth = s.defaultDepth
                if explaining { comp.explain.append(("depth", "default policy: what hls4ml writes, the whole tensor = \(depth) words")) }
            } else {
                depth = occ.optimizedDepth
                if explaining {
                    comp.explain.append(("depth", "optimized: FifoDepthOptimization's max (usedw, the occupancy less the show-ahead word: \(occ.hls4mlMax)) + 1 = \(depth)"))
                }
            }
            comp.depthWords = depth
            let mapping = config.effectiveBackend == .vivado
                ? Memory.vivadoFifos(depth: depth, channels: vpw, bits: s.bits, policy: config.memoryPolicy, explaining: explaining)
                : Memory.vitisFifo(depth: depth, width: width, policy: config.memoryPolicy, explaining: explaining)
            comp.memory = mapping.kind
            comp.cost = mapping.cost
            if explaining { comp.explain += mapping.explain }
        }
        return comp
    }

    /// A clone (hls4ml `clone_stream`, FINN DuplicateStreams) registering one word per output.
    func clone(shape: Shape, bits: Int, outputs: Int) -> Component {
        var comp = Component(name: "clone", shape: shape)
        let width = packing(channels: shape.c).valuesPerWord * bits
        comp.wordBits = width
        comp.cost.ff = outputs * width
        if explaining { comp.explain = [("ff", "one output register per copy: \(outputs)·\(width) bits = \(comp.cost.ff)")] }
        return comp
    }

    /// The skip join: one adder per value of a word (hls4ml nnet::add, FINN AddStreams whose output is one bit wider).
    func adder(shape: Shape, bits: Int) -> Component {
        var comp = Component(name: "adder", shape: shape)
        let vpw = packing(channels: shape.c).valuesPerWord
        let outBits = config.target == .finn ? bits + 1 : bits
        comp.wordBits = vpw * outBits
        comp.cost.lut = vpw * bits
        comp.cost.ff = vpw * outBits
        if explaining { comp.explain = [("lut", "\(vpw) adders × \(bits)-bit carry chain = \(comp.cost.lut)"),
                        ("ff", "output register \(vpw) × \(outBits) bits" + (config.target == .finn ? " (AddStreams widens by one bit)" : "") + " = \(comp.cost.ff)")] }
        return comp
    }
}
