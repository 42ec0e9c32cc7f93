import CTailor
import Glibc

// Training through the C boundary: versioned config/data structs read defensively (only `size`
// bytes), every argument validated, then the Swift Trainer / Fit does the work.

/// The C struct's defaults: FitConfig's, the one definition (the optimiser, loss, schedule and
/// data defaults live in the Swift configs). Parameters of a schedule kind not chosen by default
/// (step size, cosine floor, one-cycle shape) have their defaults here, where C selects the kind.
private func defaultConfig() -> tailor_train_config { cTrainConfig(FitConfig()) }

/// `f` as the C struct (the inverse of `fitConfig`).
func cTrainConfig(_ f: FitConfig) -> tailor_train_config {
    // The decimal the Swift config was written with (lr 0.1, not Float 0.1's 0.10000000149...).
    func decimal(_ v: Float) -> Double { Double(v.description) ?? Double(v) }
    var c = tailor_train_config()
    c.size = Int64(MemoryLayout<tailor_train_config>.size)
    let o = f.optimizer
    c.optimizer = Int32((o.kind == .adam ? TAILOR_OPT_ADAM : TAILOR_OPT_SGD).rawValue); c.nesterov = o.nesterov ? 1 : 0
    c.lr = decimal(o.lr); c.momentum = decimal(o.momentum); c.dampening = decimal(o.dampening)
    c.weight_decay = decimal(o.weightDecay); c.decay_norm_and_bias = o.decayNormAndBias ? 1 : 0
    c.beta1 = decimal(o.beta1); c.beta2 = decimal(o.beta2); c.eps = decimal(o.eps)
    c.kd_alpha = 0.35; c.kd_temperature = 4   // the authors' KD weight; Hinton's usual temperature
    switch f.loss {
    case .crossEntropy: c.loss = Int32(TAILOR_LOSS_CE.rawValue)
    case .kdMSE(let alpha): c.loss = Int32(TAILOR_LOSS_KD_MSE.rawValue); c.kd_alpha = decimal(alpha)
    case .kdHinton(let alpha, let t):
        c.loss = Int32(TAILOR_LOSS_KD_HINTON.rawValue); c.kd_alpha = decimal(alpha); c.kd_temperature = decimal(t)
    }
    c.step_size = 30; c.step_gamma = 0.1; c.eta_min = 0   // PyTorch's StepLR / CosineAnnealingLR usage
    c.pct_start = 0.3; c.div_factor = 25; c.final_div_factor = 1e4   // PyTorch's OneCycleLR defaults
    switch f.schedule.kind {
    case .constant: c.schedule = Int32(TAILOR_SCHED_CONSTANT.rawValue)
    case .step(let size, let gamma):
        c.schedule = Int32(TAILOR_SCHED_STEP.rawValue); c.step_size = Int64(size); c.step_gamma = decimal(gamma)
    case .cosine(let etaMin): c.schedule = Int32(TAILOR_SCHED_COSINE.rawValue); c.eta_min = decimal(etaMin)
    case .oneCycle(let pct, let div, let finalDiv):
        c.schedule = Int32(TAILOR_SCHED_ONECYCLE.rawValue)
        c.pct_start = decimal(pct); c.div_factor = decimal(div); c.final_div_factor = decimal(finalDiv)
    }
    c.cycle_momentum = f.schedule.cycleMomentum ? 1 : 0
    c.base_momentum = decimal(f.schedule.baseMomentum); c.max_momentum = decimal(f.schedule.maxMomentum)
    c.warmup_steps = Int64(f.schedule.warmupSteps)
    c.epochs = Int64(f.epochs); c.batch_size = Int64(f.batchSize)
    c.augment = f.augmentation == nil ? 0 : 1; c.crop_padding = Int64(f.augmentation?.pad ?? Augmentation().pad)
    c.shuffle = f.shuffle ? 1 : 0; c.drop_last = f.dropLast ? 1 : 0
    c.keep_optimizer_state = f.keepOptimizerState ? 1 : 0; c.seed = f.seed
    c.mode_switches = nil; c.num_mode_switches = 0
    c.checkpoint_path = nil; c.checkpoint_note = nil
    c.quantized = f.quantized ? 1 : 0
    return c
}

