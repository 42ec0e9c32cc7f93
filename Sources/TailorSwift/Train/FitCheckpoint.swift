// Checkpoints of a fit, and resuming one. At every epoch end the run writes one file
// (Checkpoint.swift, atomically) holding the student, the teacher, the optimiser state and the
// run state below; `Fit.resume` loads it and runs the remaining epochs. Because every epoch's
// randomness and learning rates are functions of (seed, epoch, step) (Fit.swift), the resumed
// run computes what the uninterrupted run would have: the same final weights, BN statistics,
// optimiser state and history, bit for bit on the same library build and thread count
// (TAILOR_NUM_THREADS; the engine's reductions are split per thread).
//
// What cannot be checked by replaying is checked by fingerprint: the training (and validation)
// data — count, shape and a hash — and the network the run started from, so resuming with other
// data or against another model is a clear error instead of a silently different run.
import Glibc

/// Where a fit writes its checkpoint, and the caller's own text to keep in it.
public struct CheckpointOptions: Sendable {
    public var path: String
    /// Kept verbatim (a Python Tailor run stores its plan and hardware options here).
    public var note: String?
    public init(path: String, note: String? = nil) { self.path = path; self.note = note }
}

/// FNV-1a over 64-bit words: a cheap hash to tell data sets and networks apart (not a guard
/// against deliberate collisions).
struct Fingerprint {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ v: UInt64) { value = (value ^ v) &* 0x0000_0100_0000_01B3 }
    mutating func add(_ s: String) { for b in s.utf8 { add(UInt64(b)) }; add(0xFF) }
    var hex: String { String(value, radix: 16) }
}

/// What identifies a data set: count, sample shape, and a hash of every label and of up to 2^22
/// evenly spaced values (every value of a small set; a few milliseconds for CIFAR-10).
struct DataFingerprint: Equatable {
    var count: Int, shape: Shape, hash: String

    init(_ d: Dataset) {
        var f = Fingerprint()
        for l in d.labels { f.add(UInt64(UInt32(bitPattern: l))) }
        let stride = max(1, d.x.count >> 22)
        for i in Swift.stride(from: 0, to: d.x.count, by: stride) { f.add(UInt64(d.x[i].bitPattern)) }
        count = d.count; shape = d.shape; hash = f.hex
    }

    var json: JSON {
        .object([("count", jsonNumber(count)), ("shape", .array([shape.c, shape.h, shape.w].map(jsonNumber))), ("hash", .string(hash))])
    }
    init(json: JSON, _ what: String) throws {
        let f = try JSONFields(json, what)
        guard let s = json["shape"]?.array?.compactMap(\.int), s.count == 3 else { throw f.fail("shape", "[c, h, w]") }
        count = try f.int("count"); shape = Shape(s[0], s[1], s[2]); hash = try f.string("hash")
    }
    var description: String { "\(count) samples of \(shape) (hash \(hash))" }
}

/// The network a run started from: its structure (graph and block modes) and its weights.
struct NetworkFingerprint: Equatable {
    var structure: String, weights: String

    init(_ net: Network) throws {
        var s = Fingerprint(), w = Fingerprint()
        s.add(try net.graphMetadata().serialized())
        for name in net.parameterNames {
            guard let t = net.params[name] else { continue }
            w.add(name)
            for v in t.data { w.add(UInt64(v.bitPattern)) }
        }
        structure = s.hex; weights = w.hex
    }
    var json: JSON { .object([("structure", .string(structure)), ("weights", .string(weights))]) }
    init(json: JSON) throws {
        let f = try JSONFields(json, "start_network")
        structure = try f.string("structure"); weights = try f.string("weights")
    }
}

/// The run's own state in a checkpoint (`__metadata__.tailor_run`).
struct FitRunState {
    var libraryVersion = Checkpoint.libraryVersion
    var config: FitConfig
    /// The epoch the run continues with; epochs 0..<nextEpoch are done and in `history`.
    var nextEpoch = 0
    var history: [EpochRecord] = []
    var optimizer: OptimizerKind
    var optimizerSteps: [(name: String, steps: Int)] = []
    var train: DataFingerprint, val: DataFingerprint?
    var start: NetworkFingerprint
    var note: String?
    /// For diagnosis: bitwise resumption assumes the same thread count.
    var threads = WorkerPool.shared.width

    init(config: FitConfig, train: DataFingerprint, val: DataFingerprint?, start: NetworkFingerprint, note: String?) {
        self.config = config; self.optimizer = config.optimizer.kind
        self.train = train; self.val = val; self.start = start; self.note = note
    }

