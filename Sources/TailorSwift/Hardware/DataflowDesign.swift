// A dataflow design as hls4ml builds it in `io_stream`: processes (layers) joined by streams
// (hls::stream FIFOs). A word of a stream is one pixel with all its channels; Vivado HLS splits
// it into one FIFO per channel, Vitis HLS packs it into one (docs/hardware.md). Designs come from a
// `Network` (DataflowLowering.swift) or from a JSON layer list of another tool (DataflowJSON.swift);
// the simulation (DataflowSimulation.swift) gives every stream's occupancy.

/// One process of a dataflow design (an hls4ml layer function in the DATAFLOW region).
public struct DataflowProcess: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The input: a top-level port offered one pixel per cycle, or an AXI wrapper that writes
        /// the whole input into its FIFO before the network starts.
        case input(axiWrapper: Bool)
        /// The network's output: a top-level port, or the AXI wrapper's `out_local` FIFO.
        case output(axiWrapper: Bool)
        /// hls4ml ZeroPadding2D: zeros and copies out in raster order.
        case zeroPad(top: Int, bottom: Int, left: Int, right: Int)
        /// Line-buffer convolution over an already padded input (hls4ml `conv_2d_buffer_cl`).
        case conv(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, nIn: Int, nOut: Int)
        /// Line-buffer pooling (hls4ml `pooling2d_buffer_cl`, pipelined at II = 1 per pixel).
        case pool(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int)
        /// Global pooling: reads every pixel, then writes one word.
        case globalPool
        /// Dense on a stream (hls4ml `dense` stream wrapper): read all words, compute, write.
        case dense(nIn: Int, nOut: Int)
        /// One word in, one word out per cycle (activation, a BatchNorm that is not folded).
        case elementwise(String)
        /// hls4ml `clone_stream`: each word to every output, one word per cycle.
        case clone
        /// hls4ml `nnet::add`: one word from each input, one out, per cycle.
        case add
    }

    public var name: String
    public var kind: Kind
    public var inputs: [Int] = []
    public var outputs: [Int] = []
    /// Reuse factor asked for, and the one hls4ml uses (an invalid one moved to the closest valid).
    public var requestedReuse = 1
    public var reuseFactor = 1
    public var strategy: HardwareConfig.Strategy = .latency
    /// The network node this process implements; for a clone, the node whose value it copies;
    /// nil for padding hls4ml inserts.
    public var node: String?

    /// Sets the reuse factor and strategy of a conv or dense of n_in × n_out multiplications, the
    /// reuse factor moved to the closest valid one as hls4ml moves it.
    mutating func setReuse(requested: Int, strategy: HardwareConfig.Strategy, nIn: Int, nOut: Int) {
        requestedReuse = requested
        reuseFactor = ReuseFactor.closestValid(nIn: nIn, nOut: nOut, requested: requested)
        self.strategy = strategy
    }
}

/// One stream (FIFO) of a dataflow design.
public struct DataflowStream: Sendable {
    /// The stream's variable, as hls4ml names it from its producer ("layer2.0.conv1_out", "..._cpy1").
    public var name: String
    public var producer: Int
    public var consumer: Int
    public var height: Int, width: Int, channels: Int
    /// Bits of one value (a word is `channels` values).
    public var bits: Int
    /// The depth hls4ml writes before optimisation.
    public var defaultDepth: Int
    /// A top-level port of the design rather than a FIFO inside it (no memory of its own).
    public var isPort = false
    public var words: Int { height * width }

    /// Where the report lists the stream: a skip row (index into `Network.skips`) or a layer row.
    enum Owner: Sendable, Hashable { case skip(Int), layer(String), none }
    var owner: Owner = .none
    /// What the stream is, as the report names it ("clone -> adder skip FIFO", "output stream").
    var role = "stream"
    /// A buffer on a skip's own path (the row summary picks among these).
    var onSkipPath = false
}

