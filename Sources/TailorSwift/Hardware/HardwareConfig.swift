/// What hardware the resource model estimates for, and how it is configured (docs/hardware.md).
public struct HardwareConfig: Sendable, Equatable {
    public enum Target: String, Sendable, CaseIterable {
        /// hls4ml `io_stream` dataflow: one stream per layer output, clone + add for skips.
        case hls4ml
        /// FINN dataflow: DuplicateStreams + AddStreams, StreamingFIFO sized by simulation.
        case finn
        /// A layer-by-layer processing-element array: long skips make an off-chip round trip.
        case peArray = "pe_array"
    }

    public enum DepthPolicy: String, Sendable, CaseIterable {
        /// What hls4ml writes before optimisation: every stream as deep as its tensor (H·W words).
        case `default`
        /// What hls4ml's FifoDepthOptimization writes after co-simulation (measured max + 1), from
        /// the dataflow simulation (`Dataflow/`). `simulated` is accepted as the same policy.
        case optimized

        static func parse(_ text: String) throws -> DepthPolicy {
            text == "simulated" ? .optimized : try HardwareConfig.parse(text, "depth_policy", as: DepthPolicy.self, also: ["simulated"])
        }
    }

    /// hls4ml's HLS backends store an `nnet::array<T, C>` stream differently (docs/hardware.md).
    public enum Backend: String, Sendable, CaseIterable {
        /// Vivado HLS (hls4ml's default): C FIFOs of T bits, each mapped to memory on its own.
        case vivado
        /// Vitis HLS: one packed FIFO of C·T bits.
        case vitis
    }

    /// How the input reaches the network (the first stream of the design).
    public enum InputInterface: String, Sendable, CaseIterable {
        /// hls4ml's `io_stream` top-level port: the caller offers one pixel per cycle.
        case stream
        /// hls4ml's AXI wrappers (VivadoAccelerator): the whole input is written into a FIFO
        /// (`in_local`) before the network starts.
        case axiWrapper = "axi_wrapper"
    }

    /// hls4ml's layer `Strategy`: how a conv or dense layer schedules its multiplications.
    public enum Strategy: String, Sendable, CaseIterable {
        /// Every input pixel is pipelined at II = reuse factor (`#pragma HLS PIPELINE II=RF`).
        case latency
        /// The pixel loop is not pipelined; a pixel that completes a window runs the resource dense (RF cycles).
        case resource
    }

    /// Per-layer settings, as hls4ml's `LayerName` configuration allows.
    public struct LayerSettings: Sendable, Equatable {
        public var reuseFactor: Int?
        public var strategy: Strategy?
        public init(reuseFactor: Int? = nil, strategy: Strategy? = nil) { self.reuseFactor = reuseFactor; self.strategy = strategy }
    }

    public enum MemoryPolicy: String, Sendable, CaseIterable {
        /// The tool's own choice (Vitis: SRL up to 1024 bits or depth ≤ 2, else BRAM; FINN: SRL up to depth 256, else a Vivado FIFO in BRAM).
        case auto
        case srl, lutram, bram, uram
    }

    /// Where tensor widths come from: the fixed-point types the network carries (when it carries
    /// any; `precision` entries still override single tensors), or `bits` and `precision` alone.
    public enum PrecisionSource: String, Sendable, CaseIterable {
        case network, config
    }

    public var target: Target = .hls4ml
    public var precisionSource: PrecisionSource = .network
    /// Default precision of every tensor and weight, in bits.
    public var bits: Int = 16
    /// Per-tensor precision by node name (its output) or `<node>.weight`; overrides `bits`.
    public var precision: [String: Int] = [:]
    /// hls4ml reuse factor (multipliers are shared this many times); FINN folding (words per pixel).
    public var reuseFactor: Int = 1
    /// Nil: the target's own (hls4ml: `default`; FINN always sizes by simulation, i.e. `optimized`).
    public var depthPolicy: DepthPolicy? = nil
    public var memoryPolicy: MemoryPolicy = .auto
    /// hls4ml target only: which HLS backend's FIFOs (nil: Vivado, hls4ml's default).
    public var backend: Backend? = nil
    public var interface: InputInterface = .stream
    /// hls4ml's default `Strategy` for conv and dense layers.
    public var strategy: Strategy = .latency
    /// Reuse factor and strategy per node (conv or dense), overriding `reuseFactor` and `strategy`.
    public var layers: [String: LayerSettings] = [:]
    /// Clock of the PE array (MHz), its multiply-accumulate units, off-chip bandwidth and on-chip buffer.
    public var clockMHz: Double = 200
    public var peCount: Int = 256
    public var bandwidthGBps: Double = 12.8
    public var onChipKiB: Int = 256

