/// Which residual blocks a Tailor run alters, how, and when (docs/ARCHITECTURE.md §5): blocks change one at a
/// time from the network input towards the output; the k-th block of the plan changes after
/// `(k+1)·every` epochs, so the optimiser settles for `every` epochs before the first change.
public struct TailorPlan: Equatable, Sendable {
    public enum Algorithm: String, Sendable {
        /// SkipRemover: the block's skip is deleted.
        case remove
        /// SkipShortener: the long skip becomes one short skip per convolution.
        case shorten

        public var mode: SkipMode { self == .remove ? .removed : .short }
    }

    public var algorithm: Algorithm
    /// Block indexes in the order they are altered.
    public var blocks: [Int]
    public var every: Int
    public var epochs: Int

    /// A plan over `blocks` (nil: every block of the network, input to output).
    public init(_ algorithm: Algorithm, network: Network, blocks: [Int]? = nil, every: Int = 3, epochs: Int? = nil) throws {
        self.algorithm = algorithm
        self.every = every
        let chosen = blocks ?? Array(network.blocks.indices)
        self.blocks = chosen
        self.epochs = epochs ?? (chosen.count * every + every)
        try validate(network)
    }

    /// Clear errors for every way a plan can be impossible.
    public func validate(_ network: Network) throws {
        guard !network.blocks.isEmpty else {
            throw TailorError.invalid("the network has no residual blocks, so there is no skip to \(algorithm.rawValue)")
        }
        guard every >= 1 else { throw TailorError.invalid("every must be at least 1 epoch, got \(every)") }
        guard !blocks.isEmpty else { throw TailorError.invalid("the plan names no blocks") }
        for b in blocks where !network.blocks.indices.contains(b) {
            throw TailorError.invalid("block index \(b) is out of range: the network has \(network.blocks.count) residual block(s)")
        }
        guard Set(blocks).count == blocks.count else { throw TailorError.invalid("the plan names a block twice: \(blocks)") }
        let needed = blocks.count * every + 1
        guard epochs >= needed else {
            throw TailorError.invalid("epochs = \(epochs) is too few to alter \(blocks.count) block(s) every \(every) epoch(s): need at least \(needed) (the last change needs an epoch to train after it)")
        }
        for b in blocks where network.blocks[b].mode != .long {
            throw TailorError.invalid("block '\(network.blocks[b].name)' is already \(network.blocks[b].mode); Tailor starts from long skips")
        }
    }

    /// The epoch (0-based) at whose start the k-th planned block is altered.
    public func changeEpoch(ofStep k: Int) -> Int { (k + 1) * every }

    /// Blocks that must be altered before training epoch `epoch` (0-based): all whose change
    /// epoch is ≤ `epoch`. Re-applying these reproduces the student's structure on resume.
    public func blocksAltered(beforeEpoch epoch: Int) -> [Int] {
        blocks.enumerated().filter { changeEpoch(ofStep: $0.offset) <= epoch }.map(\.element)
    }

    /// Brings `student` to the structure it must have when training epoch `epoch` starts.
    public func apply(to student: Network, beforeEpoch epoch: Int) throws {
        for b in blocksAltered(beforeEpoch: epoch) where student.blocks[b].mode != algorithm.mode {
            try student.setMode(block: b, algorithm.mode)
        }
    }
}
