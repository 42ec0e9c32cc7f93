/// A Tailor run's whole state in one file, so a killed run resumes to the same result: the
/// student (graph, modes, weights), the teacher, the optimiser's per-parameter state, and the
/// run's own state as JSON (plan, options, epoch, RNG, history). Written atomically
/// (temporary file, fsync, rename): a crash leaves the previous checkpoint intact.
///
/// Layout: the safetensors model-file layout of the student, plus the teacher's tensors under
/// `teacher.` with its graph in `__metadata__.teacher_graph`, optimiser tensors under
/// `optimizer.<state>.<parameter>`, and `__metadata__.tailor_run` holding the run JSON.
public struct Checkpoint {
    public static let version = 1
    static let teacherPrefix = "teacher."
    static let optimizerPrefix = "optimizer."

    public var student: Network
    public var teacher: Network
    /// Optimiser state by name (`momentum.layer1.0.conv1.weight`), without the `optimizer.` prefix.
    public var optimizerState: [(name: String, tensor: Tensor)]
    public var run: JSON

    public init(student: Network, teacher: Network, optimizerState: [(name: String, tensor: Tensor)], run: JSON) {
        self.student = student; self.teacher = teacher; self.optimizerState = optimizerState; self.run = run
    }

    public func encode() throws -> [UInt8] {
        var extra: [(name: String, tensor: Tensor)] = teacher.parameterNames.compactMap { n in
            teacher.params[n].map { (Checkpoint.teacherPrefix + n, $0) }
        }
        extra += optimizerState.map { (Checkpoint.optimizerPrefix + $0.name, $0.tensor) }
        let c = try ModelFile.container(student, extraMetadata: [
            ("checkpoint_version", String(Checkpoint.version)),
            ("teacher_graph", try teacher.graphMetadata().serialized()),
            ("tailor_run", run.serialized()),
        ], extraTensors: extra)
        return c.encode()
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
        let (student, optimizer) = try ModelFile.network(from: c, extraPrefixes: [teacherPrefix, optimizerPrefix])
        let (teacher, _) = try ModelFile.network(from: c, extraPrefixes: [optimizerPrefix], graphKey: "teacher_graph", prefix: teacherPrefix)
        guard let runText = c.meta("tailor_run") else { throw TailorError.format("checkpoint lacks its run state") }
        return Checkpoint(student: student, teacher: teacher,
                          optimizerState: optimizer.filter { $0.name.hasPrefix(optimizerPrefix) }
                              .map { (String($0.name.dropFirst(optimizerPrefix.count)), $0.tensor) },
                          run: try JSON.parse(runText))
    }
}
