import CTailor
import Testing
@testable import TailorSwift

/// The TAILOR_MAX_* limits in tailor.h are what the core enforces: the header names each limit
/// once, the C boundary checks against the header's, and the core's own must agree with it.
@Suite struct HeaderLimitsTests {
    @Test func theHeaderLimitsAreTheCoreLimits() {
        #expect(Int(TAILOR_MAX_DIM) == maxDimension)
        #expect(Int(TAILOR_MAX_BATCH) == Executor.maxBatch)
        #expect(Int(TAILOR_MAX_SIMULATED_WORDS) == DataflowDesign.maxWords)
        #expect(Int(TAILOR_MAX_NODE_NAME_BYTES) == Network.maxNameBytes)
        #expect(Int(TAILOR_MAX_STRING_BYTES) == ResourceBudget.maxPartNameBytes)
    }

    @Test func everyVersionedStructIsWholeEightByteUnits() {
        // tailor.h rule 2: sizes are multiples of 8, so sizeof of each struct must be one.
        let sizes = [MemoryLayout<tailor_node_info>.size, MemoryLayout<tailor_skip_info>.size, MemoryLayout<tailor_param_info>.size,
                     MemoryLayout<tailor_hw_config>.size, MemoryLayout<tailor_skip_cost>.size, MemoryLayout<tailor_hw_totals>.size,
                     MemoryLayout<tailor_fifo>.size, MemoryLayout<tailor_train_config>.size, MemoryLayout<tailor_data>.size,
                     MemoryLayout<tailor_progress>.size, MemoryLayout<tailor_epoch_stats>.size, MemoryLayout<tailor_run_config>.size]
        #expect(sizes.allSatisfy { $0 % 8 == 0 && $0 <= Int(TAILOR_MAX_STRUCT_BYTES) })
    }
}
