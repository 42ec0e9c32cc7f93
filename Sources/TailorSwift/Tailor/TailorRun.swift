// The whole Tailor run (docs/ARCHITECTURE.md §5): the trained network becomes a frozen teacher and the start of
// a student; the student is trained with knowledge distillation while the plan's blocks are
// removed or shortened, one every `every` epochs, inside one fit, so the optimiser state and the
// learning-rate schedule continue across the changes. Every epoch is reported with the block
// modes the student trained in and what that student costs in hardware.

/// One epoch of a Tailor run: the fit's record, the modes of every block during it, and the
/// hardware of the student as it stood (design totals and the skips' share).
public struct TailorEpoch: Sendable {
    public var record: EpochRecord
    public var modes: [SkipMode]
    public var skips: Cost
    public var total: Cost
}

public struct TailorRunConfig: Sendable {
    public var plan: TailorPlan
    /// The training: loss must be a KD loss (the student learns from the teacher).
    public var fit: FitConfig
    /// What the per-epoch hardware figures are estimated on.
    public var hardware: HardwareConfig

    public init(plan: TailorPlan, fit: FitConfig, hardware: HardwareConfig = HardwareConfig()) {
        self.plan = plan; self.fit = fit; self.hardware = hardware
    }
}

public enum TailorRun {
    /// Runs SkipRemover or SkipShortener on the trained `network` (left unchanged) and returns the
    /// student with its per-epoch history. With `checkpoint`, the run's state is written after every
    /// epoch with a note that lets `resume` (and the Python and C resumes) rebuild the plan.
    public static func run(_ network: Network, train: Dataset, val: Dataset?, config: TailorRunConfig,
                           checkpoint: String? = nil, trainer: Trainer = Trainer(),
                           progress: (FitProgress) -> Bool = { _ in true }) throws -> (student: Network, history: [TailorEpoch]) {
        try config.plan.validate(network)
        guard config.fit.loss.needsTeacher else {
            throw TailorError.invalid("a Tailor run distils from the teacher: the loss must be a KD loss (kd_mse or kd_hinton), not cross-entropy")
        }
        guard config.fit.epochs == config.plan.epochs else {
            throw TailorError.invalid("the training runs \(config.fit.epochs) epochs but the plan \(config.plan.epochs); give the plan's epochs")
        }
        guard config.fit.modeSwitches.isEmpty else {
            throw TailorError.invalid("a Tailor run makes its own block switches from the plan; the training configuration has \(config.fit.modeSwitches.count)")
        }
        _ = try network.estimate(config.hardware, explain: false)   // a bad hardware configuration fails before training
        var fit = config.fit
        fit.modeSwitches = config.plan.blocks.enumerated().map { k, b in
            ModeSwitch(epoch: config.plan.changeEpoch(ofStep: k), block: b, mode: config.plan.algorithm.mode)
        }
        let teacher = network.copy(), student = network.copy()
        var records: [EpochRecord] = []
        let options = checkpoint.map { CheckpointOptions(path: $0, note: note(config, network: network)) }
        try Fit.fit(student, train: train, val: val, config: fit, teacher: teacher, trainer: trainer, history: &records,
                    checkpoint: options, progress: progress)
        return (student, try annotate(records, start: network, plan: config.plan, hardware: config.hardware))
    }

    /// The history rows of a run that started from `start`: each epoch with the block modes it
    /// trained in and the hardware of that student (one estimate per distinct set of modes).
    public static func annotate(_ records: [EpochRecord], start: Network, plan: TailorPlan, hardware: HardwareConfig) throws -> [TailorEpoch] {
        var cache: [[SkipMode]: (Cost, Cost)] = [:]
        return try records.map { r in
            let variant = start.copy()
            try plan.apply(to: variant, beforeEpoch: r.epoch)
            let modes = variant.blocks.map(\.mode)
            if cache[modes] == nil {
                let rep = try variant.estimate(hardware, explain: false)
                cache[modes] = (rep.skipCost, rep.totalCost)
            }
            return TailorEpoch(record: r, modes: modes, skips: cache[modes]!.0, total: cache[modes]!.1)
        }
    }

    /// The history rows of a resumed run, when its checkpoint note says it is a Tailor run (nil for
    /// a plain fit): the plan and hardware configuration come back from the note.
    public static func annotateResumed(_ records: [EpochRecord], run: ResumedRun) throws -> [TailorEpoch]? {
        guard let text = run.note, text.hasPrefix("{"), let note = try? JSON.parse(text), note["kind"]?.string == "tailor" else { return nil }
        guard let start = run.teacher else { throw TailorError.format("the checkpoint describes a Tailor run but holds no teacher") }
        guard let name = note["algorithm"]?.string, let algorithm = TailorPlan.Algorithm(rawValue: name),
              let every = note["every"]?.int, let epochs = note["epochs"]?.int else {
            throw TailorError.format("the checkpoint's Tailor note lacks its algorithm, every or epochs")
        }
        var blocks: [Int]? = nil
        if let names = note["blocks"]?.array {
            blocks = try names.map { n in
                guard let s = n.string, let i = start.blocks.firstIndex(where: { $0.name == s }) else {
                    throw TailorError.format("the checkpoint's Tailor note names block \(n.serialized()), which the teacher does not have")
                }
                return i
            }
        }
        let plan = try TailorPlan(algorithm, network: start, blocks: blocks, every: every, epochs: epochs)
        let hardware = try note["hardware"].map { try HardwareConfig(json: $0) } ?? HardwareConfig()
        return try annotate(records, start: start, plan: plan, hardware: hardware)
    }

    /// The checkpoint note of a Tailor run: what resuming needs to rebuild the plan and the
    /// per-epoch hardware (the same keys the Python package writes: kind, algorithm, every, epochs,
    /// blocks by name, hardware as `tailor.estimate` options).
    static func note(_ config: TailorRunConfig, network: Network) -> String {
        let plan = config.plan
        return JSON.object([
            ("kind", .string("tailor")), ("algorithm", .string(plan.algorithm.rawValue)),
            ("every", .number(Double(plan.every))), ("epochs", .number(Double(plan.epochs))),
            ("blocks", .array(plan.blocks.map { .string(network.blocks[$0].name) })),
            ("hardware", config.hardware.json),
        ]).serialized()
    }

    /// A run's history as JSON: per epoch the fit's figures, "modes" {block: mode}, "altered"
    /// (blocks not long), "hardware" {"skips", "total"}.
    public static func historyJSON(_ history: [TailorEpoch], blocks: [String]) -> JSON {
        func num(_ v: Float) -> JSON { v.isFinite ? .number(Double(v)) : .null }
        return .array(history.map { e in
            .object([
                ("epoch", .number(Double(e.record.epoch))), ("loss", num(e.record.loss)), ("train_accuracy", num(e.record.trainAccuracy)),
                ("val_loss", num(e.record.valLoss)), ("val_accuracy", num(e.record.valAccuracy)), ("lr", num(e.record.lr)),
                ("modes", .object(zip(blocks, e.modes).map { ($0, .string($1.rawValue)) })),
                ("altered", .array(zip(blocks, e.modes).filter { $1 != .long }.map { .string($0.0) })),
                ("hardware", .object([("skips", e.skips.json), ("total", e.total.json)])),
            ])
        })
    }
}
