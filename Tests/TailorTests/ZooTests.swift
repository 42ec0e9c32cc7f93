import Testing
@testable import TailorSwift

@Suite struct ZooTests {
    @Test func resnet8Structure() throws {
        let net = try Zoo.build("resnet8")
        #expect(net.blocks.map(\.name) == ["layer1.0", "layer2.0", "layer3.0"])
        #expect(net.blocks.map { $0.projection != nil } == [false, true, true])
        #expect(net.outputNode?.shape == Shape(10, 1, 1))
    }
}
