/// A fixed-point type with the semantics of Xilinx's `ap_fixed<W,I,Q,O>` / `ap_ufixed`, the types
/// hls4ml writes for every tensor: a value is an integer mantissa m times 2^-F, F = W - I, where m
/// is a W-bit two's-complement (signed) or unsigned integer. Converting an exact value rounds it
/// to the grid with the type's quantisation mode, then fits it into W bits with its overflow mode
/// (docs/fixed-point.md has the rules and where they were checked against the ap_types headers).
public struct FixedPointType: Hashable, Sendable, CustomStringConvertible {
    /// Quantisation (rounding) modes: how a value between two grid points is placed.
    public enum Rounding: String, CaseIterable, Sendable {
        case truncate = "AP_TRN"             // toward -inf (the default)
        case truncateToZero = "AP_TRN_ZERO"  // toward zero
        case round = "AP_RND"                // nearest, ties toward +inf
        case roundToZero = "AP_RND_ZERO"     // nearest, ties toward zero
        case roundMinusInfinity = "AP_RND_MIN_INF"  // nearest, ties toward -inf
        case roundInfinity = "AP_RND_INF"    // nearest, ties away from zero
        case roundConvergent = "AP_RND_CONV" // nearest, ties to even
    }

    /// Overflow modes: what a rounded value outside the W-bit range becomes.
    public enum Overflow: String, CaseIterable, Sendable {
        case wrap = "AP_WRAP"                // modulo 2^W (the default)
        case saturate = "AP_SAT"             // the nearest end of the range
        case saturateToZero = "AP_SAT_ZERO"  // zero
        case saturateSymmetric = "AP_SAT_SYM" // the nearest end of the symmetric range (signed: -max..max)
    }

    /// Total bits W, 1...64.
    public let width: Int
    /// Integer bits I (the sign bit included when signed); may be negative or above W.
    public let integerBits: Int
    public let signed: Bool
    public let rounding: Rounding
    public let overflow: Overflow

    /// Fraction bits F = W - I: the grid step is 2^-F.
    public var fractionBits: Int { width - integerBits }

    public static let widthRange = 1...64
    /// Integer bits accepted: wide enough for any type hls4ml infers, small enough that 2^-F and
    /// 2^I are ordinary doubles.
    public static let integerBitsRange = -512...512

    public init(width: Int, integerBits: Int, signed: Bool = true, rounding: Rounding = .truncate,
                overflow: Overflow = .wrap) throws {
        guard Self.widthRange.contains(width) else {
            throw TailorError.invalid("fixed-point width must be in 1...64, got \(width)")
        }
        guard Self.integerBitsRange.contains(integerBits) else {
            throw TailorError.invalid("fixed-point integer bits must be in \(Self.integerBitsRange), got \(integerBits)")
        }
        self.width = width
        self.integerBits = integerBits
        self.signed = signed
        self.rounding = rounding
        self.overflow = overflow
    }

    /// hls4ml's spelling: `ap_fixed<16,6>` (rounding and overflow appended when not the defaults).
    public var description: String {
        let name = signed ? "ap_fixed" : "ap_ufixed"
        var args = ["\(width)", "\(integerBits)"]
        if rounding != .truncate || overflow != .wrap { args.append(rounding.rawValue) }
        if overflow != .wrap { args.append(overflow.rawValue) }
        return "\(name)<\(args.joined(separator: ","))>"
    }

    // MARK: the range of mantissas

    /// Smallest and largest mantissa (m, the value being m * 2^-F).
    public var mantissaRange: (lo: Int128, hi: Int128) {
        signed ? (-(Int128(1) << (width - 1)), (Int128(1) << (width - 1)) - 1) : (0, (Int128(1) << width) - 1)
    }

    /// The value of mantissa `m` (exact for W <= 53; wider mantissas round to nearest, ties to even,
    /// as ap_fixed's to_double does).
    public func value(ofMantissa m: Int128) -> Double {
        Double(sign: .plus, exponent: -fractionBits, significand: Double(m))
    }

    // MARK: conversion

