/// A dense tensor in PyTorch layout (row-major; conv weights OIHW, linear weights (out, in)).
/// `isInteger` marks tensors PyTorch keeps as int64 (BatchNorm's `num_batches_tracked`); their
/// values are held as Float here (exact up to 2^24 steps) and written as I64 in model files.
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]
    public var isInteger: Bool

    public init(shape: [Int], data: [Float], isInteger: Bool = false) {
        self.shape = shape; self.data = data; self.isInteger = isInteger
    }
    public init(zeros shape: [Int], isInteger: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: Tensor.count(shape)), isInteger: isInteger)
    }
    public init(filled value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: Tensor.count(shape)))
    }
    public var count: Int { data.count }

    /// Element count of a shape; callers validate dims are non-negative and bounded first.
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Product of dims with overflow and sign checks, for shapes that come from outside.
    static func checkedCount(_ shape: [Int], what: String) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw TailorError.shape("\(what): negative dimension \(d) in \(shape)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= 1 << 40 else { throw TailorError.shape("\(what): shape \(shape) is too large") }
            n = p
        }
        return n
    }

    /// Index of the first non-finite value, if any.
    var firstNonFinite: Int? { data.firstIndex { !$0.isFinite } }
}
