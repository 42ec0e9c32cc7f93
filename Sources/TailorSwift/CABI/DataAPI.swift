import CTailor

// Data sets from files: the CIFAR-10 binary batches (Train/Dataset.swift reads them).

@_cdecl("tailor_cifar10_read")
public func cCifar10Read(_ path: UnsafePointer<CChar>?, _ x: UnsafeMutablePointer<Float>?, _ labels: UnsafeMutablePointer<Int64>?,
                         _ capacity: Int64, _ n: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let path = try requireString(path, "path")
        let n = try requirePointer(n, "n")
        if x == nil && labels == nil {
            n.pointee = Int64(try CIFAR10.recordCount(path: path))
            return
        }
        let x = try requirePointer(x, "x"), labels = try requirePointer(labels, "labels")
        guard capacity >= 0 else { throw TailorError.invalid("capacity is negative") }
        let records = try CIFAR10.recordCount(path: path)
        guard Int64(records) <= capacity else {
            throw TailorError.shape("'\(path)' holds \(records) records; the buffers hold \(capacity)")
        }
        let d = try CIFAR10.readBatch(path: path)
        guard d.count <= records else { throw TailorError(.io, "'\(path)' changed while it was read") }
        d.x.withUnsafeBufferPointer { if let b = $0.baseAddress { x.update(from: b, count: $0.count) } }
        for i in 0..<d.count { labels[i] = Int64(d.labels[i]) }
        n.pointee = Int64(d.count)
    }
}
