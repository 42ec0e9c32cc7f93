// Denormal (subnormal) floats: x86 CPUs take a microcode assist on every SSE/AVX operation that
// reads or produces one, often 50-100× slower, so a network fed denormal inputs or holding
// denormal weights (fine-tuning near zero, weight decay driving values down) can train at a
// crawl. The engine therefore computes with flush-to-zero and denormals-are-zero on (x86-64
// MXCSR FTZ|DAZ; aarch64 FPCR.FZ): values below FLT_MIN (≈1.18e-38) count as zero, which is what
// PyTorch does after torch.set_flush_denormal(True) and what GPUs do by default.
//
//  - The engine's worker threads belong to the library: they run with FTZ|DAZ for good.
//  - The calling thread belongs to the caller: every C entry point sets FTZ|DAZ for the duration
//    of the call and restores the caller's whole floating-point environment (control bits and
//    exception flags) before returning, and gives it back around user callbacks.
//  - Swift code calling the engine directly (the tests) runs its own share of the work in its own
//    environment; wrap it in withDenormalsFlushed for the C API's behaviour.
//  - Only this library's threads and calls are covered: with TAILOR_NUM_THREADS=1 OpenBLAS may use
//    threads of its own, which keep their default environment.
import Glibc

enum FloatEnvironment {
#if arch(x86_64)
    /// MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero).
    static let flushBits: UInt32 = 0x8040
    @inline(__always) static func flushing(_ e: fenv_t) -> Bool { e.__mxcsr & flushBits == flushBits }
    @inline(__always) static func withFlush(_ e: fenv_t) -> fenv_t { var f = e; f.__mxcsr |= flushBits; return f }
#elseif arch(arm64)
    /// FPCR bit 24 (FZ).
    static let flushBits: UInt32 = 1 << 24
    @inline(__always) static func flushing(_ e: fenv_t) -> Bool { e.__fpcr & flushBits == flushBits }
    @inline(__always) static func withFlush(_ e: fenv_t) -> fenv_t { var f = e; f.__fpcr |= flushBits; return f }
#endif

    /// Turns FTZ/DAZ on for the current thread for good (the engine's own worker threads).
    static func flushDenormalsOnThisThread() {
#if arch(x86_64) || arch(arm64)
        var e = fenv_t()
        guard fegetenv(&e) == 0, !flushing(e) else { return }
        var f = withFlush(e)
        _ = fesetenv(&f)
#endif
    }

    /// Whether the current thread flushes denormals now.
    static var flushesDenormals: Bool {
#if arch(x86_64) || arch(arm64)
        var e = fenv_t()
        return fegetenv(&e) == 0 && flushing(e)
#else
        return false
#endif
    }

    /// The caller's environment while a C entry point runs with its own (a pointer to the entry
    /// point's stack copy; nil outside one, in a worker thread, or when nothing was changed).
    private static let callerKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with FTZ/DAZ on, then puts back the thread's floating-point environment exactly
    /// as it was (control bits and exception flags: flags the computation raised do not leak out,
    /// also for a caller that flushes denormals itself).
    @inline(__always)
    static func withDenormalsFlushed<T>(_ body: () throws -> T) rethrows -> T {
#if arch(x86_64) || arch(arm64)
        var saved = fenv_t()
        guard fegetenv(&saved) == 0 else { return try body() }
        return try withUnsafeMutablePointer(to: &saved) { caller in
            let previous = pthread_getspecific(callerKey)
            pthread_setspecific(callerKey, caller)
            if !flushing(caller.pointee) {
                var f = withFlush(caller.pointee)
                _ = fesetenv(&f)
            }
            defer { _ = fesetenv(caller); pthread_setspecific(callerKey, previous) }
            return try body()
        }
#else
        return try body()
#endif
    }

    /// Runs `body` (a caller's callback, called from inside an entry point) in the caller's own
    /// floating-point environment; what the callback leaves in it is what the caller gets back when
    /// the entry point returns. Then computing resumes with FTZ/DAZ.
    static func inCallerEnvironment<T>(_ body: () throws -> T) rethrows -> T {
#if arch(x86_64) || arch(arm64)
        guard let raw = pthread_getspecific(callerKey) else { return try body() }
        let caller = raw.assumingMemoryBound(to: fenv_t.self)
        var inside = fenv_t()
        guard fegetenv(&inside) == 0 else { return try body() }
        _ = fesetenv(caller)
        pthread_setspecific(callerKey, nil)   // a tailor call inside the callback starts afresh
        defer {
            _ = fegetenv(caller)
            _ = fesetenv(&inside)
            pthread_setspecific(callerKey, raw)
        }
#endif
        return try body()
    }
}