private func float(_ v: Double, _ what: String) throws -> Float {
    guard v.isFinite, abs(v) <= 1e30 else { throw TailorError.invalid("\(what) must be finite, got \(v)") }
    return Float(v)
}

private func flag(_ v: Int32, _ what: String) throws -> Bool {
    guard v == 0 || v == 1 else { throw TailorError.invalid("\(what) must be 0 or 1, got \(v)") }
    return v == 1
}

/// Block-mode switches of a config, validated against the network and the epoch count.
func modeSwitches(_ cp: UnsafePointer<tailor_train_config>?, blocks: Int, epochs: Int) throws -> [ModeSwitch] {
    let c = try readVersioned(cp, defaultConfig(), "tailor_train_config")
    let n = try requireInt(c.num_mode_switches, "num_mode_switches", 0...1_000_000)
    guard n > 0 else { return [] }
    guard let p = c.mode_switches else { throw TailorError.invalid("mode_switches is NULL but num_mode_switches is \(n)") }
    return try (0..<n).map { i in
        let m = p[i]
        let epoch = try requireInt(m.epoch, "mode_switches[\(i)].epoch", 0...Int64(max(0, epochs - 1)))
        let block = try checkIndex(m.block, blocks, "block")
        guard m.mode >= 0, m.mode <= 2 else { throw TailorError.invalid("mode_switches[\(i)].mode must be 0, 1 or 2, got \(m.mode)") }
        return ModeSwitch(epoch: epoch, block: block, mode: [SkipMode.long, .removed, .short][Int(m.mode)])
    }
}

/// The checkpoint path and note of a config (nil: no checkpoints).
func checkpointOptions(_ cp: UnsafePointer<tailor_train_config>?) throws -> CheckpointOptions? {
    let c = try readVersioned(cp, defaultConfig(), "tailor_train_config")
    guard let path = c.checkpoint_path else {
        if c.checkpoint_note != nil { throw TailorError.invalid("checkpoint_note is set but checkpoint_path is NULL") }
        return nil
    }
    var o = CheckpointOptions(path: try requireString(path, "checkpoint_path"))
    guard !o.path.isEmpty else { throw TailorError.invalid("checkpoint_path is empty") }
    if let note = c.checkpoint_note {
        o.note = try requireText(note, "checkpoint_note", limit: Int(TAILOR_MAX_JSON_BYTES), limitName: "TAILOR_MAX_JSON_BYTES")
    }
    return o
}

