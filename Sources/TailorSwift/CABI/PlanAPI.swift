import CTailor

// The Tailor schedule (which block changes after which epoch) through the C boundary, so that
// other training engines (PyTorch DDP through tailor.torch.SkipSchedule) follow the same plan.

@_cdecl("tailor_plan_modes")
public func cPlanModes(_ net: OpaquePointer?, _ algorithm: UnsafePointer<CChar>?, _ blocks: UnsafePointer<Int64>?,
                       _ numBlocks: Int64, _ every: Int64, _ epochs: Int64, _ modes: UnsafeMutablePointer<Int32>?,
                       _ capacity: Int64, _ epochsOut: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let epochsOut = try requirePointer(epochsOut, "epochs_out")
        let name = try requireString(algorithm, "algorithm")
        guard let algo = TailorPlan.Algorithm(rawValue: name) else {
            throw TailorError.invalid("algorithm must be 'remove' or 'shorten', got '\(name)'")
        }
        let n = try requireInt(numBlocks, "num_blocks", 0...4096)
        guard n == 0 || blocks != nil else { throw TailorError.invalid("blocks is NULL but num_blocks is \(n)") }
        let ev = try requireInt(every, "every", Int64.min...Int64(1 << 20))
        let ep = try requireInt(epochs, "epochs", 0...Int64(1 << 20))
        let cap = try requireInt(capacity, "capacity", 0...Int64(1 << 30))
        guard cap == 0 || modes != nil else { throw TailorError.invalid("modes is NULL but capacity is \(cap)") }
        let chosen: [Int]? = n == 0 ? nil : (0..<n).map { Int(clamping: blocks![$0]) }
        try withHandle(net) { h in
            let plan = try TailorPlan(algo, network: h.net, blocks: chosen, every: ev, epochs: ep == 0 ? nil : ep)
            let count = h.net.blocks.count
            epochsOut.pointee = Int64(plan.epochs)
            guard cap > 0, let modes else { return }
            guard cap >= plan.epochs * count else {
                throw TailorError.shape("modes holds \(cap) entries; \(plan.epochs) epochs × \(count) blocks need \(plan.epochs * count)")
            }
            for e in 0..<plan.epochs {
                let altered = Set(plan.blocksAltered(beforeEpoch: e))
                for b in 0..<count {
                    modes[e * count + b] = modeCode(altered.contains(b) ? plan.algorithm.mode : h.net.blocks[b].mode)
                }
            }
        }
    }
}
