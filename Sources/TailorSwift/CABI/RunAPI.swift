import CTailor
import Glibc

// The Tailor run (SkipRemover / SkipShortener) through the C boundary.

private nonisolated(unsafe) let defaultAlgorithm = UnsafePointer(strdup("remove")!)

private func runDefaults() -> tailor_run_config {
    var c = tailor_run_config()
    c.size = Int64(MemoryLayout<tailor_run_config>.size)
    c.algorithm = defaultAlgorithm
    c.every = 3
    c.epochs = 0
    c.blocks = nil; c.num_blocks = 0
    c.hardware = nil
    return c
}

@_cdecl("tailor_run_config_init_2")
public func cRunConfigInit2(_ cfg: UnsafeMutablePointer<tailor_run_config>?, _ size: Int64) -> Int32 {
    guarded {
        let n = try requireInt(size, "size", 8...(1 << 16))
        var d = runDefaults()
        d.size = Int64(n)
        try writeVersioned(cfg, d, size: n)
    }
}

/// The plan and hardware of a run configuration, checked against the teacher; every error names the field.
private func runConfig(_ p: UnsafePointer<tailor_run_config>?, network: Network, fit: FitConfig) throws -> TailorRunConfig {
    guard p != nil else { throw TailorError.invalid("run is NULL (fill one with tailor_run_config_init)") }
    let c = try readVersioned(p, runDefaults(), "tailor_run_config")
    guard c.size >= Int64(MemoryLayout<tailor_run_config>.size) else {
        throw TailorError(.version, "run->size is \(c.size), this library expects \(MemoryLayout<tailor_run_config>.size): initialise it with tailor_run_config_init")
    }
    let name = try requireString(c.algorithm, "run->algorithm")
    guard let algorithm = TailorPlan.Algorithm(rawValue: name) else {
        throw TailorError.invalid("run->algorithm must be 'remove' or 'shorten', got '\(name)'")
    }
    let every = try requireInt(c.every, "run->every", 1...100_000)
    let epochs = c.epochs == 0 ? nil : try requireInt(c.epochs, "run->epochs", 1...1_000_000)
    let nb = try requireInt(c.num_blocks, "run->num_blocks", 0...100_000)
    var blocks: [Int]? = nil
    if nb > 0 {
        guard let b = c.blocks else { throw TailorError.invalid("run->blocks is NULL but run->num_blocks is \(nb)") }
        blocks = try (0..<nb).map { try checkIndex(b[$0], network.blocks.count, "block") }
    }
    let plan = try TailorPlan(algorithm, network: network, blocks: blocks, every: every, epochs: epochs)
    var f = fit
    f.epochs = plan.epochs
    return TailorRunConfig(plan: plan, fit: f, hardware: c.hardware == nil ? HardwareConfig() : try hardwareConfig(c.hardware))
}

@_cdecl("tailor_run")
public func cRun(_ teacher: OpaquePointer?, _ train: UnsafePointer<tailor_data>?, _ val: UnsafePointer<tailor_data>?,
                 _ run: UnsafePointer<tailor_run_config>?, _ cfg: UnsafePointer<tailor_train_config>?, _ cb: tailor_progress_fn?,
                 _ user: UnsafeMutableRawPointer?, _ studentOut: UnsafeMutablePointer<OpaquePointer?>?,
                 _ history: UnsafeMutablePointer<tailor_epoch_stats>?, _ historyCapacity: Int64,
                 _ historyCount: UnsafeMutablePointer<Int64>?) -> Int32 {
    historyCount?.pointee = 0
    studentOut?.pointee = nil
    return guarded {
        let out = try requirePointer(studentOut, "student_out")
        var fit = try fitConfig(cfg)
        if cfg == nil {
            // The authors' fine-tuning: KD (0.35·MSE + 0.65·CE) at lr 0.01 with cosine decay.
            fit.loss = .kdMSE(alpha: 0.35)
            fit.optimizer.lr = 0.01
            fit.schedule.kind = .cosine(etaMin: 0)
        }
        guard try modeSwitches(cfg, blocks: Int.max, epochs: Int.max).isEmpty else {
            throw TailorError.invalid("cfg->mode_switches must be empty: a Tailor run makes its switches from the plan")
        }
        let capacity = try requireInt(historyCapacity, "history_capacity", 0...Int64(Int32.max))
        if history == nil && capacity > 0 { throw TailorError.invalid("history is NULL but history_capacity is \(capacity)") }
        let checkpoint = try checkpointOptions(cfg)
        if checkpoint?.note != nil { throw TailorError.invalid("cfg->checkpoint_note must be NULL: a Tailor run writes its own note") }
        try withHandle(teacher) { hd in
            guard let input = hd.net.inputShape else { throw TailorError.invalid("the network has no nodes yet") }
            let classes = try hd.net.requireOutput().shape.count
            let (tr, mean, std) = try dataset(train, "train", input: input, classes: classes)
            let va = val == nil ? nil : try dataset(val, "val", input: input, classes: classes).0
            fit.mean = mean; fit.std = std
            let config = try runConfig(run, network: hd.net, fit: fit)
            let trainer = Trainer()
            var records: [EpochRecord] = []
            defer { copyHistory(records, to: history, capacity: capacity, count: historyCount) }
            let result = try TailorRun.run(hd.net, train: tr, val: va, config: config, checkpoint: checkpoint?.path, trainer: trainer,
                                           progress: progressBridge(cb, user))
            records = result.history.map(\.record)
            let h = makeHandle(result.student, trainer: trainer)
            try withHandle(h) { $0.runHistory = TailorRun.historyJSON(result.history, blocks: result.student.blocks.map(\.name)).serialized() }
            out.pointee = h
        }
    }
}

@_cdecl("tailor_net_run_history_json")
public func cRunHistoryJSON(_ net: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        try withHandle(net) { h in
            guard let text = h.runHistory else { throw TailorError.notFound("this network was not made by tailor_run: it has no run history") }
            h.setEstimateJSON(text)
            json.pointee = UnsafePointer(h.estimateBuffer)
        }
    }
}
