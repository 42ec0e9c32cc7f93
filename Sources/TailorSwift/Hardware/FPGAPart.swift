// FPGA parts and resource budgets (docs/hardware.md, "Budgets and parts"): what a device offers,
// and whether an estimate's totals fit a part or a custom set of limits.

/// The programmable-logic totals of one FPGA device, as its vendor's data sheet gives them.
/// Whole-device figures: a platform shell (Alveo) or a processing system's own logic takes part of
/// them, so a design at 100 % would not place; they are the ceiling, not a promise.
public struct FPGAPart: Sendable, Equatable {
    /// Device name without package or speed grade, lower case ("xc7z020").
    public let name: String
    /// Family and device as the data sheet names it, with a board it is known from.
    public let description: String
    /// Board names accepted as the part ("pynq-z2").
    public let boards: [String]
    /// BRAM18 halves (data sheets count 36 Kb blocks: twice their count), URAM288 blocks, LUT6, FFs, DSP slices.
    public let bram18: Int, uram: Int, lut: Int, ff: Int, dsp: Int
    /// The document and table every figure comes from.
    public let source: String

    /// Each part's figures as its data sheet prints them; block RAM counts are 36 Kb blocks there.
    private init(_ name: String, _ description: String, boards: [String], bram36: Int, uram: Int, lut: Int, ff: Int, dsp: Int,
                 source: String)
    {
        self.name = name; self.description = description; self.boards = boards
        self.bram18 = 2 * bram36; self.uram = uram; self.lut = lut; self.ff = ff; self.dsp = dsp
        self.source = source
    }

    /// The known parts, smallest first.
    public static let all: [FPGAPart] = [
        // AMD DS190 (Zynq-7000 SoC Data Sheet: Overview), Table 1, Z-7020 column: 53,200 LUTs,
        // 106,400 flip-flops, 140 36 Kb block RAMs (4.9 Mb), 220 DSP slices; no UltraRAM in the 7 series.
        FPGAPart("xc7z020", "Zynq-7000 Z-7020", boards: ["pynq-z2", "pynq-z1", "zedboard"], bram36: 140, uram: 0, lut: 53_200,
                 ff: 106_400, dsp: 220, source: "AMD DS190 Zynq-7000 SoC Overview, Table 1 (Z-7020)"),
        // AMD DS180 (7 Series FPGAs Data Sheet: Overview), Artix-7 feature summary, XC7A100T:
        // 15,850 slices of 4 LUTs and 8 flip-flops each (63,400 LUTs, 126,800 FFs), 135 36 Kb block
        // RAMs (4,860 Kb), 240 DSP slices.
        FPGAPart("xc7a100t", "Artix-7 100T", boards: ["arty-a7-100", "nexys-a7-100t"], bram36: 135, uram: 0, lut: 63_400,
                 ff: 126_800, dsp: 240, source: "AMD DS180 7 Series FPGAs Overview, Artix-7 feature summary (XC7A100T)"),
        // AMD DS891 (Zynq UltraScale+ MPSoC Data Sheet: Overview), EG device feature summary, ZU3EG:
        // 70,560 CLB LUTs, 141,120 CLB flip-flops, 216 36 Kb block RAMs (7.6 Mb), no UltraRAM, 360 DSP slices.
        FPGAPart("xczu3eg", "Zynq UltraScale+ ZU3EG", boards: ["ultra96", "ultra96-v2"], bram36: 216, uram: 0, lut: 70_560,
                 ff: 141_120, dsp: 360, source: "AMD DS891 Zynq UltraScale+ MPSoC Overview, EG feature summary (ZU3EG)"),
        // AMD DS891, EG device feature summary, ZU9EG: 274,080 CLB LUTs, 548,160 CLB flip-flops,
        // 912 36 Kb block RAMs (32.1 Mb), no UltraRAM, 2,520 DSP slices.
        FPGAPart("xczu9eg", "Zynq UltraScale+ ZU9EG", boards: ["zcu102"], bram36: 912, uram: 0, lut: 274_080, ff: 548_160,
                 dsp: 2_520, source: "AMD DS891 Zynq UltraScale+ MPSoC Overview, EG feature summary (ZU9EG)"),
        // The Alveo U250's device is the VU13P class: AMD DS890 (UltraScale Architecture and Product
        // Data Sheet: Overview), Virtex UltraScale+ feature summary, VU13P: 1,728,000 CLB LUTs,
        // 3,456,000 CLB flip-flops, 2,688 36 Kb block RAMs (94.5 Mb), 1,280 UltraRAMs (360 Mb),
        // 12,288 DSP slices; DS962 (Alveo U200/U250 data sheet) lists the card's 1,728K LUTs,
        // 3,456K registers and 12,288 DSP slices. The shell of a U250 platform keeps part of them.
        FPGAPart("xcu250", "Alveo U250 (Virtex UltraScale+ VU13P class)", boards: ["alveo-u250", "u250"], bram36: 2_688,
                 uram: 1_280, lut: 1_728_000, ff: 3_456_000, dsp: 12_288,
                 source: "AMD DS890 UltraScale+ Overview, Virtex UltraScale+ feature summary (VU13P); DS962 Alveo U250"),
    ]

