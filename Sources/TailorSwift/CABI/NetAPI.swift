import CTailor
import Glibc

// Version, network lifetime, zoo and node-by-node building.

private nonisolated(unsafe) let versionString = UnsafePointer(strdup("\(TAILOR_VERSION_MAJOR).\(TAILOR_VERSION_MINOR).\(TAILOR_VERSION_PATCH)")!)
private nonisolated(unsafe) let zooNamesString = UnsafePointer(strdup(Zoo.names.joined(separator: ","))!)

@_cdecl("tailor_version") public func cVersion() -> UnsafePointer<CChar> { versionString }
@_cdecl("tailor_abi_version") public func cAbiVersion() -> Int32 { TAILOR_ABI_VERSION }
@_cdecl("tailor_zoo_names") public func cZooNames() -> UnsafePointer<CChar> { zooNamesString }

@_cdecl("tailor_net_create")
public func cNetCreate(_ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    handleEntry(out) { Network(seed: seed) }
}

@_cdecl("tailor_net_free")
public func cNetFree(_ net: OpaquePointer?) { freeHandle(net) }

@_cdecl("tailor_net_copy")
public func cNetCopy(_ net: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    handleEntry(out) { try withHandle(net) { $0.net.copy() } }
}

@_cdecl("tailor_zoo_create")
public func cZooCreate(_ name: UnsafePointer<CChar>?, _ numClasses: Int64, _ channels: Int64, _ height: Int64, _ width: Int64,
                       _ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    handleEntry(out) {
        let name = try requireString(name, "name")
        var o = Zoo.Options()
        o.numClasses = try requireInt(numClasses, "num_classes", 1...Int64(TAILOR_MAX_DIM))
        o.seed = seed
        if (channels, height, width) != (0, 0, 0) {   // all 0: the model's own input
            let lim = 1...Int64(TAILOR_MAX_DIM)
            o.input = Shape(try requireInt(channels, "channels", lim), try requireInt(height, "height", lim),
                            try requireInt(width, "width", lim))
        }
        return try Zoo.build(name, o)
    }
}

/// Shared body of the tailor_net_add_* functions.
private func addNode(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ inputs: [UnsafePointer<CChar>?],
                     _ nodeOut: UnsafeMutablePointer<Int64>?, _ op: () throws -> Op) -> Int32 {
    guarded {
        let name = try requireString(name, "name")
        let ins = try inputs.enumerated().map { try requireString($0.element, inputs.count == 1 ? "input" : "input \($0.offset)") }
        let op = try op()
        let index = try withHandle(net) { try $0.net.add(name, op, inputs: ins) }
        nodeOut?.pointee = Int64(index)
    }
}

private let dimRange: ClosedRange<Int64> = 0...Int64(TAILOR_MAX_DIM)

@_cdecl("tailor_net_add_input")
public func cAddInput(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ c: Int64, _ h: Int64, _ w: Int64,
                      _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [], nodeOut) {
        .input(Shape(try requireInt(c, "channels", dimRange), try requireInt(h, "height", dimRange), try requireInt(w, "width", dimRange)))
    }
}

@_cdecl("tailor_net_add_conv2d")
public func cAddConv2d(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?, _ outChannels: Int64,
                       _ kernel: Int64, _ stride: Int64, _ padding: Int64, _ bias: Int32, _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) {
        .conv2d(Conv2dAttrs(outChannels: try requireInt(outChannels, "out_channels", dimRange), kernel: try requireInt(kernel, "kernel", dimRange),
                            stride: try requireInt(stride, "stride", dimRange), padding: try requireInt(padding, "padding", dimRange),
                            bias: bias != 0))
    }
}

@_cdecl("tailor_net_add_batchnorm")
public func cAddBatchnorm(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?, _ eps: Double,
                          _ momentum: Double, _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) { .batchnorm(BatchNormAttrs(eps: eps, momentum: momentum)) }
}

@_cdecl("tailor_net_add_relu")
public func cAddRelu(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?,
                     _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) { .relu }
}

@_cdecl("tailor_net_set_output")
public func cSetOutput(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        let n = try requireString(name, "name")
        try withHandle(net) { try $0.net.setOutput(n) }
    }
}

@_cdecl("tailor_net_add_add")
public func cAddAdd(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ a: UnsafePointer<CChar>?, _ b: UnsafePointer<CChar>?,
                    _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [a, b], nodeOut) { .add }
}

@_cdecl("tailor_net_add_pool")
public func cAddPool(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?, _ kind: Int32,
                     _ kernel: Int64, _ stride: Int64, _ padding: Int64, _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) {
        let a = PoolAttrs(kernel: try requireInt(kernel, "kernel", dimRange), stride: try requireInt(stride, "stride", dimRange),
                          padding: try requireInt(padding, "padding", dimRange))
        switch kind {
        case 0: return .maxpool(a)
        case 1: return .avgpool(a)
        default: throw TailorError.invalid("pool kind must be TAILOR_POOL_MAX (0) or TAILOR_POOL_AVG (1), got \(kind)")
        }
    }
}

@_cdecl("tailor_net_add_global_avgpool")
public func cAddGlobalAvgPool(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?,
                              _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) { .globalAvgPool }
}

@_cdecl("tailor_net_add_flatten")
public func cAddFlatten(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?,
                        _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) { .flatten }
}

@_cdecl("tailor_net_add_dense")
public func cAddDense(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ input: UnsafePointer<CChar>?, _ outFeatures: Int64,
                      _ bias: Int32, _ nodeOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    addNode(net, name, [input], nodeOut) {
        .dense(DenseAttrs(outFeatures: try requireInt(outFeatures, "out_features", dimRange), bias: bias != 0))
    }
}
