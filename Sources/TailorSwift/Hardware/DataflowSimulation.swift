// Runs a dataflow design one word at a time and records every FIFO's largest occupancy: what
// hls4ml's FifoDepthOptimization reads from RTL co-simulation (docs/hardware.md).
//
// The FIFOs are unbounded, as in that measurement (hls4ml sets every stream to a depth of 100,000
// first), so no process ever waits on a full FIFO and each process's timing depends only on when
// its inputs arrive: processes are run once each, producers before readers, and a word's read
// time is max(when the process gets to it, when it was written + FIFO latency). An event per word,
// not per cycle: ResNet-50 at 224×224 is a few million events.

/// What the simulation says of one stream.
public struct StreamOccupancy: Sendable, Equatable {
    /// The most words written and not yet read at any moment.
    public var maxOccupancy: Int
    /// The maximum hls4ml's FifoDepthOptimization reports: the `usedw` count of Vivado HLS's BRAM
    /// FIFO, which leaves out the word waiting in its show-ahead output register (so one less
    /// than the occupancy; 1 for a stream whose reader keeps pace).
    public var hls4mlMax: Int
    /// The depth FifoDepthOptimization writes: its maximum + 1.
    public var optimizedDepth: Int { hls4mlMax + 1 }
}

public struct DataflowSimulation: Sendable {
    /// Per stream of the design, in its order.
    public var streams: [StreamOccupancy]
    /// Cycle of the last word the design writes: the latency of one inference.
    public var latencyCycles: Int
}

extension DataflowDesign {
    /// Most words the simulation handles in all streams together (two times per word: 1 GiB).
    static let maxWords = 1 << 26

