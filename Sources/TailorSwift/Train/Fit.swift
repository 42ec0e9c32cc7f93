// The training loop: epochs of shuffled (and optionally augmented) batches, an optimiser and a
// learning-rate schedule, optional validation after every epoch, a progress callback that can
// cancel, and a per-epoch history. Weights and BN statistics are written back into the Network
// at every epoch end, on cancel and on error, so the Network always holds the last completed
// step's weights.
//
// Everything an epoch draws is a function of (seed, epoch): the sample order (Batcher.order) and
// the augmentation generator (augmentationRNG), and the schedules are closed-form in the global
// step. So a run restarted at epoch k from a checkpoint (FitCheckpoint.swift) replays epochs
// k… exactly as the uninterrupted run would.

import Glibc

public struct FitConfig: Equatable, Sendable {
    public var epochs = 1
    public var batchSize = 128
    public var optimizer = OptimizerConfig()
    public var schedule = ScheduleConfig()
    public var loss = LossKind.crossEntropy
    /// nil: no augmentation.
    public var augmentation: Augmentation? = Augmentation()
    public var shuffle = true
    public var dropLast = false
    public var seed: UInt64 = 0
    /// Per-channel normalisation applied to train and validation inputs (nil: none).
    public var mean: [Float]? = nil, std: [Float]? = nil
    /// Keep momentum / Adam state from earlier steps on this network (otherwise start fresh).
    public var keepOptimizerState = false
    /// Block-mode switches applied before the epochs they name (Tailor alters one block at a time
    /// within one run). Kept as data, not a closure, so a checkpoint can record and replay them.
    public var modeSwitches: [ModeSwitch] = []
    /// Quantisation-aware training at the network's fixed-point types (QuantizationAware.swift);
    /// validation and a teacher that carries types run quantised too.
    public var quantized = false
    public init() {}

    /// The authors' fine-tuning of a Tailor run (docs/ARCHITECTURE.md §5): KD (0.35·MSE + 0.65·CE) at lr 0.01
    /// with cosine decay; everything else as `FitConfig()`.
    public static var tailorFineTuning: FitConfig {
        var f = FitConfig()
        f.loss = .kdMSE(alpha: 0.35)
        f.optimizer.lr = 0.01
        f.schedule.kind = .cosine(etaMin: 0)
        return f
    }

    func validate(samples: Int) throws {
        guard epochs >= 1, epochs <= 1_000_000 else { throw TailorError.invalid("epochs must be in 1...1000000, got \(epochs)") }
        guard batchSize >= 1 else { throw TailorError.invalid("batch size must be at least 1, got \(batchSize)") }
        guard batchSize <= samples else { throw TailorError.invalid("batch size \(batchSize) exceeds the \(samples) training samples") }
        guard batchSize <= Executor.maxBatch else { throw TailorError.invalid("batch size must be at most \(Executor.maxBatch), got \(batchSize)") }
        if let a = augmentation, a.pad < 0 || a.pad > 1024 { throw TailorError.invalid("crop padding must be in 0...1024, got \(a.pad)") }
        try loss.validate()
        try optimizer.validate()
        try schedule.validate()
    }
}

/// Block `block` switches to `mode` before epoch `epoch` (0-based) starts.
public struct ModeSwitch: Equatable, Sendable {
    public var epoch: Int, block: Int, mode: SkipMode
    public init(epoch: Int, block: Int, mode: SkipMode) { self.epoch = epoch; self.block = block; self.mode = mode }
}

extension LossKind {
    func validate() throws {
        switch self {
        case .crossEntropy: break
        case .kdMSE(let a):
            guard a >= 0, a <= 1 else { throw TailorError.invalid("KD alpha must be in [0, 1], got \(a)") }
        case .kdHinton(let a, let t):
            guard a >= 0, a <= 1 else { throw TailorError.invalid("KD alpha must be in [0, 1], got \(a)") }
            guard t.isFinite, t > 0 else { throw TailorError.invalid("KD temperature must be positive, got \(t)") }
        }
    }
}

