// A network as hls4ml builds it in `io_stream` (hls4ml 1.3.0, Vivado and Vitis backends):
// - a BatchNorm that is a conv's only reader folds into the conv (hls4ml `fuse_batchnorm`);
// - a conv or pool with padding gets an explicit ZeroPadding2D layer in front (the line buffer
//   only handles unpadded inputs: `conv_2d_buffer_cl` asserts pad == 0);
// - a flatten before a dense is no layer (the dense reads the stream word by word);
// - a tensor read by several layers goes through a clone with one copy stream per reader.
// Each stream is then placed in the report: a skip's clone copies, projection output and adder
// output in its skip row, everything else in the row of the layer that writes it.

extension Network {
    /// The dataflow design hls4ml builds for this network under `config` (reuse factors moved to
    /// valid values as hls4ml moves them).
    func dataflowDesign(_ config: HardwareConfig) throws -> DataflowDesign {
        var b = DataflowBuilder()
        let consumers = consumerCounts()
        // Node name -> the tensor that carries its value (a folded BN's conv, a flatten's input).
        var tensorOf: [String: String] = [:]
        func read(_ node: String) -> String { tensorOf[node] ?? node }
        var folded: [String: String] = [:]   // conv name -> the BN folded into it
        for n in nodes {
            if case .batchnorm = n.op, let src = n.inputs.first, let s = node(named: src), case .conv2d = s.op,
               consumers[src, default: 0] == 1 {
                folded[src] = n.name
            }
        }
        let axi = config.interface == .axiWrapper
        func bits(_ names: String...) -> Int { names.lazy.compactMap { config.precision[$0] }.first ?? config.bits }

        for n in nodes {
            let inputs = n.inputs.map(read)
            let out = (n.shape.h, n.shape.w, n.shape.c)
            switch n.op {
            case .input:
                _ = try b.add(DataflowProcess(name: n.name, kind: .input(axiWrapper: axi), node: n.name), reads: [], writes: n.name, shape: out, bits: bits(n.name))
            case .conv2d(let a):
                var src = inputs[0]
                if a.padding > 0 {
                    src = try zeroPad(&b, before: n.name, input: src, padding: a.padding, bits: bits(n.inputs[0]))
                }
                let bn = folded[n.name]
                let tensor = bn ?? n.name
                let inC = try b.shape(of: src).c
                var p = DataflowProcess(name: n.name, kind: .conv(kernelH: a.kernel, kernelW: a.kernel, strideH: a.stride, strideW: a.stride,
                                                                  nIn: a.kernel * a.kernel * inC, nOut: a.outChannels), node: n.name)
                Self.setReuse(&p, config: config, nIn: a.kernel * a.kernel * inC, nOut: a.outChannels)
                _ = try b.add(p, reads: [src], writes: tensor, shape: out, bits: bn.map { bits($0, n.name) } ?? bits(n.name))
            case .batchnorm:
                if folded.values.contains(n.name) { continue }
                _ = try b.add(DataflowProcess(name: n.name, kind: .elementwise("batchnorm"), node: n.name), reads: inputs, writes: n.name, shape: out, bits: bits(n.name))
            case .relu:
                _ = try b.add(DataflowProcess(name: n.name, kind: .elementwise("relu"), node: n.name), reads: inputs, writes: n.name, shape: out, bits: bits(n.name))
            case .add:
                // FINN's AddStreams widens its output by one bit.
                _ = try b.add(DataflowProcess(name: n.name, kind: .add, node: n.name), reads: inputs, writes: n.name, shape: out,
                              bits: bits(n.name) + (config.target == .finn ? 1 : 0))
            case .maxpool(let a), .avgpool(let a):
                var src = inputs[0]
                if a.padding > 0 { src = try zeroPad(&b, before: n.name, input: src, padding: a.padding, bits: bits(n.inputs[0])) }
                _ = try b.add(DataflowProcess(name: n.name, kind: .pool(kernelH: a.kernel, kernelW: a.kernel, strideH: a.stride, strideW: a.stride), node: n.name),
                              reads: [src], writes: n.name, shape: out, bits: bits(n.name))
            case .globalAvgPool:
                _ = try b.add(DataflowProcess(name: n.name, kind: .globalPool, node: n.name), reads: inputs, writes: n.name, shape: out, bits: bits(n.name))
            case .flatten:
                tensorOf[n.name] = inputs[0]
            case .dense(let a):
                let nIn = n.inputs.first.flatMap { node(named: $0)?.shape.count } ?? 1
                var p = DataflowProcess(name: n.name, kind: .dense(nIn: nIn, nOut: a.outFeatures), node: n.name)
                Self.setReuse(&p, config: config, nIn: nIn, nOut: a.outFeatures)
                _ = try b.add(p, reads: inputs, writes: n.name, shape: out, bits: bits(n.name))
            }
        }
        var design = b.finish(axiWrapper: axi)
        placeStreams(&design)
        return design
    }

