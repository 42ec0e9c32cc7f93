import Testing
@testable import TailorSwift

@Suite struct KernelPoolTests {
    // 1×1×3×3 input, 2×2 window stride 1 pad 1 (count_include_pad: divisor is always 4).
    @Test func avgAndMaxPool() {
        let d = ConvDims(B: 1, H: 3, W: 3, Cin: 1, O: 1, K: 2, stride: 1, pad: 1)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var a = [Float](repeating: 0, count: 16), m = a, am = [Int32](repeating: 0, count: 16)
        avgpoolForward(&a, x, d); maxpoolForward(&m, &am, x, d)
        #expect(a[0] == 0.25 && a[5] == 3 && a[15] == 2.25)
        #expect(m[0] == 1 && m[5] == 5 && m[15] == 9)
        var dx = [Float](repeating: 0, count: 9)
        maxpoolBackward(&dx, [Float](repeating: 1, count: 16), am, 16)
        #expect(dx[8] == 4 && dx.reduce(0, +) == 16)
        dx = [Float](repeating: 0, count: 9)
        avgpoolBackward(&dx, [Float](repeating: 1, count: 16), d)
        #expect(dx.allSatisfy { $0 == 1 })
    }
}
