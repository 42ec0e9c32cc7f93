// Training data: float samples (NCHW) with integer labels, per-channel normalisation,
// CIFAR-style augmentation (random crop with zero padding, horizontal flip) and per-epoch
// shuffling, all deterministic for a seed (SplitMix64).
import Glibc

public struct Dataset: Sendable {
    public var shape: Shape
    /// n × C×H×W float32, NCHW.
    public var x: [Float]
    public var labels: [Int32]
    public var count: Int { labels.count }

    /// Validates sizes, finiteness and labels (`classes`: labels must lie in 0..<classes when given).
    public init(shape: Shape, x: [Float], labels: [Int32], classes: Int? = nil) throws {
        guard !labels.isEmpty else { throw TailorError.invalid("the dataset is empty") }
        guard shape.c >= 1, shape.h >= 1, shape.w >= 1 else { throw TailorError.shape("sample shape \(shape) is invalid") }
        let (need, o) = labels.count.multipliedReportingOverflow(by: shape.count)
        guard !o, x.count == need else {
            throw TailorError.shape("the dataset has \(labels.count) labels but \(x.count) values; \(labels.count) samples of \(shape) need \(need)")
        }
        if let i = x.firstIndex(where: { !$0.isFinite }) {
            throw TailorError(.numeric, "input value at flat index \(i) (sample \(i / shape.count)) is \(x[i]), not finite")
        }
        if let classes, let i = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw TailorError.invalid("label \(labels[i]) at sample \(i) is outside 0..<\(classes)")
        }
        self.shape = shape; self.x = x; self.labels = labels
    }

    /// (x − mean[c]) / std[c] per channel, in place.
    public mutating func normalize(mean: [Float], std: [Float]) throws {
        guard mean.count == shape.c, std.count == shape.c else {
            throw TailorError.shape("normalisation needs \(shape.c) means and stds, got \(mean.count) and \(std.count)")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw TailorError.invalid("normalisation means must be finite and stds positive")
        }
        let hw = shape.h * shape.w, n = count, channels = shape.c
        x.withUnsafeMutableBufferPointer { p in
            for n in 0..<n { for c in 0..<channels {
                let base = (n * channels + c) * hw, inv = 1 / std[c]
                for q in 0..<hw { p[base + q] = (p[base + q] - mean[c]) * inv }
            } }
        }
        // A tiny std (or a huge mean) can overflow finite inputs: say so here, not as a NaN loss later.
        if let i = x.firstIndex(where: { !$0.isFinite }) {
            let c = (i / max(hw, 1)) % max(channels, 1)
            throw TailorError(.numeric, "normalised input value at flat index \(i) (sample \(i / shape.count), channel \(c)) is \(x[i]): mean[\(c)] = \(mean[c]), std[\(c)] = \(std[c]) overflow it")
        }
    }
}

/// CIFAR-10 binary format (`cifar-10-batches-bin`): records of 1 label byte + 3072 bytes CHW.
public enum CIFAR10 {
    public static let recordSize = 3073

    /// Records in a batch file, from its size (the file is not read).
    public static func recordCount(path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw TailorError(.io, "cannot open CIFAR-10 batch '\(path)': \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        guard size > 0, size % recordSize == 0 else {
            throw TailorError.format("CIFAR-10 batch '\(path)' has \(size) bytes, not a whole number of \(recordSize)-byte records")
        }
        return size / recordSize
    }

    /// Reads one batch file; pixel values scaled to [0, 1].
    public static func readBatch(path: String) throws -> Dataset {
        guard let f = fopen(path, "rb") else {
            throw TailorError(.io, "cannot open CIFAR-10 batch '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
            guard bytes.count <= 1 << 30 else { throw TailorError.format("CIFAR-10 batch '\(path)' is larger than 1 GiB") }
        }
        guard ferror(f) == 0 else { throw TailorError(.io, "error reading CIFAR-10 batch '\(path)'") }
        guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
            throw TailorError.format("CIFAR-10 batch '\(path)' has \(bytes.count) bytes, not a whole number of \(recordSize)-byte records")
        }
        let n = bytes.count / recordSize
        var x = [Float](repeating: 0, count: n * 3072)
        var labels = [Int32](repeating: 0, count: n)
        for r in 0..<n {
            let base = r * recordSize
            guard bytes[base] <= 9 else { throw TailorError.format("CIFAR-10 batch '\(path)': record \(r) has label \(bytes[base]), outside 0..9") }
            labels[r] = Int32(bytes[base])
            for i in 0..<3072 { x[r * 3072 + i] = Float(bytes[base + 1 + i]) / 255 }
        }
        return try Dataset(shape: Shape(3, 32, 32), x: x, labels: labels)
    }