    /// Inserts hls4ml's ZeroPadding2D in front of `node`; returns the padded tensor's name.
    private func zeroPad(_ b: inout DataflowBuilder, before node: String, input: String, padding p: Int, bits: Int) throws -> String {
        let s = try b.shape(of: input)
        let name = "zp2d_\(node)"
        let proc = DataflowProcess(name: name, kind: .zeroPad(top: p, bottom: p, left: p, right: p))
        _ = try b.add(proc, reads: [input], writes: name, shape: (s.h + 2 * p, s.w + 2 * p, s.c), bits: bits)
        return name
    }

    /// The reuse factor and strategy hls4ml uses for a conv or dense layer.
    static func setReuse(_ p: inout DataflowProcess, config: HardwareConfig, nIn: Int, nOut: Int) {
        let (r, s) = config.settings(of: p.node ?? p.name)
        p.setReuse(requested: r, strategy: s, nIn: nIn, nOut: nOut)
    }

    /// Says which report row lists each stream and what it is called there.
    private func placeStreams(_ d: inout DataflowDesign) {
        let skipList = skips
        var skipOfJoin: [String: Int] = [:], skipOfSource: [String: [Int]] = [:], skipOfProjection: [String: Int] = [:]
        for (i, s) in skipList.enumerated() where s.mode != .removed {
            if let j = s.join { skipOfJoin[j] = i }
            skipOfSource[s.source, default: []].append(i)
            if let p = s.projection { skipOfProjection["\(p).0"] = i }
        }
        for k in d.streams.indices {
            let s = d.streams[k]
            let producer = d.processes[s.producer], consumer = d.processes[s.consumer]
            switch (producer.kind, consumer.kind) {
            case (.clone, _):
                // A clone's `node` is the node whose value it copies.
                let source = producer.node ?? producer.name
                let copy = (producer.outputs.firstIndex(of: k) ?? 0) + 1
                let match = skipOfSource[source]?.first { i in
                    let sk = skipList[i]
                    return consumer.node == sk.join || consumer.node == sk.projection.map { "\($0).0" }
                        || sk.spans.first.map { consumer.node == $0 || consumer.name == "zp2d_\($0)" } == true
                }
                if let si = match {
                    let sk = skipList[si]
                    d.streams[k].owner = .skip(si)
                    if consumer.node == sk.join {
                        d.streams[k].role = "clone -> adder skip FIFO"; d.streams[k].onSkipPath = true
                    } else if let p = sk.projection, consumer.node == "\(p).0" {
                        d.streams[k].role = "clone -> projection stream"; d.streams[k].onSkipPath = true
                    } else {
                        d.streams[k].role = "clone -> branch stream"
                    }
                } else {
                    // Listed with the layer that writes the cloned value (a conv, for a folded BN's value).
                    let writer = producer.inputs.first.flatMap { $0 >= 0 ? d.processes[d.streams[$0].producer] : nil }
                    d.streams[k].owner = .layer(writer?.node ?? source)
                    d.streams[k].role = "clone copy \(copy)"
                }
            case (.conv, .add) where producer.node.flatMap { skipOfProjection[$0] } != nil && skipOfJoin[consumer.node ?? ""] != nil:
                d.streams[k].owner = .skip(skipOfProjection[producer.node!]!)
                d.streams[k].role = "projection -> adder FIFO"; d.streams[k].onSkipPath = true
            case (.add, _) where skipOfJoin[producer.node ?? ""] != nil:
                d.streams[k].owner = .skip(skipOfJoin[producer.node!]!)
                d.streams[k].role = "adder output stream"
            case (.zeroPad, _):
                d.streams[k].owner = .layer(consumer.node ?? consumer.name)
                d.streams[k].role = "zero-padding stream"
            case (.input, _):
                d.streams[k].owner = .layer(producer.node ?? producer.name)
                d.streams[k].role = producer.kind == .input(axiWrapper: true) ? "input FIFO (in_local)" : "input port"
            default:
                // A projection's output that does not reach its join directly stays with the skip too.
                if let node = producer.node, let si = skipOfProjection[node] {
                    d.streams[k].owner = .skip(si); d.streams[k].role = "projection output stream"
                } else {
                    d.streams[k].owner = .layer(producer.node ?? producer.name)
                    d.streams[k].role = consumer.kind == .output(axiWrapper: true) ? "output FIFO (out_local)" : "output stream"
                }
            }
        }
    }
}
