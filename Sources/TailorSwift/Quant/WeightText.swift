#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a weight reaches an hls4ml design. hls4ml writes every weight as decimal text with as many
/// digits after the point as its type has fraction bits (`'{:.Ff}'.format(w)`, hls4ml
/// model/types.py), and the C simulation reads it back with `istream >> double` before converting
/// it to the type (nnet_helpers.h `load_weights_from_txt`). The text step is not an identity: under
/// AP_TRN a weight within half a decimal digit below a grid point reads back above it and lands one
/// step higher. Both printf and strtod are exact (correct rounding of the exact binary value), as
/// Python's formatting and the C library's parsing are.
enum WeightText {
    /// The mantissa weight `w` has in `type` after hls4ml's text round trip, and whether the
    /// type's overflow mode changed it (a weight outside the type's range).
    static func mantissa(of w: Float, in type: FixedPointType) -> (mantissa: Int128, overflowed: Bool) {
        type.quantize(readBack(Double(w), digits: max(0, type.fractionBits)))
    }

    /// `value` printed with `digits` decimals and parsed back.
    static func readBack(_ value: Double, digits: Int) -> Double {
        // A float32 is below 2^128 (39 integer digits); 520 decimals covers any fraction width.
        var buffer = [CChar](repeating: 0, count: 640)
        let written = withVaList([Int32(min(digits, 520)), value]) { args in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", args) }
        }
        precondition(written > 0 && Int(written) < buffer.count, "a finite float32 prints in 640 characters")
        return buffer.withUnsafeBufferPointer { strtod($0.baseAddress!, nil) }
    }
}
