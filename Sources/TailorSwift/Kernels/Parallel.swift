// A tiny fork-join pool that runs all of the engine's parallel work: convolution chunks (each
// thread its own im2col + single-threaded GEMM), BatchNorm, ReLU, adds, im2col/col2im. Worker
// threads start on first use and wait on a condition variable. A pool in use by another thread,
// or inherited through fork(), makes callers run serially instead of waiting.
//
// OpenBLAS's own threads spin (sched_yield) between calls and fight these workers for the cores,
// halving throughput on 2 cores when both are active; so when this pool has more than one thread
// it sets OpenBLAS (the system libopenblas this library links, not numpy's bundled copy) to one
// thread and parallelises GEMMs by splitting them itself.
import COpenBLAS
import Glibc

final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// Threads taking part in a loop, the caller included (TAILOR_NUM_THREADS, else online CPUs, ≤ 16).
    let width: Int
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let busy = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var job: ((Int) -> Void)?
    private var round = 0
    private var pending = 0
    private var started = false
    private let pid = getpid()

    private init() {
        var n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if let e = getenv("TAILOR_NUM_THREADS"), let v = Int(String(cString: e)), v >= 1 { n = v }
        width = max(1, min(n, 16))
        pthread_mutex_init(lock, nil); pthread_mutex_init(busy, nil)
        pthread_cond_init(wake, nil); pthread_cond_init(done, nil)
        if width > 1 { openblas_set_num_threads(1) }
    }

    private func start() -> Bool {
        if started { return true }
        for i in 1..<width {
            var t = pthread_t()
            let box = Unmanaged.passRetained(WorkerArg(pool: self, index: i)).toOpaque()
            guard pthread_create(&t, nil, { raw in
                guard let raw else { return nil }
                let arg = Unmanaged<WorkerArg>.fromOpaque(raw).takeRetainedValue()
                arg.pool.loop(arg.index)
                return nil
            }, box) == 0 else {
                Unmanaged<WorkerArg>.fromOpaque(box).release()
                return false   // run serially; threads already started stay idle
            }
            pthread_detach(t)
        }
        started = true
        return true
    }

    private func loop(_ index: Int) {
        FloatEnvironment.flushDenormalsOnThisThread()   // the pool's own threads always flush denormals
        var seen = 0
        pthread_mutex_lock(lock)
        while true {
            while round == seen { pthread_cond_wait(wake, lock) }
            seen = round
            let j = job
            pthread_mutex_unlock(lock)
            j?(index)
            pthread_mutex_lock(lock)
            pending -= 1
            if pending == 0 { pthread_cond_signal(done) }
        }
    }

    /// Runs body(part) for part in 0..<width, in parallel when the pool is free.
    func run(_ body: (Int) -> Void) {
        guard width > 1, getpid() == pid, pthread_mutex_trylock(busy) == 0 else {
            for p in 0..<width { body(p) }
            return
        }
        defer { pthread_mutex_unlock(busy) }
        withoutActuallyEscaping(body) { b in
            pthread_mutex_lock(lock)
            guard start() else {
                pthread_mutex_unlock(lock)
                for p in 0..<width { b(p) }
                return
            }
            job = b
            pending = width - 1
            round += 1
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(lock)
            b(0)
            pthread_mutex_lock(lock)
            while pending > 0 { pthread_cond_wait(done, lock) }
            job = nil
            pthread_mutex_unlock(lock)
        }
    }
}

private final class WorkerArg {
    let pool: WorkerPool, index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}

/// body(range) over 0..<n split into one contiguous range per pool thread; serial when n is
/// below `grain` (per-call overhead is a few microseconds).
func parallelFor(_ n: Int, grain: Int = 1 << 14, _ body: (Range<Int>) -> Void) {
    parallelParts(n, grain: grain) { _, r in body(r) }
}

/// Like parallelFor, also passing the part index (0..<WorkerPool.shared.width) for reductions.
func parallelParts(_ n: Int, grain: Int = 1 << 14, _ body: (Int, Range<Int>) -> Void) {
    let pool = WorkerPool.shared
    guard n >= grain, pool.width > 1 else { if n > 0 { body(0, 0..<n) }; return }
    let parts = pool.width
    pool.run { p in
        let lo = n * p / parts, hi = n * (p + 1) / parts
        if lo < hi { body(p, lo..<hi) }
    }
}
