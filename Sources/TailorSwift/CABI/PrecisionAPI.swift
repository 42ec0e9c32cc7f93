import CTailor

// The fixed-point types a network carries (Quant/NetworkPrecision.swift) through the C boundary.

@_cdecl("tailor_net_set_precision_json")
public func cSetPrecisionJSON(_ net: OpaquePointer?, _ json: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let text = try json.map { try requireText($0, "json", limit: Int(TAILOR_MAX_JSON_BYTES), limitName: "TAILOR_MAX_JSON_BYTES") }
        try withHandle(net) { h in
            guard let text else { h.net.precision = nil; return }
            let parsed: JSON
            do { parsed = try JSON.parse(text) } catch let e as TailorError {
                throw TailorError.invalid("precision is not valid JSON: \(e.message)")
            }
            h.net.precision = try NetworkPrecision(hls4mlConfig: parsed, network: h.net)   // nothing changes on error
        }
    }
}

@_cdecl("tailor_net_precision_json")
public func cPrecisionJSON(_ net: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        try withHandle(net) { h in json.pointee = h.json("precision", (h.net.precision?.json ?? .null).serialized()) }
    }
}

@_cdecl("tailor_net_fixed_design_json")
public func cFixedDesignJSON(_ net: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        try withHandle(net) { h in
            let program = try FixedPointProgram(h.net, quantizingWeights: false)
            json.pointee = h.json("fixed_design", program.description(h.net.precision!).serialized())
        }
    }
}

@_cdecl("tailor_net_fixed_parameter")
public func cFixedParameter(_ net: OpaquePointer?, _ node: UnsafePointer<CChar>?, _ role: UnsafePointer<CChar>?,
                            _ out: UnsafeMutablePointer<Double>?, _ count: Int64) -> Int32 {
    guarded {
        let node = try requireString(node, "node"), role = try requireString(role, "role")
        let out = try requirePointer(out, "out")
        try withHandle(net) { h in
            let (values, _) = try FixedPointProgram(h.net).parameter(node, role)
            guard count == Int64(values.count) else {
                throw TailorError.shape("out holds \(count) values; '\(node)' \(role) has \(values.count)")
            }
            values.withUnsafeBufferPointer { if let b = $0.baseAddress { out.update(from: b, count: $0.count) } }
        }
    }
}