public struct FitProgress: Sendable {
    public var epoch = 0, epochs = 0, step = 0, stepsPerEpoch = 0, globalStep = 0, totalSteps = 0
    /// Running mean loss and accuracy of the epoch so far.
    public var loss: Float = 0, accuracy: Float = 0
    public var lr: Float = 0
    public var epochEnd = false
    /// Validation results at an epoch end (NaN when there is no validation set or mid-epoch).
    public var valLoss: Float = .nan, valAccuracy: Float = .nan
}

public struct EpochRecord: Equatable, Sendable {
    public var epoch: Int
    public var loss: Float, trainAccuracy: Float
    public var valLoss: Float, valAccuracy: Float
    /// Learning rate of the epoch's last step.
    public var lr: Float
}

public enum Fit {
    /// Trains `net` in place. `progress` is called after every step and at every epoch end; it
    /// returns false to cancel (a CANCELLED error is thrown after the weights are written back).
    /// `config.modeSwitches` and `beforeEpoch` may change the network's structure (block modes)
    /// before an epoch; the executor is rebuilt and optimiser state carried over by parameter name.
    /// `history` receives one record per completed epoch. With `checkpoint`, the run's state is
    /// written there atomically at every epoch end, for `resume` (which needs the mode switches as
    /// data, so `beforeEpoch` is refused then).
    public static func fit(_ net: Network, train: Dataset, val: Dataset? = nil, config: FitConfig, teacher: Network? = nil,
                           trainer: Trainer = Trainer(), history: inout [EpochRecord],
                           beforeEpoch: ((Int) throws -> Void)? = nil, checkpoint: CheckpointOptions? = nil,
                           progress: (FitProgress) -> Bool = { _ in true }) throws {
        let session = try Session(net, train: train, val: val, config: config, teacher: teacher)
        var writer: CheckpointWriter? = nil
        if let checkpoint {
            guard beforeEpoch == nil else {
                throw TailorError.invalid("a checkpointed run takes its block switches as data (config.modeSwitches), not a beforeEpoch closure, so resuming can replay them")
            }
            writer = try CheckpointWriter(checkpoint, start: net, train: train, val: val, session: session)
        }
        if !config.keepOptimizerState { trainer.resetOptimizer() }
        try session.run(net, from: 0, trainer: trainer, history: &history, beforeEpoch: beforeEpoch, writer: writer, progress: progress)
    }

    /// The augmentation generator of `epoch`: a well-mixed state derived from (seed, epoch), so
    /// epoch k draws the same crops and flips whether or not epochs 0..<k ran in this process.
    static func augmentationRNG(seed: UInt64, epoch: Int) -> SplitMix64 {
        var mix = SplitMix64(seed: seed ^ 0xA5A5_5A5A_DEAD_BEEF ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mix.next())
    }

    /// A fit's checked inputs and what does not change between epochs: normalised data, the
    /// batcher, the teacher's executor.
    struct Session {
        let config: FitConfig
        let trainData: Dataset, valData: Dataset?
        let batcher: Batcher
        let teacherExec: Executor?
        let teacher: Network?