    var json: JSON {
        .object([
            ("library_version", .string(libraryVersion)),
            ("epochs", jsonNumber(config.epochs)), ("next_epoch", jsonNumber(nextEpoch)),
            ("config", config.json),
            ("history", .array(history.map(\.json))),
            ("optimizer", .object([("kind", .string(optimizer == .sgd ? "sgd" : "adam")),
                                   ("steps", .object(optimizerSteps.map { ($0.name, jsonNumber($0.steps)) }))])),
            ("train", train.json), ("val", val?.json ?? .null),
            ("start_network", start.json),
            ("note", note.map(JSON.string) ?? .null),
            ("threads", jsonNumber(threads)),
        ])
    }

    init(json: JSON) throws {
        let f = try JSONFields(json, "run state")
        libraryVersion = try f.string("library_version")
        config = try FitConfig(json: json["config"] ?? .null)
        guard try f.int("epochs") == config.epochs else { throw f.fail("epochs", "config.epochs") }
        nextEpoch = try f.int("next_epoch", 0...config.epochs)
        guard let h = json["history"]?.array, h.count == nextEpoch else { throw f.fail("history", "one record per completed epoch") }
        history = try h.map { try EpochRecord(json: $0) }
        guard history.map(\.epoch) == Array(0..<nextEpoch) else { throw f.fail("history", "epochs 0, 1, … in order") }
        let o = try JSONFields(json["optimizer"], "run state.optimizer")
        switch try o.string("kind") {
        case "sgd": optimizer = .sgd
        case "adam": optimizer = .adam
        default: throw o.fail("kind", "sgd or adam")
        }
        guard optimizer == config.optimizer.kind else { throw o.fail("kind", "the configured optimiser") }
        guard case .object(let steps)? = json["optimizer"]?["steps"] else { throw o.fail("steps", "an object") }
        optimizerSteps = try steps.map { (n, v) in
            guard let k = v.int, k >= 0 else { throw o.fail("steps", "non-negative step counts") }
            return (n, k)
        }
        train = try DataFingerprint(json: json["train"] ?? .null, "run state.train")
        val = json["val"] == .null ? nil : try DataFingerprint(json: json["val"] ?? .null, "run state.val")
        start = try NetworkFingerprint(json: json["start_network"] ?? .null)
        note = json["note"]?.string
        threads = try f.int("threads")
    }
}

/// Writes the checkpoint of a run at each epoch end.
final class CheckpointWriter {
    let path: String
    var state: FitRunState
    let teacher: Network?

    init(path: String, state: FitRunState, teacher: Network?) {
        self.path = path; self.state = state; self.teacher = teacher
    }

    /// A new run's writer; fails early (before any training) on a path that cannot be written.
    convenience init(_ o: CheckpointOptions, start: Network, train: Dataset, val: Dataset?, session: Fit.Session) throws {
        guard !o.path.isEmpty else { throw TailorError.invalid("the checkpoint path is empty") }
        guard (o.note?.utf8.count ?? 0) <= 1 << 20 else { throw TailorError.invalid("the checkpoint note is longer than 1 MiB") }
        // Refuse an unwritable folder now rather than after the first epoch's work.
        let dir = o.path.utf8.lastIndex(of: UInt8(ascii: "/")).map { $0 == o.path.utf8.startIndex ? "/" : String(o.path[..<$0]) } ?? "."
        guard access(dir, W_OK) == 0 else {
            throw TailorError(.io, "cannot write checkpoints into '\(dir)': \(String(cString: strerror(errno)))")
        }
        let state = FitRunState(config: session.config, train: DataFingerprint(train), val: val.map(DataFingerprint.init),
                                start: try NetworkFingerprint(start), note: o.note)
        self.init(path: o.path, state: state, teacher: session.teacher)
    }

    func save(after record: EpochRecord, student: Network, trainer: Trainer) throws {
        guard let snap = trainer.optimizerSnapshot() else { throw TailorError(.internal, "no optimiser state after an epoch") }
        state.history.append(record)
        state.nextEpoch = record.epoch + 1
        state.optimizerSteps = snap.steps
        try Checkpoint(student: student, teacher: teacher, optimizerState: snap.tensors, run: state.json).save(to: path)
    }
}

/// What `Fit.resume` hands back: the trained student, the teacher the run used (nil without
/// one), and the note the run was started with.
public struct ResumedRun {
    public let student: Network
    public let teacher: Network?
    public let note: String?
}

extension Fit {
    /// Continues the run checkpointed at `path` from its next epoch to the end, writing its
    /// checkpoint to `path` after every epoch as before. `train` and `val` must be the data the
    /// run started with (raw, before normalisation, which comes from the checkpoint; `mean`/`std`,
    /// if given, must be the run's). `expecting`, if given, must be the network the run started
    /// from. `history` receives the whole run's records (those before the checkpoint first).
    /// A checkpoint whose run already finished returns its student without training.
    public static func resume(checkpoint path: String, train: Dataset, val: Dataset? = nil, mean: [Float]? = nil, std: [Float]? = nil,
                              expecting start: Network? = nil, trainer: Trainer = Trainer(), history: inout [EpochRecord],
                              progress: (FitProgress) -> Bool = { _ in true }) throws -> ResumedRun {
        try resume(try Checkpoint.load(path: path), path: path, train: train, val: val, mean: mean, std: std, expecting: start,
                   trainer: trainer, history: &history, progress: progress)
    }

