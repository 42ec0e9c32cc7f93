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
    guard let p else { throw TailorError.invalid("\(what) is NULL") }
    guard strnlen(p, 4097) <= 4096 else { throw TailorError.invalid("\(what) is longer than 4096 bytes") }
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
func checkIndex(_ index: Int64, _ count: Int, _ what: String) throws -> Int {
    guard index >= 0, index < Int64(count) else {
        throw TailorError.invalid("\(what) index \(index) is out of range: the network has \(count) \(what)(s)")
    }
    return Int(index)
}
