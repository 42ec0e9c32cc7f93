// Dataflow designs as JSON: another tool's design in (an hls4ml model's layers, a published
// design's configuration), the simulation's streams out. The layer list follows hls4ml's class
// names and channels-last shapes:
//
//   {"interface": "stream" | "axi_wrapper", "reuse_factor": 1, "strategy": "latency", "bits": 16,
//    "layers": [
//      {"name": "input_1", "class": "Input", "shape": [H, W, C]},
//      {"name": "zp", "class": "ZeroPadding2D", "inputs": ["input_1"], "pad": [top, bottom, left, right]},
//      {"name": "conv", "class": "Conv2D", "inputs": ["zp"], "filters": F, "kernel": [kh, kw],
//       "stride": [sh, sw], "reuse_factor": R, "strategy": "resource"},      // input already padded
//      {"class": "Activation" | "BatchNormalization"}, {"class": "Add", "inputs": [a, b]},
//      {"class": "Pooling2D", "pool": [kh, kw], "stride": [sh, sw]}, {"class": "GlobalPooling2D"},
//      {"class": "Reshape"} (no layer in io_stream), {"class": "Dense", "units": N}]}
//
// Every layer may carry "bits" (its output's value width). Layers read by several others get a
// clone, as hls4ml inserts one.

extension DataflowDesign {
    /// A design from its JSON layer list; every error names the layer and field.
    public static func fromJSON(_ text: String) throws -> DataflowDesign {
        let root: JSON
        do { root = try JSON.parse(text) } catch let e as TailorError {
            throw TailorError.invalid("dataflow design: not valid JSON: \(e.message)")
        }
        guard case .object = root else { throw TailorError.invalid("dataflow design: expected a JSON object with \"layers\"") }
        func choice<T: RawRepresentable & CaseIterable>(_ j: JSON?, _ field: String, _ d: T) throws -> T where T.RawValue == String {
            guard let j else { return d }
            guard let s = j.string else { throw TailorError.invalid("dataflow design: \(field) must be a string") }
            return try HardwareConfig.parse(s, field, as: T.self)
        }
        func int(_ j: JSON?, _ field: String, _ d: Int? = nil, _ range: ClosedRange<Int> = 1...(1 << 20)) throws -> Int {
            guard let j else {
                guard let d else { throw TailorError.invalid("dataflow design: \(field) is missing") }
                return d
            }
            guard let v = j.int, range.contains(v) else { throw TailorError.invalid("dataflow design: \(field) must be an integer in \(range), got \(j.serialized())") }
            return v
        }
        func ints(_ j: JSON?, _ field: String, count: Int, min lo: Int = 1) throws -> [Int] {
            guard let a = j?.array, a.count == count else { throw TailorError.invalid("dataflow design: \(field) must be a list of \(count) integers") }
            return try a.enumerated().map { try int($1, "\(field)[\($0)]", nil, lo...(1 << 20)) }
        }
        let interface: HardwareConfig.InputInterface = try choice(root["interface"], "interface", .stream)
        let defaultReuse = try int(root["reuse_factor"], "reuse_factor", 1)
        let defaultStrategy: HardwareConfig.Strategy = try choice(root["strategy"], "strategy", .latency)
        let defaultBits = try int(root["bits"], "bits", 16, 1...64)
        guard let layers = root["layers"]?.array, !layers.isEmpty else { throw TailorError.invalid("dataflow design: \"layers\" must be a non-empty list") }
        guard layers.count <= 100_000 else { throw TailorError.invalid("dataflow design: more than 100000 layers") }

        func setReuse(_ p: inout DataflowProcess, _ l: JSON, _ f: String, nIn: Int, nOut: Int) throws {
            p.setReuse(requested: try int(l["reuse_factor"], "\(f).reuse_factor", defaultReuse),
                       strategy: try choice(l["strategy"], "\(f).strategy", defaultStrategy), nIn: nIn, nOut: nOut)
        }

        var b = DataflowBuilder()
        var alias: [String: String] = [:]
        for (i, l) in layers.enumerated() {
            guard let name = l["name"]?.string, !name.isEmpty else { throw TailorError.invalid("dataflow design: layers[\(i)] has no \"name\"") }
            guard let cls = l["class"]?.string else { throw TailorError.invalid("dataflow design: layer '\(name)' has no \"class\"") }
            let f = "layer '\(name)'"
            let inputs = try (l["inputs"]?.array ?? []).map { j -> String in
                guard let s = j.string else { throw TailorError.invalid("dataflow design: \(f): inputs must be layer names") }
                return alias[s] ?? s
            }
            let bits = try int(l["bits"], "\(f).bits", defaultBits, 1...64)
            func needInputs(_ n: Int) throws {
                guard inputs.count == n else { throw TailorError.invalid("dataflow design: \(f) (\(cls)) takes \(n) input(s), got \(inputs.count)") }
            }
            let inShape = try inputs.first.map { try b.shape(of: $0) }
            var p = DataflowProcess(name: name, kind: .clone, node: name)
            var out = inShape ?? (0, 0, 0)
            switch cls {
            case "Input", "InputLayer":
                try needInputs(0)
                let s = try ints(l["shape"], "\(f).shape", count: 3)
                p.kind = .input(axiWrapper: interface == .axiWrapper)
                out = (s[0], s[1], s[2])
            case "ZeroPadding2D":
                try needInputs(1)
                let pad = try ints(l["pad"], "\(f).pad", count: 4, min: 0)
                p.kind = .zeroPad(top: pad[0], bottom: pad[1], left: pad[2], right: pad[3])
                out = (out.h + pad[0] + pad[1], out.w + pad[2] + pad[3], out.c)
            case "Conv2D", "Conv2DBatchnorm", "Pooling2D", "MaxPooling2D", "AveragePooling2D":
                try needInputs(1)
                let isConv = cls.hasPrefix("Conv")
                let k = try ints(l[isConv ? "kernel" : "pool"], "\(f).\(isConv ? "kernel" : "pool")", count: 2)
                let s = try ints(l["stride"], "\(f).stride", count: 2)
                let x = inShape!
                guard x.h >= k[0], x.w >= k[1] else {
                    throw TailorError.shape("dataflow design: \(f): kernel \(k[0])×\(k[1]) does not fit its (padded) input \(x.h)×\(x.w)")
                }
                out = ((x.h - k[0]) / s[0] + 1, (x.w - k[1]) / s[1] + 1, x.c)
                if isConv {
                    out.c = try int(l["filters"], "\(f).filters")
                    let nIn = k[0] * k[1] * x.c
                    p.kind = .conv(kernelH: k[0], kernelW: k[1], strideH: s[0], strideW: s[1], nIn: nIn, nOut: out.c)
                    try setReuse(&p, l, f, nIn: nIn, nOut: out.c)
                } else {
                    p.kind = .pool(kernelH: k[0], kernelW: k[1], strideH: s[0], strideW: s[1])
                }
            case "GlobalPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D":
                try needInputs(1)
                p.kind = .globalPool
                out = (1, 1, out.c)
            case "Dense":
                try needInputs(1)
                let x = inShape!
                let units = try int(l["units"], "\(f).units")
                p.kind = .dense(nIn: x.h * x.w * x.c, nOut: units)
                try setReuse(&p, l, f, nIn: x.h * x.w * x.c, nOut: units)
                out = (1, 1, units)
            case "Activation", "ReLU", "BatchNormalization":
                try needInputs(1)
                p.kind = .elementwise(cls)
            case "Add", "Merge":
                try needInputs(2)
                let y = try b.shape(of: inputs[1])
                guard inShape! == y else { throw TailorError.shape("dataflow design: \(f): adds \(inShape!) and \(y)") }
                p.kind = .add
            case "Reshape", "Flatten":
                // No layer in io_stream: the reader takes the stream word by word.
                try needInputs(1)
                alias[name] = inputs[0]
                continue
            default:
                throw TailorError(.unsupported, "dataflow design: \(f): class '\(cls)' has no timing rule (supported: Input, ZeroPadding2D, Conv2D, Pooling2D, GlobalPooling2D, Dense, Activation, BatchNormalization, Add, Reshape)")
            }
            _ = try b.add(p, reads: inputs, writes: name, shape: out, bits: bits)
        }
        var design = b.finish(axiWrapper: interface == .axiWrapper)
        for k in design.streams.indices { design.streams[k].owner = .layer(design.processes[design.streams[k].producer].name) }
        return design
    }

