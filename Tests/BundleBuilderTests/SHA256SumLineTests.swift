import XCTest
import BundleBuilder
import TestSupport

/// `sha256sum` output is parsed by SHA256SumLine alone (dgmo-build's checksums and SBOM, the
/// native-library scan): the plain form, binary mode, escaped names, and lines that are not its.
final class SHA256SumLineTests: XCTestCase {
    let hex = String(repeating: "0123456789abcdef", count: 4)

    func testPlainAndBinaryModeLines() throws {
        let plain = try XCTUnwrap(SHA256SumLine(hex + "  dir/a file.txt"))
        XCTAssertEqual(plain.digest, hex)
        XCTAssertEqual(plain.name, "dir/a file.txt")
        XCTAssertEqual(try XCTUnwrap(SHA256SumLine(hex + " *bin")).name, "bin")
        XCTAssertEqual(try XCTUnwrap(SHA256SumLine(Substring(hex + "  -- x"))).name, "-- x")
    }

    func testEscapedNamesAreUnescaped() throws {
        let line = try XCTUnwrap(SHA256SumLine("\\" + hex + "  a\\nb\\\\c\\rd"))
        XCTAssertEqual(line.name, "a\nb\\c\rd")
        XCTAssertEqual(line.digest, hex)
        XCTAssertNil(SHA256SumLine("\\" + hex + "  bad\\x"), "unknown escape")
        XCTAssertNil(SHA256SumLine("\\" + hex + "  trailing\\"), "cut escape")
        // Without the leading backslash a backslash is part of the name.
        XCTAssertEqual(try XCTUnwrap(SHA256SumLine(hex + "  a\\nb")).name, "a\\nb")
    }

    func testOtherTextIsRefused() {
        for bad in [
            "", hex, hex + "  ", hex + " x", String(hex.dropLast()) + "  x", hex.uppercased() + "  x",
            "g" + hex.dropFirst() + "  x", "sha256sum: x: No such file or directory", hex + "\t x",
        ] {
            XCTAssertNil(SHA256SumLine(bad), bad.debugDescription)
        }
    }

    func testRealSha256sumOutput() throws {
        let dir = try TempDir.make("sha256sumline")
        defer { TempDir.remove(dir) }
        let names = ["plain", "with space", "new\nline", "back\\slash"]
        for n in names { XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + n, contents: Data(n.utf8))) }
        let o = try ProcessRunner.run("/usr/bin/sha256sum", ["--"] + names, cwd: dir)
        XCTAssertEqual(o.status, 0, o.stderr)
        let lines = o.stdout.split(separator: "\n").map { SHA256SumLine($0) }
        XCTAssertEqual(lines.map { $0?.name }, names)
        XCTAssertEqual(lines[0]?.digest, "a116c9ed46d6207734a43317d30fd88f52ac8634c37d904bbf4e41d865f90475")  // `printf plain | sha256sum`
    }
}
