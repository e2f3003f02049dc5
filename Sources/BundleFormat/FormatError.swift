/// Why a bundle's bytes were refused. One case per rule, so tests can match the rule
/// and the launcher can print one line naming the cause.
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
