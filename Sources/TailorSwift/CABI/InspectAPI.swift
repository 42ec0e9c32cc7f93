import CTailor
import Glibc

// Read-only queries: nodes, blocks, skips, shapes, the JSON description.

/// Shared body of the accessors that fill one output struct (tailor.h rule 2) from the handle.
func structEntry<T>(_ net: OpaquePointer?, _ out: UnsafeMutablePointer<T>?, _ what: String,
                    _ make: (NetHandle) throws -> T) -> Int32 {
    guarded { try withHandle(net) { h in try writeVersioned(out, what) { try make(h) } } }
}

/// Shared body of the tailor_net_*_count functions.
func countEntry(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?, _ value: (NetHandle) -> Int) -> Int32 {
    guarded {
        let c = try requirePointer(count, "count")
        c.pointee = Int64(try withHandle(net, value))
    }
}

@_cdecl("tailor_net_node_count")
public func cNodeCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.net.nodes.count }
}

@_cdecl("tailor_net_node_info")
public func cNodeInfo(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_node_info>?) -> Int32 {
    structEntry(net, out, "tailor_node_info") { h in
        let n = h.net.nodes[try checkIndex(index, h.net.nodes.count, "node")]
        var info = tailor_node_info()
        info.name = h.cString(n.name)
        info.op = h.cString(n.op.kind)
        info.num_inputs = Int64(n.inputs.count)
        (info.channels, info.height, info.width) = (Int64(n.shape.c), Int64(n.shape.h), Int64(n.shape.w))
        switch n.op {
        case .conv2d(let a):
            info.out_channels = Int64(a.outChannels); info.kernel = Int64(a.kernel); info.stride = Int64(a.stride)
            info.padding = Int64(a.padding); info.bias = a.bias ? 1 : 0
        case .maxpool(let a), .avgpool(let a):
            info.kernel = Int64(a.kernel); info.stride = Int64(a.stride); info.padding = Int64(a.padding)
        case .dense(let a):
            info.out_channels = Int64(a.outFeatures); info.bias = a.bias ? 1 : 0
        default: break
        }
        info.block = Int32(h.net.blocks.firstIndex { $0.members.contains(n.name) } ?? -1)
        return info
    }
}

@_cdecl("tailor_net_node_input")
public func cNodeInput(_ net: OpaquePointer?, _ index: Int64, _ k: Int64, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    nameEntry(net, name) { h in
        let n = h.net.nodes[try checkIndex(index, h.net.nodes.count, "node")]
        return n.inputs[try checkIndex(k, n.inputs.count, "input", of: "node '\(n.name)'")]
    }
}

/// Shared body of the accessors that hand out one name owned by the handle.
private func nameEntry(_ net: OpaquePointer?, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                       _ find: (NetHandle) throws -> String) -> Int32 {
    guarded {
        let name = try requirePointer(name, "name")
        try withHandle(net) { h in name.pointee = h.cString(try find(h)) }
    }
}

@_cdecl("tailor_net_io_shape")
public func cIOShape(_ net: OpaquePointer?, _ channels: UnsafeMutablePointer<Int64>?, _ height: UnsafeMutablePointer<Int64>?,
                     _ width: UnsafeMutablePointer<Int64>?, _ numOutputs: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        try withHandle(net) { h in
            guard let s = h.net.inputShape, let o = h.net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
            channels?.pointee = Int64(s.c); height?.pointee = Int64(s.h); width?.pointee = Int64(s.w)
            numOutputs?.pointee = Int64(o.shape.count)
        }
    }
}

@_cdecl("tailor_net_block_count")
public func cBlockCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.net.blocks.count }
}

func blockKindCode(_ k: BlockKind) -> Int32 {
    switch k { case .basic: 0; case .bottleneck: 1; case .other: 2 }
}
func modeCode(_ m: SkipMode) -> Int32 {
    switch m { case .long: 0; case .removed: 1; case .short: 2 }
}

