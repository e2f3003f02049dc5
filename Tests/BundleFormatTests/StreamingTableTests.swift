import XCTest
import TestSupport
@testable import BundleFormat

/// The file table read as a stream (`FileTable.StreamReader`) in bounded memory: the same
/// answers whatever the read sizes, the parent rule kept without a set of every directory
/// (`OpenDirectories`), link targets that are not UTF-8 refused, and messages on one line.
final class StreamingTableTests: XCTestCase {
    /// Hands out its bytes a few at a time, so every field crosses read boundaries.
    struct DribbleSource: ByteSource {
        var bytes: [UInt8]
        var offset = 0
        var rng: SplitMix64
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
            let n = min(buffer.count, bytes.count - offset, Int.random(in: 1...7, using: &rng))
            guard n > 0 else { return 0 }
            for i in 0..<n { buffer[i] = bytes[offset + i] }
            offset += n
            return n
        }
    }

    func decodeDribbled(_ bytes: [UInt8], layer: LayerRecord, seed: UInt64 = 1) throws(BundleError) -> [FileRecord] {
        var reader = FileTable.StreamReader(
            source: DribbleSource(bytes: bytes, rng: SplitMix64(state: seed)), layer: layer, target: .linuxX64)
        var out: [FileRecord] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    func testDribbledReadsGiveTheSameRecords() throws {
        let long = String(repeating: "p", count: 255)
        let deep = (0..<15).map { _ in long }.joined(separator: "/")  // 3839 bytes
        var records = Fx.files()
        var path = ""
        for c in deep.split(separator: "/") {
            path += (path.isEmpty ? "" : "/") + c
            records.append(Fx.dir("zz/" + path))
        }
        records.append(Fx.dir("zz"))
        records.append(Fx.link("zz/" + path + "/l", String(repeating: "../", count: 10) + "x"))
        records.sort { $0.path.lexicographicallyPrecedes($1.path) }
        let bytes = FileTable.encode(records)
        for seed in 1...5 as ClosedRange<UInt64> {
            XCTAssertEqual(try decodeDribbled(bytes, layer: Fx.layer(for: records), seed: seed), records)
        }
        // Every truncation is refused the same way as from memory.
        for n in stride(from: 0, to: bytes.count, by: 97) {
            let cut = Array(bytes.prefix(n))
            let fromMemory: String
            do { _ = try FileTable.decode(cut, layer: Fx.layer(for: records)); fromMemory = "accepted" } catch {
                fromMemory = error.message
            }
            let streamed: String
            do { _ = try decodeDribbled(cut, layer: Fx.layer(for: records)); streamed = "accepted" } catch {
                streamed = error.message
            }
            XCTAssertEqual(streamed, fromMemory, "prefix \(n)")
        }
    }

    /// The parent rule with `OpenDirectories` agrees with the obvious one (a set of every
    /// directory seen) on random sorted trees, including names like `d-x` and `d.x` that sort
    /// between `d` and `d/...`.
    func testParentRuleAgreesWithASetOfEveryDirectory() {
        var rng = SplitMix64(state: 7)
        let names = ["a", "b", "a-b", "a.c", "a!", "a0", "ab", "~"]
        var refusals = 0
        for round in 0..<3000 {
            var paths = Set<String>()
            for _ in 0..<Int.random(in: 1...14, using: &rng) {
                let components = (0..<Int.random(in: 1...4, using: &rng)).map { _ in names.randomElement(using: &rng)! }
                paths.insert(components.joined(separator: "/"))
                // Mostly with its parents, so that many trees are valid and the rule is tested deep.
                if Int.random(in: 0..<10, using: &rng) < 8 {
                    for n in 1..<components.count { paths.insert(components[..<n].joined(separator: "/")) }
                }
            }
            let sorted = paths.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
            let records = sorted.map { p in
                let isParent = sorted.contains { $0.count > p.count && $0.starts(with: p + [0x2F]) }
                return Int.random(in: 0..<10, using: &rng) < (isParent ? 9 : 5)
                    ? FileRecord(kind: .directory, mode: 0o755, size: 0, path: p)
                    : FileRecord(kind: .regular, mode: 0o644, size: 0, path: p, digest: Fx.digest(1))
            }
            // The obvious rule.
            var dirs = Set<[UInt8]>()
            var expected: String? = nil
            for r in records {
                if let slash = r.path.lastIndex(of: 0x2F), !dirs.contains(Array(r.path[..<slash])) {
                    expected = "'\(r.pathString)' has no parent directory listed before it"
                    break
                }
                if r.kind == .directory { dirs.insert(r.path) }
            }
            var layer = Fx.layer(for: records)
            layer.uncompressedSize = 0
            do {
                _ = try FileTable.decode(FileTable.encode(records), layer: layer)
                XCTAssertNil(expected, "round \(round): \(sorted.map { String(decoding: $0, as: UTF8.self) })")
            } catch {
                refusals += 1
                XCTAssertNotNil(expected, "round \(round): \(error.message)")
                if let expected { XCTAssertTrue(error.message.hasSuffix(expected), "\(error.message) vs \(expected)") }
            }
        }
        XCTAssertGreaterThan(refusals, 300)
        XCTAssertLessThan(refusals, 2700)
    }

    func testOpenDirectoriesCloseDeepestFirstOnceTheirSubtreeIsDone() {
        var open = OpenDirectories<String>()
        let order = ["a", "a-x", "a/b", "a/b/c", "a/b0", "a/c", "b"]
        var previous: [UInt8] = []
        var closed: [String] = []
        for p in order {
            let path = Array(p.utf8)
            closed += open.advance(from: previous, to: path).map(\.payload)
            if !p.contains("c") && p != "a-x" { open.push(path, p) }  // a, a/b, a/b0, b are directories
            previous = path
        }
        closed += open.closeAll().map(\.payload)
        // a/b closes when a/b0 comes (b0 is not below a/b); a/b0 when a/c comes; a when b comes.
        XCTAssertEqual(closed, ["a/b", "a/b0", "a", "b"])
    }

    func testLinkTargetsMustBeUTF8() {
        let bad = FileRecord(
            kind: .symlink, mode: 0o755, size: 0, path: Array("l".utf8), linkTarget: [0x61, 0xFF, 0x62])
        XCTAssertThrowsError(try PathRules.symlinkRule(path: bad.path, target: bad.linkTarget)) {
            XCTAssertEqual($0 as? PathRules.Violation, .targetNotUTF8)
        }
        assertBundleError(
            try FileTable.decode(FileTable.encode([bad]), layer: Fx.layer(for: [bad])), .badPath,
            mentions: "symlink 'l'")
        XCTAssertEqual(
            try FileTable.decode(FileTable.encode([Fx.link("l", "ü/x")]), layer: Fx.layer(for: [Fx.link("l", "ü/x")]))
                .first?.linkTarget,
            Array("ü/x".utf8))
    }

    func testMessagesEscapeControlBytesInPaths() {
        let records = [Fx.file("b"), Fx.file("a\u{1B}[2J\r\nb")]
        assertBundleError(
            try FileTable.decode(FileTable.encode(records), layer: Fx.layer(for: records)), .badFileTable,
            mentions: "'a\\x1b[2J\\x0d\\x0ab' is out of order")
    }
}

