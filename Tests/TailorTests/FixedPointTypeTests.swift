import Testing
@testable import TailorSwift

/// Hand-computed conversions (python/tests/test_fixed_point.py checks every mode against the
/// ap_fixed headers themselves); here the cases a wide or exact source reaches.
@Suite struct FixedPointTypeTests {
    // swift-format-ignore: NeverUseForceTry
    let q16_6 = try! FixedPointType(parsing: "ap_fixed<16,6>")

    @Test func gridRangeAndWrap() throws {
        #expect(q16_6.fractionBits == 10)
        #expect(q16_6.quantizedValue(1.0 / 3) == 341.0 / 1024)          // floor to the 2^-10 grid
        #expect(q16_6.quantizedValue(-1.0 / 3) == -342.0 / 1024)
        #expect(q16_6.quantizedValue(40.5) == -23.5)                     // 40.5 - 64
        let sat = try FixedPointType(parsing: "ap_fixed<16,6,AP_RND,AP_SAT>")
        #expect(sat.quantizedValue(40.5) == 32 - 1.0 / 1024)
        #expect(sat.quantizedValue(-1e300) == -32)
    }

    @Test func wideExactSourcesAndTinyOnes() throws {
        // An accumulator mantissa far above 2^64 at 20 fraction bits: after rounding to the
        // destination's 10 fraction bits, only the low 16 bits survive a wrap.
        let m: Int128 = (Int128(1) << 100) + (Int128(5) << 10) + 1   // 2^80 + 5 + 2^-20, in units of 2^-20
        let (wrapped, overflowed) = q16_6.quantize(mantissa: m, fractionBits: 20)
        #expect(wrapped == 5 && overflowed)                            // floor(m / 2^10) = 2^90 + 5; mod 2^16 = 5
        // A left shift past the width: 3 · 2^70 in a 16-bit type wraps to 0, saturates to the top.
        #expect(q16_6.quantize(mantissa: 3, fractionBits: -70) == (0, true))
        let sat = try FixedPointType(width: 16, integerBits: 6, overflow: .saturate)
        #expect(sat.quantize(mantissa: -3, fractionBits: -70) == (-(1 << 15), true))
        // Sources finer than 2^-120 below the grid: floor -1 for a negative, AP_RND rounds it to 0.
        #expect(q16_6.quantize(mantissa: -1, fractionBits: 300).mantissa == -1)
        let rnd = try FixedPointType(width: 16, integerBits: 6, rounding: .round)
        #expect(rnd.quantize(mantissa: -1, fractionBits: 300).mantissa == 0)
        #expect(rnd.quantize(5e-324).mantissa == 0 && q16_6.quantize(-5e-324).mantissa == -1)
    }

    @Test func spellings() throws {
        #expect(try FixedPointType(parsing: " fixed< 8, 3, RND_CONV , SAT_SYM > ").description == "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>")
        #expect(try FixedPointType(parsing: "ap_ufixed<8,0,AP_TRN,AP_SAT>").description == "ap_ufixed<8,0,AP_TRN,AP_SAT>")
        #expect(try FixedPointType(parsing: "ap_uint<4>") == FixedPointType(width: 4, integerBits: 4, signed: false, rounding: .truncateToZero))
        #expect(throws: TailorError.self) { try FixedPointType(parsing: "ap_fixed<16,6,AP_RND,AP_SAT,1>") }
    }
}
