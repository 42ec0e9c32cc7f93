import CTailor
import Glibc

// Checkpoints through the C boundary: describing a checkpoint file, and resuming the run it
// holds into new handles. Writing them is a field of tailor_train_config (TrainAPI.swift).

@_cdecl("tailor_checkpoint_json")
public func cCheckpointJSON(_ path: UnsafePointer<CChar>?, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int64,
                            _ length: UnsafeMutablePointer<Int64>?) -> Int32 {
    length?.pointee = 0
    return guarded {
        let p = try requireString(path, "path")
        let cap = try requireInt(capacity, "capacity", 0...Int64(Int32.max))
        if buf == nil && cap > 0 { throw TailorError.invalid("buf is NULL but capacity is \(cap)") }
        let bytes = Array(try Fit.checkpointDescription(path: p).serialized().utf8)
        length?.pointee = Int64(bytes.count)
        guard let buf else { return }
        guard cap > bytes.count else {
            throw TailorError.shape("buf holds \(cap) bytes; the JSON needs \(bytes.count + 1) with its terminating NUL")
        }
        bytes.withUnsafeBufferPointer { src in
            UnsafeMutableRawPointer(buf).copyMemory(from: UnsafeRawPointer(src.baseAddress!), byteCount: src.count)
        }
        buf[bytes.count] = 0
    }
}

@_cdecl("tailor_net_fit_resume")
public func cFitResume(_ checkpoint: UnsafePointer<CChar>?, _ train: UnsafePointer<tailor_data>?, _ val: UnsafePointer<tailor_data>?,
                       _ expected: OpaquePointer?, _ cb: tailor_progress_fn?, _ user: UnsafeMutableRawPointer?,
                       _ studentOut: UnsafeMutablePointer<OpaquePointer?>?, _ teacherOut: UnsafeMutablePointer<OpaquePointer?>?,
                       _ history: UnsafeMutablePointer<tailor_epoch_stats>?, _ historyCapacity: Int64,
                       _ historyCount: UnsafeMutablePointer<Int64>?) -> Int32 {
    historyCount?.pointee = 0
    studentOut?.pointee = nil
    teacherOut?.pointee = nil
    return guarded {
        let path = try requireString(checkpoint, "checkpoint")
        let out = try requirePointer(studentOut, "student_out")
        let capacity = try requireInt(historyCapacity, "history_capacity", 0...Int64(Int32.max))
        if history == nil && capacity > 0 { throw TailorError.invalid("history is NULL but history_capacity is \(capacity)") }
        let ck = try Checkpoint.load(path: path)
        guard let input = ck.student.inputShape, let o = ck.student.outputNode else { throw TailorError.format("checkpoint '\(path)': the student has no nodes") }
        let classes = o.shape.count
        let (tr, mean, std) = try dataset(train, "train", input: input, classes: classes)
        let va = val == nil ? nil : try dataset(val, "val", input: input, classes: classes).0
        let trainer = Trainer()
        var records: [EpochRecord] = []
        defer { copyHistory(records, to: history, capacity: capacity, count: historyCount) }
        func run(_ start: Network?) throws -> ResumedRun {
            try Fit.resume(ck, path: path, train: tr, val: va, mean: mean, std: std, expecting: start, trainer: trainer,
                           history: &records, progress: progressBridge(cb, user))
        }
        let r = try expected.map { e in try withHandle(e) { try run($0.net) } } ?? run(nil)
        let student = makeHandle(r.student, trainer: trainer)
        do {
            // A Tailor run's student carries its per-epoch modes and hardware, as tailor_run's does.
            if let rows = try TailorRun.annotateResumed(records, run: r) {
                let text = TailorRun.historyJSON(rows, blocks: r.student.blocks.map(\.name)).serialized()
                try withHandle(student) { $0.runHistory = text }
            }
        } catch {
            cNetFree(student)
            throw error
        }
        out.pointee = student
        if let teacherOut, let t = r.teacher { teacherOut.pointee = makeHandle(t) }
    }
}
