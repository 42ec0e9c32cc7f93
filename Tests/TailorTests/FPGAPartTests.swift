import Testing
@testable import TailorSwift

/// FPGA parts and budgets: the data-sheet figures, part lookup, budgets from JSON and the check.
@Suite struct FPGAPartTests {
    func hls4ml() -> HardwareConfig {
        var c = HardwareConfig()
        c.target = .hls4ml; c.bits = 16; c.depthPolicy = .optimized
        return c
    }

    func budget(_ text: String) throws -> ResourceBudget { try ResourceBudget.fromJSON(try JSON.parse(text)) }

    /// The error code and message of `body`, which must throw a TailorError.
    func failure(_ body: () throws -> Void) -> (TailorError.Code, String)? {
        do { try body() } catch let e as TailorError { return (e.code, e.message) } catch { return nil }
        return nil
    }

    @Test func zynq7020FiguresAreTheDataSheets() throws {
        // DS190 Table 1, Z-7020: 53,200 LUTs, 106,400 FFs, 140 BRAM36 = 280 BRAM18, 220 DSP, no URAM.
        let p = try FPGAPart.named("xc7z020")
        #expect((p.bram18, p.uram, p.lut, p.ff, p.dsp) == (280, 0, 53_200, 106_400, 220))
        #expect(p.source.contains("DS190"))
        // Every part: BRAM18 even (twice the data sheet's 36 Kb blocks), FFs twice the LUTs (two per LUT6 in both families).
        for part in FPGAPart.all {
            #expect(part.bram18 % 2 == 0 && part.ff == 2 * part.lut && !part.source.isEmpty, "\(part.name)")
        }
        #expect(try FPGAPart.named("xcu250").uram == 1_280)
        #expect(try FPGAPart.named("xczu9eg").bram18 == 2 * 912)
    }

    @Test func lookupIgnoresCaseSuffixesAndPrefix() throws {
        for name in ["xc7z020", "XC7Z020", "xc7z020clg400-1", "7z020clg400-1", "pynq-z2", " xc7z020 "] {
            #expect(try FPGAPart.named(name).name == "xc7z020", "\(name)")
        }
        #expect(try FPGAPart.named("xczu9eg-ffvb1156-2-e").name == "xczu9eg")
        #expect(try FPGAPart.named("xc7a100tcsg324-1").name == "xc7a100t")
        #expect(try FPGAPart.named("zcu102").name == "xczu9eg")
        // A digit after the name is another device, not a suffix.
        for bad in ["xc7z0201", "xc7z02", "", "virtex"] {
            let f = failure { _ = try FPGAPart.named(bad) }
            #expect(f?.0 == .notFound && f?.1.contains("xc7z020, xc7a100t, xczu3eg, xczu9eg, xcu250") == true, "\(bad)")
        }
    }

    @Test func rowsAreHandComputed() {
        // 45,000 of 53,200 LUTs: 84.59 %, not over. 300 of 280 BRAM18: 107.14 %, over by 20.
        let lut = BudgetCheck.Row(field: .lut, used: 45_000, limit: 53_200)
        #expect(lut.fits && lut.over == 0 && abs(lut.percent! - 84.586) < 0.001)
        let bram = BudgetCheck.Row(field: .bram18, used: 300, limit: 280)
        #expect(!bram.fits && bram.over == 20 && abs(bram.percent! - 107.142_857) < 0.000_001)
        // A zero limit: 0 used is 0 %, anything used has no finite share.
        #expect(BudgetCheck.Row(field: .uram, used: 0, limit: 0).percent == 0)
        #expect(BudgetCheck.Row(field: .uram, used: 4, limit: 0).percent == nil)
        let check = BudgetCheck(target: .hls4ml, part: nil, totals: Cost(), rows: [lut, bram])
        #expect(!check.fits)
        #expect(check.json["fields"]?["bram18"]?["over"]?.int == 20 && check.json["fits"] == .bool(false))
    }

