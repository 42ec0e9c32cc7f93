import Glibc

// How a FIFO of `depth` words × `width` bits maps onto Xilinx memory (7-series / UltraScale),
// with the formulas of docs/hardware.md. Each function returns the cost and the explanation of
// every figure, so a report can show how it was reached.

/// A memory choice and its cost.
struct MemoryMapping {
    var kind: MemoryKind
    var cost: Cost
    var explain: [(String, String)]
}

enum Memory {
    /// BRAM18 aspect ratios in simple dual-port mode (depth × width).
    static let bram18Shapes: [(depth: Int, width: Int)] = [(16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36)]

    /// Fewest BRAM18 for depth × width: min over shapes of ⌈D/d⌉·⌈W/w⌉ (the first shape wins ties).
    static func bram18(depth: Int, width: Int) -> (count: Int, shape: (depth: Int, width: Int)) {
        var best = (count: Int.max, shape: bram18Shapes[0])
        for s in bram18Shapes {
            let n = HardwareMath.ceilDiv(depth, s.depth) * HardwareMath.ceilDiv(width, s.width)
            if n < best.count { best = (n, s) }
        }
        return best
    }

    /// URAM288 blocks (4K × 72).
    static func uram(depth: Int, width: Int) -> Int { HardwareMath.ceilDiv(depth, 4096) * HardwareMath.ceilDiv(width, 72) }

    /// Pointer and flag logic of any FIFO: ≈ 2·⌈log2 D⌉ LUTs and as many FFs.
    static func control(depth: Int) -> Int { 2 * HardwareMath.ceilLog2(depth) }

    /// Vitis HLS FIFO: `auto` is SRL when D·W ≤ 1024 bits (auto_srl_max_bits) or D ≤ 2, else BRAM.
    static func vitisFifo(depth d: Int, width w: Int, policy: HardwareConfig.MemoryPolicy, explaining: Bool = true) -> MemoryMapping {
        let ctl = control(depth: d)
        let kind: MemoryKind
        switch policy {
        case .auto: kind = d * w <= 1024 || d <= 2 ? .srl : .bram
        case .srl: kind = .srl
        case .lutram: kind = .lutram
        case .bram: kind = .bram
        case .uram: kind = .uram
        }
        var cost = Cost(lut: ctl, ff: ctl)
        var ram = 0
        switch kind {
        case .srl: ram = w * HardwareMath.ceilDiv(d, 32)
        case .lutram: ram = 4 * HardwareMath.ceilDiv(d, 64) * HardwareMath.ceilDiv(w, 3)
        case .bram: cost.bram18 = bram18(depth: d, width: w).count
        case .uram: cost.uram = uram(depth: d, width: w)
        case .none, .dram: break
        }
        cost.lut += ram
        guard explaining else { return MemoryMapping(kind: kind, cost: cost, explain: []) }
        let ctlText = "2·⌈log2 \(d)⌉ = \(ctl)"
        let ctlTerm = "2·⌈log2 \(d)⌉"
        let why: String
        switch policy {
        case .auto:
            why = kind == .srl ? "auto: \(d)·\(w) = \(d * w) bits ≤ 1024 or depth ≤ 2 → SRL"
                               : "auto: \(d)·\(w) = \(d * w) bits > 1024 and depth > 2 → BRAM"
        default: why = "memory policy forces \(policy.rawValue.uppercased())"
        }
        var explain = [("memory", why)]
        switch kind {
        case .srl:
            explain.append(("lut", "SRL: W·⌈D/32⌉ + 2·⌈log2 D⌉ = \(w)·⌈\(d)/32⌉ + \(ctlTerm) = \(ram) + \(ctl) = \(cost.lut)"))
        case .lutram:
            explain.append(("lut", "LUTRAM (RAM64M, 64×3 in 4 LUTs): 4·⌈D/64⌉·⌈W/3⌉ + 2·⌈log2 D⌉ = 4·⌈\(d)/64⌉·⌈\(w)/3⌉ + \(ctlTerm) = \(ram) + \(ctl) = \(cost.lut)"))
        case .bram:
            let (n, s) = bram18(depth: d, width: w)
            explain.append(("bram18", "min over BRAM18 shapes of ⌈D/d⌉·⌈W/w⌉ = ⌈\(d)/\(s.depth)⌉·⌈\(w)/\(s.width)⌉ = \(n) (\(s.depth)×\(s.width))"))
            explain.append(("lut", "control: \(ctlText)"))
        case .uram:
            explain.append(("uram", "URAM288 (4K×72): ⌈\(d)/4096⌉·⌈\(w)/72⌉ = \(cost.uram)"))
            explain.append(("lut", "control: \(ctlText)"))
        case .none, .dram: break
        }
        explain.append(("ff", "pointers and flags: \(ctlText)"))
        return MemoryMapping(kind: kind, cost: cost, explain: explain)
    }
}