    public init() {}

    public var effectiveDepthPolicy: DepthPolicy {
        depthPolicy ?? (target == .finn ? .optimized : .default)
    }

    public var effectiveBackend: Backend { backend ?? .vivado }

    /// The requested reuse factor and strategy of a node (before hls4ml moves an invalid one).
    func settings(of node: String) -> (reuse: Int, strategy: Strategy) {
        let l = layers[node]
        return (l?.reuseFactor ?? reuseFactor, l?.strategy ?? strategy)
    }

    /// Checks every field; errors name the field and the accepted range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ message: String) throws {
            if !ok { throw TailorError.invalid("hardware config: \(field) \(message)") }
        }
        try check((1...64).contains(bits), "bits", "must be in 1...64, got \(bits)")
        for (name, b) in precision.sorted(by: { $0.key < $1.key }) {
            try check((1...64).contains(b), "precision['\(name)']", "must be in 1...64 bits, got \(b)")
        }
        try check((1...(1 << 20)).contains(reuseFactor), "reuse_factor", "must be in 1...\(1 << 20), got \(reuseFactor)")
        for (name, l) in layers.sorted(by: { $0.key < $1.key }) {
            if let r = l.reuseFactor { try check((1...(1 << 20)).contains(r), "layers['\(name)'].reuse_factor", "must be in 1...\(1 << 20), got \(r)") }
        }
        if backend != nil, target != .hls4ml {
            throw TailorError.invalid("hardware config: backend '\(backend!.rawValue)' does not apply to target '\(target.rawValue)': backends are hls4ml's (vivado, vitis)")
        }
        if target == .peArray, depthPolicy != nil {
            throw TailorError.invalid("hardware config: depth_policy does not apply to target 'pe_array', which has no FIFOs")
        }
        if target == .finn, depthPolicy == .default {
            throw TailorError.invalid("hardware config: depth_policy 'default' does not apply to target 'finn': FINN sizes every FIFO by simulation (use 'optimized' or leave it unset)")
        }
        try check(clockMHz.isFinite && clockMHz > 0 && clockMHz <= 1e5, "clock_mhz", "must be in (0, 100000], got \(clockMHz)")
        try check((1...(1 << 24)).contains(peCount), "pe_count", "must be in 1...\(1 << 24), got \(peCount)")
        try check(bandwidthGBps.isFinite && bandwidthGBps > 0 && bandwidthGBps <= 1e6, "bandwidth_gbps", "must be in (0, 1e6], got \(bandwidthGBps)")
        try check((0...(1 << 30)).contains(onChipKiB), "onchip_kib", "must be in 0...\(1 << 30), got \(onChipKiB)")
    }

    /// This configuration with the widths of the types `net` carries: its model type's width as
    /// `bits`, and each node's result width and each layer's weight width as hls4ml resolves them
    /// (FixedPointProgram: "auto" widths inferred, a folded batch norm carrying its conv's type),
    /// unless `precision` names them already. A network hls4ml's rules cannot resolve (an inferred
    /// type over 64 bits, a pooling hls4ml cannot stream) is priced at the types it names.
    func carryingPrecision(of net: Network) -> HardwareConfig {
        guard precisionSource == .network, let p = net.precision else { return self }
        var c = self
        c.bits = p.model.width
        func carry(_ key: String, _ width: Int) { if precision[key] == nil { c.precision[key] = width } }
        if let program = try? FixedPointProgram(net, quantizingWeights: false) {
            for step in program.steps where step.output >= 0 {
                carry(step.node, program.values[step.output].type.width)
                if case .multiply(let m) = step.kind { carry("\(step.node).weight", m.m.weightType.width) }
            }
            return c
        }
        for (node, settings) in p.layers where net.node(named: node) != nil {
            if case .type(let t) = settings[.result] { carry(node, t.width) }
            if case .type(let t) = settings[.weight] { carry("\(node).weight", t.width) }
        }
        return c
    }

    /// Bits of the tensor a node outputs.
    func bits(of node: String) -> Int { precision[node] ?? bits }
    /// Bits of a node's weights.
    func weightBits(of node: String) -> Int { precision["\(node).weight"] ?? bits }

    /// Parses a target / policy name, naming the field and the accepted values on error.
    static func parse<T: RawRepresentable & CaseIterable>(_ text: String, _ field: String, as: T.Type, also: [String] = []) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: text) else {
            throw TailorError.invalid("hardware config: unknown \(field) '\(text)'; expected one of \((T.allCases.map(\.rawValue) + also).map { "'\($0)'" }.joined(separator: ", "))")
        }
        return v
    }
}
