// A fit's configuration and history as JSON, for checkpoints: written exactly (a Float goes
// through Double and the shortest decimal that round-trips, so it comes back bit for bit) and
// read back defensively (a checkpoint is a file, and files may be damaged or hostile).

/// Field readers that turn anything missing or out of range into a format error naming the field.
struct JSONFields {
    let j: JSON
    let what: String
    init(_ j: JSON?, _ what: String) throws {
        guard let j, case .object = j else { throw TailorError.format("\(what) is missing or not an object") }
        self.j = j; self.what = what
    }
    func fail(_ k: String, _ need: String) -> TailorError { TailorError.format("\(what).\(k) is missing or not \(need)") }
    func int(_ k: String, _ range: ClosedRange<Int> = 0...Int(1 << 53)) throws -> Int {
        guard let v = j[k]?.int, range.contains(v) else { throw fail(k, "an integer in \(range)") }
        return v
    }
    func float(_ k: String) throws -> Float {
        guard let d = j[k]?.number, Float(d).isFinite else { throw fail(k, "a finite number") }
        return Float(d)
    }
    /// A float that may be NaN (written as null): validation results of a run without validation data.
    func floatOrNaN(_ k: String) throws -> Float {
        if j[k] == .null { return .nan }
        return try float(k)
    }
    func bool(_ k: String) throws -> Bool {
        guard let v = j[k]?.bool else { throw fail(k, "true or false") }
        return v
    }
    func string(_ k: String) throws -> String {
        guard let v = j[k]?.string else { throw fail(k, "a string") }
        return v
    }
    /// An unsigned 64-bit integer, written as a decimal string (JSON numbers stop at 2^53).
    func uint64(_ k: String) throws -> UInt64 {
        guard let s = j[k]?.string, let v = UInt64(s) else { throw fail(k, "an unsigned integer in a string") }
        return v
    }
    func floats(_ k: String) throws -> [Float]? {
        guard let v = j[k], v != .null else { return nil }
        guard let a = v.array, a.count <= 1 << 16 else { throw fail(k, "an array of numbers") }
        return try a.map { e in
            guard let d = e.number, Float(d).isFinite else { throw fail(k, "an array of finite numbers") }
            return Float(d)
        }
    }
}

func jsonNumber(_ v: Float) -> JSON { .number(Double(v)) }   // NaN is written as null
func jsonNumber(_ v: Int) -> JSON { .number(Double(v)) }

extension FitConfig {
    var json: JSON {
        let o = optimizer, s = schedule
        let loss: JSON
        switch self.loss {
        case .crossEntropy: loss = .object([("kind", .string("ce"))])
        case .kdMSE(let a): loss = .object([("kind", .string("kd_mse")), ("alpha", jsonNumber(a))])
        case .kdHinton(let a, let t): loss = .object([("kind", .string("kd_hinton")), ("alpha", jsonNumber(a)), ("temperature", jsonNumber(t))])
        }
        var sched: [(String, JSON)]
        switch s.kind {
        case .constant: sched = [("kind", .string("constant"))]
        case .step(let size, let gamma): sched = [("kind", .string("step")), ("step_size", jsonNumber(size)), ("gamma", jsonNumber(gamma))]
        case .cosine(let e): sched = [("kind", .string("cosine")), ("eta_min", jsonNumber(e))]
        case .oneCycle(let p, let d, let f):
            sched = [("kind", .string("one_cycle")), ("pct_start", jsonNumber(p)), ("div_factor", jsonNumber(d)), ("final_div_factor", jsonNumber(f))]
        }
        sched += [("warmup_steps", jsonNumber(s.warmupSteps)), ("cycle_momentum", .bool(s.cycleMomentum)),
                  ("base_momentum", jsonNumber(s.baseMomentum)), ("max_momentum", jsonNumber(s.maxMomentum))]
        return .object([
            ("epochs", jsonNumber(epochs)), ("batch_size", jsonNumber(batchSize)),
            ("optimizer", .object([("kind", .string(o.kind == .sgd ? "sgd" : "adam")), ("lr", jsonNumber(o.lr)),
                                   ("momentum", jsonNumber(o.momentum)), ("dampening", jsonNumber(o.dampening)),
                                   ("nesterov", .bool(o.nesterov)), ("weight_decay", jsonNumber(o.weightDecay)),
                                   ("decay_norm_and_bias", .bool(o.decayNormAndBias)), ("beta1", jsonNumber(o.beta1)),
                                   ("beta2", jsonNumber(o.beta2)), ("eps", jsonNumber(o.eps))])),
            ("schedule", .object(sched)),
            ("loss", loss),
            ("augmentation", augmentation.map { .object([("pad", jsonNumber($0.pad)), ("flip", .bool($0.flip))]) } ?? .null),
            ("shuffle", .bool(shuffle)), ("drop_last", .bool(dropLast)),
            ("seed", .string(String(seed))),
            ("mean", mean.map { .array($0.map(jsonNumber)) } ?? .null), ("std", std.map { .array($0.map(jsonNumber)) } ?? .null),
            ("keep_optimizer_state", .bool(keepOptimizerState)),
            ("quantized", .bool(quantized)),
            ("mode_switches", .array(modeSwitches.map {
                .object([("epoch", jsonNumber($0.epoch)), ("block", jsonNumber($0.block)), ("mode", .string($0.mode.rawValue))])
            })),
        ])
    }

