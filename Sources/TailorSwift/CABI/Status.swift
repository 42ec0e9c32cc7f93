import CTailor
import Glibc

// The one place errors become status codes. Every @_cdecl entry point runs its body through
// `guarded`, which clears the calling thread's last error, runs, and on a thrown error stores
// the message and returns the error's code. Nothing below CABI/ knows about C.

/// Per-thread last-error message (malloc'd C string), freed with the thread.
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

func setLastError(_ message: String) {
    free(pthread_getspecific(lastErrorKey))
    pthread_setspecific(lastErrorKey, strdup(message))
}

func clearLastError() {
    if let p = pthread_getspecific(lastErrorKey) {
        free(p)
        pthread_setspecific(lastErrorKey, nil)
    }
}

/// Per-thread result string of the calls that have no handle to own it (tailor_checkpoint_json,
/// tailor_dataflow_simulate_json): valid until the thread's next such result, or its exit (tailor.h rule 5).
private let threadStringKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

/// Stores `text` as the calling thread's result string and returns it.
func threadString(_ text: String) -> UnsafePointer<CChar> {
    free(pthread_getspecific(threadStringKey))
    let p = strdup(text)!
    pthread_setspecific(threadStringKey, p)
    return UnsafePointer(p)
}

private nonisolated(unsafe) let emptyCString: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()

@_cdecl("tailor_last_error")
public func cLastError() -> UnsafePointer<CChar> {
    guard let p = pthread_getspecific(lastErrorKey) else { return emptyCString }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

/// Runs an entry point's body: status 0 on success, the error's code (and message) otherwise.
/// The body computes with denormals flushed to zero; the caller's floating-point environment is
/// restored before returning (FloatEnvironment.swift).
func guarded(_ body: () throws -> Void) -> Int32 {
    clearLastError()
    return FloatEnvironment.withDenormalsFlushed {
        do {
            try body()
            clearLastError()   // a callback may have made a failing call of its own meanwhile
            return 0
        } catch let e as TailorError {
            setLastError(e.message)
            return e.code.rawValue
        } catch {
            setLastError("internal error: \(error)")
            return TailorError.Code.internal.rawValue
        }
    }
}

private nonisolated(unsafe) let statusNames: [UnsafePointer<CChar>] = ([
    "TAILOR_OK", "TAILOR_ERR_INVALID_ARGUMENT", "TAILOR_ERR_SHAPE", "TAILOR_ERR_NOT_FOUND", "TAILOR_ERR_IO",
    "TAILOR_ERR_FORMAT", "TAILOR_ERR_NUMERIC", "TAILOR_ERR_UNSUPPORTED", "TAILOR_ERR_CANCELLED", "TAILOR_ERR_BUSY",
    "TAILOR_ERR_VERSION", "TAILOR_ERR_INTERNAL", "TAILOR_UNKNOWN_STATUS",
] as [String]).map { UnsafePointer(strdup($0)!) }

@_cdecl("tailor_status_name")
public func cStatusName(_ status: Int32) -> UnsafePointer<CChar> {
    statusNames[(status >= 0 && Int(status) < statusNames.count - 1) ? Int(status) : statusNames.count - 1]
}

// MARK: argument helpers (all throw instead of trapping)

func requireString(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    try requireText(p, what, limit: Int(TAILOR_MAX_STRING_BYTES), limitName: "TAILOR_MAX_STRING_BYTES")
}

/// A caller's NUL-terminated string of at most `limit` bytes, read without passing the limit.
func requireText(_ p: UnsafePointer<CChar>?, _ what: String, limit: Int, limitName: String) throws -> String {
    guard let p else { throw TailorError.invalid("\(what) is NULL") }
    guard strnlen(p, limit + 1) <= limit else { throw TailorError.invalid("\(what) is longer than \(limitName) (\(limit) bytes)") }
    return String(cString: p)
}

func requirePointer<T>(_ p: UnsafeMutablePointer<T>?, _ what: String) throws -> UnsafeMutablePointer<T> {
    guard let p else { throw TailorError.invalid("\(what) is NULL") }
    return p
}

func requireInt(_ v: Int64, _ what: String, _ range: ClosedRange<Int64>) throws -> Int {
    guard range.contains(v) else { throw TailorError.invalid("\(what) must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
    return Int(v)
}

/// `index` as an Int if it addresses one of `count` items, else an error naming what it indexes.
func checkIndex(_ index: Int64, _ count: Int, _ what: String, of owner: String = "the network") throws -> Int {
    guard index >= 0, index < Int64(count) else {
        throw TailorError.invalid("\(what) index \(index) is out of range: \(owner) has \(count) \(what)(s)")
    }
    return Int(index)
}

// MARK: versioned structs (tailor.h rule 2)

/// The `size` a caller declared at the start of a struct, checked against the header's bounds.
private func declaredSize(_ p: UnsafeRawPointer, _ what: String, _ librarySize: Int) throws -> Int {
    try checkSize(p.loadUnaligned(as: Int64.self), what, librarySize)
}

/// A struct size: 8...TAILOR_MAX_STRUCT_BYTES and a multiple of 8, as every sizeof of these
/// structs is (they start with an int64). Whole 8-byte units mean a prefix never ends inside a
/// pointer, which would splice the caller's half with the default's into a wild pointer.
private func checkSize(_ size: Int64, _ what: String, _ librarySize: Int) throws -> Int {
    guard size >= 8, size <= Int64(TAILOR_MAX_STRUCT_BYTES), size % 8 == 0 else {
        throw TailorError.invalid("\(what).size must be sizeof(\(what)) (\(librarySize) in this library; any multiple of 8 "
                                  + "up to TAILOR_MAX_STRUCT_BYTES is read as a prefix), got \(size)")
    }
    return Int(size)
}

/// An input struct: the first `size` bytes of the caller's copy over `defaults` (fields past them
/// keep their defaults); NULL gives the defaults.
func readVersioned<T>(_ p: UnsafePointer<T>?, _ defaults: T, _ what: String) throws -> T {
    guard let p else { return defaults }
    let size = try declaredSize(UnsafeRawPointer(p), what, MemoryLayout<T>.size)
    var out = defaults
    withUnsafeMutableBytes(of: &out) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: min(size, MemoryLayout<T>.size)))
    }
    return out
}

