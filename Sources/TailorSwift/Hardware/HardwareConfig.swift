/// What hardware the resource model estimates for, and how it is configured (DESIGN.md §5).
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
        /// What hls4ml's FifoDepthOptimization converges to (max occupancy + 1), from the branch lag.
        case optimized
    }

    public enum MemoryPolicy: String, Sendable, CaseIterable {
        /// The tool's own choice (Vitis: SRL up to 1024 bits or depth ≤ 2, else BRAM; FINN: SRL up to depth 256, else a Vivado FIFO in BRAM).
        case auto
        case srl, lutram, bram, uram
    }

    public var target: Target = .hls4ml
    /// Default precision of every tensor and weight, in bits.
    public var bits: Int = 16
    /// Per-tensor precision by node name (its output) or `<node>.weight`; overrides `bits`.
    public var precision: [String: Int] = [:]
    /// hls4ml reuse factor (multipliers are shared this many times); FINN folding (words per pixel).
    public var reuseFactor: Int = 1
    /// Nil: the target's own (hls4ml: `default`; FINN always sizes by simulation, i.e. `optimized`).
    public var depthPolicy: DepthPolicy? = nil
    public var memoryPolicy: MemoryPolicy = .auto
    /// Clock of the PE array (MHz), its multiply-accumulate units, off-chip bandwidth and on-chip buffer.
    public var clockMHz: Double = 200
    public var peCount: Int = 256
    public var bandwidthGBps: Double = 12.8
    public var onChipKiB: Int = 256

    public init() {}

    public var effectiveDepthPolicy: DepthPolicy {
        depthPolicy ?? (target == .finn ? .optimized : .default)
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
        if target == .finn, depthPolicy == .default {
            throw TailorError.invalid("hardware config: depth_policy 'default' does not apply to target 'finn': FINN sizes every FIFO by simulation (use 'optimized' or leave it unset)")
        }
        try check(clockMHz.isFinite && clockMHz > 0 && clockMHz <= 1e5, "clock_mhz", "must be in (0, 100000], got \(clockMHz)")
        try check((1...(1 << 24)).contains(peCount), "pe_count", "must be in 1...\(1 << 24), got \(peCount)")
        try check(bandwidthGBps.isFinite && bandwidthGBps > 0 && bandwidthGBps <= 1e6, "bandwidth_gbps", "must be in (0, 1e6], got \(bandwidthGBps)")
        try check((0...(1 << 30)).contains(onChipKiB), "onchip_kib", "must be in 0...\(1 << 30), got \(onChipKiB)")
    }

    /// Bits of the tensor a node outputs.
    func bits(of node: String) -> Int { precision[node] ?? bits }
    /// Bits of a node's weights.
    func weightBits(of node: String) -> Int { precision["\(node).weight"] ?? bits }

    /// Parses a target / policy name, naming the field and the accepted values on error.
    static func parse<T: RawRepresentable & CaseIterable>(_ text: String, _ field: String, as: T.Type) throws -> T where T.RawValue == String {
        guard let v = T(rawValue: text) else {
            throw TailorError.invalid("hardware config: unknown \(field) '\(text)'; expected one of \(T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        return v
    }
}