extension Memory {
    /// Vivado HLS splits an `nnet::array<T, C>` stream into C FIFOs of T bits, each mapped on its own.
    /// Vivado HLS publishes no SRL/BRAM rule; this is fpgaConvNet's (resource_analytical_model.py,
    /// `bram_array_resource_model`): a FIFO stays in shift registers when depth ≤ 32 or
    /// depth·width ≤ 1024 bits, else BRAM, whose depth 7-series rounds up to a power of two
    /// (Xilinx AR 61995). Every FIFO has its own pointers and flags.
    static func vivadoFifos(depth d: Int, channels c: Int, bits w: Int, policy: HardwareConfig.MemoryPolicy, explaining: Bool = true) -> MemoryMapping {
        let autoSRL = d <= 32 || d * w <= 1024
        let kind: MemoryKind
        switch policy {
        case .auto: kind = autoSRL ? .srl : .bram
        case .srl: kind = .srl
        case .lutram: kind = .lutram
        case .bram: kind = .bram
        case .uram: kind = .uram
        }
        let ctl = control(depth: d)
        var one = Cost(lut: ctl, ff: ctl)
        let ramDepth = HardwareMath.nextPow2(d)
        switch kind {
        case .srl: one.lut += w * HardwareMath.ceilDiv(d, 32)
        case .lutram: one.lut += 4 * HardwareMath.ceilDiv(d, 64) * HardwareMath.ceilDiv(w, 3)
        case .bram: one.bram18 = bram18(depth: ramDepth, width: w).count
        case .uram: one.uram = uram(depth: d, width: w)
        case .none, .dram: break
        }
        let cost = Cost(bram18: c * one.bram18, uram: c * one.uram, lut: c * one.lut, ff: c * one.ff)
        guard explaining else { return MemoryMapping(kind: kind, cost: cost, explain: []) }
        var explain = [("memory", policy != .auto ? "memory policy forces \(policy.rawValue.uppercased())"
                        : "Vivado backend: \(c) FIFOs of \(d) × \(w) bits; " + (autoSRL ? "depth ≤ 32 or \(d * w) bits ≤ 1024 → SRL" : "depth > 32 and \(d * w) bits > 1024 → BRAM"))]
        switch kind {
        case .srl: explain.append(("lut", "\(c) × (W·⌈D/32⌉ + 2·⌈log2 D⌉) = \(c) × (\(w)·⌈\(d)/32⌉ + \(ctl)) = \(cost.lut)"))
        case .lutram: explain.append(("lut", "\(c) × (4·⌈D/64⌉·⌈W/3⌉ + 2·⌈log2 D⌉) = \(cost.lut)"))
        case .bram:
            let (n, sh) = bram18(depth: ramDepth, width: w)
            explain.append(("bram18", "\(c) × ⌈\(ramDepth)/\(sh.depth)⌉·⌈\(w)/\(sh.width)⌉ = \(c) × \(n) = \(cost.bram18) (depth \(d) rounded up to \(ramDepth))"))
            explain.append(("lut", "control: \(c) × 2·⌈log2 \(d)⌉ = \(cost.lut)"))
        case .uram: explain.append(("uram", "\(c) × ⌈\(d)/4096⌉·⌈\(w)/72⌉ = \(cost.uram)"))
        case .none, .dram: break
        }
        explain.append(("ff", "pointers and flags: \(c) × 2·⌈log2 \(d)⌉ = \(cost.ff)"))
        return MemoryMapping(kind: kind, cost: cost, explain: explain)
    }
}

/// FINN's StreamingFIFO sizing and estimates, reproduced exactly (finn: set_fifo_depths.py
/// `optimize_depth`, streamingfifo.py `bram_estimation` / `uram_estimation` / `lut_estimation`,
/// streamingfifo_rtl.py `get_adjusted_depth`). FINN gives no FF figure; ours is the control estimate.
enum FINNFifo {
    /// Depth FINN sets from a simulated max occupancy: ≤ 2 → 2, ≤ 32 → 32 (Q_srl slack), else as is.
    static func optimizeDepth(_ occupancy: Int) -> Int {
        if occupancy <= 2 { return 2 }
        if occupancy <= 32 { return 32 }
        return occupancy
    }