/// `TerminalText`: what the launcher prints about manifest values and names is one line with
/// no control characters.
final class TerminalTextTests: XCTestCase {
    func testControlCharactersAreEscaped() {
        XCTAssertEqual(TerminalText.escaped("plain ü \\ text"), "plain ü \\ text")
        XCTAssertEqual(
            TerminalText.escaped("a\nb\rc\u{1B}[31md\0e\u{7}\u{7F}"), "a\\x0ab\\x0dc\\x1b[31md\\x00e\\x07\\x7f")
        XCTAssertEqual(TerminalText.escaped("\u{9B}31m"), "\\u{009b}31m")  // C1 CSI
        XCTAssertEqual(TerminalText.escaped("abc\u{202E}fed"), "abc\\u{202e}fed")  // bidi override
        XCTAssertEqual(TerminalText.shown([0x61, 0xFF, 0x0A]), "a\\xff\\x0a")
        XCTAssertEqual(TerminalText.shown(String(repeating: "é", count: 10), limit: 5), "éé...")
    }

    func testRandomTextEscapesToOneLineAndEscapingTwiceChangesNothing() {
        var rng = SplitMix64(state: 3)
        for _ in 0..<5000 {
            let scalars = (0..<Int.random(in: 0...20, using: &rng)).map { _ -> Unicode.Scalar in
                let v = [
                    UInt32.random(in: 0...0x7F, using: &rng), UInt32.random(in: 0x80...0x9F, using: &rng),
                    UInt32.random(in: 0x2000...0x206F, using: &rng), 0x1B, 0x0A, 0x0D,
                ].randomElement(using: &rng)!
                return Unicode.Scalar(v)!
            }
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars)
            let e = TerminalText.escaped(s)
            XCTAssertFalse(
                e.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }, e
            )
            XCTAssertEqual(TerminalText.escaped(e), e)
        }
    }
}
