import Glibc

// The one libFuzzer entry point of the fuzz binary: both targets are compiled into it (one build
// of the library's sources instead of two) and TAILOR_FUZZ_TARGET picks the one this run drives.

private let target = getenv("TAILOR_FUZZ_TARGET").map { String(cString: $0) } ?? ""

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntry(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    switch target {
    case "modelfile": return fuzzModelFile(data, size)
    case "capi": return fuzzCAPI(data, size)
    default:
        fputs("TAILOR_FUZZ_TARGET must be modelfile or capi\n", stderr)
        exit(2)
    }
}
