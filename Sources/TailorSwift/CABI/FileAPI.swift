import CTailor

// Model files (safetensors layout) to and from paths and memory.

@_cdecl("tailor_net_save")
public func cNetSave(_ net: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let path = try requireString(path, "path")
        try withHandle(net) { try ModelFile.save($0.net, to: path) }
    }
}

@_cdecl("tailor_net_load")
public func cNetLoad(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    handleEntry(out) { try ModelFile.load(path: try requireString(path, "path")) }
}

@_cdecl("tailor_net_load_buffer")
public func cNetLoadBuffer(_ data: UnsafeRawPointer?, _ size: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    handleEntry(out) {
        guard let data else { throw TailorError.invalid("data is NULL") }
        guard size >= 0 else { throw TailorError.invalid("size is negative") }
        return try ModelFile.decode(UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: size))
    }
}
