import Glibc
import Testing
@testable import TailorSwift

/// Resuming a checkpointed fit reaches the uninterrupted run bit for bit, and bad checkpoints
/// are clear errors. A ResNet-8 on 8×8 inputs keeps every run to a few steps.
@Suite struct FitResumeTests {
    static func data(_ seed: UInt64, count: Int = 40) throws -> Dataset {
        var rng = SplitMix64(seed: seed)
        let ys = (0..<count).map { Int32($0 % 4) }
        let xs = (0..<(count * 3 * 64)).map { _ in rng.nextNormal() }
        return try Dataset(shape: Shape(3, 8, 8), x: xs, labels: ys)
    }

    static func network(_ seed: UInt64) throws -> Network {
        var o = Zoo.Options(); o.numClasses = 4; o.input = Shape(3, 8, 8); o.seed = seed
        return try Zoo.build("resnet8", o)
    }

    static func path(_ tag: String) -> String { "/tmp/tailor-resume-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).ckpt" }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var config: FitConfig
        var kd: Bool, validate: Bool
        /// The interrupted run stops after this many epochs.
        var stopAfter: Int
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = {
        // KD, SGD + Nesterov, cosine, augmentation, normalisation; blocks switch before and at the
        // resumed epoch, one of them back to long (its set-aside projection must come back trained).
        var kd = FitConfig()
        kd.epochs = 4; kd.batchSize = 16; kd.optimizer.lr = 0.05; kd.schedule = ScheduleConfig(.cosine(etaMin: 0))
        kd.loss = .kdMSE(alpha: 0.35); kd.augmentation = Augmentation(pad: 2, flip: true); kd.seed = 11
        kd.mean = [0.1, 0, -0.1]; kd.std = [1, 0.9, 1.1]
        kd.modeSwitches = [ModeSwitch(epoch: 1, block: 0, mode: .removed), ModeSwitch(epoch: 1, block: 1, mode: .removed),
                           ModeSwitch(epoch: 2, block: 1, mode: .long), ModeSwitch(epoch: 3, block: 2, mode: .short)]
        // Adam with a one-cycle schedule (cycled β1), CE, no validation, last partial batch dropped.
        var adam = FitConfig()
        adam.epochs = 4; adam.batchSize = 12; adam.dropLast = true; adam.optimizer.kind = .adam; adam.optimizer.lr = 0.01
        adam.optimizer.nesterov = false; adam.schedule = ScheduleConfig(.oneCycle(pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4))
        adam.seed = 0xFFFF_FFFF_FFFF_FFF0
        return [Scenario(name: "KD + SGD + block switches", config: kd, kd: true, validate: true, stopAfter: 2),
                Scenario(name: "Adam + one-cycle", config: adam, kd: false, validate: false, stopAfter: 3)]
    }()

    @Test(arguments: scenarios)
    func resumeReachesTheUninterruptedRunBitForBit(_ s: Scenario) throws {
        let train = try Self.data(1), val = s.validate ? try Self.data(2, count: 16) : nil
        let teacher = try Self.network(5)
        let whole = Self.path("whole"), cut = Self.path("cut")
        defer { unlink(whole); unlink(cut) }

        let a = teacher.copy(), trainerA = Trainer()
        var historyA: [EpochRecord] = []
        try Fit.fit(a, train: train, val: val, config: s.config, teacher: s.kd ? teacher : nil, trainer: trainerA, history: &historyA,
                    checkpoint: CheckpointOptions(path: whole, note: "note"))

        // Stopped at an epoch end, as a kill after the checkpoint was written would leave it.
        let b = teacher.copy()
        var historyB: [EpochRecord] = []
        #expect(throws: TailorError.self) {
            try Fit.fit(b, train: train, val: val, config: s.config, teacher: s.kd ? teacher : nil, history: &historyB,
                        checkpoint: CheckpointOptions(path: cut, note: "note"),
                        progress: { !($0.epochEnd && $0.epoch == s.stopAfter - 1) })
        }
        #expect(try Fit.checkpointDescription(path: cut)["next_epoch"]?.int == s.stopAfter)

