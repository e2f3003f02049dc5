/// A build failure: one line naming what was wrong (a path, a key, a file).
public struct BuildError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
