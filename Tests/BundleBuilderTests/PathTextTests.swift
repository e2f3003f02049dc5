import XCTest

@testable import BundleBuilder

/// `PathText.directory(of:)` replaces `NSString.deletingLastPathComponent`, which traps on a
/// one-character relative name in this toolchain's Foundation (`bundle-append build s.toml -o b`
/// crashed with "Illegal instruction").
final class PathTextTests: XCTestCase {
    func testDirectoryOfPaths() {
        let cases: [(String, String)] = [
            ("b", ""), ("bb", ""), ("out", ""), ("./b", "."), ("a/b", "a"), ("/b", "/"), ("/", "/"),
            ("dist/x", "dist"), ("a/b/", "a"), ("a//b", "a"), ("/a/b/c", "/a/b"), ("", ""),
        ]
        for (path, directory) in cases {
            XCTAssertEqual(PathText.directory(of: path), directory, "directory of '\(path)'")
        }
    }

    func testOneCharacterOutputNameBuilds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathtext-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try BundleBuild.writeAtomically(Array("hello".utf8), to: "b", mode: 0o644)
        XCTAssertEqual(try String(contentsOfFile: dir + "/b", encoding: .utf8), "hello")
    }
}
