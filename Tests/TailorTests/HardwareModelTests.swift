import Testing
@testable import TailorSwift

/// The resource model on whole networks. Expected figures are derived in the comments.
@Suite struct HardwareModelTests {
    func config(_ target: HardwareConfig.Target = .hls4ml, bits: Int = 16, depth: HardwareConfig.DepthPolicy? = nil) -> HardwareConfig {
        var c = HardwareConfig()
        c.target = target; c.bits = bits; c.depthPolicy = depth
        return c
    }

    @Test func resnet8DefaultDepthsAreWholeTensors() throws {
        // hls4ml writes every stream as deep as its tensor (H·W words of C values). The skips clone
        // the blocks' inputs: layer1.0 gets the stem's 16×32×32 output, layer2.0 layer1.0's 16×32×32
        // output, layer3.0 layer2.0's 32×16×16 output. So the clone's skip copies hold 32·32 = 1024,
        // 1024 and 16·16 = 256 words of 16·16 = 256, 256 and 32·16 = 512 bits (what hls4ml writes too).
        let rep = try Zoo.build("resnet8").estimate(config(depth: .default))
        #expect(rep.skips.map(\.depthWords) == [1024, 1024, 256])
        #expect(rep.skips.map(\.wordBits) == [256, 256, 512])
        #expect(rep.skips.map(\.buffer) == ["clone -> adder skip FIFO", "clone -> projection stream", "clone -> projection stream"])
        #expect(rep.skips.map { $0.shape } == [Shape(16, 32, 32), Shape(16, 32, 32), Shape(32, 16, 16)])
        // Vivado (hls4ml's default): 16 FIFOs of 1024 × 16 bits, one 1K×18 BRAM18 each = 16.
        let fifo = try #require(rep.skips[0].components.first { $0.name == "clone -> adder skip FIFO" })
        #expect(fifo.memory == .bram && fifo.cost.bram18 == 16)
        // Vitis: one 1024 × 256-bit FIFO: 1K×18 gives ⌈256/18⌉ = 15 BRAM18.
        var vitis = config(depth: .default); vitis.backend = .vitis
        let packed = try #require(try Zoo.build("resnet8").estimate(vitis).skips[0].components.first { $0.name == "clone -> adder skip FIFO" })
        #expect(packed.memory == .bram && packed.cost.bram18 == 15)
    }

    @Test func optimizedDepthsComeFromTheSimulation() throws {
        // Every FIFO's optimized depth is the simulated occupancy less the show-ahead word, plus one;
        // the skip rows summarise the same stream the simulation measured.
        let rep = try Zoo.build("resnet8").estimate(config(depth: .optimized))
        let fifos = Dictionary(uniqueKeysWithValues: rep.fifos.map { ($0.stream, $0) })
        for row in rep.skips {
            let top = try #require(row.components.filter(\.onSkipPath).max { $0.depthWords * $0.wordBits < $1.depthWords * $1.wordBits })
            let f = try #require(fifos[top.stream ?? ""])
            let occupancy = try #require(f.maxOccupancy)
            #expect(row.depthWords == max(1, occupancy - 1) + 1 && row.lagWords == occupancy)
        }
        // Shortening halves the branch a skip waits for: every short skip FIFO holds fewer words than the long one of its block.
        let short = try Zoo.build("resnet8")
        for i in short.blocks.indices { try short.setMode(block: i, .short) }
        let s = try short.estimate(config(depth: .optimized))
        for bi in rep.skips.indices {
            let shortMax = s.skips.filter { $0.skip.blockIndex == bi }.compactMap(\.lagWords).max() ?? 0
            #expect(shortMax < (rep.skips[bi].lagWords ?? 0), "block \(bi)")
        }
        // Hand check of layer1.0 (Latency strategy, RF 1, input offered a pixel per cycle): its skip copy
        // is written as the clone reads the stem's output and read once the branch's first sum reaches the
        // adder, which needs two 3×3 convs over 34-wide padded rows: about two rows and a few pixels.
        #expect((66...80).contains(rep.skips[0].lagWords ?? 0))
    }

