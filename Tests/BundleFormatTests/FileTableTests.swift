import XCTest
import TestSupport
@testable import BundleFormat

final class FileTableTests: XCTestCase {
    let files = Fx.files()

    /// Refused with `code`; `needles` are what the message must name (a path, a count, a mode).
    func rejected(
        _ records: [FileRecord], _ code: BundleError.Code, _ needles: String..., layer: LayerRecord? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        expectRejected(
            FileTable.encode(records), layer: layer ?? Fx.layer(for: records), code, needles, file: file, line: line)
    }
    func rejected(
        bytes: [UInt8], _ code: BundleError.Code, _ needles: String..., layer: LayerRecord,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        expectRejected(bytes, layer: layer, code, needles, file: file, line: line)
    }
    private func expectRejected(
        _ bytes: [UInt8], layer: LayerRecord, _ code: BundleError.Code, _ needles: [String],
        file: StaticString, line: UInt
    ) {
        assertBundleError(
            try FileTable.decode(bytes, layer: layer).map(\.pathString), code, mentioning: needles, file: file,
            line: line)
    }
    func accepted(_ records: [FileRecord], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try Fx.decodeTable(records), records, file: file, line: line)
    }

    // MARK: Round trips

    func testRoundTrip() throws {
        let bytes = FileTable.encode(files)
        let layer = Fx.layer(for: files)
        XCTAssertEqual(layer.uncompressedSize, 1000)
        XCTAssertEqual(try FileTable.decode(bytes, layer: layer), files)
        XCTAssertEqual(try bytes.withUnsafeBytes { try FileTable.decode($0, layer: layer) }, files)
        let decoded = try FileTable.decode(bytes, layer: layer)
        XCTAssertEqual(FileTable.encode(decoded), bytes)
        XCTAssertEqual(decoded.filter { $0.kind == .symlink }.count, 5)
        XCTAssertEqual(decoded.filter { $0.kind == .directory }.count, 4)
        XCTAssertEqual(decoded.first { $0.pathString == "bin/up" }?.linkTarget, Array("../lib/libx.so".utf8))
        XCTAssertEqual(decoded.first { $0.pathString == "bin/tool" }?.mode, 0o755)
        XCTAssertTrue(decoded.filter { $0.kind != .regular }.allSatisfy { $0.digest.isEmpty && $0.size == 0 })
        XCTAssertTrue(decoded.filter { $0.kind != .symlink }.allSatisfy { $0.linkTarget.isEmpty })
        XCTAssertTrue(decoded.filter { $0.kind == .regular }.allSatisfy { $0.digest.count == 32 })
    }

    func testEncodingLayout() {
        let f = Fx.file("ab", size: 0x0102)
        let b = FileTable.encode([f])
        XCTAssertEqual(b.count, 1 + 4 + 8 + 4 + 2 + 32)
        XCTAssertEqual(
            Array(b.prefix(19)), [1, 0xA4, 0x01, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x61, 0x62])
        let l = FileTable.encode([Fx.link("l", "t")])
        XCTAssertEqual(l, [2, 0xFF, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x6C, 1, 0, 0, 0, 0x74])
        XCTAssertEqual(
            FileTable.encode([Fx.dir("d")]), [0, 0xED, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x64])
    }

    func testStreamingReader() throws {
        var reader = FileTable.Reader(FileTable.encode(files), layer: Fx.layer(for: files))
        var out: [FileRecord] = []
        while let f = try reader.next() { out.append(f) }
        XCTAssertEqual(out, files)
        XCTAssertNil(try reader.next())  // stays finished
        XCTAssertNil(try reader.next())

        // The pointer initialiser reads the same.
        var r2 = FileTable.encode(files).withUnsafeBytes { FileTable.Reader($0, layer: Fx.layer(for: files)) }
        XCTAssertEqual(try r2.next(), files[0])

        // Records before a bad one are handed out; the bad one throws when reached.
        var bad = files; bad.append(Fx.file("zzz/orphan"))
        var r3 = FileTable.Reader(FileTable.encode(bad), layer: Fx.layer(for: bad))
        for f in files { XCTAssertEqual(try r3.next(), f) }
        assertBundleError(try r3.next(), .badFileTable, mentions: "'zzz/orphan'")
    }

    func testEmptyTable() throws {
        XCTAssertEqual(try FileTable.decode([], layer: Fx.layer(for: [])), [])
        var l = Fx.layer(for: []); l.fileCount = 1
        rejected(bytes: [], .badFileTable, "file table holds 0 files, the manifest says 1", layer: l)
        l = Fx.layer(for: []); l.uncompressedSize = 1
        rejected(bytes: [], .badFileTable, "files add up to 0 bytes, the manifest says 1", layer: l)
    }

    func testByteOrderNotStringOrder() {
        // '-' (0x2D) sorts before '/' (0x2F): "a-b" comes between "a" and "a/b".
        accepted([Fx.dir("a"), Fx.file("a-b"), Fx.file("a/b")])
        rejected([Fx.dir("a"), Fx.file("a/b"), Fx.file("a-b")], .badFileTable, "path 'a-b' is out of order")
        // Upper case sorts before lower case, and multi-byte UTF-8 after ASCII.
        accepted([Fx.file("B"), Fx.file("a"), Fx.file("z"), Fx.file("é")])
        rejected([Fx.file("a"), Fx.file("B")], .badFileTable)
    }

    func testLimitsExactlyAreAccepted() throws {
        // A path of exactly 4096 bytes: 17 components of 240 bytes, each parent listed.
        var records: [FileRecord] = []
        var path = ""
        for i in 0..<17 {
            path += (i == 0 ? "" : "/") + String(repeating: Character(UnicodeScalar(UInt8(0x61 + i))), count: 240)
            records.append(i == 16 ? Fx.file(path) : Fx.dir(path))
        }
        XCTAssertEqual(records.last!.path.count, Limits.maxPathLength)
        accepted(records)
        // A component of exactly 255 bytes; a link target of exactly 4096 bytes.
        accepted([Fx.file(String(repeating: "x", count: 255))])
        accepted([Fx.link("l", String(repeating: "t", count: Limits.maxPathLength))])
        // The largest mode.
        accepted([FileRecord(kind: .regular, mode: 0o777, size: 0, path: [0x61], digest: Fx.digest(0))])
    }

    // MARK: Count and size

    func testFileCountMismatch() {
        var l = Fx.layer(for: files); l.fileCount = files.count + 1
        rejected(
            files, .badFileTable, "file table holds \(files.count) files, the manifest says \(files.count + 1)",
            layer: l)
        l.fileCount = files.count - 1
        rejected(files, .badFileTable, "file table holds more than the \(files.count - 1) files declared", layer: l)
        l.fileCount = 0
        rejected(files, .badFileTable, "more than the 0 files", layer: l)
    }

    func testTotalSizeMismatch() {
        var l = Fx.layer(for: files); l.uncompressedSize = 1001
        rejected(files, .badFileTable, "files add up to 1000 bytes, the manifest says 1001", layer: l)
        l.uncompressedSize = 999
        rejected(files, .badFileTable, "files add up to more than the declared 999 bytes", layer: l)
        l.uncompressedSize = 0
        rejected(files, .badFileTable, "more than the declared 0 bytes", layer: l)
        // Sizes whose sum overflows a UInt64 are refused, not wrapped.
        let big = [Fx.file("a", size: .max), Fx.file("b", size: 2)]
        l = Fx.layer(for: [big[0]]); l.fileCount = 2
        rejected(big, .badFileTable, layer: l)
        let wrap = [Fx.file("a", size: 1 << 63), Fx.file("b", size: 1 << 63), Fx.file("c", size: 5)]
        l = Fx.layer(for: [Fx.file("x", size: 5)]); l.fileCount = 3
        rejected(wrap, .badFileTable, "more than the declared 5 bytes", layer: l)
    }

    // MARK: Record fields

    func testUnknownKind() {
        for kind: UInt8 in [3, 7, 0xFF] {
            let records = [Fx.dir("a"), Fx.file("a/b")]
            let bytes = FileTable.encode(records).setting(Fx.recordOffset(records, 1), kind)
            rejected(
                bytes: bytes, .badFileTable, "layer 'base': unknown file type \(kind)", layer: Fx.layer(for: records))
        }
    }

    func testModeBits() {
        for mode: UInt32 in [0o1000, 0o4755, 0o2755, 0o1777, 0o100644, 0xFFFF_FFFF] {
            var f = files; f[1].mode = mode
            rejected(f, .badFileTable, "file mode 0o\(String(mode, radix: 8)) has bits beyond 0o777")
        }
        for mode: UInt32 in [0, 0o644, 0o755, 0o777] {
            var f = files; f[1].mode = mode
            accepted(f)
        }
    }

    func testDirectoryAndSymlinkSizes() {
        rejected(
            [Fx.dir("d")].map {
                var r = $0; r.size = 1; return r
            }, .badFileTable, "directory 'd' has a size")
        var l = Fx.link("l", "x"); l.size = 1
        rejected([l], .badFileTable, "symlink 'l' has a size")
        l.size = .max
        rejected([l], .badFileTable, "symlink 'l' has a size")
    }

    // MARK: Paths

    func testUnsafePaths() {
        // The refusal names the path and carries the rule's own description (PathRules).
        let cases: [(String, PathRules.Violation)] = [
            ("../x", .dotComponent), ("a/../b", .dotComponent), ("..", .dotComponent),
            ("/abs", .absolute), ("/", .absolute),
            ("a//b", .dotComponent), ("./a", .dotComponent), (".", .dotComponent), ("a/", .dotComponent),
            ("a/.", .dotComponent),
            ("", .empty),
            (".dgmo-layer", .reserved), (".dgmo-layer/x", .reserved),
            (String(repeating: "c", count: 256), .componentTooLong),
            ("a/" + String(repeating: "c", count: 256), .componentTooLong),
        ]
        for (path, rule) in cases {
            rejected(
                [Fx.dir("a"), Fx.file(path)].sorted { $0.path.lexicographicallyPrecedes($1.path) }, .badPath,
                "unsafe path '\(path)'", rule.description)
            // As a directory and as a symlink too.
            rejected([Fx.dir(path)], .badPath, rule.description)
            rejected([Fx.link(path, "x")], .badPath, rule.description)
        }
    }

    func testNULAndInvalidUTF8Paths() {
        rejected([Fx.file(bytes: [0x61, 0x00, 0x62])], .badPath)
        rejected([Fx.file(bytes: [0x00])], .badPath)
        for bad: [UInt8] in [
            [0x61, 0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        ] {
            rejected([Fx.file(bytes: bad)], .badPath)
        }
    }

    func testPathOverLimit() {
        let long = [UInt8](repeating: 0x61, count: Limits.maxPathLength + 1)
        rejected(
            [Fx.file(bytes: long)], .tooLarge,
            "path is \(Limits.maxPathLength + 1) bytes, over the limit of \(Limits.maxPathLength)")
        // A hostile length field is refused before anything is read or allocated.
        let bytes = FileTable.encode([Fx.file("a")]).putting32(0xFFFF_FFFF, at: 13)
        rejected(bytes: bytes, .tooLarge, "path is 4294967295 bytes", layer: Fx.layer(for: [Fx.file("a")]))
        let target = FileTable.encode([Fx.link("l", "t")]).putting32(0xFFFF_FFFF, at: 18)
        rejected(bytes: target, .tooLarge, "link target is 4294967295 bytes", layer: Fx.layer(for: [Fx.link("l", "t")]))
        rejected(
            [Fx.link("l", String(repeating: "t", count: Limits.maxPathLength + 1))], .tooLarge,
            "link target is 4097 bytes")
    }

    func testReservedNameOnlyAtTopLevel() {
        accepted([Fx.dir("a"), Fx.file("a/.dgmo-layer")])
        accepted([Fx.dir("a"), Fx.dir("a/b"), Fx.dir("a/b/.dgmo-layer")])
        accepted([Fx.file(".dgmo-layer2"), Fx.file(".dgmo-layes"), Fx.file("x.dgmo-layer")])
        rejected([Fx.file(".dgmo-layer")], .badPath)
        rejected([Fx.link(".dgmo-layer", "x")], .badPath)
    }

    // MARK: Order and parents

    func testDuplicatesAndOrder() {
        rejected([Fx.file("a"), Fx.file("a")], .badFileTable, "duplicate path 'a'")
        rejected([Fx.dir("a"), Fx.dir("a")], .badFileTable, "duplicate path 'a'")
        rejected([Fx.dir("a"), Fx.file("a")], .badFileTable, "duplicate path 'a'")
        rejected([Fx.file("b"), Fx.file("a")], .badFileTable, "path 'a' is out of order")
        var f = files; f.swapAt(4, 5)
        rejected(f, .badFileTable)
        f = files; f.append(files[0])
        rejected(f, .badFileTable)
        f = files; f.insert(files[6], at: 7)
        rejected(f, .badFileTable, "duplicate path '\(files[6].pathString)'")
    }

    func testParentDirectories() {
        rejected([Fx.file("a/b")], .badFileTable, "'a/b' has no parent directory listed before it")
        // The parent listed after its child.
        rejected([Fx.file("a/b"), Fx.dir("a")], .badFileTable, "'a/b' has no parent directory")
        // The parent listed, but as a regular file or a symlink.
        rejected([Fx.file("a"), Fx.file("a/b")], .badFileTable, "'a/b' has no parent directory")
        rejected([Fx.link("a", "."), Fx.file("a/b")], .badFileTable, "'a/b' has no parent directory")
        // A grandparent listed but not the parent.
        rejected([Fx.dir("a"), Fx.file("a/b/c")], .badFileTable, "'a/b/c' has no parent directory")
        // Directories with similar names do not count.
        rejected([Fx.dir("a"), Fx.dir("ab"), Fx.file("ab/c"), Fx.file("b/c")], .badFileTable, "'b/c' has no parent")
        // A parent directory listed earlier but not adjacent is fine.
        accepted([Fx.dir("a"), Fx.dir("a-"), Fx.file("a-/x"), Fx.file("a/x")])
        // Every record of the fixture without its parent.
        for (i, r) in files.enumerated()
        where r.kind == .directory && files.contains(where: { $0.path.starts(with: r.path + [0x2F]) }) {
            var f = files; f.remove(at: i)
            let l = Fx.layer(for: f)
            rejected(f, .badFileTable, layer: l)
        }
    }

    // MARK: Symlinks

    func testSymlinkEscapes() {
        let cases: [(path: String, target: String)] = [
            ("l", "../x"), ("l", ".."), ("l", "../"), ("l", "./../x"),
            ("l", "/etc/passwd"), ("l", "/"),
            ("a/l", "a/../../x"), ("a/l", "../../x"), ("a/l", "../.."),
            ("l", "b/../x"), ("a/l", "b/../x"), ("a/l", "../b/../x"), ("a/l", "x/.."),
            ("a/b/l", "../../../x"),
        ]
        for (path, target) in cases {
            var records = [Fx.dir("a"), Fx.dir("a/b"), Fx.dir("b"), Fx.link(path, target)]
            records.sort { $0.path.lexicographicallyPrecedes($1.path) }
            rejected(records, .badPath, "symlink '\(path)'")
        }
        rejected([Fx.link("l", "")], .badPath, "symlink 'l'")
        rejected(
            [FileRecord(kind: .symlink, mode: 0o777, size: 0, path: [0x6C], linkTarget: [0x61, 0x00])], .badPath,
            "symlink 'l'")
    }

    func testSymlinksInsideTheLayer() {
        let cases: [(path: String, target: String)] = [
            ("l", "x"), ("l", "./x"), ("l", "."), ("l", "a/b/c"), ("l", "a//b"), ("l", "a/"),
            ("a/l", "../x"), ("a/l", ".."), ("a/l", "../a/./x"), ("a/l", "./../b"),
            ("a/b/l", "../../x"), ("a/b/l", "../.."), ("a/b/l", "../../a/b/l"),
        ]
        for (path, target) in cases {
            var records = [Fx.dir("a"), Fx.dir("a/b"), Fx.link(path, target)]
            records.sort { $0.path.lexicographicallyPrecedes($1.path) }
            XCTAssertEqual(try Fx.decodeTable(records).count, 3, "\(path) -> \(target)")
        }
    }

    // MARK: Truncation and mutation

    func testTruncatedAtEveryByteOffset() {
        let bytes = FileTable.encode(files)
        let layer = Fx.layer(for: files)
        for n in 0..<bytes.count {
            assertThrowsBundleError(
                try FileTable.decode(Array(bytes.prefix(n)), layer: layer), "prefix \(n) of \(bytes.count)")
        }
        // Trailing bytes after the last declared record.
        rejected(bytes: bytes + [0], .badFileTable, "more than the \(files.count) files declared", layer: layer)
    }

    func testSingleByteMutationsNeverTrap() {
        let bytes = FileTable.encode(files)
        let layer = Fx.layer(for: files)
        var rng = SplitMix64(state: 7)
        for i in bytes.indices {
            for v in [0, 1, 0x2E, 0x2F, 0xFF, UInt8.random(in: 0...255, using: &rng)] where v != bytes[i] {
                let b = bytes.setting(i, v)
                if let decoded = try? FileTable.decode(b, layer: layer) {
                    XCTAssertEqual(FileTable.encode(decoded), b, "byte \(i) = \(v)")
                }
            }
        }
    }
}
