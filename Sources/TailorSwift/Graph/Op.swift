/// The operations a network graph can hold. Attributes follow PyTorch's modules of the same
/// name (square kernels, symmetric stride and padding, floor rounding of output sizes).
public enum Op: Equatable, Sendable {
    case input(Shape)
    case conv2d(Conv2dAttrs)
    case batchnorm(BatchNormAttrs)
    case relu
    case add
    case maxpool(PoolAttrs)
    case avgpool(PoolAttrs)
    case globalAvgPool
    case flatten
    case dense(DenseAttrs)

    /// Stable lower-case name used in files, the C API and reports.
    public var kind: String {
        switch self {
        case .input: "input"
        case .conv2d: "conv2d"
        case .batchnorm: "batchnorm"
        case .relu: "relu"
        case .add: "add"
        case .maxpool: "maxpool"
        case .avgpool: "avgpool"
        case .globalAvgPool: "global_avgpool"
        case .flatten: "flatten"
        case .dense: "dense"
        }
    }

    public var arity: Int {
        switch self {
        case .input: 0
        case .add: 2
        default: 1
        }
    }
}

public struct Conv2dAttrs: Equatable, Sendable {
    public var outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool
    public init(outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false) {
        self.outChannels = outChannels; self.kernel = kernel; self.stride = stride
        self.padding = padding; self.bias = bias
    }
}

public struct BatchNormAttrs: Equatable, Sendable {
    /// PyTorch defaults: eps 1e-5, momentum 0.1 (running = (1−m)·running + m·batch).
    public var eps: Double, momentum: Double
    public init(eps: Double = 1e-5, momentum: Double = 0.1) { self.eps = eps; self.momentum = momentum }
}

public struct PoolAttrs: Equatable, Sendable {
    public var kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
}

public struct DenseAttrs: Equatable, Sendable {
    public var outFeatures: Int, bias: Bool
    public init(outFeatures: Int, bias: Bool = true) { self.outFeatures = outFeatures; self.bias = bias }
}

/// Largest channel count, spatial size or feature count accepted: keeps every shape product
/// far from Int overflow and rejects absurd requests with a message instead of an allocation failure.
let maxDimension = 1 << 20

extension Op {
    /// Output shape for the given input shapes, or a clear error naming `node`.
    func outputShape(inputs: [Shape], node: String) throws -> Shape {
        func dim(_ v: Int, _ what: String, min: Int = 1) throws {
            guard v >= min, v <= maxDimension else {
                throw TailorError.invalid("node '\(node)': \(what) must be in \(min)...\(maxDimension), got \(v)")
            }
        }
        func windowed(_ size: Int, k: Int, s: Int, p: Int, what: String) throws -> Int {
            let span = size + 2 * p - k
            guard span >= 0 else {
                throw TailorError.shape("node '\(node)': \(what) kernel \(k) with padding \(p) does not fit input size \(size)")
            }
            return span / s + 1
        }
        switch self {
        case .input(let s):
            try dim(s.c, "channels"); try dim(s.h, "height"); try dim(s.w, "width")
            return s
        case .conv2d(let a):
            let x = inputs[0]
            try dim(a.outChannels, "out_channels"); try dim(a.kernel, "kernel")
            try dim(a.stride, "stride"); try dim(a.padding, "padding", min: 0)
            return Shape(a.outChannels,
                         try windowed(x.h, k: a.kernel, s: a.stride, p: a.padding, what: "conv"),
                         try windowed(x.w, k: a.kernel, s: a.stride, p: a.padding, what: "conv"))
        case .batchnorm(let a):
            // The kernels use eps as a Float: it must be a normal, finite one (a subnormal eps
            // would count as zero with denormals flushed).
            guard a.eps >= Double(Float.leastNormalMagnitude), a.eps <= 1e6 else {
                throw TailorError.invalid("node '\(node)': eps must be in \(Float.leastNormalMagnitude)...1e6, got \(a.eps)")
            }
            guard a.momentum >= 0, a.momentum <= 1 else {
                throw TailorError.invalid("node '\(node)': momentum must be in [0, 1], got \(a.momentum)")
            }
            return inputs[0]
        case .relu:
            return inputs[0]
        case .add:
            guard inputs[0] == inputs[1] else {
                throw TailorError.shape("node '\(node)': add needs equal shapes, got \(inputs[0]) and \(inputs[1])")
            }
            return inputs[0]
        case .maxpool(let a), .avgpool(let a):
            try dim(a.kernel, "kernel"); try dim(a.stride, "stride"); try dim(a.padding, "padding", min: 0)
            // PyTorch: "pad should be at most half of effective kernel size".
            guard 2 * a.padding <= a.kernel else {
                throw TailorError.invalid("node '\(node)': padding \(a.padding) exceeds half the kernel \(a.kernel)")
            }
            let x = inputs[0]
            return Shape(x.c,
                         try windowed(x.h, k: a.kernel, s: a.stride, p: a.padding, what: "pool"),
                         try windowed(x.w, k: a.kernel, s: a.stride, p: a.padding, what: "pool"))
        case .globalAvgPool:
            return Shape(inputs[0].c, 1, 1)
        case .flatten:
            let x = inputs[0]
            guard x.count <= maxDimension * 64 else { throw TailorError.shape("node '\(node)': flatten of \(x) is too large") }
            return Shape(x.count, 1, 1)
        case .dense(let a):
            try dim(a.outFeatures, "out_features")
            let x = inputs[0]
            guard x.h == 1, x.w == 1 else {
                throw TailorError.shape("node '\(node)': dense needs a flat input (features×1×1), got \(x); add a flatten or global_avgpool first")
            }
            return Shape(a.outFeatures, 1, 1)
        }
    }

    /// The parameter tensors this op owns: (suffix, PyTorch shape, integer?), in state_dict order.
    func parameterSpecs(input: Shape) -> [(suffix: String, shape: [Int], isInteger: Bool)] {
        switch self {
        case .conv2d(let a):
            var specs = [("weight", [a.outChannels, input.c, a.kernel, a.kernel], false)]
            if a.bias { specs.append(("bias", [a.outChannels], false)) }
            return specs
        case .batchnorm:
            let c = input.c
            return [("weight", [c], false), ("bias", [c], false), ("running_mean", [c], false),
                    ("running_var", [c], false), ("num_batches_tracked", [], true)]
        case .dense(let a):
            var specs = [("weight", [a.outFeatures, input.c], false)]
            if a.bias { specs.append(("bias", [a.outFeatures], false)) }
            return specs
        default:
            return []
        }
    }
}
