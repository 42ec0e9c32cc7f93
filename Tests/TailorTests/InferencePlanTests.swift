import Testing
@testable import TailorSwift

/// The inference plan's fusions and buffer reuse (Train/InferencePlan.swift), and that the fused,
/// buffer-sharing inference forward gives the logits of the plain one (a train-mode executor's
/// layout, every node computed and kept).
@Suite struct InferencePlanTests {
    func nets() throws -> [(String, Network)] {
        var out: [(String, Network)] = []
        for name in ["resnet8", "resnet20", "resnet18"] {
            for mode in SkipMode.allCases {
                var o = Zoo.Options()
                if name == "resnet18" { o.input = Shape(3, 32, 32) }
                let net = try Zoo.build(name, o)
                for b in net.blocks.indices { try net.setMode(block: b, mode) }
                out.append(("\(name) \(mode)", net))
            }
        }
        return out
    }

    @Test func fusesConvBatchNormReluAndAddRelu() throws {
        let net = try Zoo.build("resnet8")
        let e = try Executor(net)
        let plan = InferencePlan(e.plans)
        let index = Dictionary(uniqueKeysWithValues: e.plans.enumerated().map { ($1.name, $0) })
        func i(_ n: String) throws -> Int { try #require(index[n], "no node \(n)") }
        // Stem: conv1 → bn1 → relu, all one conv with a folded BN and a ReLU epilogue.
        #expect(plan.foldedBN[try i("conv1")] == (try i("bn1")))
        #expect(plan.reluAfter[try i("conv1")])
        #expect(plan.skipped[try i("bn1")])
        // A block's second conv folds its BN but no ReLU (the add reads it); the add takes the ReLU.
        #expect(plan.foldedBN[try i("layer1.0.conv2")] == (try i("layer1.0.bn2")))
        #expect(!plan.reluAfter[try i("layer1.0.conv2")])
        let adds = e.plans.indices.filter { if case .add = e.plans[$0].op { return true }; return false }
        #expect(adds.count == 3)
        for a in adds { #expect(plan.reluAfter[a]) }
        // Every BN of a zoo ResNet follows a conv it alone reads, so every one is folded.
        let bns = e.plans.indices.filter { if case .batchnorm = e.plans[$0].op { return true }; return false }
        #expect(bns.allSatisfy { plan.skipped[$0] })
    }

    /// No two buffers that are live at the same time overlap: walking the plan and tagging every
    /// float with the node whose value it holds, each node's inputs must still carry their tags.
    @Test func liveBuffersNeverOverlap() throws {
        for (label, net) in try nets() {
            let e = try Executor(net)
            let plan = InferencePlan(e.plans)
            let (offsets, total) = plan.offsets(e.plans, batch: 2)
            var holder = [Int](repeating: -1, count: total)
            var written = 0
            for (i, p) in e.plans.enumerated() where !plan.skipped[i] {
                for j in p.inputs {
                    let n = 2 * e.plans[j].shape.count
                    #expect(holder[offsets[j]] == j && holder[offsets[j] + n - 1] == j,
                            "\(label): \(p.name) reads \(e.plans[j].name), which was overwritten")
                }
                // The node's group writes the value of its last node (a fused ReLU, a folded BN).
                let t = plan.target[i], n = 2 * e.plans[t].shape.count
                for k in offsets[i]..<(offsets[i] + n) { holder[k] = t }
                written += n
            }
            // Fusion and reuse must actually happen: a fraction of what keeping every node takes.
            let every = e.plans.reduce(0) { $0 + 2 * $1.shape.count }
            #expect(written < every && total * 4 < every, "\(label): \(total) floats, \(written) written, \(every) unfused")
        }
    }

    @Test func fusedInferenceMatchesTheUnfusedForward() throws {
        for (label, net) in try nets() where !label.hasPrefix("resnet18") {
            let e = try Executor(net)
            let B = 3
            var x = [Float](repeating: 0, count: B * 3 * 32 * 32)
            var r = SplitMix64(seed: 9)
            for k in x.indices { x[k] = r.nextUnit() * 2 - 1 }
            // The unfused reference: a training layout (every node kept) but inference semantics,
            // computed node by node by the plain kernels (ReferenceForward, no executor).
            let plain = try x.withUnsafeBufferPointer { try ReferenceForward.forwardChunk(net, try ReferenceForward.PreparedWeights(net), $0.baseAddress!, batch: B) }
            let fused = try x.withUnsafeBufferPointer { try e.predict($0.baseAddress!, count: B) }
            let scale = plain.map { abs($0) }.max() ?? 1
            let err = zip(plain, fused).map { abs($0 - $1) }.max() ?? 0
            #expect(err <= 1e-4 * max(scale, 1), "\(label): max error \(err) at scale \(scale)")
        }
    }
}
