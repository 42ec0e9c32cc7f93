// Where a step's time goes, per kind of node and pass. Off unless TAILOR_PROFILE=1; then the
// executor times every node of every forward and backward and, at process exit, prints the totals
// to stderr (ms and share), e.g. `TAILOR_PROFILE=1 python bench/train_bench.py --models resnet20`.
import Glibc

enum ExecutorProfile {
    static let enabled: Bool = {
        guard let v = getenv("TAILOR_PROFILE"), String(cString: v) == "1" else { return false }
        atexit { ExecutorProfile.report() }
        return true
    }()
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Adds the time since `start` to the entry of this node kind and pass.
    static func record(_ plan: Executor.Plan, _ pass: String, since start: Double) {
        record("\(kind(plan)) \(pass)", since: start)
    }

    /// Adds the time since `start` to the entry `key`.
    static func record(_ key: String, since start: Double) {
        let elapsed = now() - start
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        let old = totals[key] ?? (0, 0)
        totals[key] = (old.seconds + elapsed, old.calls + 1)
    }

    private static func kind(_ p: Executor.Plan) -> String {
        switch p.op {
        case .conv2d(let a): return "conv\(a.kernel)x\(a.kernel)/\(a.stride) " + (p.winograd >= 0 ? "winograd" : "im2col")
        case .batchnorm: return "batchnorm"
        case .relu: return "relu"
        case .add: return "add"
        case .maxpool: return "maxpool"
        case .avgpool: return "avgpool"
        case .globalAvgPool: return "global-avgpool"
        case .flatten: return "flatten"
        case .dense: return "dense"
        case .input: return "input (NCHW→NHWC)"
        }
    }

    static func report() {
        let all = totals.values.reduce(0) { $0 + $1.seconds }
        guard all > 0 else { return }
        var text = "tailor profile (TAILOR_PROFILE=1): time per node kind and pass\n"
        for (k, v) in totals.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            let ms = (v.seconds * 1e3 * 10).rounded() / 10, share = (v.seconds / all * 1000).rounded() / 10
            text += "  \(k): \(ms) ms in \(v.calls) calls, \(share) %\n"
        }
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