public struct DataflowDesign: Sendable {
    public var processes: [DataflowProcess] = []
    public var streams: [DataflowStream] = []
}

/// Builds a design layer by layer: each process writes one tensor; when a tensor has several
/// readers, a clone process is inserted (as hls4ml's `clone_output` pass does) and every reader
/// gets its own copy stream.
struct DataflowBuilder {
    struct Tensor { var height: Int, width: Int, channels: Int, bits: Int, producer: Int, readers: [(process: Int, port: Int)] = [] }
    var design = DataflowDesign()
    var tensors: [String: Tensor] = [:]
    /// Tensor names in the order they were made (streams are laid out in this order).
    var order: [String] = []

    mutating func add(_ p: DataflowProcess, reads: [String], writes tensor: String?, shape: (h: Int, w: Int, c: Int), bits: Int) throws -> Int {
        let index = design.processes.count
        var p = p
        p.inputs = Array(repeating: -1, count: reads.count)
        design.processes.append(p)
        for (port, r) in reads.enumerated() {
            guard tensors[r] != nil else { throw TailorError.invalid("dataflow design: layer '\(p.name)' reads '\(r)', which no earlier layer writes") }
            tensors[r]!.readers.append((index, port))
        }
        if let t = tensor {
            guard tensors[t] == nil else { throw TailorError.invalid("dataflow design: '\(t)' is written by two layers") }
            tensors[t] = Tensor(height: shape.h, width: shape.w, channels: shape.c, bits: bits, producer: index)
            order.append(t)
        }
        return index
    }

    /// Shape of a tensor made so far.
    func shape(of t: String) throws -> (h: Int, w: Int, c: Int) {
        guard let x = tensors[t] else { throw TailorError.invalid("dataflow design: no layer writes '\(t)'") }
        return (x.height, x.width, x.channels)
    }

    /// Lays out the streams: one per tensor and reader, through a clone where there are several
    /// readers; a tensor nobody reads goes to an output process.
    mutating func finish(axiWrapper: Bool) -> DataflowDesign {
        for name in order {
            let t = tensors[name]!
            func stream(_ label: String, from: Int, to: Int, port: Int) {
                let s = design.streams.count
                let isInputPort = !axiWrapper && design.processes[from].kind == .input(axiWrapper: false)
                let isOutputPort = !axiWrapper && design.processes[to].kind == .output(axiWrapper: false)
                // hls4ml's AXI wrapper declares `in_local` / `out_local` with depth N_IN / N_OUT, value counts.
                let wrapperFIFO = axiWrapper && (design.processes[from].kind == .input(axiWrapper: true)
                                                 || design.processes[to].kind == .output(axiWrapper: true))
                design.streams.append(DataflowStream(
                    name: label, producer: from, consumer: to, height: t.height, width: t.width, channels: t.channels, bits: t.bits,
                    defaultDepth: wrapperFIFO ? t.height * t.width * t.channels : t.height * t.width,
                    isPort: isInputPort || isOutputPort))
                design.processes[from].outputs.append(s)
                design.processes[to].inputs[port] = s
            }
            var readers = t.readers
            if readers.isEmpty {
                let out = design.processes.count
                var p = DataflowProcess(name: "\(name)_output", kind: .output(axiWrapper: axiWrapper))
                p.inputs = [-1]
                design.processes.append(p)
                readers = [(out, 0)]
            }
            if readers.count == 1 {
                stream("\(name)_out", from: t.producer, to: readers[0].process, port: readers[0].port)
            } else {
                let c = design.processes.count
                var p = DataflowProcess(name: "clone_\(name)", kind: .clone, node: name)
                p.inputs = [-1]
                design.processes.append(p)
                stream("\(name)_out", from: t.producer, to: c, port: 0)
                for (k, r) in readers.enumerated() { stream("\(name)_cpy\(k + 1)", from: c, to: r.process, port: r.port) }
            }
        }
        return design
    }
}
