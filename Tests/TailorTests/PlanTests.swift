import Testing
@testable import TailorSwift

@Suite struct PlanTests {
    @Test func resnet8ScheduleFollowsTheAuthors() throws {
        let net = try Zoo.build("resnet8")
        let plan = try TailorPlan(.remove, network: net, every: 3, epochs: 15)
        // Block k changes after (k+1)·3 epochs: layer1.0 before epoch 3, layer2.0 before 6, layer3.0 before 9.
        #expect((0..<15).map { plan.blocksAltered(beforeEpoch: $0).count } == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3])
        try plan.apply(to: net, beforeEpoch: 6)
        #expect(net.blocks.map(\.mode) == [.removed, .removed, .long])
        try plan.apply(to: net, beforeEpoch: 14)
        #expect(net.blocks.map(\.mode) == [.removed, .removed, .removed])
    }

    @Test func shortenPlanOnChosenBlocks() throws {
        let net = try Zoo.build("resnet20")
        let plan = try TailorPlan(.shorten, network: net, blocks: [4, 2], every: 2, epochs: 5)
        try plan.apply(to: net, beforeEpoch: 2)
        #expect(net.blocks[4].mode == .short && net.blocks[2].mode == .long)
        try plan.apply(to: net, beforeEpoch: 4)
        #expect(net.blocks[2].mode == .short)
    }

    @Test func impossiblePlansAreClearErrors() throws {
        let net = try Zoo.build("resnet8")
        #expect(throws: TailorError.self) { try TailorPlan(.remove, network: net, every: 0) }
        #expect(throws: TailorError.self) { try TailorPlan(.remove, network: net, blocks: [3]) }
        #expect(throws: TailorError.self) { try TailorPlan(.remove, network: net, blocks: [1, 1]) }
        #expect(throws: TailorError.self) { try TailorPlan(.remove, network: net, every: 3, epochs: 9) }
        let plain = Network()
        try plain.add("x", .input(Shape(1, 4, 4)))
        try plain.add("f", .flatten, inputs: ["x"])
        #expect(throws: TailorError.self) { try TailorPlan(.remove, network: plain) }
    }
}