    /// The mantissa an exact value m * 2^-sourceFractionBits becomes in this type, and whether the
    /// overflow mode changed it. |m| must be below 2^119 (a double's mantissa is below 2^53).
    public func quantize(mantissa m: Int128, fractionBits sourceFractionBits: Int) -> (mantissa: Int128, overflowed: Bool) {
        let shift = sourceFractionBits - fractionBits
        guard shift <= 0 else { return fit(rounded(m, shift)) }
        // Exact: the type has more fraction bits than the value needs.
        let left = -shift
        if m == 0 { return (0, false) }
        let bits = 128 - m.magnitude.leadingZeroBitCount
        if bits + left <= 126 { return fit(m << left) }
        // Far outside any W-bit range: only the low W bits of m << left survive a wrap.
        let low = left >= width ? 0 : (m & ((Int128(1) << (width - left)) - 1)) << left
        return fit(outOfRange: m > 0, wrapped: low)
    }

    /// The mantissa `v` becomes in this type (v finite), and whether the overflow mode changed it.
    public func quantize(_ v: Double) -> (mantissa: Int128, overflowed: Bool) {
        precondition(v.isFinite, "quantize takes finite values; the C boundary refuses NaN and Inf")
        let (m, f) = Self.exact(v)
        return quantize(mantissa: m, fractionBits: f)
    }

    /// `v` on this type's grid and range, as a double.
    public func quantizedValue(_ v: Double) -> Double { value(ofMantissa: quantize(v).mantissa) }

    /// A finite double as an exact m * 2^-f (m below 2^53 in magnitude).
    static func exact(_ v: Double) -> (mantissa: Int128, fractionBits: Int) {
        let bits = v.significandBitPattern
        let e = Int(v.exponentBitPattern)
        let magnitude = e == 0 ? Int128(bits) : Int128(bits | (1 << 52))
        let exponent = e == 0 ? -1074 : e - 1075
        return (v.sign == .minus ? -magnitude : magnitude, -exponent)
    }

    /// m * 2^-shift (shift >= 1) rounded to an integer with this type's quantisation mode.
    private func rounded(_ m: Int128, _ shift: Int) -> Int128 {
        // floor, and where the dropped part r (0 <= r < 2^shift) lies against one half.
        let floor: Int128, aboveHalf: Bool, atHalf: Bool, dropped: Bool
        if shift <= 120 {
            floor = m >> shift                         // arithmetic shift: floor for negatives too
            let r = m - (floor << shift)
            let half = Int128(1) << (shift - 1)
            (aboveHalf, atHalf, dropped) = (r > half, r == half, r != 0)
        } else {
            // |m| < 2^119 < half: a positive m is all dropped below one half, a negative one leaves
            // floor -1 and a remainder 2^shift + m above one half.
            floor = m < 0 ? -1 : 0
            (aboveHalf, atHalf, dropped) = (m < 0, false, m != 0)
        }
        let negative = m < 0
        let up: Bool
        switch rounding {
        case .truncate: up = false
        case .truncateToZero: up = dropped && negative
        case .round: up = aboveHalf || atHalf
        case .roundToZero: up = aboveHalf || (atHalf && negative)
        case .roundMinusInfinity: up = aboveHalf
        case .roundInfinity: up = aboveHalf || (atHalf && !negative)
        case .roundConvergent: up = aboveHalf || (atHalf && floor & 1 != 0)
        }
        return up ? floor + 1 : floor
    }

    /// A rounded mantissa fitted into W bits by the overflow mode.
    private func fit(_ k: Int128) -> (mantissa: Int128, overflowed: Bool) {
        let (lo, hi) = mantissaRange
        let inRange = k >= lo && k <= hi
        switch overflow {
        case .wrap:
            guard !inRange else { return (k, false) }
            let mask = (Int128(1) << width) - 1
            var w = k & mask
            if signed && w >> (width - 1) != 0 { w -= Int128(1) << width }
            return (w, true)
        case .saturate:
            return inRange ? (k, false) : (k > hi ? hi : lo, true)
        case .saturateToZero:
            return inRange ? (k, false) : (0, true)
        case .saturateSymmetric:
            // Signed: the range is -hi...hi, so the most negative mantissa itself moves up by one.
            let low = signed ? lo + 1 : lo
            if k >= low && k <= hi { return (k, false) }
            return (k > hi ? hi : low, true)
        }
    }

