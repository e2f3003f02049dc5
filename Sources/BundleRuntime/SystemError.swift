
/// A failed system call: which call, on what, and errno, read right after the call.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let subject: String
    public let errno: Int32

    public init(_ call: String, _ subject: String, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    public var reason: String { Sys.errorText(errno) }
    public var description: String { subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)" }
}

/// Why reading, verifying or extracting a bundle failed: one human sentence.
public struct RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    /// errno of the underlying call, when there was one (ENOSPC lets callers say "disk full").
    public let errno: Int32?
    public init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }
    public init(_ e: SystemError) { self.init(e.description, errno: e.errno) }
    public var description: String { message }
}
