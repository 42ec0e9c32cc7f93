// Streams and FIFOs of a dataflow design (hls4ml io_stream, FINN), costed under the configured
// depth and memory policies. A tensor C×H×W is a stream of H·W·f words of ⌈C/f⌉ values each,
// f = 1 for hls4ml and the folding factor for FINN (DESIGN.md §5).

extension ResourceModel {
    /// Words per pixel and values per word of a C-channel stream.
    func packing(channels c: Int) -> (wordsPerPixel: Int, valuesPerWord: Int) {
        guard config.target == .finn else { return (1, c) }
        let vpw = HardwareMath.ceilDiv(c, min(config.reuseFactor, c))
        return (HardwareMath.ceilDiv(c, vpw), vpw)
    }

    /// A stream carrying `shape` at `bits` per value. `occupancyPixels` is the most pixels it
    /// ever holds under lag-based sizing (nil: a plain stream between two stages that keep pace,
    /// which holds one word). `defaultWords` overrides H·W for the `default` policy (padding streams).
    func stream(_ name: String, shape: Shape, bits: Int, occupancyPixels: Int?, defaultWords: Int? = nil) -> Component {
        var comp = Component(name: name, shape: shape)
        let (wpp, vpw) = packing(channels: shape.c)
        let width = vpw * bits
        comp.wordBits = width
        let occupancy = occupancyPixels.map { $0 * wpp } ?? 1
        if let p = occupancyPixels { comp.lagWords = p * wpp }
        if explaining {
            comp.explain.append(("word_bits", wpp == 1 ? "\(shape.c) values × \(bits) bits = \(width) bits per word"
                : "⌈\(shape.c)/\(wpp)⌉ = \(vpw) values × \(bits) bits = \(width) bits per word, \(wpp) words per pixel"))
        }
        switch config.target {
        case .finn:
            let (depth, mapping) = FINNFifo.fifo(occupancy: occupancy, width: width, policy: config.memoryPolicy, explaining: explaining)
            comp.depthWords = depth
            comp.memory = mapping.kind
            comp.cost = mapping.cost
            if explaining {
                comp.explain.append(("occupancy", occupancyPixels.map { "occupancy = lag \($0) pixels × \(wpp) words" } ?? "stages keep pace: occupancy 1 word"))
                comp.explain += mapping.explain
            }
        case .hls4ml, .peArray:
            let depth: Int
            if config.effectiveDepthPolicy == .default {
                depth = defaultWords ?? shape.h * shape.w
                if explaining {
                    comp.explain.append(("depth", defaultWords != nil ? "default policy: the padded tensor, \(depth) words"
                                                                      : "default policy: H·W = \(shape.h)·\(shape.w) = \(depth) words"))
                }
            } else if let p = occupancyPixels {
                depth = occupancy + 1
                if explaining { comp.explain.append(("depth", "optimized: max occupancy + 1 = \(p) + 1 = \(depth) words")) }
            } else {
                depth = 2
                if explaining { comp.explain.append(("depth", "optimized: stages keep pace, max occupancy 1 word + 1 = 2")) }
            }
            comp.depthWords = depth
            let mapping = Memory.vitisFifo(depth: depth, width: width, policy: config.memoryPolicy, explaining: explaining)
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