    @Test func removingEverySkipLowersBramLutFF() throws {
        for name in ["resnet8", "resnet20", "resnet50"] {
            let net = try Zoo.build(name)
            let altered = net.copy()
            for i in altered.blocks.indices { try altered.setMode(block: i, .removed) }
            for cfg in [config(depth: .default), config(depth: .optimized), config(.finn, bits: 4)] {
                let cmp = try HardwareComparison(before: try net.estimate(cfg), after: try altered.estimate(cfg))
                let b = cmp.before.totalCost, a = cmp.after.totalCost
                #expect(a.lut < b.lut && a.ff < b.ff, "\(name) \(cfg.target) LUT \(b.lut)→\(a.lut) FF \(b.ff)→\(a.ff)")
                if b.bram18 > 0 { #expect(a.bram18 < b.bram18, "\(name) \(cfg.target) BRAM \(b.bram18)→\(a.bram18)") }
                #expect(cmp.after.skipCost == Cost(), "removed skips cost nothing")
                #expect(cmp.blocks.allSatisfy { $0.modeAfter == .removed })
            }
        }
    }

    @Test func shorteningLowersTheSkipFifoDepthPerBlock() throws {
        for name in ["resnet8", "resnet20", "resnet50"] {
            let net = try Zoo.build(name)
            let short = net.copy()
            for i in short.blocks.indices { try short.setMode(block: i, .short) }
            for cfg in [config(depth: .optimized), config(.finn, bits: 8)] {
                let before = try net.estimate(cfg), after = try short.estimate(cfg)
                for bi in net.blocks.indices {
                    let longLag = before.skips.filter { $0.skip.blockIndex == bi }.compactMap(\.lagWords).max() ?? 0
                    let shortLag = after.skips.filter { $0.skip.blockIndex == bi }.compactMap(\.lagWords).max() ?? 0
                    // Basic blocks: two 3×3 lags become one each (ResNet-8 layer1.0: 67 → 34 pixels). In a
                    // bottleneck only the 3×3 lags (1×1 convs emit as they read), so its short skip keeps that lag.
                    if net.blocks[bi].kind == .basic {
                        #expect(shortLag < longLag, "\(name) block \(bi): lag \(longLag) → \(shortLag)")
                    } else {
                        #expect(shortLag <= longLag, "\(name) block \(bi): lag \(longLag) → \(shortLag)")
                    }
                }
            }
        }
    }

    @Test func peArrayBytes() throws {
        // A long skip's tensor goes off-chip and back: layer1.0 carries 16×32×32 at 16 bits,
        // 2·16·32·32·16/8 = 65536 bytes. Short skips of ResNet-8 fit a 256 KiB buffer: 0.
        var cfg = config(.peArray)
        let net = try Zoo.build("resnet8")
        let rep = try net.estimate(cfg)
        #expect(rep.skips[0].cost.bytes == 65536)
        let short = net.copy()
        for i in short.blocks.indices { try short.setMode(block: i, .short) }
        let s = try short.estimate(cfg)
        #expect(s.skips.allSatisfy { $0.components.first?.cost.bytes == 0 })
        // With no on-chip buffer the first short skip of layer1.0 pays the same round trip.
        cfg.onChipKiB = 0
        #expect(try short.estimate(cfg).skips[0].cost.bytes == 65536)
        #expect(rep.latencyMicroseconds ?? 0 > 0)
    }

    @Test func badConfigurationNamesTheField() throws {
        let net = try Zoo.build("resnet8")
        func message(_ edit: (inout HardwareConfig) -> Void) -> String {
            var c = HardwareConfig(); edit(&c)
            do { _ = try net.estimate(c); return "" } catch let e as TailorError { return e.message } catch { return "\(error)" }
        }
        #expect(message { $0.bits = 0 }.contains("bits"))
        #expect(message { $0.bits = 65 }.contains("bits"))
        #expect(message { $0.reuseFactor = 0 }.contains("reuse_factor"))
        #expect(message { $0.target = .finn; $0.depthPolicy = .default }.contains("depth_policy"))
        #expect(message { $0.precision = ["nope": 8] }.contains("nope"))
        #expect(message { $0.precision = ["conv1": 0] }.contains("precision"))
        #expect(message { $0.clockMHz = .nan }.contains("clock_mhz"))
        #expect(throws: TailorError.self) { try HardwareConfig.parse("vivado", "target", as: HardwareConfig.Target.self) }
        #expect(throws: TailorError.self) { try HardwareConfig.parse("fast", "depth_policy", as: HardwareConfig.DepthPolicy.self) }
        #expect(try HardwareConfig.DepthPolicy.parse("simulated") == .optimized)
        #expect(message { $0.target = .finn; $0.backend = .vitis }.contains("backend"))
        #expect(message { $0.target = .peArray; $0.depthPolicy = .optimized }.contains("depth_policy"))
        #expect(message { $0.layers = ["conv1": .init(reuseFactor: 0)] }.contains("layers['conv1']"))
    }

    @Test func everyNonZeroFigureIsExplained() throws {
        for target in HardwareConfig.Target.allCases {
            let rep = try Zoo.build("resnet20").estimate(config(target))
            for comp in rep.skips.flatMap(\.components) + rep.layers.flatMap(\.components) {
                let keys = Set(comp.explain.map(\.0))
                for (field, value) in comp.cost.fields where value != 0 {
                    #expect(keys.contains(field), "\(target) \(comp.name): \(field) = \(value) has no explanation")
                }
            }
            // The JSON carries the explanations and parses back.
            let parsed = try JSON.parse(rep.json.serialized())
            #expect(parsed["skips"]?.array?.count == rep.skips.count)
        }
    }

    @Test func perTensorPrecisionChangesOnlyThatStream() throws {
        let net = try Zoo.build("resnet8")
        var c = config(depth: .default)
        c.precision = ["relu": 8]   // the stem's output, which layer1.0's skip clones
        let rep = try net.estimate(c)
        #expect(rep.skips[0].wordBits == 16 * 8)
        #expect(rep.skips[1].wordBits == 16 * 16)
    }
}