    /// The design and its simulation as JSON: every stream with its producer, reader (and the
    /// reader's input port), shape, default depth, simulated occupancy and the depth
    /// FifoDepthOptimization would write; every process with its effective reuse factor.
    public func simulationJSON(_ sim: DataflowSimulation) -> JSON {
        func n(_ v: Int) -> JSON { .number(Double(v)) }
        return .object([
            ("streams", .array(streams.enumerated().map { i, s in
                let o = sim.streams[i]
                let c = processes[s.consumer]
                return .object([
                    ("name", .string(s.name)), ("producer", .string(processes[s.producer].name)),
                    ("consumer", .string(c.name)), ("consumer_port", n(c.inputs.firstIndex(of: i) ?? 0)),
                    ("shape", .array([n(s.height), n(s.width), n(s.channels)])), ("bits", n(s.bits)), ("words", n(s.words)),
                    ("port", .bool(s.isPort)), ("default_depth", n(s.defaultDepth)),
                    ("max_occupancy", n(o.maxOccupancy)), ("hls4ml_max", n(o.hls4mlMax)), ("optimized_depth", n(o.optimizedDepth)),
                ])
            })),
            ("processes", .array(processes.map { p in
                .object([("name", .string(p.name)), ("kind", .string(p.kind.label)), ("requested_reuse", n(p.requestedReuse)),
                         ("reuse_factor", n(p.reuseFactor)), ("strategy", .string(p.strategy.rawValue))])
            })),
            ("latency_cycles", n(sim.latencyCycles)),
        ])
    }
}

extension DataflowProcess.Kind {
    /// Short name for reports.
    var label: String {
        switch self {
        case .input: "input"
        case .output: "output"
        case .zeroPad: "zero_padding"
        case .conv: "conv"
        case .pool: "pool"
        case .globalPool: "global_pool"
        case .dense: "dense"
        case .elementwise(let what): what.lowercased()
        case .clone: "clone"
        case .add: "add"
        }
    }
}