        let trainerC = Trainer()
        var historyC: [EpochRecord] = []
        let r = try Fit.resume(checkpoint: cut, train: train, val: val, expecting: teacher, trainer: trainerC, history: &historyC)
        #expect(r.note == "note")
        #expect((r.teacher != nil) == s.kd)
        #expect(r.student.blocks.map(\.mode) == a.blocks.map(\.mode))
        // Weights, BN running statistics and num_batches_tracked: every tensor, bitwise.
        let names = a.parameterNames
        #expect(r.student.parameterNames == names)
        let differing = names.filter { n in a.params[n].map { $0.data.map(\.bitPattern) } != r.student.params[n].map { $0.data.map(\.bitPattern) } }
        #expect(differing.isEmpty, "tensors differ after resuming: \(differing.prefix(5))")
        // The history, NaN validation entries included.
        func bits(_ h: [EpochRecord]) -> [[UInt32]] { h.map { [UInt32($0.epoch), $0.loss.bitPattern, $0.trainAccuracy.bitPattern, $0.valLoss.bitPattern, $0.valAccuracy.bitPattern, $0.lr.bitPattern] } }
        #expect(bits(historyC) == bits(historyA))
        // Optimiser buffers and step counts, by name.
        let oa = try #require(trainerA.optimizerSnapshot()), oc = try #require(trainerC.optimizerSnapshot())
        #expect(oa.steps.map(\.name) == oc.steps.map(\.name) && oa.steps.map(\.steps) == oc.steps.map(\.steps))
        #expect(oa.tensors.map(\.name) == oc.tensors.map(\.name))
        let stateDiffers = zip(oa.tensors, oc.tensors).filter { $0.tensor.data.map(\.bitPattern) != $1.tensor.data.map(\.bitPattern) }.map(\.0.name)
        #expect(stateDiffers.isEmpty, "optimiser state differs: \(stateDiffers.prefix(5))")
        // And so the two runs' last checkpoints are the same file, byte for byte.
        let sameFile = try Safetensors.readFile(whole) == Safetensors.readFile(cut)
        #expect(sameFile, "the last checkpoints differ")
        // Resuming a finished run trains nothing and hands back its student.
        var historyD: [EpochRecord] = []
        let d = try Fit.resume(checkpoint: cut, train: train, val: val, history: &historyD)
        #expect(bits(historyD) == bits(historyA))
        #expect(d.student.params == r.student.params)
    }

    static func error(_ body: () throws -> Void) -> TailorError? {
        do { try body(); return nil } catch let e as TailorError { return e } catch { return nil }
    }

    @Test func badCheckpointsAndMismatchesAreClearErrors() throws {
        let train = try Self.data(1), teacher = try Self.network(5)
        var cfg = FitConfig(); cfg.epochs = 2; cfg.batchSize = 20; cfg.loss = .kdMSE(alpha: 0.35)
        cfg.modeSwitches = [ModeSwitch(epoch: 1, block: 0, mode: .removed)]
        let path = Self.path("bad"), other = Self.path("other")
        defer { unlink(path); unlink(other) }
        var h: [EpochRecord] = []
        #expect(throws: TailorError.self) {
            try Fit.fit(teacher.copy(), train: train, config: cfg, teacher: teacher, history: &h, checkpoint: CheckpointOptions(path: path),
                        progress: { !$0.epochEnd })
        }
        let good = try Safetensors.readFile(path)
        func resumeError(_ bytes: [UInt8]? = nil, train t: Dataset? = nil, val: Dataset? = nil, expecting: Network? = nil) -> TailorError? {
            if let bytes { try? Safetensors.writeAtomically(bytes, to: other) }
            return Self.error {
                var hist: [EpochRecord] = []
                _ = try Fit.resume(checkpoint: bytes == nil ? path : other, train: t ?? train, val: val, expecting: expecting, history: &hist)
            }
        }
        // Truncated anywhere, or bytes flipped: a format error, never a trap.
        for cut in [0, 7, 8, 100, good.count / 2, good.count - 1] {
            let e = resumeError(Array(good[..<cut]))
            #expect(e?.code == .format, "cut at \(cut): \(e?.message ?? "no error")")
        }
        var flipped = good; flipped[12] ^= 0x55
        #expect(resumeError(flipped)?.code == .format)
        // A model file is not a checkpoint.
        #expect(resumeError(try ModelFile.encode(teacher))?.message.contains("not a Tailor checkpoint") == true)
        // Another checkpoint format version, another library version.
        var c = try good.withUnsafeBufferPointer { try Safetensors.decode($0) }
        let i = try #require(c.metadata.firstIndex { $0.0 == "checkpoint_version" })
        c.metadata[i].1 = "99"
        #expect(resumeError(c.encode())?.code == .version)
        c.metadata[i].1 = String(Checkpoint.version)
        let r = try #require(c.metadata.firstIndex { $0.0 == "tailor_run" })
        let run = c.metadata[r].1
        c.metadata[r].1 = run.replacing("\"library_version\":\"\(Checkpoint.libraryVersion)\"", with: "\"library_version\":\"0.0.1\"")
        let v = resumeError(c.encode())
        #expect(v?.code == .version && v?.message.contains("0.0.1") == true, "\(v?.message ?? "")")
        // A damaged run state: one history record short.
        c.metadata[r].1 = run.replacing("\"next_epoch\":1", with: "\"next_epoch\":2")
        #expect(resumeError(c.encode())?.code == .format)
        // Optimiser state of another network.
        c.metadata[r].1 = run
        c.tensors.removeAll { $0.name.hasPrefix("optimizer.momentum_buffer.fc.") }
        #expect(resumeError(c.encode())?.message.contains("no optimiser state") == true)
        // Other training data, missing validation data, another start network.
        let e1 = resumeError(train: try Self.data(9))
        #expect(e1?.code == .invalidArgument && e1?.message.contains("trained on 40 samples of 3×8×8") == true, "\(e1?.message ?? "")")
        #expect(resumeError(val: try Self.data(2, count: 8))?.message.contains("no validation data") == true)
        #expect(resumeError(expecting: try Self.network(6))?.message.contains("other weights") == true)
        var zo = Zoo.Options(); zo.numClasses = 4; zo.input = Shape(3, 8, 8)
        #expect(resumeError(expecting: try Zoo.build("resnet20", zo))?.message.contains("another network") == true)
        #expect(resumeError(expecting: teacher) == nil)
        // A checkpointed run takes its switches as data; an unwritable folder fails before training.
        var plain = FitConfig(); plain.batchSize = 20
        #expect(Self.error {
            try Fit.fit(teacher.copy(), train: train, config: plain, history: &h, beforeEpoch: { _ in },
                        checkpoint: CheckpointOptions(path: other))
        }?.message.contains("beforeEpoch") == true)
        #expect(Self.error {
            try Fit.fit(teacher.copy(), train: train, config: plain, history: &h, checkpoint: CheckpointOptions(path: "/nonexistent/dir/x.ckpt"))
        }?.code == .io)
    }
}
