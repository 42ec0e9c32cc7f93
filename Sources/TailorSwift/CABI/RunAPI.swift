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

@_cdecl("tailor_run_config_defaults")
public func cRunConfigDefaults(_ cfg: UnsafeMutablePointer<tailor_run_config>?, _ size: Int64) -> Int32 {
    guarded { try fillDefaults(cfg, runDefaults(), size: size, "tailor_run_config") }
}

/// The plan and hardware of a run configuration, checked against the teacher; every error names the field.
private func runConfig(_ p: UnsafePointer<tailor_run_config>?, network: Network, fit: FitConfig) throws -> TailorRunConfig {
    guard p != nil else { throw TailorError.invalid("run is NULL (fill one with tailor_run_config_init)") }
    let c = try readVersioned(p, runDefaults(), "tailor_run_config")
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
                 _ user: UnsafeMutableRawPointer?, _ studentOut: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    studentOut?.pointee = nil
    return guarded {
        let out = try requirePointer(studentOut, "student_out")
        var fit = cfg == nil ? FitConfig.tailorFineTuning : try fitConfig(cfg)
        guard try modeSwitches(cfg, blocks: Int.max, epochs: Int.max).isEmpty else {
            throw TailorError.invalid("cfg->mode_switches must be empty: a Tailor run makes its switches from the plan")
        }
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
            let result = try TailorRun.run(hd.net, train: tr, val: va, config: config, checkpoint: checkpoint?.path, trainer: trainer,
                                           progress: progressBridge(cb, user))
            out.pointee = makeHandle(result.student, trainer: trainer, history: result.history.map(\.record),
                                     runHistory: TailorRun.historyJSON(result.history, blocks: result.student.blocks.map(\.name)).serialized())
        }
    }
}

@_cdecl("tailor_net_run_history_json")
public func cRunHistoryJSON(_ net: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let json = try requirePointer(json, "json")
        try withHandle(net) { h in
            guard let text = h.runHistory else { throw TailorError.notFound("this network was not made by tailor_run: it has no run history") }
            json.pointee = h.json("run_history", text)
        }
    }
}
