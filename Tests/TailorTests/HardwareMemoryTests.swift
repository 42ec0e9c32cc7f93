import Glibc
import Testing
@testable import TailorSwift

/// Memory mapping figures, each computed by hand from docs/hardware.md in the comment beside it.
@Suite struct HardwareMemoryTests {
    @Test func bram18PicksTheCheapestShape() {
        // (depth, width, expected, why)
        let cases: [(Int, Int, Int)] = [
            (1, 1, 1),       // 16K×1 holds it
            (2, 2, 1),       // 8K×2
            (32, 4, 1),      // 4K×4
            (33, 9, 1),      // 2K×9
            (512, 18, 1),    // 1K×18
            (512, 36, 1),    // 512×36 exactly
            (513, 36, 2),    // 512×36: ⌈513/512⌉·1 = 2; 1K×18: 1·⌈36/18⌉ = 2
            (1024, 18, 1),   // 1K×18 exactly
            (1024, 37, 3),   // 1K×18: 1·⌈37/18⌉ = 3; 512×36: 2·2 = 4
            (33, 72, 2),     // 512×36: 1·2 = 2
            (32, 73, 3),     // 512×36: 1·⌈73/36⌉ = 3; 1K×18: 1·5 = 5
            (513, 73, 5),    // 1K×18: 1·⌈73/18⌉ = 5; 512×36: 2·3 = 6
            (513, 9, 1),     // 2K×9
            (1024, 2, 1),    // 8K×2
            (1024, 256, 15), // 1K×18: 1·⌈256/18⌉ = 15; 512×36: 2·⌈256/36⌉ = 16 (ResNet-8 layer1.0 default skip FIFO)
            (68, 256, 8),    // 512×36: 1·⌈256/36⌉ = 8
        ]
        for (d, w, n) in cases {
            #expect(Memory.bram18(depth: d, width: w).count == n, "D=\(d) W=\(w)")
        }
    }

    @Test func uramIs4KBy72() {
        #expect(Memory.uram(depth: 1, width: 1) == 1)
        #expect(Memory.uram(depth: 4096, width: 72) == 1)
        #expect(Memory.uram(depth: 4097, width: 72) == 2)   // ⌈4097/4096⌉·1
        #expect(Memory.uram(depth: 1024, width: 73) == 2)   // 1·⌈73/72⌉
    }

    @Test func vitisAutoMappingBoundaries() {
        // SRL when D·W ≤ 1024 bits or D ≤ 2, BRAM otherwise.
        #expect(Memory.vitisFifo(depth: 2, width: 1024, policy: .auto).kind == .srl)   // D ≤ 2
        #expect(Memory.vitisFifo(depth: 32, width: 32, policy: .auto).kind == .srl)    // 1024 bits
        #expect(Memory.vitisFifo(depth: 33, width: 32, policy: .auto).kind == .bram)   // 1056 bits
        #expect(Memory.vitisFifo(depth: 3, width: 342, policy: .auto).kind == .bram)   // 1026 bits
        #expect(Memory.vitisFifo(depth: 1, width: 73, policy: .auto).kind == .srl)
        // SRL: W·⌈D/32⌉ LUT + 2·⌈log2 D⌉ control.
        #expect(Memory.vitisFifo(depth: 1, width: 1, policy: .srl).cost == Cost(lut: 1, ff: 0))        // 1·1 + 0
        #expect(Memory.vitisFifo(depth: 32, width: 36, policy: .srl).cost == Cost(lut: 46, ff: 10))    // 36·1 + 2·5
        #expect(Memory.vitisFifo(depth: 33, width: 36, policy: .srl).cost == Cost(lut: 84, ff: 12))    // 36·2 + 2·6
        #expect(Memory.vitisFifo(depth: 2, width: 256, policy: .auto).cost == Cost(lut: 258, ff: 2))   // 256·1 + 2·1
        // LUTRAM: 4·⌈D/64⌉·⌈W/3⌉ + control.
        #expect(Memory.vitisFifo(depth: 64, width: 3, policy: .lutram).cost == Cost(lut: 16, ff: 12))  // 4·1·1 + 2·6
        #expect(Memory.vitisFifo(depth: 65, width: 4, policy: .lutram).cost == Cost(lut: 30, ff: 14))  // 4·2·2 + 2·7
        // BRAM and URAM carry only control logic in LUT/FF.
        #expect(Memory.vitisFifo(depth: 1024, width: 256, policy: .auto).cost == Cost(bram18: 15, lut: 20, ff: 20))
        #expect(Memory.vitisFifo(depth: 513, width: 72, policy: .uram).cost == Cost(uram: 1, lut: 20, ff: 20))
    }

