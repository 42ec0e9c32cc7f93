/// Every failure the core can report. `CABI/` maps `code` to a `tailor_status` and `message`
/// to the thread-local last-error text, so messages must name the offending thing.
public struct TailorError: Error, CustomStringConvertible, Sendable {
    public enum Code: Int32, Sendable {
        case invalidArgument = 1, shape = 2, notFound = 3, io = 4, format = 5
        case numeric = 6, unsupported = 7, cancelled = 8, busy = 9, version = 10, `internal` = 11
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }

    static func invalid(_ m: String) -> TailorError { TailorError(.invalidArgument, m) }
    static func shape(_ m: String) -> TailorError { TailorError(.shape, m) }
    static func notFound(_ m: String) -> TailorError { TailorError(.notFound, m) }
    static func format(_ m: String) -> TailorError { TailorError(.format, m) }
}