/// Swift configuration from the C struct, every field range-checked.
func fitConfig(_ cp: UnsafePointer<tailor_train_config>?) throws -> FitConfig {
    let c = try readVersioned(cp, defaultConfig(), "tailor_train_config")
    var f = FitConfig()
    var o = OptimizerConfig()
    switch c.optimizer {
    case Int32(TAILOR_OPT_SGD.rawValue): o.kind = .sgd
    case Int32(TAILOR_OPT_ADAM.rawValue): o.kind = .adam
    default: throw TailorError.invalid("optimizer must be TAILOR_OPT_SGD (0) or TAILOR_OPT_ADAM (1), got \(c.optimizer)")
    }
    o.nesterov = try flag(c.nesterov, "nesterov")
    o.lr = try float(c.lr, "lr"); o.momentum = try float(c.momentum, "momentum"); o.dampening = try float(c.dampening, "dampening")
    o.weightDecay = try float(c.weight_decay, "weight_decay"); o.decayNormAndBias = try flag(c.decay_norm_and_bias, "decay_norm_and_bias")
    o.beta1 = try float(c.beta1, "beta1"); o.beta2 = try float(c.beta2, "beta2"); o.eps = try float(c.eps, "eps")
    if o.kind == .adam { o.nesterov = false }
    f.optimizer = o
    let alpha = try float(c.kd_alpha, "kd_alpha")
    switch c.loss {
    case Int32(TAILOR_LOSS_CE.rawValue): f.loss = .crossEntropy
    case Int32(TAILOR_LOSS_KD_MSE.rawValue): f.loss = .kdMSE(alpha: alpha)
    case Int32(TAILOR_LOSS_KD_HINTON.rawValue): f.loss = .kdHinton(alpha: alpha, temperature: try float(c.kd_temperature, "kd_temperature"))
    default: throw TailorError.invalid("loss must be TAILOR_LOSS_CE (0), TAILOR_LOSS_KD_MSE (1) or TAILOR_LOSS_KD_HINTON (2), got \(c.loss)")
    }
    var s = ScheduleConfig()
    switch c.schedule {
    case Int32(TAILOR_SCHED_CONSTANT.rawValue): s.kind = .constant
    case Int32(TAILOR_SCHED_STEP.rawValue):
        s.kind = .step(stepSize: try requireInt(c.step_size, "step_size", 1...1_000_000), gamma: try float(c.step_gamma, "step_gamma"))
    case Int32(TAILOR_SCHED_COSINE.rawValue): s.kind = .cosine(etaMin: try float(c.eta_min, "eta_min"))
    case Int32(TAILOR_SCHED_ONECYCLE.rawValue):
        s.kind = .oneCycle(pctStart: try float(c.pct_start, "pct_start"), divFactor: try float(c.div_factor, "div_factor"),
                           finalDivFactor: try float(c.final_div_factor, "final_div_factor"))
    default: throw TailorError.invalid("schedule must be 0 (constant), 1 (step), 2 (cosine) or 3 (one-cycle), got \(c.schedule)")
    }
    s.cycleMomentum = try flag(c.cycle_momentum, "cycle_momentum")
    s.baseMomentum = try float(c.base_momentum, "base_momentum"); s.maxMomentum = try float(c.max_momentum, "max_momentum")
    guard s.baseMomentum >= 0, s.maxMomentum < 1, s.baseMomentum <= s.maxMomentum else {
        throw TailorError.invalid("one-cycle momentum range must satisfy 0 <= base_momentum <= max_momentum < 1")
    }
    s.warmupSteps = try requireInt(c.warmup_steps, "warmup_steps", 0...Int64(1) << 40)
    f.schedule = s
    f.epochs = try requireInt(c.epochs, "epochs", 1...1_000_000)
    f.batchSize = try requireInt(c.batch_size, "batch_size", 1...Int64(TAILOR_MAX_BATCH))
    let pad = try requireInt(c.crop_padding, "crop_padding", 0...1024)
    f.augmentation = try flag(c.augment, "augment") ? Augmentation(pad: pad, flip: true) : nil
    f.shuffle = try flag(c.shuffle, "shuffle")
    f.dropLast = try flag(c.drop_last, "drop_last")
    f.keepOptimizerState = try flag(c.keep_optimizer_state, "keep_optimizer_state")
    f.quantized = try flag(c.quantized, "quantized")
    f.seed = c.seed
    try f.loss.validate()
    try f.optimizer.validate()
    try f.schedule.validate()
    return f
}

/// Labels as Int32 after checking they are in 0..<classes.
private func labels32(_ p: UnsafePointer<Int64>, _ n: Int, classes: Int, what: String) throws -> [Int32] {
    var out = [Int32](repeating: 0, count: n)
    for i in 0..<n {
        let v = p[i]
        guard v >= 0, v < Int64(classes) else { throw TailorError.invalid("\(what) label \(v) at sample \(i) is outside 0..<\(classes)") }
        out[i] = Int32(v)
    }
    return out
}

/// A Dataset copied from a tailor_data, checked against the network's input shape and classes.
func dataset(_ dp: UnsafePointer<tailor_data>?, _ what: String, input: Shape, classes: Int) throws -> (Dataset, [Float]?, [Float]?) {
    guard let dp else { throw TailorError.invalid("\(what) is NULL") }
    let d = try readVersioned(dp, tailor_data(), "tailor_data")   // fields past `size` are NULL / 0
    guard let x = d.x else { throw TailorError.invalid("\(what).x is NULL") }
    guard let lp = d.labels else { throw TailorError.invalid("\(what).labels is NULL") }
    let lim: ClosedRange<Int64> = 1...Int64(TAILOR_MAX_DIM)
    let n = try requireInt(d.n, "\(what).n", 1...Int64(TAILOR_MAX_SAMPLES))
    let shape = Shape(try requireInt(d.channels, "\(what).channels", lim), try requireInt(d.height, "\(what).height", lim),
                      try requireInt(d.width, "\(what).width", lim))
    guard shape == input else { throw TailorError.shape("\(what) samples are \(shape), the network takes \(input)") }
    let (total, o) = n.multipliedReportingOverflow(by: shape.count)
    // The library copies the data (and normalises a copy): cap at 2^31 values (8 GiB of float32).
    guard !o, total <= 1 << 31 else { throw TailorError.shape("\(what) of \(n) samples of \(shape) is too large (over 2^31 values)") }
    let labels = try labels32(lp, n, classes: classes, what: what)
    let ds = try Dataset(shape: shape, x: Array(UnsafeBufferPointer(start: x, count: total)), labels: labels)
    switch (d.mean, d.std) {
    case (nil, nil): return (ds, nil, nil)
    case (let m?, let s?):
        return (ds, Array(UnsafeBufferPointer(start: m, count: shape.c)), Array(UnsafeBufferPointer(start: s, count: shape.c)))
    default: throw TailorError.invalid("\(what): mean and std must both be given or both be NULL")
    }
}