        init(_ net: Network, train: Dataset, val: Dataset?, config: FitConfig, teacher: Network?) throws {
            guard let inShape = net.inputShape, let out = net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
            try config.validate(samples: train.count)
            let C = out.shape.count
            guard train.shape == inShape else { throw TailorError.shape("training samples are \(train.shape), the network takes \(inShape)") }
            if let i = train.labels.firstIndex(where: { $0 < 0 || Int($0) >= C }) {
                throw TailorError.invalid("training label \(train.labels[i]) at sample \(i) is outside 0..<\(C)")
            }
            if let val {
                guard val.shape == inShape else { throw TailorError.shape("validation samples are \(val.shape), the network takes \(inShape)") }
                if let i = val.labels.firstIndex(where: { $0 < 0 || Int($0) >= C }) {
                    throw TailorError.invalid("validation label \(val.labels[i]) at sample \(i) is outside 0..<\(C)")
                }
            }
            for s in config.modeSwitches {
                guard s.epoch >= 0, s.epoch < config.epochs else {
                    throw TailorError.invalid("a block switch names epoch \(s.epoch); the run has epochs 0..<\(config.epochs)")
                }
                guard net.blocks.indices.contains(s.block) else {
                    throw TailorError.invalid("a block switch names block \(s.block); the network has \(net.blocks.count) residual block(s)")
                }
            }
            if config.loss.needsTeacher {
                guard let teacher else { throw TailorError.invalid("a KD loss needs a teacher network") }
                guard teacher !== net else { throw TailorError.invalid("the teacher must be a different network from the student") }
                guard teacher.inputShape == inShape, teacher.outputNode?.shape.count == C else {
                    throw TailorError.shape("the teacher's input/output shapes do not match the student's")
                }
            }
            var trainData = train, valData = val
            var padValue = [Float](repeating: 0, count: inShape.c)
            if let mean = config.mean, let std = config.std {
                try trainData.normalize(mean: mean, std: std)
                try valData?.normalize(mean: mean, std: std)
                for c in 0..<inShape.c { padValue[c] = -mean[c] / std[c] }
            } else if (config.mean == nil) != (config.std == nil) {
                throw TailorError.invalid("normalisation needs both mean and std")
            }
            self.config = config
            self.trainData = trainData; self.valData = valData
            batcher = Batcher(data: trainData, batchSize: config.batchSize, dropLast: config.dropLast,
                              augmentation: config.augmentation, padValue: padValue, seed: config.seed)
            // The frozen teacher runs in inference mode on the engine's executor, built once.
            self.teacher = config.loss.needsTeacher ? teacher : nil
            teacherExec = try self.teacher.map { t in
                let e = try Executor(t)
                try e.setQuantized(config.quantized && t.precision != nil, net: t)
                return e
            }
        }

