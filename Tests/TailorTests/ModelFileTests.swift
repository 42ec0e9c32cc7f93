import Testing
@testable import TailorSwift

@Suite struct ModelFileTests {
    @Test(arguments: [SkipMode.long, .removed, .short])
    func roundTripKeepsGraphModesAndWeights(mode: SkipMode) throws {
        let net = try Zoo.build("resnet20", { var o = Zoo.Options(); o.seed = 7; return o }())
        for i in stride(from: 0, to: net.blocks.count, by: 2) { try net.setMode(block: i, mode) }
        let back = try ModelFile.decode(try ModelFile.encode(net))
        #expect(back.nodes == net.nodes)
        #expect(back.blocks.map(\.mode) == net.blocks.map(\.mode))
        let sameWeights = back.params == net.params
        #expect(sameWeights, "weights differ after the round trip")
        #expect(back.parameterNames == net.parameterNames)
    }

    @Test func headerFollowsSafetensorsLayout() throws {
        let bytes = try ModelFile.encode(try Zoo.build("resnet8"))
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        #expect(n % 8 == 0)
        let header = try bytes.withUnsafeBufferPointer { try JSON.parse(UnsafeBufferPointer(rebasing: $0[8..<(8 + n)])) }
        #expect(header["conv1.weight"]?["dtype"]?.string == "F32")
        #expect(header["bn1.num_batches_tracked"]?["dtype"]?.string == "I64")
        #expect(header["__metadata__"]?["format"]?.string == "tailor")
    }

    @Test func everyTruncationIsAFormatErrorNotACrash() throws {
        let bytes = try ModelFile.encode(try Zoo.build("resnet8"))
        for cut in [0, 1, 7, 8, 9, 100, bytes.count / 2, bytes.count - 1] {
            #expect(throws: TailorError.self) { try ModelFile.decode(Array(bytes[0..<cut])) }
        }
    }

    @Test func garbledBytesNeverCrash() throws {
        let good = try ModelFile.encode(try Zoo.build("resnet8"))
        var rng = SplitMix64(seed: 1)
        var failures = 0
        for _ in 0..<300 {
            var b = good
            for _ in 0..<4 { b[Int(rng.next() % UInt64(min(b.count, 4000)))] = UInt8(truncatingIfNeeded: rng.next()) }
            do { _ = try ModelFile.decode(b) } catch is TailorError { failures += 1 }
        }
        #expect(failures > 0)
    }

    @Test func hostileHeaders() throws {
        func file(_ header: String) -> [UInt8] {
            let h = Array(header.utf8)
            var b: [UInt8] = []
            for k in 0..<8 { b.append(UInt8(truncatingIfNeeded: h.count >> (8 * k))) }
            return b + h
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        for h in [deep, "{}", "{\"__metadata__\": {\"format\": \"tailor\"}}", "[1,2", "\"\\ud800\"",
                  "{\"__metadata__\": {\"format\": \"tailor\", \"format_version\": \"99\", \"graph\": \"{}\"}}"] {
            #expect(throws: TailorError.self) { try ModelFile.decode(file(h)) }
        }
        var huge: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        huge += [UInt8](repeating: 0x20, count: 16)
        #expect(throws: TailorError.self) { try ModelFile.decode(huge) }
    }

    @Test func jsonRoundTripsEscapes() throws {
        let v = JSON.object([("a\"b", .string("line\n\u{1}é😀")), ("n", .number(-1.5e-7)), ("i", .number(42)), ("l", .array([.null, .bool(true)]))])
        #expect(try JSON.parse(v.serialized()) == v)
    }
}

@Suite struct ParameterNameTests {
    @Test func namesAreComputedOncePerStructuralChange() throws {
        // tailor_net_param_info reads one name per call; recomputing every name each time made
        // reading a network's parameters quadratic. The list is now shared until the graph changes.
        let net = try Zoo.build("resnet20")
        let a = net.parameterNames, b = net.parameterNames
        #expect(a.withUnsafeBufferPointer { $0.baseAddress } == b.withUnsafeBufferPointer { $0.baseAddress })
        let projected = try #require(net.blocks.firstIndex { $0.projection != nil })
        try net.setMode(block: projected, .removed)   // its projection's parameters go
        let c = net.parameterNames
        #expect(c.count < a.count && c.withUnsafeBufferPointer { $0.baseAddress } != a.withUnsafeBufferPointer { $0.baseAddress })
        try net.setMode(block: projected, .long)
        #expect(net.parameterNames == a)
    }
}