@_cdecl("tailor_train_config_defaults")
public func cTrainConfigDefaults(_ cfg: UnsafeMutablePointer<tailor_train_config>?, _ size: Int64) -> Int32 {
    guarded { try fillDefaults(cfg, defaultConfig(), size: size, "tailor_train_config") }
}

@_cdecl("tailor_run_train_config_defaults")
public func cRunTrainConfigDefaults(_ cfg: UnsafeMutablePointer<tailor_train_config>?, _ size: Int64) -> Int32 {
    guarded { try fillDefaults(cfg, cTrainConfig(FitConfig.tailorFineTuning), size: size, "tailor_train_config") }
}

@_cdecl("tailor_net_train_step")
public func cTrainStep(_ net: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64, _ c: Int64, _ h: Int64, _ w: Int64,
                       _ labels: UnsafePointer<Int64>?, _ teacherLogits: UnsafePointer<Float>?, _ cfg: UnsafePointer<tailor_train_config>?,
                       _ update: Int32, _ logitsOut: UnsafeMutablePointer<Float>?, _ logitsCount: Int64,
                       _ lossOut: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded {
        guard let x else { throw TailorError.invalid("x is NULL") }
        guard let labels else { throw TailorError.invalid("labels is NULL") }
        let config = try fitConfig(cfg)
        let doUpdate = try flag(update, "update")
        let batch = try requireInt(n, "n", 1...Int64(TAILOR_MAX_BATCH))
        let shape = try requireSampleShape(c, h, w)
        try withHandle(net) { hd in
            let (total, classes) = try checkedInput(hd.net, batch: batch, shape: shape)
            if logitsOut != nil, logitsCount != Int64(batch * classes) {
                throw TailorError.shape("logits_out holds \(logitsCount) values; \(batch) samples × \(classes) outputs need \(batch * classes)")
            }
            let y = try labels32(labels, batch, classes: classes, what: "training")
            var teacher: [Float]? = nil
            if config.loss.needsTeacher {
                guard let t = teacherLogits else { throw TailorError.invalid("teacher_logits is NULL but the loss is a KD loss") }
                teacher = Array(UnsafeBufferPointer(start: t, count: batch * classes))
            }
            let r = try hd.trainer.trainStep(hd.net, x: UnsafeBufferPointer(start: x, count: total), labels: y, teacherLogits: teacher,
                                             loss: config.loss, optimizer: config.optimizer, update: doUpdate,
                                             quantized: config.quantized)
            if let logitsOut { r.logits.withUnsafeBufferPointer { if let b = $0.baseAddress { logitsOut.update(from: b, count: $0.count) } } }
            lossOut?.pointee = Double(r.loss)
        }
    }
}

@_cdecl("tailor_net_grad")
public func cGrad(_ net: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Float>?, _ count: Int64) -> Int32 {
    guarded {
        let name = try requireString(name, "name")
        let out = try requirePointer(out, "out")
        try withHandle(net) { h in
            try copyOut(try h.trainer.gradient(name), to: out, count: count, what: "gradient of '\(name)'")
        }
    }
}

@_cdecl("tailor_net_train_reset")
public func cTrainReset(_ net: OpaquePointer?) -> Int32 {
    guarded { try withHandle(net) { $0.trainer.resetOptimizer() } }
}

