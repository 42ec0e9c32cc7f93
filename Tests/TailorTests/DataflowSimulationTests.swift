import Testing
@testable import TailorSwift

/// The dataflow simulation on designs small enough to follow by hand.
@Suite struct DataflowSimulationTests {
    @Test func occupancyIsWritesMinusReadsAfterEachWrite() {
        #expect(DataflowDesign.maxOccupancy(writes: [0, 1, 2, 3], reads: [1, 2, 3, 4]) == 1)
        #expect(DataflowDesign.maxOccupancy(writes: [0, 1, 2, 3], reads: [10, 11, 12, 13]) == 4)
        #expect(DataflowDesign.maxOccupancy(writes: [0, 1, 2, 3], reads: [2, 2, 9, 9]) == 2)
    }

    @Test func axiWrapperFillsTheInputFifoBeforeTheNetworkStarts() throws {
        // 16 words go into in_local at cycles 0…15; the network starts at 16 and the 1×1 conv (RF 1)
        // reads one a cycle from then: all 16 wait at once, and hls4ml's usedw (less the show-ahead
        // word) reports 15, as the measured design's 1024-word input reports 1023.
        let d = try DataflowDesign.fromJSON("""
            {"interface": "axi_wrapper", "layers": [
              {"name": "x", "class": "Input", "shape": [4, 4, 1]},
              {"name": "c", "class": "Conv2D", "inputs": ["x"], "filters": 1, "kernel": [1, 1], "stride": [1, 1]}]}
            """)
        let sim = try d.simulate()
        #expect(d.streams.map(\.name) == ["x_out", "c_out"])
        #expect(sim.streams[0] == StreamOccupancy(maxOccupancy: 16, hls4mlMax: 15))
        #expect(d.streams.map(\.defaultDepth) == [16, 16])   // N_IN and N_OUT: value counts
        #expect(sim.streams[1].hls4mlMax == 1)
    }

    @Test func aSkipWaitsForItsSlowBranch() throws {
        // x (8 words of 4 channels, a port: word k offered at cycle k) is cloned to a 1×1 conv at
        // RF 4 (Latency strategy: one pixel every 4 cycles, output 5 cycles after its read) and to the add.
        // clone: reads word k at k+1 and writes both copies then.
        // conv:  reads k at 2 + 4k (copy written at k+1, readable at k+2), writes at 7 + 4k.
        // add:   reads both inputs at 8 + 4k.
        // Skip copy: written at k+1, read at 8 + 4k; after write 6 (cycle 7) nothing was read: 7 wait;
        //   after write 7 (cycle 8) one was read: 7 → max 7, hls4ml reports 6, depth 7.
        // Branch copy: after write 7 (cycle 8) the conv has read words 0 and 1 (cycles 2, 6): 6 wait.
        let d = try DataflowDesign.fromJSON("""
            {"layers": [
              {"name": "x", "class": "Input", "shape": [1, 8, 4]},
              {"name": "c", "class": "Conv2D", "inputs": ["x"], "filters": 4, "kernel": [1, 1], "stride": [1, 1], "reuse_factor": 4},
              {"name": "a", "class": "Add", "inputs": ["c", "x"]}]}
            """)
        let sim = try d.simulate()
        let by = Dictionary(uniqueKeysWithValues: zip(d.streams.map(\.name), sim.streams))
        #expect(d.processes.first { $0.name == "c" }?.reuseFactor == 4)
        #expect(by["x_cpy2"] == StreamOccupancy(maxOccupancy: 7, hls4mlMax: 6))
        #expect(by["x_cpy1"]?.maxOccupancy == 6)
        #expect(by["c_out"]?.maxOccupancy == 1 && by["a_out"]?.maxOccupancy == 1)
        #expect(d.streams.first { $0.name == "x_out" }?.isPort == true)
        #expect(sim.latencyCycles == 8 + 4 * 7)
    }

    @Test func paddingBurstsPileUpInFrontOfASlowConv() throws {
        // The bottom rows of zero padding go out back to back while the conv behind them spends RF
        // cycles per output: (2 rows of 4 + 2 right zeros of the last row) = 10 words arrive within
        // 10 cycles of the last data word, and the conv (RF 64 per window) reads none of them meanwhile.
        let d = try DataflowDesign.fromJSON("""
            {"strategy": "resource", "layers": [
              {"name": "x", "class": "Input", "shape": [2, 2, 4]},
              {"name": "p", "class": "ZeroPadding2D", "inputs": ["x"], "pad": [0, 2, 0, 2]},
              {"name": "c", "class": "Conv2D", "inputs": ["p"], "filters": 4, "kernel": [3, 3], "stride": [1, 1], "reuse_factor": 64}]}
            """)
        let sim = try d.simulate()
        let padded = try #require(d.streams.firstIndex { $0.name == "p_out" })
        #expect(d.streams[padded].words == 16 && d.streams[padded].defaultDepth == 16)
        #expect(sim.streams[padded].maxOccupancy >= 10)
    }

    @Test func designErrorsNameTheLayer() {
        func message(_ text: String) -> String {
            do { _ = try DataflowDesign.fromJSON(text); return "" } catch let e as TailorError { return e.message } catch { return "\(error)" }
        }
        #expect(message(#"{"layers": [{"name": "x", "class": "Input", "shape": [2, 2, 1]}, {"name": "s", "class": "Softmax", "inputs": ["x"]}]}"#).contains("'Softmax'"))
        #expect(message(#"{"layers": [{"name": "x", "class": "Input", "shape": [2, 2, 1]}, {"name": "c", "class": "Conv2D", "inputs": ["y"], "filters": 1, "kernel": [1, 1], "stride": [1, 1]}]}"#).contains("'y'"))
        #expect(message(#"{"layers": [{"name": "x", "class": "Input", "shape": [2, 2, 1]}, {"name": "c", "class": "Conv2D", "inputs": ["x"], "filters": 1, "kernel": [3, 3], "stride": [1, 1]}]}"#).contains("layer 'c'"))
        #expect(message(#"{"interface": "pcie", "layers": []}"#).contains("interface"))
        #expect(message("[1, 2]").contains("object"))
    }
}
