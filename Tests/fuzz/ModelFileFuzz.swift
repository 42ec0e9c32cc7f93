// libFuzzer target: arbitrary bytes into the model-file loader. Any crash, trap or sanitizer
// report is a bug: a damaged or hostile file must only ever produce a TailorError.
public func fuzzModelFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let buf = UnsafeBufferPointer(start: data, count: size)
    if let net = try? ModelFile.decode(buf) {
        // A file that loads must also describe, save and reload.
        _ = net.describe().serialized()
        if let bytes = try? ModelFile.encode(net) { _ = try? ModelFile.decode(bytes) }
    }
    return 0
}