    init(json: JSON) throws {
        self.init()
        let f = try JSONFields(json, "config")
        epochs = try f.int("epochs", 1...1_000_000)
        batchSize = try f.int("batch_size", 1...Executor.maxBatch)
        let o = try JSONFields(json["optimizer"], "config.optimizer")
        switch try o.string("kind") {
        case "sgd": optimizer.kind = .sgd
        case "adam": optimizer.kind = .adam
        case let k: throw TailorError.format("config.optimizer.kind '\(k.prefix(40))' is not sgd or adam")
        }
        optimizer.lr = try o.float("lr"); optimizer.momentum = try o.float("momentum"); optimizer.dampening = try o.float("dampening")
        optimizer.nesterov = try o.bool("nesterov"); optimizer.weightDecay = try o.float("weight_decay")
        optimizer.decayNormAndBias = try o.bool("decay_norm_and_bias")
        optimizer.beta1 = try o.float("beta1"); optimizer.beta2 = try o.float("beta2"); optimizer.eps = try o.float("eps")
        let s = try JSONFields(json["schedule"], "config.schedule")
        switch try s.string("kind") {
        case "constant": schedule.kind = .constant
        case "step": schedule.kind = .step(stepSize: try s.int("step_size", 1...1_000_000), gamma: try s.float("gamma"))
        case "cosine": schedule.kind = .cosine(etaMin: try s.float("eta_min"))
        case "one_cycle":
            schedule.kind = .oneCycle(pctStart: try s.float("pct_start"), divFactor: try s.float("div_factor"),
                                      finalDivFactor: try s.float("final_div_factor"))
        case let k: throw TailorError.format("config.schedule.kind '\(k.prefix(40))' is not a known schedule")
        }
        schedule.warmupSteps = try s.int("warmup_steps")
        schedule.cycleMomentum = try s.bool("cycle_momentum")
        schedule.baseMomentum = try s.float("base_momentum"); schedule.maxMomentum = try s.float("max_momentum")
        let l = try JSONFields(json["loss"], "config.loss")
        switch try l.string("kind") {
        case "ce": loss = .crossEntropy
        case "kd_mse": loss = .kdMSE(alpha: try l.float("alpha"))
        case "kd_hinton": loss = .kdHinton(alpha: try l.float("alpha"), temperature: try l.float("temperature"))
        case let k: throw TailorError.format("config.loss.kind '\(k.prefix(40))' is not a known loss")
        }
        if json["augmentation"] == .null { augmentation = nil } else {
            let a = try JSONFields(json["augmentation"], "config.augmentation")
            augmentation = Augmentation(pad: try a.int("pad", 0...1024), flip: try a.bool("flip"))
        }
        shuffle = try f.bool("shuffle"); dropLast = try f.bool("drop_last")
        seed = try f.uint64("seed")
        mean = try f.floats("mean"); std = try f.floats("std")
        keepOptimizerState = try f.bool("keep_optimizer_state")
        // Checkpoints from before quantised training have no such field.
        quantized = json["quantized"] == nil ? false : try f.bool("quantized")
        guard let switches = json["mode_switches"]?.array, switches.count <= 1_000_000 else {
            throw TailorError.format("config.mode_switches is missing or not an array")
        }
        modeSwitches = try switches.map { j in
            let m = try JSONFields(j, "config.mode_switches[]")
            guard let mode = SkipMode(rawValue: try m.string("mode")) else { throw m.fail("mode", "long, removed or short") }
            return ModeSwitch(epoch: try m.int("epoch"), block: try m.int("block"), mode: mode)
        }
        do {
            try self.loss.validate(); try optimizer.validate(); try schedule.validate()
        } catch let e as TailorError {
            throw TailorError.format("config: \(e.message)")
        }
    }
}

extension EpochRecord {
    var json: JSON {
        .object([("epoch", jsonNumber(epoch)), ("loss", jsonNumber(loss)), ("train_accuracy", jsonNumber(trainAccuracy)),
                 ("val_loss", jsonNumber(valLoss)), ("val_accuracy", jsonNumber(valAccuracy)), ("lr", jsonNumber(lr))])
    }

    init(json: JSON) throws {
        let f = try JSONFields(json, "history[]")
        self.init(epoch: try f.int("epoch"), loss: try f.float("loss"), trainAccuracy: try f.float("train_accuracy"),
                  valLoss: try f.floatOrNaN("val_loss"), valAccuracy: try f.floatOrNaN("val_accuracy"), lr: try f.float("lr"))
    }
}
