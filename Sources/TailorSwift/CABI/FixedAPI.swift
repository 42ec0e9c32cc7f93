import CTailor

// Fixed-point types (Quant/FixedPointType.swift) through the C boundary.

@_cdecl("tailor_fixed_quantize")
public func cFixedQuantize(_ type: UnsafePointer<CChar>?, _ values: UnsafePointer<Double>?, _ n: Int64,
                           _ out: UnsafeMutablePointer<Double>?, _ overflows: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let t = try FixedPointType(parsing: try requireString(type, "type"))
        let count = try requireInt(n, "n", 0...Int64(1) << 40)
        guard count == 0 || values != nil else { throw TailorError.invalid("values is NULL") }
        guard count == 0 || out != nil else { throw TailorError.invalid("out is NULL") }
        // Checked before anything is written, so `out` may alias `values`.
        for i in 0..<count where !values![i].isFinite {
            throw TailorError(.numeric, "values[\(i)] is \(values![i]): only finite values have a fixed-point form")
        }
        var changed: Int64 = 0
        for i in 0..<count {
            let (m, overflowed) = t.quantize(values![i])
            out![i] = t.value(ofMantissa: m)
            if overflowed { changed += 1 }
        }
        overflows?.pointee = changed
    }
}