    public func simulate() throws -> DataflowSimulation {
        var total = 0
        for s in streams {
            let (hw, o1) = s.height.multipliedReportingOverflow(by: s.width)
            let (sum, o2) = total.addingReportingOverflow(hw)
            guard !o1, !o2, sum <= Self.maxWords else {
                throw TailorError(.unsupported, "dataflow simulation: the design's streams carry more than \(Self.maxWords) words (stream '\(s.name)' is \(s.height)×\(s.width)); it is too large to simulate")
            }
            total = sum
        }
        var writes = streams.map { s -> [Int] in var a: [Int] = []; a.reserveCapacity(s.words); return a }
        var reads = writes
        let order = try topologicalOrder()
        // The AXI wrapper writes the whole input before the network (a dataflow region) starts.
        let axiInput = processes.first { $0.kind == .input(axiWrapper: true) }.flatMap { p in p.outputs.first.map { streams[$0].words } }
        let start = axiInput ?? 0

        for pi in order {
            let p = processes[pi]
            // Read word k of input port `port` no earlier than `t`; returns the read cycle.
            func read(_ port: Int, _ k: Int, at t: Int) throws -> Int {
                let s = p.inputs[port]
                guard k < writes[s].count else {
                    throw TailorError(.internal, "dataflow simulation: '\(p.name)' reads word \(k + 1) of '\(streams[s].name)', which holds \(writes[s].count)")
                }
                let r = max(t, writes[s][k] + DataflowTiming.fifoLatency)
                reads[s].append(r)
                return r
            }
            func write(_ t: Int) { for s in p.outputs { writes[s].append(t) } }
            let inShape = p.inputs.first.map { (streams[$0].height, streams[$0].width) } ?? (0, 0)
            var t = start
            switch p.kind {
            case .input:
                let n = p.outputs.first.map { streams[$0].words } ?? 0
                for k in 0..<n { write(k) }
                continue
            case .output:
                for k in 0..<(streams[p.inputs[0]].words) { t = try read(0, k, at: t) + 1 }
            case .zeroPad(let top, let bottom, let left, let right):
                let (h, w) = inShape
                let outW = w + left + right
                var k = 0
                func zeros(_ n: Int) { for _ in 0..<n { write(t); t += 1 } }
                zeros(top * outW)
                for _ in 0..<h {
                    zeros(left)
                    for _ in 0..<w { t = try read(0, k, at: t); k += 1; write(t); t += 1 }
                    zeros(right)
                }
                zeros(bottom * outW)
            case .conv(let kh, let kw, let sh, let sw, _, _), .pool(let kh, let kw, let sh, let sw):
                let (h, w) = inShape
                let isPool: Bool = { if case .pool = p.kind { return true } else { return false } }()
                for y in 0..<h {
                    let rowOK = y >= kh - 1 && (y - (kh - 1)) % sh == 0
                    for x in 0..<w {
                        t = try read(0, y * w + x, at: t)
                        let window = rowOK && x >= kw - 1 && (x - (kw - 1)) % sw == 0
                        if isPool {
                            if window { write(t) }
                            t += 1
                        } else {
                            let (cycles, after) = DataflowTiming.convPixel(completesWindow: window, reuse: p.reuseFactor, strategy: p.strategy)
                            if window { write(t + after) }
                            t += cycles
                        }
                    }
                }
            case .globalPool:
                for k in 0..<(streams[p.inputs[0]].words) { t = try read(0, k, at: t) + 1 }
                write(t)
            case .dense:
                for k in 0..<(streams[p.inputs[0]].words) { t = try read(0, k, at: t) + 1 }
                t += DataflowTiming.denseCompute(reuse: p.reuseFactor, strategy: p.strategy)
                for _ in 0..<(p.outputs.first.map { streams[$0].words } ?? 0) { write(t); t += 1 }
            case .elementwise, .clone:
                for k in 0..<(streams[p.inputs[0]].words) { t = try read(0, k, at: t); write(t); t += 1 }
            case .add:
                for k in 0..<(streams[p.inputs[0]].words) {
                    t = try read(1, k, at: try read(0, k, at: t))
                    reads[p.inputs[0]][k] = t   // the adder reads both words in the same iteration
                    write(t); t += 1
                }
            }
        }
        var result: [StreamOccupancy] = []
        result.reserveCapacity(streams.count)
        var latency = 0
        for (s, stream) in streams.enumerated() {
            guard writes[s].count == stream.words, reads[s].count == stream.words else {
                throw TailorError(.internal, "dataflow simulation: stream '\(stream.name)' of \(stream.words) words saw \(writes[s].count) writes and \(reads[s].count) reads")
            }
            let occ = Self.maxOccupancy(writes: writes[s], reads: reads[s])
            result.append(StreamOccupancy(maxOccupancy: occ, hls4mlMax: max(1, occ - 1)))
            latency = max(latency, writes[s].last ?? 0)
        }
        return DataflowSimulation(streams: result, latencyCycles: latency)
    }

    /// The most words in a FIFO at once: after write k (cycle w_k) it holds k + 1 minus the reads
    /// done by then (read times do not decrease, so one pass suffices).
    static func maxOccupancy(writes: [Int], reads: [Int]) -> Int {
        var best = 0, r = 0
        for (k, w) in writes.enumerated() {
            while r < reads.count, reads[r] <= w { r += 1 }
            best = max(best, k + 1 - r)
        }
        return best
    }

    /// Processes ordered so every producer comes before its readers; a cycle is an error.
    func topologicalOrder() throws -> [Int] {
        var pending = processes.map { p in p.inputs.count }
        for p in processes {
            for s in p.inputs where s < 0 || s >= streams.count {
                throw TailorError.invalid("dataflow design: an input of '\(p.name)' is not connected")
            }
        }
        var ready = processes.indices.filter { pending[$0] == 0 }
        var order: [Int] = []
        order.reserveCapacity(processes.count)
        while let p = ready.popLast() {
            order.append(p)
            for s in processes[p].outputs {
                let c = streams[s].consumer
                pending[c] -= 1
                if pending[c] == 0 { ready.append(c) }
            }
        }
        guard order.count == processes.count else {
            let stuck = processes.indices.filter { pending[$0] > 0 }.map { processes[$0].name }
            throw TailorError.invalid("dataflow design: the layers \(stuck.prefix(5)) read one another in a cycle")
        }
        return order
    }
}
