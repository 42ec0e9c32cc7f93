/// Reference networks with torchvision's layout and parameter names, so `load_state_dict`
/// works name for name with the matching PyTorch modules.
public enum Zoo {
    public static let names = ["resnet8", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
                               "resnet18", "resnet34", "resnet50"]

    public struct Options: Sendable {
        public var numClasses = 10
        /// Input (channels, height, width); nil uses the model's default (3×32×32 CIFAR, 3×224×224 ImageNet).
        public var input: Shape?
        public var seed: UInt64 = 0
        public init() {}
    }

    public static func build(_ name: String, _ o: Options = Options()) throws -> Network {
        guard o.numClasses >= 1, o.numClasses <= maxDimension else {
            throw TailorError.invalid("num_classes must be in 1...\(maxDimension), got \(o.numClasses)")
        }
        switch name.lowercased() {
        case "resnet8": return try cifar(name: "resnet8", blocksPerStage: [1, 1, 1], o)
        case "resnet20": return try cifar(name: "resnet20", blocksPerStage: [3, 3, 3], o)
        case "resnet32": return try cifar(name: "resnet32", blocksPerStage: [5, 5, 5], o)
        case "resnet44": return try cifar(name: "resnet44", blocksPerStage: [7, 7, 7], o)
        case "resnet56": return try cifar(name: "resnet56", blocksPerStage: [9, 9, 9], o)
        case "resnet110": return try cifar(name: "resnet110", blocksPerStage: [18, 18, 18], o)
        case "resnet18": return try imagenet(blocks: [2, 2, 2, 2], bottleneck: false, o)
        case "resnet34": return try imagenet(blocks: [3, 4, 6, 3], bottleneck: false, o)
        case "resnet50": return try imagenet(blocks: [3, 4, 6, 3], bottleneck: true, o)
        default:
            throw TailorError.notFound("unknown zoo model '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }

    /// CIFAR ResNets (He et al. 2016, §4.2) and MLPerf Tiny ResNet-8: 3×3 stem of 16, three stages
    /// of 16/32/64 filters at strides 1/2/2, 1×1 conv + BN projections where the shape changes.
    static func cifar(name: String, blocksPerStage: [Int], _ o: Options) throws -> Network {
        let net = Network(seed: o.seed)
        try net.add("input", .input(o.input ?? Shape(3, 32, 32)))
        try net.add("conv1", .conv2d(Conv2dAttrs(outChannels: 16, kernel: 3, stride: 1, padding: 1)), inputs: ["input"])
        try net.add("bn1", .batchnorm(BatchNormAttrs()), inputs: ["conv1"])
        try net.add("relu", .relu, inputs: ["bn1"])
        var x = "relu", inC = 16
        for (s, n) in blocksPerStage.enumerated() {
            let planes = 16 << s
            for j in 0..<n {
                let stride = (s > 0 && j == 0) ? 2 : 1
                x = try basicBlock(net, "layer\(s + 1).\(j)", input: x, inC: inC, planes: planes, stride: stride)
                inC = planes
            }
        }
        try head(net, from: x, o)
        return net
    }

    /// torchvision ResNet-18/34/50: 7×7/2 stem, 3×3/2 max-pool, four stages of 64…512 planes.
    static func imagenet(blocks: [Int], bottleneck: Bool, _ o: Options) throws -> Network {
        let net = Network(seed: o.seed)
        try net.add("input", .input(o.input ?? Shape(3, 224, 224)))
        try net.add("conv1", .conv2d(Conv2dAttrs(outChannels: 64, kernel: 7, stride: 2, padding: 3)), inputs: ["input"])
        try net.add("bn1", .batchnorm(BatchNormAttrs()), inputs: ["conv1"])
        try net.add("relu", .relu, inputs: ["bn1"])
        try net.add("maxpool", .maxpool(PoolAttrs(kernel: 3, stride: 2, padding: 1)), inputs: ["relu"])
        var x = "maxpool", inC = 64
        for (s, n) in blocks.enumerated() {
            let planes = 64 << s
            for j in 0..<n {
                let stride = (s > 0 && j == 0) ? 2 : 1
                let name = "layer\(s + 1).\(j)"
                if bottleneck {
                    x = try bottleneckBlock(net, name, input: x, inC: inC, planes: planes, stride: stride)
                    inC = planes * 4
                } else {
                    x = try basicBlock(net, name, input: x, inC: inC, planes: planes, stride: stride)
                    inC = planes
                }
            }
        }
        try head(net, from: x, o)
        return net
    }

    static func convBN(_ net: Network, _ conv: String, _ bn: String, input: String, out: Int, k: Int, stride: Int) throws {
        try net.add(conv, .conv2d(Conv2dAttrs(outChannels: out, kernel: k, stride: stride, padding: k / 2)), inputs: [input])
        try net.add(bn, .batchnorm(BatchNormAttrs()), inputs: [conv])
    }

    /// torchvision BasicBlock: conv3×3(stride)–BN–ReLU–conv3×3–BN, + identity or downsample, ReLU.
    static func basicBlock(_ net: Network, _ p: String, input: String, inC: Int, planes: Int, stride: Int) throws -> String {
        try convBN(net, "\(p).conv1", "\(p).bn1", input: input, out: planes, k: 3, stride: stride)
        try net.add("\(p).relu1", .relu, inputs: ["\(p).bn1"])
        try convBN(net, "\(p).conv2", "\(p).bn2", input: "\(p).relu1", out: planes, k: 3, stride: 1)
        return try join(net, p, input: input, main: "\(p).bn2", project: stride != 1 || inC != planes, out: planes, stride: stride)
    }

    /// torchvision Bottleneck (v1.5: stride on the 3×3): 1×1–3×3–1×1 with expansion 4.
    static func bottleneckBlock(_ net: Network, _ p: String, input: String, inC: Int, planes: Int, stride: Int) throws -> String {
        try convBN(net, "\(p).conv1", "\(p).bn1", input: input, out: planes, k: 1, stride: 1)
        try net.add("\(p).relu1", .relu, inputs: ["\(p).bn1"])
        try convBN(net, "\(p).conv2", "\(p).bn2", input: "\(p).relu1", out: planes, k: 3, stride: stride)
        try net.add("\(p).relu2", .relu, inputs: ["\(p).bn2"])
        try convBN(net, "\(p).conv3", "\(p).bn3", input: "\(p).relu2", out: planes * 4, k: 1, stride: 1)
        return try join(net, p, input: input, main: "\(p).bn3", project: stride != 1 || inC != planes * 4, out: planes * 4, stride: stride)
    }

    static func join(_ net: Network, _ p: String, input: String, main: String, project: Bool, out: Int, stride: Int) throws -> String {
        var skip = input
        if project {
            try convBN(net, "\(p).downsample.0", "\(p).downsample.1", input: input, out: out, k: 1, stride: stride)
            skip = "\(p).downsample.1"
        }
        try net.add("\(p).add", .add, inputs: [main, skip])
        try net.add("\(p).relu", .relu, inputs: ["\(p).add"])
        return "\(p).relu"
    }

    static func head(_ net: Network, from x: String, _ o: Options) throws {
        try net.add("avgpool", .globalAvgPool, inputs: [x])
        try net.add("flatten", .flatten, inputs: ["avgpool"])
        try net.add("fc", .dense(DenseAttrs(outFeatures: o.numClasses)), inputs: ["flatten"])
    }
}
