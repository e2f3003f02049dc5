import Foundation
import XCTest
import BundleBuilder
import BundleFormat
import TestSupport

/// A program with symbol tables is stripped (as `strip --strip-all` would, byte for byte); one
/// without is left as it is, so a release stub needs no strip program at all.
final class StubStrippingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("strip") }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    func run(_ program: String, _ args: [String]) throws {
        let o = try ProcessRunner.run(program, args)
        XCTAssertEqual(o.status, 0, "\(program) \(args.joined(separator: " ")): \(o.stderr)")
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func testAProgramWithSymbolsIsStrippedAndAStrippedOneIsLeftAsItIs() throws {
        try "int main(void) { return 0; }\n".write(toFile: dir + "/p.c", atomically: false, encoding: .utf8)
        try run("/usr/bin/gcc", ["-O1", "-o", dir + "/p", dir + "/p.c"])
        try run("/usr/bin/strip", ["--strip-all", "-o", dir + "/p.stripped", dir + "/p"])
        let full = try bytes(dir + "/p"), stripped = try bytes(dir + "/p.stripped")

        XCTAssertTrue(StubStripping.hasSymbolTable(full))
        XCTAssertFalse(StubStripping.hasSymbolTable(stripped))
        XCTAssertEqual(try StubStripping.stripped(full, target: .linuxX64), stripped)
        XCTAssertEqual(try StubStripping.stripped(stripped, target: .linuxX64), stripped)
    }

    func testBytesThatAreNotAnELF64SectionTableHaveNoSymbolTable() {
        XCTAssertFalse(StubStripping.hasSymbolTable([]))
        XCTAssertFalse(StubStripping.hasSymbolTable(Array("#!/bin/sh\necho hi\n".utf8)))
        var header = ElfIdentity.magic + [2, 1, 1] + [UInt8](repeating: 0, count: 57)
        // The section table far past the end.
        header.replaceSubrange(0x28..<0x30, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        header.replaceSubrange(0x3A..<0x3E, with: [64, 0, 3, 0])
        XCTAssertFalse(StubStripping.hasSymbolTable(header))
    }
}