@_cdecl("tailor_net_fit")
public func cFit(_ net: OpaquePointer?, _ train: UnsafePointer<tailor_data>?, _ val: UnsafePointer<tailor_data>?,
                 _ cfg: UnsafePointer<tailor_train_config>?, _ teacher: OpaquePointer?, _ cb: tailor_progress_fn?,
                 _ user: UnsafeMutableRawPointer?) -> Int32 {
    guarded {
        try withHandle(net) { hd in
            hd.history = []   // this call's epochs only, also when it is refused before training
            var config = try fitConfig(cfg)
            if let teacher, teacher == net { throw TailorError.invalid("teacher must be a different network handle from net") }
            guard let input = hd.net.inputShape, let o = hd.net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
            let classes = o.shape.count
            let (tr, mean, std) = try dataset(train, "train", input: input, classes: classes)
            let va = val == nil ? nil : try dataset(val, "val", input: input, classes: classes).0
            config.mean = mean; config.std = std
            config.modeSwitches = try modeSwitches(cfg, blocks: hd.net.blocks.count, epochs: config.epochs)
            let checkpoint = try checkpointOptions(cfg)
            var records: [EpochRecord] = []
            defer { hd.history = records }   // this call's epochs, kept also when it stops part-way
            func run(_ teacherNet: Network?) throws {
                try Fit.fit(hd.net, train: tr, val: va, config: config, teacher: teacherNet, trainer: hd.trainer, history: &records,
                            checkpoint: checkpoint, progress: progressBridge(cb, user))
            }
            if let teacher { try withHandle(teacher) { try run($0.net) } } else { try run(nil) }
        }
    }
}

@_cdecl("tailor_net_evaluate")
public func cEvaluate(_ net: OpaquePointer?, _ data: UnsafePointer<tailor_data>?, _ loss: UnsafeMutablePointer<Double>?,
                      _ accuracy: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded {
        try withHandle(net) { hd in
            guard let input = hd.net.inputShape, let o = hd.net.outputNode else { throw TailorError.invalid("the network has no nodes yet") }
            var (ds, mean, std) = try dataset(data, "data", input: input, classes: o.shape.count)
            if let mean, let std { try ds.normalize(mean: mean, std: std) }
            let r = try Fit.evaluate(hd.net, ds)
            loss?.pointee = Double(r.loss); accuracy?.pointee = Double(r.accuracy)
        }
    }
}

@_cdecl("tailor_net_history_count")
public func cHistoryCount(_ net: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> Int32 {
    countEntry(net, count) { $0.history.count }
}

@_cdecl("tailor_net_history")
public func cHistory(_ net: OpaquePointer?, _ index: Int64, _ out: UnsafeMutablePointer<tailor_epoch_stats>?) -> Int32 {
    structEntry(net, out, "tailor_epoch_stats") { h in
        let r = try storedRow(h.history, index, "history", made: "tailor_net_fit")
        return tailor_epoch_stats(size: 0, epoch: Int64(r.epoch), loss: Double(r.loss), train_accuracy: Double(r.trainAccuracy),
                                  val_loss: Double(r.valLoss), val_accuracy: Double(r.valAccuracy), lr: Double(r.lr))
    }
}

/// A fit progress closure calling the C callback (none: never cancels).
func progressBridge(_ cb: tailor_progress_fn?, _ user: UnsafeMutableRawPointer?) -> (FitProgress) -> Bool {
    { p in
        guard let cb else { return true }
        var cp = tailor_progress()
        cp.size = Int64(MemoryLayout<tailor_progress>.size)
        cp.epoch = Int64(p.epoch); cp.epochs = Int64(p.epochs); cp.step = Int64(p.step); cp.steps_per_epoch = Int64(p.stepsPerEpoch)
        cp.global_step = Int64(p.globalStep); cp.total_steps = Int64(p.totalSteps)
        cp.loss = Double(p.loss); cp.accuracy = Double(p.accuracy); cp.lr = Double(p.lr)
        cp.epoch_end = p.epochEnd ? 1 : 0; cp.val_loss = Double(p.valLoss); cp.val_accuracy = Double(p.valAccuracy)
        return FloatEnvironment.inCallerEnvironment { cb(&cp, user) } == 0   // the caller's FP environment
    }
}