    @Test func finnDepthRounding() {
        // optimize_depth: ≤ 2 → 2, ≤ 32 → 32, else unchanged; above 256 a Vivado FIFO rounds up to 2^k.
        #expect([1, 2, 3, 32, 33, 256, 257].map(FINNFifo.optimizeDepth) == [2, 2, 32, 32, 33, 256, 257])
        #expect(FINNFifo.fifo(occupancy: 256, width: 8, policy: .auto).depth == 256)    // rtl keeps 256
        #expect(FINNFifo.fifo(occupancy: 257, width: 8, policy: .auto).depth == 512)    // vivado rounds up
        #expect(FINNFifo.fifo(occupancy: 513, width: 8, policy: .srl).depth == 513)     // forced rtl: no rounding
        #expect(FINNFifo.fifo(occupancy: 1024, width: 8, policy: .auto).depth == 1024)
    }

    /// FINN's estimates, transcribed line by line from finn/custom_op/fpgadataflow/streamingfifo.py,
    /// as the independent reference for the grid below.
    private func finnReference(depth: Int, width W: Int, impl: String, ramType: String) -> (bram: Int, uram: Int, lut: Int) {
        func ceil(_ a: Int, _ b: Int) -> Int { Int((Double(a) / Double(b)).rounded(.up)) }
        var bram = 0
        if !(impl == "rtl" || (impl == "vivado" && ramType != "block")) {
            if W == 1 { bram = ceil(depth, 16384) }
            else if W == 2 { bram = ceil(depth, 8192) }
            else if W <= 4 { bram = ceil(depth, 4096) * ceil(W, 4) }
            else if W <= 9 { bram = ceil(depth, 2048) * ceil(W, 9) }
            else if W <= 18 || depth > 512 { bram = ceil(depth, 1024) * ceil(W, 18) }
            else { bram = ceil(depth, 512) * ceil(W, 36) }
        }
        let uram = (impl == "rtl" || (impl == "vivado" && ramType != "ultra")) ? 0 : ceil(depth, 4096) * ceil(W, 72)
        let address = 2 * Int((log(Double(depth)) / log(2.0)).rounded(.up))
        let ram = (impl == "rtl" || (impl == "vivado" && ramType == "distributed")) ? ceil(depth, 32) * ceil(W, 2) : 0
        return (bram, uram, address + ram)
    }

    @Test func finnFormulasMatchExactlyOverAGrid() {
        let depths = [1, 2, 3, 16, 31, 32, 33, 64, 255, 256, 257, 512, 513, 1000, 1024, 1025, 4096, 4097, 16384, 32768]
        let widths = [1, 2, 3, 4, 5, 9, 10, 18, 19, 36, 37, 64, 72, 73, 128, 256, 512, 1024]
        var mismatches: [String] = []
        for d in depths { for w in widths {
            for (style, ramType) in [(FINNFifo.RamStyle.block, "block"), (.distributed, "distributed"), (.ultra, "ultra")] {
                for vivado in [false, true] {
                    let ref = finnReference(depth: d, width: w, impl: vivado ? "vivado" : "rtl", ramType: ramType)
                    let got = (FINNFifo.bram(depth: d, width: w, vivado: vivado, style: style),
                               FINNFifo.uram(depth: d, width: w, vivado: vivado, style: style),
                               FINNFifo.lut(depth: d, width: w, vivado: vivado, style: style))
                    if got != ref { mismatches.append("D=\(d) W=\(w) \(vivado ? "vivado" : "rtl")/\(ramType): \(got) vs \(ref)") }
                }
            }
        } }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        // A few by hand: W=36, D=512 → ⌈512/512⌉·⌈36/36⌉ = 1; W=37, D=513 (> 512) → ⌈513/1024⌉·⌈37/18⌉ = 3;
        // rtl D=33 W=8 → 2·⌈log2 33⌉ + ⌈33/32⌉·⌈8/2⌉ = 12 + 8 = 20.
        #expect(FINNFifo.bram(depth: 512, width: 36, vivado: true, style: .block) == 1)
        #expect(FINNFifo.bram(depth: 513, width: 37, vivado: true, style: .block) == 3)
        #expect(FINNFifo.lut(depth: 33, width: 8, vivado: false, style: .block) == 20)
    }

