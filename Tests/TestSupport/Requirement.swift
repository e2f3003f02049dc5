import XCTest

/// Thrown by `require` after it failed the test, so that nothing after it runs.
public struct MissingRequirement: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Fails the test, and stops it, when `condition` does not hold: for what a test needs from the
/// machine (root, an installed tool, a built product). `make test` runs as root and installs the
/// tools, so a missing one is a broken set-up that must show as a failure, never as a skip.
/// `missing` says what is missing and how to get it ("needs root: run make test as root").
public func require(
    _ condition: Bool, _ missing: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line
) throws {
    guard !condition else { return }
    let message = missing()
    XCTFail(message, file: file, line: line)
    throw MissingRequirement(description: message)
}
