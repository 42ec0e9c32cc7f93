import Testing
@testable import TailorSwift
import Glibc

/// Memory mapping figures, each computed by hand from DESIGN.md §5 in the comment beside it.
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

    @Test func lagOfBranches() {
        // One 3×3 same conv on 32 wide: first output needs pixel (1,1) → 1·32 + 1 + 1 = 34 pixels.
        let conv = Window(kernel: 3, stride: 1, padding: 1, input: Shape(16, 32, 32))
        #expect(StreamLag.lagPixels([conv]) == 34)
        // Two of them: (2,2) → 2·32 + 2 + 1 = 67.
        #expect(StreamLag.lagPixels([conv, conv]) == 67)
        // 1×1 conv: pixel (0,0) → 1.
        #expect(StreamLag.lagPixels([Window(kernel: 1, stride: 1, padding: 0, input: Shape(8, 4, 4))]) == 1)
        // Valid 3×3 (no padding) on 10 wide: (2,2) → 2·10 + 2 + 1 = 23.
        #expect(StreamLag.lagPixels([Window(kernel: 3, stride: 1, padding: 0, input: Shape(1, 10, 10))]) == 23)
        // The dependency is clamped inside the image: 7×7 pad 3 on a 2×2 input needs (1,1) → 1·2 + 1 + 1 = 4.
        #expect(StreamLag.lagPixels([Window(kernel: 7, stride: 1, padding: 3, input: Shape(1, 2, 2))]) == 4)
        // Projection 1×1 stride 2 over 32×32 after 100 source pixels: row 0 gives 16, row 2 (starts at 64) gives
        // outputs at columns 0, 2, …, 30 ≤ 35 → 16; total 32.
        #expect(StreamLag.projectionOutputs(afterPixels: 100, source: Shape(16, 32, 32), stride: 2) == 32)
        #expect(StreamLag.projectionOutputs(afterPixels: 1, source: Shape(16, 32, 32), stride: 2) == 1)
        #expect(StreamLag.projectionOutputs(afterPixels: 34, source: Shape(16, 32, 32), stride: 2) == 16)
    }
}