    /// The part named `text`, case-insensitively: the device ("xc7z020"), the device with package and
    /// speed grade as Vivado spells a part ("xc7z020clg400-1", "xczu9eg-ffvb1156-2-e"), the same
    /// without "xc" (Vivado's utilisation reports write "7z020clg400-1"), or a board ("pynq-z2").
    /// Anything else is TailorError.notFound listing the known parts.
    public static func named(_ text: String) throws -> FPGAPart {
        let key = String(text.lowercased().filter { !$0.isWhitespace })
        if let p = all.first(where: { $0.boards.contains(key) }) { return p }
        let device = key.hasPrefix("xc") ? key : "xc" + key
        for p in all where device.hasPrefix(p.name) {
            // What follows the device is a package ("clg400") or "-": a digit would be another
            // device ("xc7z0201" is not a Z-7020).
            guard let next = device.dropFirst(p.name.count).first else { return p }
            if next == "-" || next.isLetter { return p }
        }
        let known = all.map(\.name).joined(separator: ", ")
        throw TailorError.notFound("unknown FPGA part '\(text)'; known parts: \(known) (a package/speed suffix such as "
                                   + "'clg400-1' may follow the name)")
    }

    /// The part's limits as a Cost (bytes unused).
    public var cost: Cost { Cost(bram18: bram18, uram: uram, lut: lut, ff: ff, dsp: dsp) }

    var json: JSON {
        .object([("name", .string(name)), ("description", .string(description)), ("boards", .array(boards.map { .string($0) })),
                 ("bram18", .number(Double(bram18))), ("uram", .number(Double(uram))), ("lut", .number(Double(lut))),
                 ("ff", .number(Double(ff))), ("dsp", .number(Double(dsp))), ("source", .string(source)),
                 ("bram18_note", .string("data sheets count 36 Kb block RAMs; BRAM18 = 2 x that count"))])
    }

    /// Every part as a JSON text {"parts": [...]} (tailor_fpga_parts_json).
    public static var tableJSON: String { JSON.object([("parts", .array(all.map(\.json)))]).serialized() }
}

/// Limits on a design's totals: from a part, set by hand, or a part with some limits overridden.
public struct ResourceBudget: Sendable, Equatable {
    /// What a budget can limit. Dataflow targets (hls4ml, FINN) have the device resources; the PE
    /// array has off-chip bytes per inference and its on-chip buffer (the configured onchip_kib).
    public enum Field: String, Sendable, CaseIterable {
        case bram18, uram, lut, ff, dsp, bytes
        case onchipKiB = "onchip_kib"

        static let dataflow: [Field] = [.bram18, .uram, .lut, .ff, .dsp]
        static let peArray: [Field] = [.bytes, .onchipKiB]

        /// The fields a target's estimate has.
        static func available(on target: HardwareConfig.Target) -> [Field] { target == .peArray ? peArray : dataflow }
    }

    /// The part the limits came from, if any.
    public var part: FPGAPart?
    /// Limits by field; a field absent is not checked.
    public var limits: [Field: Int]

    public init(part: FPGAPart? = nil, limits: [Field: Int] = [:]) {
        self.part = part
        self.limits = limits
    }

    /// All five device limits of `part`.
    public init(part: FPGAPart) {
        self.init(part: part, limits: [.bram18: part.bram18, .uram: part.uram, .lut: part.lut, .ff: part.ff, .dsp: part.dsp])
    }

    /// The largest limit a budget takes: JSON numbers are exact integers up to 2^53.
    static let maxLimit = 1 << 53
    /// The longest part name, TAILOR_MAX_STRING_BYTES as every other name (HeaderLimitsTests holds
    /// the two equal; nothing below CABI/ reads the header).
    static let maxPartNameBytes = 4096

