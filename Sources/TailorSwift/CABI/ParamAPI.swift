import CTailor

// Parameters by PyTorch state_dict name, copied across the boundary in PyTorch layout.

@_cdecl("tailor_net_param_count")
public func cParamCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.net.parameterNames.count }
}

@_cdecl("tailor_net_param_info")
public func cParamInfo(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_param_info>?) -> Int32 {
    structEntry(net, out, "tailor_param_info") { h in
        let (name, t) = try parameter(h.net, index)
        var info = tailor_param_info()
        info.name = h.cString(name)
        info.ndim = Int64(t.shape.count)
        info.count = Int64(t.count)
        info.is_integer = t.isInteger ? 1 : 0
        return info
    }
}

@_cdecl("tailor_net_param_dim")
public func cParamDim(_ net: OpaquePointer?, _ index: Int64, _ k: Int64, _ dim: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let dim = try requirePointer(dim, "dim")
        try withHandle(net) { h in
            let (name, t) = try parameter(h.net, index)
            dim.pointee = Int64(t.shape[try checkIndex(k, t.shape.count, "dimension", of: "parameter '\(name)'")])
        }
    }
}

/// Parameter `index` in state_dict order, with its name.
private func parameter(_ net: Network, _ index: Int64) throws -> (String, Tensor) {
    let names = net.parameterNames
    let name = names[try checkIndex(index, names.count, "parameter")]
    return (name, try net.parameter(name))
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
        let rank = try requireInt(ndim, "ndim", 0...Int64(TAILOR_MAX_RANK))
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
