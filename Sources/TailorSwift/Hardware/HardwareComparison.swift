/// Before/after Tailor: the same network with some blocks removed or shortened, estimated on the
/// same target. Deltas per block (a short block's skips summed) and in total, absolute and in %.
public struct HardwareComparison: Sendable {
    public struct BlockDelta: Sendable {
        public var blockIndex: Int
        public var block: String
        public var modeBefore: SkipMode, modeAfter: SkipMode
        public var before: Cost, after: Cost
        public var delta: Cost { after - before }
    }
    public var before: HardwareReport
    public var after: HardwareReport
    public var blocks: [BlockDelta]

    public init(before: HardwareReport, after: HardwareReport) throws {
        guard before.config == after.config else {
            throw TailorError.invalid("compare: the two reports were made with different hardware configurations")
        }
        func perBlock(_ r: HardwareReport) -> [(String, SkipMode, Cost)] {
            var out: [(String, SkipMode, Cost)] = []
            for row in r.skips {
                if row.skip.blockIndex == out.count { out.append((row.skip.block, row.skip.mode, Cost())) }
                if row.skip.blockIndex < out.count { out[row.skip.blockIndex].2 += row.cost }
            }
            return out
        }
        let b = perBlock(before), a = perBlock(after)
        guard b.count == a.count, zip(b, a).allSatisfy({ $0.0 == $1.0 }) else {
            throw TailorError.invalid("compare: the networks have different residual blocks (\(b.map(\.0)) vs \(a.map(\.0))); compare a network with an altered copy of itself")
        }
        self.before = before
        self.after = after
        self.blocks = zip(b, a).enumerated().map { i, pair in
            BlockDelta(blockIndex: i, block: pair.0.0, modeBefore: pair.0.1, modeAfter: pair.1.1, before: pair.0.2, after: pair.1.2)
        }
    }

    /// Change in % of `before` (nil when `before` is 0).
    public static func percent(_ before: Int, _ after: Int) -> Double? {
        before == 0 ? nil : Double(after - before) / Double(before) * 100
    }
}
