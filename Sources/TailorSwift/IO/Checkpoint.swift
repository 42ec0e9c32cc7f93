import CTailor
import Glibc
/// A run's whole state in one file, so a killed run resumes to the same result: the student
/// (graph, modes, weights, the parameters its blocks set aside, its initialisation RNG), the
/// teacher when there is one, the optimiser's per-parameter state, and the run's own state as
/// JSON (configuration, plan, next epoch, history, fingerprints; see FitCheckpoint.swift).
/// Written atomically (temporary file, fsync, rename): a crash leaves the previous checkpoint intact.
///
/// Layout: the safetensors model-file layout of the student, plus the teacher's tensors under
/// `teacher.` with its graph in `__metadata__.teacher_graph`, optimiser tensors under
/// `optimizer.<state>.<parameter>`, parameters a block set aside under `stash.<block>.<parameter>`,
/// and `__metadata__.tailor_run` holding the run JSON.
public struct Checkpoint {
    /// Bumped whenever the layout or the run JSON changes meaning.
    public static let version = 1
    /// This library's version (include/tailor.h). A checkpoint resumes only in the library that
    /// wrote it: kernels may change the numerics between versions, and resuming promises the
    /// uninterrupted run's weights.
    public static let libraryVersion = "\(TAILOR_VERSION_MAJOR).\(TAILOR_VERSION_MINOR).\(TAILOR_VERSION_PATCH)"
    static let teacherPrefix = "teacher."
    static let optimizerPrefix = "optimizer."
    static let stashPrefix = "stash."
    static let reservedPrefixes = [teacherPrefix, optimizerPrefix, stashPrefix]

    public var student: Network
    public var teacher: Network?
    /// Optimiser state by name (`momentum_buffer.layer1.0.conv1.weight`), without the `optimizer.` prefix.
    public var optimizerState: [(name: String, tensor: Tensor)]
    public var run: JSON

    public init(student: Network, teacher: Network?, optimizerState: [(name: String, tensor: Tensor)], run: JSON) {
        self.student = student; self.teacher = teacher; self.optimizerState = optimizerState; self.run = run
    }

    public func encode() throws -> [UInt8] {
        // A parameter named like a reserved prefix would be read back as checkpoint state.
        if let clash = student.parameterNames.first(where: { n in Checkpoint.reservedPrefixes.contains { n.hasPrefix($0) } }) {
            throw TailorError.invalid("parameter '\(clash)' starts with a name checkpoints reserve (teacher., optimizer., stash.); rename its node to checkpoint this network")
        }
        var extra: [(name: String, tensor: Tensor)] = []
        var meta: [(String, String)] = [("checkpoint_version", String(Checkpoint.version)),
                                        ("student_rng", String(student.rng.state))]
        if let teacher {
            extra += teacher.parameterNames.compactMap { n in teacher.params[n].map { (Checkpoint.teacherPrefix + n, $0) } }
            meta.append(("teacher_graph", try teacher.graphMetadata().serialized()))
        }
        extra += optimizerState.map { (Checkpoint.optimizerPrefix + $0.name, $0.tensor) }
        // Parameters of nodes a block left (a removed projection): switching back restores them.
        for (i, b) in student.blocks.enumerated() {
            extra += b.stash.keys.sorted().compactMap { n in b.stash[n].map { ("\(Checkpoint.stashPrefix)\(i).\(n)", $0) } }
        }
        meta.append(("tailor_run", run.serialized()))
        return try ModelFile.container(student, extraMetadata: meta, extraTensors: extra).encode()
    }

    public func save(to path: String) throws {
        try Safetensors.writeAtomically(try encode(), to: path)
    }

    public static func load(path: String) throws -> Checkpoint {
        let bytes = try Safetensors.readFile(path)
        do { return try decode(bytes) } catch let e as TailorError {
            throw TailorError(e.code, "checkpoint '\(path)': \(e.message)")
        }
    }

    public static func decode(_ bytes: [UInt8]) throws -> Checkpoint {
        let c = try bytes.withUnsafeBufferPointer { try Safetensors.decode($0) }
        guard let v = c.meta("checkpoint_version") else {
            throw TailorError.format("not a Tailor checkpoint (a model file can be loaded with tailor_net_load)")
        }
        guard Int(v) == version else {
            throw TailorError(.version, "checkpoint version \(v) is not this library's (\(version)); finish the run with the library that wrote it")
        }
        let (student, extra) = try ModelFile.network(from: c, extraPrefixes: reservedPrefixes)
        if let s = c.meta("student_rng") {
            guard let state = UInt64(s) else { throw TailorError.format("student_rng '\(s.prefix(40))' is not an unsigned integer") }
            student.rng = SplitMix64(seed: state)
        }
        var teacher: Network? = nil
        if c.meta("teacher_graph") != nil {
            teacher = try ModelFile.network(from: c, extraPrefixes: [optimizerPrefix, stashPrefix], graphKey: "teacher_graph",
                                            prefix: teacherPrefix).net
        }
        for (name, t) in extra where name.hasPrefix(stashPrefix) {
            let rest = name.dropFirst(stashPrefix.count)
            guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]), student.blocks.indices.contains(i) else {
                throw TailorError.format("tensor '\(name)' does not name a block of the student")
            }
            let param = String(rest[rest.index(after: dot)...])
            // Checked now: a stashed tensor becomes a parameter again when the block switches back.
            guard let spec = student.settableParameters(ofBlock: i)[param], spec.shape == t.shape, spec.isInteger == t.isInteger else {
                throw TailorError.format("tensor '\(name)' is not a \(t.shape) parameter block '\(student.blocks[i].name)' can hold")
            }
            student.blocks[i].stash[param] = t
        }
        if extra.contains(where: { $0.name.hasPrefix(teacherPrefix) }) && teacher == nil {
            throw TailorError.format("checkpoint holds teacher tensors but no teacher_graph")
        }
        guard let runText = c.meta("tailor_run") else { throw TailorError.format("checkpoint lacks its run state") }
        return Checkpoint(student: student, teacher: teacher,
                          optimizerState: extra.filter { $0.name.hasPrefix(optimizerPrefix) }
                              .map { (String($0.name.dropFirst(optimizerPrefix.count)), $0.tensor) },
                          run: try JSON.parse(runText))
    }
}