@_cdecl("tailor_net_block_info")
public func cBlockInfo(_ net: OpaquePointer?, _ index: Int64, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                       _ kind: UnsafeMutablePointer<Int32>?, _ mode: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        try withHandle(net) { h in
            let b = h.net.blocks[try checkIndex(index, h.net.blocks.count, "residual block")]
            name?.pointee = h.cString(b.name)
            kind?.pointee = blockKindCode(b.kind)
            mode?.pointee = modeCode(b.mode)
        }
    }
}

@_cdecl("tailor_net_set_block_mode")
public func cSetBlockMode(_ net: OpaquePointer?, _ block: Int64, _ mode: Int32) -> Int32 {
    guarded {
        let modes: [Int32: SkipMode] = [0: .long, 1: .removed, 2: .short]
        guard let m = modes[mode] else {
            throw TailorError.invalid("mode must be TAILOR_MODE_LONG (0), TAILOR_MODE_REMOVED (1) or TAILOR_MODE_SHORT (2), got \(mode)")
        }
        try withHandle(net) { h in
            try h.net.setMode(block: try checkIndex(block, h.net.blocks.count, "residual block"), m)
        }
    }
}

@_cdecl("tailor_net_skip_count")
public func cSkipCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.net.skips.count }
}

@_cdecl("tailor_net_skip_info")
public func cSkipInfo(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_skip_info>?) -> Int32 {
    structEntry(net, out, "tailor_skip_info") { h in
        let skips = h.net.skips
        let s = skips[try checkIndex(index, skips.count, "skip")]
        var info = tailor_skip_info()
        info.block = Int64(s.blockIndex)
        info.block_name = h.cString(s.block)
        info.index = Int64(s.index)
        info.mode = modeCode(s.mode)
        info.kind = blockKindCode(h.net.blocks[s.blockIndex].kind)
        info.source = h.cString(s.source)
        info.join = s.join.map { h.cString($0) }
        info.projection = s.projection.map { h.cString($0) }
        info.num_spans = Int64(s.spans.count)
        (info.channels, info.height, info.width) = (Int64(s.shape.c), Int64(s.shape.h), Int64(s.shape.w))
        return info
    }
}

@_cdecl("tailor_net_skip_span")
public func cSkipSpan(_ net: OpaquePointer?, _ index: Int64, _ k: Int64, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    nameEntry(net, name) { h in
        let skips = h.net.skips
        let s = skips[try checkIndex(index, skips.count, "skip")]
        return s.spans[try checkIndex(k, s.spans.count, "span", of: "skip \(index)")]
    }
}

@_cdecl("tailor_net_describe")
public func cDescribe(_ net: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        try withHandle(net) { h in json.pointee = h.json("describe", h.net.describe().serialized()) }
    }
}

/// An index looked up by name: the node, block or parameter lists' position of `name`.
private func indexEntry(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int64>?, _ what: String,
                        _ find: (Network, String) -> Int?) -> Int32 {
    guarded {
        let n = try requireString(name, "name")
        let out = try requirePointer(index, "index")
        try withHandle(net) { h in
            guard let i = find(h.net, n) else { throw TailorError.notFound("no \(what) named '\(n)'") }
            out.pointee = Int64(i)
        }
    }
}

@_cdecl("tailor_net_node_index")
public func cNodeIndex(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int64>?) -> Int32 {
    indexEntry(net, name, index, "node") { net, n in net.indexOf[n] }
}

@_cdecl("tailor_net_block_index")
public func cBlockIndex(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int64>?) -> Int32 {
    indexEntry(net, name, index, "residual block") { net, n in net.blocks.firstIndex { $0.name == n } }
}

@_cdecl("tailor_net_param_index")
public func cParamIndex(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ index: UnsafeMutablePointer<Int64>?) -> Int32 {
    indexEntry(net, name, index, "parameter") { net, n in net.parameterIndex(of: n) }
}