    /// What a value far outside the W-bit range becomes; `wrapped` is its low W bits.
    private func fit(outOfRange positive: Bool, wrapped: Int128) -> (mantissa: Int128, overflowed: Bool) {
        let (lo, hi) = mantissaRange
        switch overflow {
        case .wrap: return (fit(wrapped).mantissa, true)
        case .saturate: return (positive ? hi : lo, true)
        case .saturateToZero: return (0, true)
        case .saturateSymmetric: return (positive ? hi : (signed ? lo + 1 : lo), true)
        }
    }
}

// MARK: hls4ml's precision strings

extension FixedPointType {
    /// Parses hls4ml's precision strings: `ap_fixed<W,I>`, `ap_fixed<W,I,Q>`, `ap_fixed<W,I,Q,O>`,
    /// `ap_fixed<W,I,Q,O,0>`, `ap_ufixed<...>`, `ap_int<W>`, `ap_uint<W>`, and the same without the
    /// `ap_` prefix (`fixed<16,6>`, hls4ml's shorthand). Modes may omit `AP_` (`RND`, `SAT`).
    /// `ap_int<W>` is `ap_fixed<W,W,AP_TRN_ZERO>`: what an ap_fixed value becomes when assigned to
    /// it (C++'s ap_int(double) constructor differs for some values in (-1, 0), a path hls4ml's
    /// layers do not take). Errors name the string and what is wrong with it.
    public init(parsing text: String) throws {
        let s = text.filter { !$0.isWhitespace }
        func bad(_ why: String) -> TailorError {
            TailorError.invalid("'\(text)' is not a fixed-point type: \(why) (expected e.g. ap_fixed<16,6>, "
                                + "ap_fixed<8,3,AP_RND,AP_SAT>, ap_ufixed<8,0>, ap_int<8>)")
        }
        guard let open = s.firstIndex(of: "<"), s.last == ">" else { throw bad("no <...>") }
        var kind = s[..<open].lowercased()
        if kind.hasPrefix("ap_") { kind.removeFirst(3) }
        let args = s[s.index(after: open)..<s.index(before: s.endIndex)].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func int(_ a: String, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let v = Int(a) else { throw bad("\(what) '\(a)' is not an integer") }
            guard range.contains(v) else { throw bad("\(what) must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
            return v
        }
        func mode<T: RawRepresentable & CaseIterable>(_ a: String, _ what: String) throws -> T where T.RawValue == String {
            let name = a.uppercased().hasPrefix("AP_") ? a.uppercased() : "AP_" + a.uppercased()
            guard let m = T.allCases.first(where: { $0.rawValue == name }) else {
                throw bad("unknown \(what) mode '\(a)' (one of \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return m
        }
        switch kind {
        case "int", "uint":
            // An ap_fixed value assigned to ap_int<W> is truncated toward zero, then wrapped.
            guard args.count == 1 else { throw bad("\(kind) takes one argument, the width") }
            let w = try int(args[0], "width", Self.widthRange)
            try self.init(width: w, integerBits: w, signed: kind == "int", rounding: .truncateToZero)
        case "fixed", "ufixed":
            guard (2...5).contains(args.count) else { throw bad("\(kind) takes 2 to 5 arguments: W, I, rounding, overflow, saturation bits") }
            let w = try int(args[0], "width", Self.widthRange)
            let i = try int(args[1], "integer bits", Self.integerBitsRange)
            let q: Rounding = args.count > 2 ? try mode(args[2], "rounding") : .truncate
            let o: Overflow = args.count > 3 ? try mode(args[3], "overflow") : .wrap
            if args.count > 4, try int(args[4], "saturation bits", 0...Int.max) != 0 {
                throw TailorError(.unsupported, "'\(text)': saturation bits N other than 0 are not supported (hls4ml does not use them)")
            }
            try self.init(width: w, integerBits: i, signed: kind == "fixed", rounding: q, overflow: o)
        default:
            throw bad("unknown type '\(s[..<open])'")
        }
    }
}