    @Test func vivadoSplitsAStreamIntoOneFifoPerChannel() {
        // A long skip after FIFO optimisation (ResNet-8 layer1.0 ≈ 68 words) at 16 channels × 16 bits:
        // each channel FIFO is 68 × 16 = 1088 bits > 1024 and deeper than 32 → BRAM, its depth rounded up
        // to 128; 128 × 16 fits one 1K×18 BRAM18 → 16 BRAM18; control 2·⌈log2 68⌉ = 14 LUT and FF per FIFO.
        let long = Memory.vivadoFifos(depth: 68, channels: 16, bits: 16, policy: .auto)
        #expect(long.kind == .bram && long.cost == Cost(bram18: 16, lut: 224, ff: 224))
        // A short skip (≈ 35 words): 35 × 16 = 560 bits ≤ 1024 → SRL, 16·⌈35/32⌉ + 2·⌈log2 35⌉ = 32 + 12 = 44 LUT each.
        let short = Memory.vivadoFifos(depth: 35, channels: 16, bits: 16, policy: .auto)
        #expect(short.kind == .srl && short.cost == Cost(lut: 16 * 44, ff: 16 * 12))
        // Depth ≤ 32 stays in SRL however wide (fpgaConvNet's rule): 32 × 64 bits.
        #expect(Memory.vivadoFifos(depth: 32, channels: 1, bits: 64, policy: .auto).kind == .srl)
        // The same 68-word stream packed by Vitis: one 68 × 256-bit FIFO, 17408 bits → BRAM, 512×36: ⌈256/36⌉ = 8.
        #expect(Memory.vitisFifo(depth: 68, width: 256, policy: .auto).cost.bram18 == 8)
    }

    @Test func reuseFactorsMoveAsHls4mlMovesThem() {
        // The measured MLPerf Tiny design asked for 16384 everywhere; hls4ml used 96, 2048, 2048, 16384,
        // 16384 and 20480 (shared/data/hls4ml_fifo/streams_rf16384.json, effective_rf).
        #expect(ReuseFactor.closestValid(nIn: 3, nOut: 32, requested: 16384) == 96)
        #expect(ReuseFactor.closestValid(nIn: 4 * 4 * 32, nOut: 4, requested: 16384) == 2048)
        #expect(ReuseFactor.closestValid(nIn: 4 * 4 * 4, nOut: 32, requested: 16384) == 2048)
        #expect(ReuseFactor.closestValid(nIn: 4 * 4 * 32, nOut: 32, requested: 16384) == 16384)
        // Dense 2048 → 10: valid at or above n_in are 2048·{1, 2, 5, 10}; 20480 is nearer 16384 than 10240.
        #expect(ReuseFactor.closestValid(nIn: 2048, nOut: 10, requested: 16384) == 20480)
        #expect(ReuseFactor.valid(nIn: 2048, nOut: 10).filter { $0 >= 2048 } == [2048, 4096, 10240, 20480])
        // A valid request is kept; below n_in the request must divide n_in·n_out and keep n_out | the multipliers.
        #expect(ReuseFactor.closestValid(nIn: 144, nOut: 16, requested: 9) == 9)
        #expect(ReuseFactor.isValid(nIn: 144, nOut: 16, 9) && !ReuseFactor.isValid(nIn: 144, nOut: 16, 7))
    }
}