    /// data_batch_1..5.bin (train) and test_batch.bin (test) from `directory`.
    public static func load(directory: String) throws -> (train: Dataset, test: Dataset) {
        var train = try readBatch(path: "\(directory)/data_batch_1.bin")
        for i in 2...5 {
            let b = try readBatch(path: "\(directory)/data_batch_\(i).bin")
            train.x += b.x; train.labels += b.labels
        }
        return (train, try readBatch(path: "\(directory)/test_batch.bin"))
    }
}

/// Random crop (zero padding `pad` in raw-pixel space, i.e. the value `padValue[c]` after
/// normalisation) and horizontal flip, as torchvision's RandomCrop(H, padding) + RandomHorizontalFlip.
public struct Augmentation: Equatable, Sendable {
    public var pad = 4
    public var flip = true
    public init(pad: Int = 4, flip: Bool = true) { self.pad = pad; self.flip = flip }

    /// Writes one augmented sample (C×H×W) into dst.
    func apply(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ s: Shape, padValue: [Float],
               rng: inout SplitMix64) {
        let dy = pad > 0 ? Int(rng.next() % UInt64(2 * pad + 1)) - pad : 0
        let dx = pad > 0 ? Int(rng.next() % UInt64(2 * pad + 1)) - pad : 0
        let mirror = flip && (rng.next() & 1) == 1
        for c in 0..<s.c {
            let pv = c < padValue.count ? padValue[c] : 0
            for y in 0..<s.h {
                let sy = y + dy
                let row = dst + (c * s.h + y) * s.w
                guard sy >= 0, sy < s.h else { row.update(repeating: pv, count: s.w); continue }
                let srow = src + (c * s.h + sy) * s.w
                for x in 0..<s.w {
                    let ox = mirror ? s.w - 1 - x : x
                    let sx = ox + dx
                    row[x] = (sx >= 0 && sx < s.w) ? srow[sx] : pv
                }
            }
        }
    }
}

/// Per-epoch order and batch assembly.
struct Batcher {
    let data: Dataset
    let batchSize: Int
    let dropLast: Bool
    let augmentation: Augmentation?
    let padValue: [Float]
    let seed: UInt64

    var stepsPerEpoch: Int {
        let full = data.count / batchSize, rest = data.count % batchSize
        return full + ((rest > 0 && !dropLast) ? 1 : 0)
    }

    /// Sample order of `epoch` (Fisher–Yates with a generator derived from seed and epoch).
    func order(epoch: Int, shuffle: Bool) -> [Int] {
        var idx = Array(0..<data.count)
        guard shuffle else { return idx }
        // Hashed per epoch: seeding with seed + epoch·γ (SplitMix64's own increment) would make each
        // epoch's stream the previous one shifted by a draw, and the shuffles related.
        var mix = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0xC2B2_AE3D_27D4_EB4F))
        var rng = SplitMix64(seed: mix.next())
        if idx.count > 1 {
            for i in stride(from: idx.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                idx.swapAt(i, j)
            }
        }
        return idx
    }

    /// Fills x (NCHW) and labels for the samples `indices`; augmentation draws from `rng`.
    func fill(_ x: inout [Float], _ labels: inout [Int32], _ indices: ArraySlice<Int>, rng: inout SplitMix64) {
        let s = data.shape, n = s.count
        x.removeAll(keepingCapacity: true); x.append(contentsOf: repeatElement(0, count: indices.count * n))
        labels.removeAll(keepingCapacity: true)
        data.x.withUnsafeBufferPointer { src in
            x.withUnsafeMutableBufferPointer { dst in
                guard let sb = src.baseAddress, let db = dst.baseAddress else { return }
                for (k, i) in indices.enumerated() {
                    if let aug = augmentation { aug.apply(db + k * n, sb + i * n, s, padValue: padValue, rng: &rng) }
                    else { (db + k * n).update(from: sb + i * n, count: n) }
                }
            }
        }
        for i in indices { labels.append(data.labels[i]) }
    }
}