    @Test func resnet8AgainstAPartAndAtItsOwnTotals() throws {
        let rep = try Zoo.build("resnet8").estimate(hls4ml(), explain: false)
        let t = rep.totalCost
        let part = try rep.check(try budget(#"{"part": "xc7z020"}"#))
        #expect(part.rows.map(\.field) == [.bram18, .uram, .lut, .ff, .dsp])
        #expect(part.rows.map(\.used) == [t.bram18, t.uram, t.lut, t.ff, t.dsp])
        #expect(part.rows.map(\.limit) == [280, 0, 53_200, 106_400, 220])
        // Limits equal to the totals fit exactly (100 %); one LUT fewer is over by exactly one.
        let exact = ResourceBudget(limits: [.bram18: t.bram18, .lut: t.lut, .ff: t.ff])
        let fit = try rep.check(exact)
        #expect(fit.fits && fit.rows.allSatisfy { $0.over == 0 && ($0.used == 0 || $0.percent == 100) })
        let tight = try rep.check(try budget(#"{"lut": \#(t.lut - 1), "ff": \#(t.ff)}"#))
        #expect(!tight.fits && tight.rows.map(\.over) == [1, 0])
        // A part with an override: the part's limits, one replaced, one lifted with null.
        let mixed = try budget(#"{"part": "XC7Z020CLG400-1", "lut": 1000, "dsp": null}"#)
        #expect(mixed.part?.name == "xc7z020" && mixed.limits[.lut] == 1000 && mixed.limits[.dsp] == nil && mixed.limits[.ff] == 106_400)
    }

    @Test func peArrayHasBytesAndItsBuffer() throws {
        var c = HardwareConfig()
        c.target = .peArray; c.onChipKiB = 256
        let rep = try Zoo.build("resnet8").estimate(c, explain: false)
        let check = try rep.check(ResourceBudget(limits: [.bytes: rep.totalCost.bytes, .onchipKiB: 128]))
        #expect(check.rows.map(\.field) == [.bytes, .onchipKiB])
        #expect(check.rows[0].fits && check.rows[1].used == 256 && check.rows[1].over == 128 && !check.fits)
    }

    @Test func badBudgetsNameTheField() throws {
        let cases: [(String, TailorError.Code, String)] = [
            (#"{"part": "xc9z999"}"#, .notFound, "xc9z999"),
            (#"{"lut": -1}"#, .invalidArgument, "lut"),
            (#"{"lut": 1.5}"#, .invalidArgument, "lut"),
            (#"{"lut": "many"}"#, .invalidArgument, "lut"),
            (#"{"lut": 1e300}"#, .invalidArgument, "lut"),
            (#"{"luts": 5}"#, .invalidArgument, "luts"),
            (#"{"part": 7}"#, .invalidArgument, "part"),
            (#"{"lut": 1, "lut": 2}"#, .invalidArgument, "twice"),
            (#"{}"#, .invalidArgument, "no limits"),
            (#"[1, 2]"#, .invalidArgument, "object"),
            (#"{"part": "\#(String(repeating: "x", count: 4097))"}"#, .invalidArgument, "TAILOR_MAX_STRING_BYTES"),
        ]
        for (text, code, named) in cases {
            let f = failure { _ = try budget(text) }
            #expect(f?.0 == code && f?.1.contains(named) == true, "\(text.prefix(40)): \(String(describing: f))")
        }
        // Fields the target does not have.
        let rep = try Zoo.build("resnet8").estimate(hls4ml(), explain: false)
        let bytes = failure { _ = try rep.check(try budget(#"{"bytes": 10}"#)) }
        #expect(bytes?.0 == .invalidArgument && bytes?.1.contains("bytes") == true && bytes?.1.contains("hls4ml") == true)
        var pe = HardwareConfig()
        pe.target = .peArray
        let onPE = failure { _ = try ResourceBudget(part: try FPGAPart.named("xczu3eg")).requireFields(on: pe.target) }
        #expect(onPE?.0 == .invalidArgument && onPE?.1.contains("bram18") == true && onPE?.1.contains("pe_array") == true)
    }
}
