import CTailor

// Parameters by PyTorch state_dict name, copied across the boundary in PyTorch layout.

@_cdecl("tailor_net_param_count")
public func cParamCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.net.parameterNames.count }
}

@_cdecl("tailor_net_param_info")
public func cParamInfo(_ net: OpaquePointer?, _ index: Int64, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                       _ ndim: UnsafeMutablePointer<Int64>?, _ dims: UnsafeMutablePointer<Int64>?,
                       _ isInteger: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        try withHandle(net) { h in
            let names = h.net.parameterNames
            let i = try checkIndex(index, names.count, "parameter")
            let t = try h.net.parameter(names[i])
            name?.pointee = h.cString(names[i])
            ndim?.pointee = Int64(t.shape.count)
            if let dims { for k in 0..<4 { dims[k] = k < t.shape.count ? Int64(t.shape[k]) : 0 } }
            isInteger?.pointee = t.isInteger ? 1 : 0
        }
    }
}

@_cdecl("tailor_net_get_param")
public func cGetParam(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Float>?, _ count: Int64) -> Int32 {
    guarded {
        let name = try requireString(name, "name")
        let out = try requirePointer(out, "out")
        try withHandle(net) { h in
            try copyOut(try h.net.parameter(name), to: out, count: count, what: "parameter '\(name)'")
        }
    }
}

@_cdecl("tailor_net_set_param")
public func cSetParam(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafePointer<Float>?, _ ndim: Int64,
                      _ dims: UnsafePointer<Int64>?) -> Int32 {
    guarded {
        let name = try requireString(name, "name")
        guard let data else { throw TailorError.invalid("data is NULL") }
        let rank = try requireInt(ndim, "ndim", 0...8)
        let shape: [Int]
        if rank == 0 {
            shape = []
        } else {
            guard let dims else { throw TailorError.invalid("dims is NULL") }
            shape = try (0..<rank).map { try requireInt(dims[$0], "dims[\($0)]", 0...Int64(1) << 40) }
        }
        let n = try Tensor.checkedCount(shape, what: "parameter '\(name)'")
        try withHandle(net) { h in
            let expected = try h.net.parameter(name)
            guard shape == expected.shape else { throw TailorError.shape("parameter '\(name)' has shape \(expected.shape), got \(shape)") }
            try h.net.setParameter(name, shape: shape, data: Array(UnsafeBufferPointer(start: data, count: n)))
        }
    }
}

/// Copies `t` into a caller's buffer of `count` floats, which must be exactly its size.
func copyOut(_ t: Tensor, to out: UnsafeMutablePointer<Float>, count: Int64, what: String) throws {
    guard count == Int64(t.count) else {
        throw TailorError.shape("\(what) has \(t.count) values (shape \(t.shape)), the buffer holds \(count)")
    }
    t.data.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: $0.count) } }
}
