import CTailor
import Glibc

// Checkpoints through the C boundary: describing a checkpoint file, and resuming the run it
// holds into new handles. Writing them is a field of tailor_train_config (TrainAPI.swift).

@_cdecl("tailor_checkpoint_json")
public func cCheckpointJSON(_ path: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded {
        let p = try requireString(path, "path")
        let json = try requirePointer(json, "json")
        json.pointee = threadString(try Fit.checkpointDescription(path: p).serialized())
    }
}

@_cdecl("tailor_net_fit_resume")
public func cFitResume(_ checkpoint: UnsafePointer<CChar>?, _ train: UnsafePointer<tailor_data>?, _ val: UnsafePointer<tailor_data>?,
                       _ expected: OpaquePointer?, _ cb: tailor_progress_fn?, _ user: UnsafeMutableRawPointer?,
                       _ studentOut: UnsafeMutablePointer<OpaquePointer?>?, _ teacherOut: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    studentOut?.pointee = nil
    teacherOut?.pointee = nil
    return guarded {
        let path = try requireString(checkpoint, "checkpoint")
        let out = try requirePointer(studentOut, "student_out")
        let ck = try Checkpoint.load(path: path)
        guard let input = ck.student.inputShape, let o = ck.student.outputNode else { throw TailorError.format("checkpoint '\(path)': the student has no nodes") }
        let classes = o.shape.count
        let (tr, mean, std) = try dataset(train, "train", input: input, classes: classes)
        let va = val == nil ? nil : try dataset(val, "val", input: input, classes: classes).0
        let trainer = Trainer()
        var records: [EpochRecord] = []
        func run(_ start: Network?) throws -> ResumedRun {
            try Fit.resume(ck, path: path, train: tr, val: va, mean: mean, std: std, expecting: start, trainer: trainer,
                           history: &records, progress: progressBridge(cb, user))
        }
        let r = try expected.map { e in try withHandle(e) { try run($0.net) } } ?? run(nil)
        // A Tailor run's student carries its per-epoch modes and hardware, as tailor_run's does.
        let runRows = try TailorRun.annotateResumed(records, run: r)
        out.pointee = makeHandle(r.student, trainer: trainer, history: records,
                                 runHistory: runRows.map { TailorRun.historyJSON($0, blocks: r.student.blocks.map(\.name)).serialized() })
        if let teacherOut, let t = r.teacher { teacherOut.pointee = makeHandle(t) }
    }
}