    /// Deeper than 256 words: a Vivado FIFO (`impl_style = vivado`), whose depth is rounded up to a power of two.
    static func isVivado(depth: Int) -> Bool { depth > 256 }
    static func adjustedDepth(_ depth: Int, vivado: Bool) -> Int { vivado ? HardwareMath.nextPow2(depth) : depth }

    /// FINN's `ram_style` for a memory policy: `auto` becomes `block` for Vivado FIFOs (FINN's own
    /// estimate reports 0 BRAM for `auto`, which says nothing; Vivado puts deep FIFOs in BRAM).
    enum RamStyle: String { case block, distributed, ultra }

    static func bram(depth d: Int, width w: Int, vivado: Bool, style: RamStyle) -> Int {
        guard vivado, style == .block else { return 0 }
        if w == 1 { return HardwareMath.ceilDiv(d, 16384) }
        if w == 2 { return HardwareMath.ceilDiv(d, 8192) }
        if w <= 4 { return HardwareMath.ceilDiv(d, 4096) * HardwareMath.ceilDiv(w, 4) }
        if w <= 9 { return HardwareMath.ceilDiv(d, 2048) * HardwareMath.ceilDiv(w, 9) }
        if w <= 18 || d > 512 { return HardwareMath.ceilDiv(d, 1024) * HardwareMath.ceilDiv(w, 18) }
        return HardwareMath.ceilDiv(d, 512) * HardwareMath.ceilDiv(w, 36)
    }

    static func uram(depth d: Int, width w: Int, vivado: Bool, style: RamStyle) -> Int {
        guard vivado, style == .ultra else { return 0 }
        return HardwareMath.ceilDiv(d, 4096) * HardwareMath.ceilDiv(w, 72)
    }

    /// `2·ceil(log(D, 2))` computed in floating point as FINN does, plus `⌈D/32⌉·⌈W/2⌉` for SRL or distributed style.
    static func lut(depth d: Int, width w: Int, vivado: Bool, style: RamStyle) -> Int {
        let address = 2 * Int((log(Double(d)) / log(2.0)).rounded(.up))
        let ram = (!vivado || style == .distributed) ? HardwareMath.ceilDiv(d, 32) * HardwareMath.ceilDiv(w, 2) : 0
        return address + ram
    }

    /// A FINN FIFO for a simulated occupancy: depth rounding, implementation style and FINN's estimates.
    static func fifo(occupancy: Int, width w: Int, policy: HardwareConfig.MemoryPolicy, explaining: Bool = true) -> (depth: Int, mapping: MemoryMapping) {
        let depth = optimizeDepth(occupancy)
        // `srl` keeps the rtl (Q_srl) FIFO at any depth; otherwise FINN switches to Vivado above 256.
        let vivado = policy != .srl && isVivado(depth: depth)
        let style: RamStyle = policy == .lutram ? .distributed : policy == .uram ? .ultra : .block
        let d = adjustedDepth(depth, vivado: vivado)
        let cost = Cost(bram18: bram(depth: d, width: w, vivado: vivado, style: style),
                        uram: uram(depth: d, width: w, vivado: vivado, style: style),
                        lut: lut(depth: d, width: w, vivado: vivado, style: style),
                        ff: Memory.control(depth: d))
        let kind: MemoryKind = !vivado ? .srl : style == .block ? .bram : style == .ultra ? .uram : .lutram
        guard explaining else { return (d, MemoryMapping(kind: kind, cost: cost, explain: [])) }
        var explain = [("depth", "FINN optimize_depth(occupancy \(occupancy)) = \(depth)" + (d != depth ? ", Vivado FIFO rounds up to \(d)" : "")),
                       ("memory", vivado ? "depth \(depth) > 256 → impl_style vivado, ram_style \(style.rawValue)" : "impl_style rtl (Q_srl)")]
        if cost.bram18 > 0 { explain.append(("bram18", "FINN bram_estimation(D=\(d), W=\(w)) = \(cost.bram18)")) }
        if cost.uram > 0 { explain.append(("uram", "FINN uram_estimation: ⌈\(d)/4096⌉·⌈\(w)/72⌉ = \(cost.uram)")) }
        explain.append(("lut", "FINN lut_estimation: 2·⌈log2 \(d)⌉" + ((!vivado || style == .distributed) ? " + ⌈\(d)/32⌉·⌈\(w)/2⌉" : "") + " = \(cost.lut)"))
        explain.append(("ff", "pointers and flags (ours; FINN gives none): 2·⌈log2 \(d)⌉ = \(cost.ff)"))
        return (d, MemoryMapping(kind: kind, cost: cost, explain: explain))
    }
}