        /// Epochs `start..<config.epochs` on `net`, with the trainer's optimiser state as it is.
        func run(_ net: Network, from start: Int, trainer: Trainer, history: inout [EpochRecord],
                 beforeEpoch: ((Int) throws -> Void)?, writer: CheckpointWriter?, progress: (FitProgress) -> Bool) throws {
            let steps = batcher.stepsPerEpoch
            let total = steps * config.epochs
            var e = try trainer.prepare(net, optimizer: config.optimizer.kind, quantized: config.quantized)
            try e.store.load(from: net)
            var xb: [Float] = [], yb: [Int32] = []
            var p = FitProgress()
            p.epochs = config.epochs; p.stepsPerEpoch = steps; p.totalSteps = total
            let baseMomentum = config.optimizer.kind == .adam ? config.optimizer.beta1 : config.optimizer.momentum
            var synced = true
            defer { if !synced { e.store.write(to: net) } }
            for epoch in start..<config.epochs {
                let switches = config.modeSwitches.filter { $0.epoch == epoch }
                if !switches.isEmpty || beforeEpoch != nil {
                    for s in switches { try net.setMode(block: s.block, s.mode) }
                    try beforeEpoch?(epoch)
                    if !e.matches(net) {
                        e = try trainer.prepare(net, optimizer: config.optimizer.kind, quantized: config.quantized)
                        try e.store.load(from: net)
                    }
                }
                let order = batcher.order(epoch: epoch, shuffle: config.shuffle)
                var rng = Fit.augmentationRNG(seed: config.seed, epoch: epoch)
                var lossSum = 0.0, correct = 0, seen = 0
                var lr: Float = 0
                for s in 0..<steps {
                    let lo = s * config.batchSize, hi = min(lo + config.batchSize, order.count)
                    batcher.fill(&xb, &yb, order[lo..<hi], rng: &rng)
                    let B = hi - lo
                    let g = epoch * steps + s
                    lr = config.schedule.lr(base: config.optimizer.lr, step: g, stepsPerEpoch: steps, totalSteps: total)
                    let mom = config.schedule.momentum(base: baseMomentum, step: g, totalSteps: total)
                    var teacherLogits: [Float]? = nil
                    if let teacherExec {
                        teacherLogits = try xb.withUnsafeBufferPointer { xp in
                            guard let base = xp.baseAddress else { throw TailorError(.internal, "empty batch") }
                            return try teacherExec.predict(base, count: B)
                        }
                    }
                    synced = false
                    let r = try xb.withUnsafeBufferPointer { xp in
                        try yb.withUnsafeBufferPointer { yp in
                            try withOptionalPointer(teacherLogits) { tp in
                                guard let x = xp.baseAddress, let y = yp.baseAddress else { throw TailorError(.internal, "empty batch") }
                                return try trainer.step(e, x: x, batch: B, labels: y, teacher: tp, loss: config.loss, optimizer: config.optimizer,
                                                        lr: lr, momentum: mom, update: true,
                                                        stepLabel: "epoch \(epoch + 1), step \(s + 1) (global step \(g + 1))")
                            }
                        }
                    }
                    lossSum += Double(r.loss) * Double(B); correct += r.correct; seen += B
                    p.epoch = epoch; p.step = s; p.globalStep = g; p.lr = lr
                    p.loss = Float(lossSum / Double(seen)); p.accuracy = Float(correct) / Float(seen)
                    p.epochEnd = false; p.valLoss = .nan; p.valAccuracy = .nan
                    if !progress(p) {
                        throw TailorError(.cancelled, "training cancelled at epoch \(epoch + 1), step \(s + 1); the network holds the weights of that step")
                    }
                }
                e.store.write(to: net)
                synced = true
                var rec = EpochRecord(epoch: epoch, loss: Float(lossSum / Double(max(seen, 1))),
                                      trainAccuracy: Float(correct) / Float(max(seen, 1)), valLoss: .nan, valAccuracy: .nan, lr: lr)
                if let valData {
                    let (vl, va) = try evaluate(net, valData, quantized: config.quantized)
                    rec.valLoss = vl; rec.valAccuracy = va
                }
                history.append(rec)
                // Before the epoch-end callback, so a run cancelled there has this epoch on disk.
                try writer?.save(after: rec, student: net, trainer: trainer)
                p.epochEnd = true; p.valLoss = rec.valLoss; p.valAccuracy = rec.valAccuracy
                p.loss = rec.loss; p.accuracy = rec.trainAccuracy
                if !progress(p) {
                    throw TailorError(.cancelled, "training cancelled after epoch \(epoch + 1)")
                }
            }
        }
    }

    /// Mean cross-entropy and accuracy in inference mode (BN running statistics), fake-quantised
    /// at the network's types when `quantized`.
    public static func evaluate(_ net: Network, _ data: Dataset, quantized: Bool = false) throws -> (loss: Float, accuracy: Float) {
        guard let inShape = net.inputShape, let out = net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
        guard data.shape == inShape else { throw TailorError.shape("samples are \(data.shape), the network takes \(inShape)") }
        let C = out.shape.count
        if let i = data.labels.firstIndex(where: { $0 < 0 || Int($0) >= C }) {
            throw TailorError.invalid("label \(data.labels[i]) at sample \(i) is outside 0..<\(C)")
        }
        let logits = try data.x.withUnsafeBufferPointer { try Inference.predict(net, input: $0, count: data.count, quantized: quantized) }
        if let i = logits.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "output \(i % C) of sample \(i / C) is \(logits[i]): the forward pass overflowed (weights or inputs too large), so the loss is undefined")
        }
        var loss = 0.0, correct = 0
        for b in 0..<data.count {
            var m = -Float.infinity, best = 0
            for c in 0..<C { let v = logits[b * C + c]; if v > m { m = v; best = c } }
            var s = 0.0
            for c in 0..<C { s += Double(expf(logits[b * C + c] - m)) }
            let y = Int(data.labels[b])
            loss += log(s) + Double(m - logits[b * C + y])
            if best == y { correct += 1 }
        }
        return (Float(loss / Double(data.count)), Float(correct) / Float(data.count))
    }
}