    /// A budget from JSON: {"part": "xc7z020"}, {"bram18": 200, "lut": 40000}, or both (the part's
    /// limits, then the fields given). Limits are integers in 0...2^53; every error names the field.
    public static func fromJSON(_ json: JSON) throws -> ResourceBudget {
        guard case .object(let kv) = json else {
            throw TailorError.invalid("budget must be a JSON object such as {\"part\": \"xc7z020\"} or {\"bram18\": 200, \"lut\": 40000}")
        }
        var budget = ResourceBudget()
        var seen = Set<String>()
        for (key, _) in kv {
            guard seen.insert(key).inserted else { throw TailorError.invalid("budget: field '\(key)' is given twice") }
        }
        if let p = json["part"], p != .null {
            guard let name = p.string else { throw TailorError.invalid("budget: part must be a string such as \"xc7z020\"") }
            guard name.utf8.count <= maxPartNameBytes else {
                throw TailorError.invalid("budget: part is longer than TAILOR_MAX_STRING_BYTES (\(maxPartNameBytes) bytes)")
            }
            budget = ResourceBudget(part: try FPGAPart.named(name))
        }
        for (key, value) in kv where key != "part" {
            guard let field = Field(rawValue: key) else {
                let known = (["part"] + Field.allCases.map(\.rawValue)).joined(separator: ", ")
                throw TailorError.invalid("budget: unknown field '\(key)' (expected \(known))")
            }
            if value == .null { budget.limits[field] = nil; continue }   // null: not limited (lifts a part's limit)
            guard let n = value.int else { throw TailorError.invalid("budget: \(key) must be an integer, got \(value.serialized())") }
            guard (0...maxLimit).contains(n) else { throw TailorError.invalid("budget: \(key) must be in 0...\(maxLimit), got \(n)") }
            budget.limits[field] = n
        }
        guard !budget.limits.isEmpty else {
            throw TailorError.invalid("budget has no limits: give a part ({\"part\": \"xc7z020\"}) or fields such as {\"lut\": 40000}")
        }
        return budget
    }

    /// The fields `target` has, after checking the budget limits none it lacks (lut on the PE
    /// array, bytes on hls4ml): that is TailorError.invalid naming them.
    @discardableResult
    public func requireFields(on target: HardwareConfig.Target) throws -> [Field] {
        let available = Field.available(on: target)
        let missing = Field.allCases.filter { limits[$0] != nil && !available.contains($0) }
        if !missing.isEmpty {
            let names = missing.map(\.rawValue).joined(separator: ", ")
            let from = part.map { " (part \($0.name) limits device resources)" } ?? ""
            throw TailorError.invalid("budget: target '\(target.rawValue)' has no \(names)\(from); it has "
                                      + available.map(\.rawValue).joined(separator: ", "))
        }
        return available
    }
}

/// An estimate's totals against a budget: one row per limited field, and whether all fit.
public struct BudgetCheck: Sendable {
    public struct Row: Sendable, Equatable {
        public var field: ResourceBudget.Field
        public var used: Int, limit: Int
        /// used − limit when over, else 0.
        public var over: Int { max(0, used - limit) }
        /// used / limit in %; nil for a zero limit with something used (no finite share).
        public var percent: Double? { limit > 0 ? 100 * Double(used) / Double(limit) : (used == 0 ? 0 : nil) }
        public var fits: Bool { used <= limit }
    }
    public var target: HardwareConfig.Target
    public var part: FPGAPart?
    public var totals: Cost
    public var rows: [Row]
    public var fits: Bool { rows.allSatisfy(\.fits) }

    public var json: JSON {
        func int(_ v: Int) -> JSON { .number(Double(v)) }
        let fields = rows.map { r -> (String, JSON) in
            (r.field.rawValue, .object([("used", int(r.used)), ("limit", int(r.limit)), ("percent", r.percent.map { .number($0) } ?? .null),
                                        ("over", int(r.over)), ("fits", .bool(r.fits))]))
        }
        return .object([("target", .string(target.rawValue)), ("part", part?.json ?? .null), ("totals", totals.json),
                        ("fields", .object(fields)), ("fits", .bool(fits))])
    }
}

extension HardwareReport {
    /// Checks the design's totals against `budget`. A limit on a field this target does not have
    /// (lut on the PE array, bytes on hls4ml) is TailorError.invalid naming it.
    public func check(_ budget: ResourceBudget) throws -> BudgetCheck {
        let target = config.target
        let available = try budget.requireFields(on: target)
        let total = totalCost
        let rows = available.compactMap { field -> BudgetCheck.Row? in
            guard let limit = budget.limits[field] else { return nil }
            let used: Int
            switch field {
            case .bram18: used = total.bram18
            case .uram: used = total.uram
            case .lut: used = total.lut
            case .ff: used = total.ff
            case .dsp: used = total.dsp
            case .bytes: used = total.bytes
            case .onchipKiB: used = config.onChipKiB   // the buffer the PE array is built with
            }
            return BudgetCheck.Row(field: field, used: used, limit: limit)
        }
        return BudgetCheck(target: target, part: budget.part, totals: total, rows: rows)
    }
}
