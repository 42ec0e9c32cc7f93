import CTailor
import Glibc

/// What a `tailor_net *` points at: the network plus C-facing state (interned strings, a busy
/// lock). Handles are also kept in a registry so a stale or foreign pointer is refused with an
/// error instead of being dereferenced.
final class NetHandle {
    var net: Network
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// C strings handed out by this handle; valid until it is freed (see tailor.h).
    private var interned: [String: UnsafeMutablePointer<CChar>] = [:]
    /// The last JSON each function returned on this handle, by function: valid until that
    /// function's next call on it (tailor.h rule 5).
    private var jsonSlots: [String: UnsafeMutablePointer<CChar>] = [:]
    /// The per-epoch history (JSON) of the Tailor run that made this handle (tailor_run).
    var runHistory: String?
    /// Skip rows of the last tailor_net_estimate on this handle.
    var skipCosts: [tailor_skip_cost]?
    /// FIFOs of the last tailor_net_fifos on this handle.
    var fifos: [FifoRow]?
    /// The training history of the last fit on this handle (or of the run that made it).
    var history: [EpochRecord] = []
    /// Training state (executor, optimiser state) kept between train_step / fit calls.
    lazy var trainer = Trainer()

    init(_ net: Network) {
        self.net = net
        pthread_mutex_init(lock, nil)
    }

    deinit {
        for p in interned.values { free(p) }
        for p in jsonSlots.values { free(p) }
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    func cString(_ s: String) -> UnsafePointer<CChar> {
        if let p = interned[s] { return UnsafePointer(p) }
        let p = strdup(s)!
        interned[s] = p
        return UnsafePointer(p)
    }

    /// Keeps `text` as function `slot`'s result on this handle, freeing its previous one.
    func json(_ slot: String, _ text: String) -> UnsafePointer<CChar> {
        free(jsonSlots[slot])
        let p = strdup(text)!
        jsonSlots[slot] = p
        return UnsafePointer(p)
    }

    func tryLock() -> Bool { pthread_mutex_trylock(lock) == 0 }
    func blockingLock() { pthread_mutex_lock(lock) }
    func unlock() { pthread_mutex_unlock(lock) }
}

/// Live handles, by address.
private nonisolated(unsafe) var liveHandles = Set<UInt>()
private nonisolated(unsafe) let registryLock: UnsafeMutablePointer<pthread_mutex_t> = {
    let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(p, nil)
    return p
}()

private func withRegistry<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(registryLock)
    defer { pthread_mutex_unlock(registryLock) }
    return body()
}

/// Wraps a network (and the training state it continues with, the history that made it, if any)
/// into a new handle the caller owns.
func makeHandle(_ net: Network, trainer: Trainer? = nil, history: [EpochRecord] = [], runHistory: String? = nil) -> OpaquePointer {
    let h = NetHandle(net)
    if let trainer { h.trainer = trainer }
    h.history = history
    h.runHistory = runHistory
    let raw = Unmanaged.passRetained(h).toOpaque()
    _ = withRegistry { liveHandles.insert(UInt(bitPattern: raw)) }
    return OpaquePointer(raw)
}

/// The body of an entry point that hands out a new handle: `*out` is NULL unless it succeeds
/// (tailor.h rule 1), also when `make` refuses its arguments before any work.
func handleEntry(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ make: () throws -> Network) -> Int32 {
    out?.pointee = nil
    return guarded {
        guard let out else { throw TailorError.invalid("out is NULL") }
        out.pointee = makeHandle(try make())
    }
}

/// Runs `body` with exclusive use of the handle; a handle in use by another thread gives BUSY,
/// an unknown pointer gives INVALID_ARGUMENT.
func withHandle<T>(_ p: OpaquePointer?, _ body: (NetHandle) throws -> T) throws -> T {
    guard let p else { throw TailorError.invalid("net is NULL") }
    let handle: NetHandle? = withRegistry {
        guard liveHandles.contains(UInt(bitPattern: p)) else { return nil }
        let h = Unmanaged<NetHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
        return h.tryLock() ? h : nil
    }
    guard let h = handle else {
        let live = withRegistry { liveHandles.contains(UInt(bitPattern: p)) }
        throw live ? TailorError(.busy, "the network handle is in use by another thread")
                   : TailorError.invalid("net is not a live tailor_net handle (already freed, or not from this library)")
    }
    defer { h.unlock() }
    return try body(h)
}

func freeHandle(_ p: OpaquePointer?) {
    guard let p else { return }
    let known = withRegistry { liveHandles.remove(UInt(bitPattern: p)) != nil }
    guard known else { return }
    let h = Unmanaged<NetHandle>.fromOpaque(UnsafeRawPointer(p))
    // Wait for a call in progress on another thread to finish before releasing.
    h.takeUnretainedValue().blockingLock()
    h.takeUnretainedValue().unlock()
    h.release()
}