/// An output struct: writes `value` into the caller's `size` bytes (never more, and the caller's
/// `size` stays as it was). `fill` runs only after the size checked out.
func writeVersioned<T>(_ out: UnsafeMutablePointer<T>?, _ what: String, _ fill: () throws -> T) throws {
    let raw = UnsafeMutableRawPointer(try requirePointer(out, "out"))
    let size = try declaredSize(UnsafeRawPointer(raw), what, MemoryLayout<T>.size)
    var value = try fill()
    withUnsafeMutableBytes(of: &value) { $0.storeBytes(of: Int64(size), as: Int64.self) }
    withUnsafeBytes(of: &value) { raw.copyMemory(from: $0.baseAddress!, byteCount: min(size, $0.count)) }
}

/// Fills an input struct with its defaults: the caller's `size` bytes (zeroing fields this library
/// does not know), `size` set to what the caller has.
func fillDefaults<T>(_ cfg: UnsafeMutablePointer<T>?, _ defaults: T, size: Int64, _ what: String) throws {
    let p = UnsafeMutableRawPointer(try requirePointer(cfg, "cfg"))
    let n = try checkSize(size, what, MemoryLayout<T>.size)
    var d = defaults
    withUnsafeMutableBytes(of: &d) { $0.storeBytes(of: Int64(n), as: Int64.self) }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: n)
    withUnsafeBytes(of: &d) { p.copyMemory(from: $0.baseAddress!, byteCount: min(n, $0.count)) }
}
