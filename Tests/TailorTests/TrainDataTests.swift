import Glibc
import Testing
@testable import TailorSwift

@Suite struct TrainDataTests {
    func tempPath(_ name: String) -> String { "/tmp/tailor-test-\(getpid())-\(name)" }

    func write(_ path: String, _ bytes: [UInt8]) {
        let f = fopen(path, "wb")
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }

    func record(label: UInt8, fill: (Int) -> UInt8) -> [UInt8] { [label] + (0..<3072).map(fill) }

    @Test func readsCifarBinaryRecords() throws {
        let path = tempPath("batch.bin")
        defer { unlink(path) }
        write(path, record(label: 3) { UInt8($0 % 256) } + record(label: 9) { _ in 255 })
        let d = try CIFAR10.readBatch(path: path)
        #expect(d.count == 2 && d.labels == [3, 9] && d.shape == Shape(3, 32, 32))
        #expect(d.x[0] == 0 && abs(d.x[1] - 1 / 255) < 1e-7 && d.x[1024] == 0)   // CHW: channel 1 starts at 1024
        #expect(d.x[3072 + 5] == 1)
    }

    @Test func clearErrorsForMissingShortAndBadFiles() throws {
        do { _ = try CIFAR10.readBatch(path: tempPath("missing.bin")); Issue.record("no error") }
        catch let e as TailorError { #expect(e.code == .io && e.message.contains("cannot open")) }
        let short = tempPath("short.bin")
        defer { unlink(short) }
        write(short, record(label: 1) { _ in 0 } + [1, 2, 3])
        do { _ = try CIFAR10.readBatch(path: short); Issue.record("no error") }
        catch let e as TailorError { #expect(e.code == .format && e.message.contains("3076 bytes")) }
        write(short, record(label: 10) { _ in 0 })
        do { _ = try CIFAR10.readBatch(path: short); Issue.record("no error") }
        catch let e as TailorError { #expect(e.code == .format && e.message.contains("label 10")) }
        do { _ = try CIFAR10.load(directory: tempPath("nodir")); Issue.record("no error") }
        catch let e as TailorError { #expect(e.message.contains("data_batch_1.bin")) }
    }

    @Test func datasetValidationAndNormalisation() throws {
        #expect(throws: TailorError.self) { try Dataset(shape: Shape(1, 2, 2), x: [], labels: []) }
        #expect(throws: TailorError.self) { try Dataset(shape: Shape(1, 2, 2), x: [1, 2, 3], labels: [0]) }
        #expect(throws: TailorError.self) { try Dataset(shape: Shape(1, 1, 1), x: [.nan], labels: [0]) }
        #expect(throws: TailorError.self) { try Dataset(shape: Shape(1, 1, 1), x: [1], labels: [4], classes: 3) }
        var d = try Dataset(shape: Shape(2, 1, 2), x: [1, 3, 5, 7], labels: [0])
        try d.normalize(mean: [1, 5], std: [2, 0.5])
        #expect(d.x == [0, 1, 0, 4])
        #expect(throws: TailorError.self) { try d.normalize(mean: [0], std: [1]) }
        #expect(throws: TailorError.self) { try d.normalize(mean: [0, 0], std: [1, 0]) }
    }

    @Test func augmentationCropsFlipsAndIsDeterministic() throws {
        let s = Shape(1, 4, 4)
        let src: [Float] = (0..<16).map(Float.init)
        var out = [Float](repeating: 0, count: 16)
        var rng = SplitMix64(seed: 1)
        var sawFlip = false, sawPlain = false
        for _ in 0..<20 {
            Augmentation(pad: 0, flip: true).apply(&out, src, s, padValue: [0], rng: &rng)
            if out == src { sawPlain = true } else if out[0] == 3 && out[3] == 0 && out[15] == 12 { sawFlip = true }
        }
        #expect(sawFlip && sawPlain)
        // Padding: every output value is a source value or the pad value, and translations stay translations.
        var a = [Float](repeating: 0, count: 16), b = a
        var r1 = SplitMix64(seed: 9), r2 = SplitMix64(seed: 9)
        Augmentation(pad: 2, flip: false).apply(&a, src, s, padValue: [-1], rng: &r1)
        Augmentation(pad: 2, flip: false).apply(&b, src, s, padValue: [-1], rng: &r2)
        #expect(a == b)
        #expect(a.allSatisfy { $0 == -1 || src.contains($0) })
    }

    @Test func batcherShufflesPerEpochDeterministically() throws {
        let d = try Dataset(shape: Shape(1, 1, 1), x: (0..<10).map(Float.init), labels: [Int32](repeating: 0, count: 10))
        let b = Batcher(data: d, batchSize: 4, dropLast: false, augmentation: nil, padValue: [0], seed: 3)
        #expect(b.stepsPerEpoch == 3)
        let e0 = b.order(epoch: 0, shuffle: true), e1 = b.order(epoch: 1, shuffle: true)
        #expect(e0.sorted() == Array(0..<10) && e0 != e1 && e0 == b.order(epoch: 0, shuffle: true))
        let dl = Batcher(data: d, batchSize: 4, dropLast: true, augmentation: nil, padValue: [0], seed: 3)
        #expect(dl.stepsPerEpoch == 2)
        var x: [Float] = [], y: [Int32] = []
        var rng = SplitMix64(seed: 0)
        b.fill(&x, &y, [7, 2][...], rng: &rng)
        #expect(x == [7, 2] && y == [0, 0])
    }

    @Test func fitRebuildsAfterAModeSwitchAndKeepsOptimiserState() throws {
        var zo = Zoo.Options(); zo.numClasses = 4; zo.input = Shape(3, 8, 8); zo.seed = 1
        let net = try Zoo.build("resnet8", zo)
        var xs: [Float] = [], ys: [Int32] = []
        var rng = SplitMix64(seed: 2)
        for i in 0..<16 { ys.append(Int32(i % 4)); for _ in 0..<(3 * 64) { xs.append(rng.nextNormal()) } }
        let data = try Dataset(shape: Shape(3, 8, 8), x: xs, labels: ys)
        var cfg = FitConfig(); cfg.epochs = 2; cfg.batchSize = 8; cfg.optimizer.lr = 0.01
        var history: [EpochRecord] = []
        let trainer = Trainer()
        try Fit.fit(net, train: data, config: cfg, trainer: trainer, history: &history, beforeEpoch: { epoch in
            if epoch == 1 { try net.setMode(block: 0, .removed); try net.setMode(block: 2, .short) }
        })
        #expect(history.count == 2 && history.allSatisfy { $0.loss.isFinite })
        // Parameters that persisted across the switch kept their optimiser steps (4 = 2 per epoch × 2).
        let o = try #require(trainer.opt)
        let i = try #require(o.slots.firstIndex { $0.name == "layer1.0.conv1.weight" })
        #expect(o.steps[i] == 4)
        // A block switched to short keeps its convolutions (and their state).
        let j = try #require(o.slots.firstIndex { $0.name == "layer3.0.conv2.weight" })
        #expect(o.steps[j] == 4)
        #expect(net.blocks[0].mode == .removed)
        #expect(try net.parameter("bn1.num_batches_tracked").data == [4])
    }
}
