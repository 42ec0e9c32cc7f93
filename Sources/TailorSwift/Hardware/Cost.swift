/// FPGA resources and off-chip traffic of one part of a design. Everything is an integer count
/// (BRAM18 halves of a BRAM36, URAM288 blocks, LUT6, flip-flops, DSP slices, bytes per inference).
public struct Cost: Equatable, Sendable {
    public var bram18 = 0, uram = 0, lut = 0, ff = 0, dsp = 0, bytes = 0
    public init(bram18: Int = 0, uram: Int = 0, lut: Int = 0, ff: Int = 0, dsp: Int = 0, bytes: Int = 0) {
        self.bram18 = bram18; self.uram = uram; self.lut = lut; self.ff = ff; self.dsp = dsp; self.bytes = bytes
    }
    public static func + (a: Cost, b: Cost) -> Cost {
        Cost(bram18: a.bram18 + b.bram18, uram: a.uram + b.uram, lut: a.lut + b.lut, ff: a.ff + b.ff,
             dsp: a.dsp + b.dsp, bytes: a.bytes + b.bytes)
    }
    public static func += (a: inout Cost, b: Cost) { a = a + b }
    public static func - (a: Cost, b: Cost) -> Cost {
        Cost(bram18: a.bram18 - b.bram18, uram: a.uram - b.uram, lut: a.lut - b.lut, ff: a.ff - b.ff,
             dsp: a.dsp - b.dsp, bytes: a.bytes - b.bytes)
    }
    /// Field names in report order, with their values.
    public var fields: [(String, Int)] {
        [("bram18", bram18), ("uram", uram), ("lut", lut), ("ff", ff), ("dsp", dsp), ("bytes", bytes)]
    }
}

/// Where a buffer lives.
public enum MemoryKind: String, Sendable {
    /// No buffer (logic only, or nothing).
    case none
    /// Shift-register LUTs (SRLC32E) or FINN's `rtl` (Q_srl) FIFO.
    case srl
    /// Distributed RAM in LUTs (RAM64M).
    case lutram
    case bram
    case uram
    /// Stored off-chip (PE array).
    case dram
}

/// One costed part of a skip or a layer: a FIFO, the clone, the adder, a projection's weights…
/// `explain` maps each figure to the formula and inputs that produced it.
public struct Component: Sendable {
    public var name: String
    /// Stream or buffer shape (channels, height, width) when the part holds a tensor.
    public var shape: Shape?
    /// Bits per word of the stream (values per word × bits per value), 0 if not a stream.
    public var wordBits = 0
    /// For a FIFO: the design's stream variable it implements ("layer1.0.relu1_cpy2").
    public var stream: String?
    /// For a FIFO: the most words waiting in it at once, from the dataflow simulation.
    public var lagWords: Int?
    /// For a FIFO: the maximum hls4ml's FifoDepthOptimization would report for it (usedw).
    public var simulatedMax: Int?
    public var depthWords = 0
    public var memory: MemoryKind = .none
    public var cost = Cost()
    /// A buffer on the skip's own path (not the branch copy or the adder's output): the row summary picks among these.
    public var onSkipPath = false
    /// Multiply-accumulates per inference done by this part (compute time on the PE array).
    public var macs = 0
    public var explain: [(String, String)] = []

    init(name: String, shape: Shape? = nil) { self.name = name; self.shape = shape }
}

/// Integer helpers shared by the formulas; all inputs are validated positive sizes.
enum HardwareMath {
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { b <= 0 ? 0 : (a + b - 1) / b }
    /// Smallest k with 2^k ≥ d (0 for d ≤ 1).
    static func ceilLog2(_ d: Int) -> Int { d <= 1 ? 0 : Int.bitWidth - (d - 1).leadingZeroBitCount }
    /// Smallest power of two ≥ d.
    static func nextPow2(_ d: Int) -> Int { d <= 1 ? 1 : 1 << ceilLog2(d) }
}