    /// `resume` for a checkpoint already loaded from `path` (the C API reads the student's input
    /// shape from it before it can read the caller's data).
    static func resume(_ ck: Checkpoint, path: String, train: Dataset, val: Dataset?, mean: [Float]?, std: [Float]?,
                       expecting start: Network?, trainer: Trainer, history: inout [EpochRecord],
                       progress: (FitProgress) -> Bool) throws -> ResumedRun {
        func fail(_ code: TailorError.Code, _ m: String) -> TailorError { TailorError(code, "checkpoint '\(path)': \(m)") }
        // The run continues here, so what its killed predecessors left half-written goes now, even
        // when the run is already complete and nothing will be written again.
        Safetensors.removeTemporariesOfDeadWriters(of: path)
        let state: FitRunState
        do { state = try FitRunState(json: ck.run) } catch let e as TailorError { throw fail(e.code, e.message) }
        guard state.libraryVersion == Checkpoint.libraryVersion else {
            throw fail(.version, "written by libtailor \(state.libraryVersion), this is \(Checkpoint.libraryVersion); resume it with the library that wrote it (kernels may differ, and resuming promises the uninterrupted run's weights)")
        }
        guard DataFingerprint(train) == state.train else {
            throw fail(.invalidArgument, "the run trained on \(state.train.description); this training data is \(DataFingerprint(train).description)")
        }
        switch (state.val, val.map(DataFingerprint.init)) {
        case (nil, nil): break
        case (let a?, let b?) where a == b: break
        case (let a?, let b):
            throw fail(.invalidArgument, "the run validated on \(a.description) (its results are part of the history); " + (b.map { "this validation data is \($0.description)" } ?? "pass the same validation data"))
        case (nil, _?): throw fail(.invalidArgument, "the run had no validation data; resume it without")
        }
        if (mean != nil && mean != state.config.mean) || (std != nil && std != state.config.std) {
            throw fail(.invalidArgument, "the normalisation differs from the run's (mean \(state.config.mean ?? []), std \(state.config.std ?? [])); pass none to use the run's")
        }
        if let start {
            let f = try NetworkFingerprint(start)
            guard f.structure == state.start.structure else {
                throw fail(.invalidArgument, "the run started from another network (structure fingerprint \(state.start.structure), this one is \(f.structure))")
            }
            guard f.weights == state.start.weights else {
                throw fail(.invalidArgument, "the run started from a network of this structure but other weights (fingerprint \(state.start.weights), this one is \(f.weights))")
            }
        }
        guard state.config.loss.needsTeacher == (ck.teacher != nil) else {
            throw fail(.format, state.config.loss.needsTeacher ? "the run uses a KD loss but the checkpoint holds no teacher" : "the checkpoint holds a teacher its loss does not use")
        }
        do {
            try trainer.restoreOptimizer(kind: state.optimizer, tensors: ck.optimizerState,
                                         steps: Dictionary(state.optimizerSteps, uniquingKeysWith: { a, _ in a }), for: ck.student)
        } catch let e as TailorError { throw fail(e.code, e.message) }
        let session = try Session(ck.student, train: train, val: val, config: state.config, teacher: ck.teacher)
        history += state.history
        try session.run(ck.student, from: state.nextEpoch, trainer: trainer, history: &history, beforeEpoch: nil,
                        writer: CheckpointWriter(path: path, state: state, teacher: ck.teacher), progress: progress)
        return ResumedRun(student: ck.student, teacher: ck.teacher, note: state.note)
    }

    /// The run state of the checkpoint at `path` as JSON (configuration, next epoch, history,
    /// fingerprints, note), after loading and checking the whole file.
    public static func checkpointDescription(path: String) throws -> JSON {
        let ck = try Checkpoint.load(path: path)
        do { _ = try FitRunState(json: ck.run) } catch let e as TailorError { throw TailorError(e.code, "checkpoint '\(path)': \(e.message)") }
        guard case .object(var kv) = ck.run else { throw TailorError.format("checkpoint '\(path)': run state is not an object") }
        kv.append(("checkpoint_version", jsonNumber(Checkpoint.version)))
        kv.append(("has_teacher", .bool(ck.teacher != nil)))
        kv.append(("student_blocks", .array(ck.student.blocks.map { .object([("name", .string($0.name)), ("mode", .string($0.mode.rawValue))]) })))
        return .object(kv)
    }
}
