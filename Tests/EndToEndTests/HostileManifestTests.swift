import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat
import TestSupport

/// Signed but hostile manifests (docs/security.md): bundles correctly signed with the pinned key
/// whose entries, version or link targets no honest `bundle-append build` would write. They are
/// assembled with `BundleAssembler.write`, which signs a manifest exactly as given, so only the
/// launcher's own checks stand between them and the user. Each must be refused with status 125
/// and one escaped line, running nothing and extracting nothing; `bundle-append build` must
/// refuse the same entries in a spec. Also: the largest file table the format allows is read in
/// bounded memory.
final class HostileManifestTests: SignedAsGivenTestCase {
    let payload = "echo PAYLOAD\n"
    /// The peak RSS `assertRefused` measured last, in KiB.
    var lastPeakRSSKiB = 0

    func file(_ path: String, _ content: String, mode: UInt32 = 0o644) -> FileRecord {
        FileRecord(
            kind: .regular, mode: mode, size: UInt64(content.utf8.count), path: Array(path.utf8),
            digest: Blake2b.hash(Array(content.utf8)))
    }

    func entry(_ argv: [String], env: [(String, String)] = []) -> EntryRecord {
        EntryRecord(
            name: "hostile", isDefault: true, argv: argv, env: env.map { .init(key: $0.0, value: $0.1) }, layers: [0])
    }

    /// A bundle of app `hostile` with one layer `l` (by default `run.sh`, which prints PAYLOAD),
    /// signed with the pinned key, manifest taken exactly as given.
    func signed(
        _ entries: [EntryRecord], version: String = "1", records: [FileRecord]? = nil, data: String? = nil,
        table: [UInt8]? = nil, storedTable: [UInt8]? = nil, fileCount: Int? = nil, declaredSize: UInt64? = nil,
        target: BuildTarget = .default
    ) throws -> String {
        let records = records ?? [file("run.sh", payload)]
        let data = data ?? payload
        let (built, layer) = try craftLayer(
            records, data: data, table: table, storedTable: storedTable,
            declaredSize: declaredSize, fileCount: fileCount)
        let manifest = Manifest(
            appName: "hostile", appVersion: version, buildTime: 0, keyID: key.keyID.bytes, layers: [layer],
            entries: entries,
            target: target)
        return try writeSignedAsGiven(manifest, layers: [built], prefix: "hostile")
    }

    /// Status 125, one line on stderr mentioning `needle`, no control byte in it, nothing run,
    /// nothing extracted; returns stderr. Peak RSS (KiB) is measured with /usr/bin/time.
    @discardableResult
    func assertRefused(
        _ binary: String, _ needle: String, args: [String] = [], cwd: String? = nil, timeout: TimeInterval = 30,
        maxRSSKiB: Int = 64 << 10, file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let cache = dir + "/cache"
        let rssFile = dir + "/rss.txt"
        let o = try Harness.run(
            "/usr/bin/time", ["-f", "%M", "-o", rssFile, binary] + args, env: ["HOSTILE_CACHE_DIR": cache],
            cwd: cwd, timeout: timeout)
        assertFailed(o, status: 125, mentioning: needle, file: file, line: line)
        XCTAssertTrue(o.stderr.hasSuffix("\n"), o.stderr, file: file, line: line)
        XCTAssertFalse(
            o.stderr.unicodeScalars.dropLast().contains { $0.value < 0x20 || $0.value == 0x7F },
            "raw control byte in \(o.stderr.debugDescription)", file: file, line: line)
        XCTAssertFalse(o.stdout.contains("PAYLOAD"), "the payload ran", file: file, line: line)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? [], [], "extracted",
            file: file, line: line)
        let rssKiB = (try? String(contentsOfFile: rssFile, encoding: .utf8))?.split(separator: "\n").last.flatMap {
            Int($0)
        }
        lastPeakRSSKiB = try XCTUnwrap(rssKiB, "peak RSS measured", file: file, line: line)
        XCTAssertLessThan(lastPeakRSSKiB, maxRSSKiB, "peak RSS (KiB)", file: file, line: line)
        return o.stderr
    }

    /// Runs `binary`, which must print PAYLOAD `times` times (its run.sh: `payload` that often).
    func runs(_ binary: String, times: Int = 1, file: StaticString = #filePath, line: UInt = #line) throws {
        let o = try Harness.run(binary, [], env: ["HOSTILE_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.status, 0, o.stderr, file: file, line: line)
        XCTAssertTrue(o.stdout == String(repeating: "PAYLOAD\n", count: times), o.stderr, file: file, line: line)
    }

    // MARK: Launch-time refusals

    func testBaselineSignedBundleRuns() throws {
        try runs(
            try signed([
                entry(["/bin/sh", "{l}/run.sh"], env: [("HOSTILE_HOME", "{l}"), ("PATH_EXTRA", "{l}/bin:{l}/lib")])
            ]))
    }

    /// A signed manifest for linux-arm64 behind the linux-x64 launcher (bundle-append refuses to
    /// build it; `write` signs it as given): refused before anything is extracted or run, also
    /// by `--launcher info`, since the whole bundle is for another machine.
    func testBundleForAnotherTargetIsRefused() throws {
        let bundle = try signed([entry(["/bin/sh", "{l}/run.sh"])], target: .linuxArm64)
        try assertRefused(bundle, "is a bundle for linux-arm64, and this launcher is for linux-x64")
        try assertRefused(bundle, "is a bundle for linux-arm64", args: ["--launcher", "info"])
    }

    /// Signed windows-x64 bundles whose tables break the Windows name rules (bundle-append build
    /// refuses to write them; `write` signs them as given). This Linux launcher refuses the target
    /// before it reads a table (and carries only the linux rules: `PathRules.rulesOS`); the
    /// launcher's extraction code, built into `bundle-append extract` with every target's rules,
    /// reads each table with the manifest's target and refuses the names, extracting nothing. The
    /// same tables under linux-x64 extract.
    func testWindowsBundleWithUnsafeNamesIsRefusedByTheExtractor() throws {
        let cases: [(records: [FileRecord], data: String, needle: String)] = [
            ([file("README", "a"), file("readme", "b")], "ab", "unsafe path 'readme': equals an earlier path"),
            ([file("A", "a"), file("B", "b"), file("a", "c")], "abc", "unsafe path 'a': equals an earlier path"),
            (
                [file("README", "a"), file("aux.txt", "b")], "ab",
                "unsafe path 'aux.txt': a name is a Windows device name"
            ),
            ([file("README", "a"), file("x.", "b")], "ab", "unsafe path 'x.': a name ends in a dot or a space"),
            ([file("README", "a"), file("a\\..\\b", "b")], "ab", "unsafe path 'a\\..\\b': a name holds"),
        ]
        for (i, c) in cases.enumerated() {
            let windows = try signed([entry(["{l}/README"])], records: c.records, data: c.data, target: .windowsX64)
            try assertRefused(windows, "is a bundle for windows-x64, and this launcher is for linux-x64")
            let out = dir + "/out-\(i)"
            let o = try Harness.run(Harness.tool, ["extract", windows, out])
            XCTAssertNotEqual(o.status, 0, o.stdout)
            XCTAssertTrue(o.stderr.contains(c.needle), o.stderr)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
            XCTAssertFalse(
                FileManager.default.fileExists(atPath: out + "/l"), "extracted \(c.records.map(\.pathString))")
            let linux = try signed([entry(["{l}/README"])], records: c.records, data: c.data)
            let extracted = try Harness.run(Harness.tool, ["extract", linux, out + "-linux"])
            XCTAssertEqual(extracted.status, 0, extracted.stderr)
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: out + "-linux/l").sorted(),
                c.records.map(\.pathString).sorted(), extracted.stdout)
        }
    }

    /// A signed windows-x64 manifest is checked by Windows' entry rules where they are built in:
    /// one that runs `/bin/sh` (drive-relative on Windows) is a bad entry for bundle-append, and
    /// the linux launcher refuses the target itself.
    func testWindowsManifestIsCheckedByWindowsEntryRules() throws {
        let bundle = try signed([entry(["/bin/sh", "{l}/run.sh"])], target: .windowsX64)
        try assertRefused(bundle, "is a bundle for windows-x64, and this launcher is for linux-x64")
        let o = try Harness.run(Harness.tool, ["inspect", bundle])
        assertFailed(
            o, status: 1,
            mentioning:
                "manifest: entry 'hostile' argv[0]: relative program '/bin/sh' would depend on the working directory or drive"
        )
    }

    func testProgramLeavingItsLayerIsRefused() throws {
        try assertRefused(try signed([entry(["{l}/../../../../../../../../bin/sh", "{l}/run.sh"])]), "'..' after {l}")
        try assertRefused(try signed([entry(["/bin/sh", "{l}/run.sh", "{l}/.."])]), "argv[2]")
        try assertRefused(try signed([entry(["/bin/sh", "{l}/run.sh", "--x={l}x"])]), "must be followed by '/'")
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"], env: [("LIBS", "{l}/lib:{l}/../other")])]), "env LIBS")
    }

    func testRelativeProgramIsRefused() throws {
        // A working directory that holds bin/sh: today's launcher would run it.
        let cwd = dir + "/cwd"
        try FileManager.default.createDirectory(atPath: cwd + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: cwd + "/bin/sh", withDestinationPath: "/bin/sh")
        try assertRefused(try signed([entry(["bin/sh", "{l}/run.sh"])]), "relative program 'bin/sh'", cwd: cwd)
        try assertRefused(try signed([entry(["./bin/sh", "{l}/run.sh"])]), "relative program", cwd: cwd)
        // A bare name is looked up in PATH (docs/format.md, "Entry rules").
        try runs(try signed([entry(["sh", "{l}/run.sh"])]))
    }

    func testReservedAndRepeatedEnvKeysAreRefused() throws {
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"], env: [("HOSTILE_BUNDLE_EXE", "/tmp/fake")])]),
            "HOSTILE_BUNDLE_*")
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"], env: [("HOSTILE_BUNDLE_NEW", "x")])]), "launcher's own")
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"], env: [("HOSTILE_ENTRY", "other")])]), "HOSTILE_ENTRY")
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"], env: [("A", "1"), ("A", "2")])]), "env A: is set twice")
    }

    func testControlCharactersInTheVersionAreRefusedAndEscaped() throws {
        let err = try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"])], version: "1.0\u{1B}]0;owned\u{07}\r"), "app version")
        XCTAssertTrue(err.contains("1.0\\x1b]0;owned\\x07\\x0d"), err)
        try assertRefused(try signed([entry(["/bin/sh", "{l}/run.sh"])], version: "1 0"), "printable ASCII")
    }

    func testLinkTargetThatIsNotUTF8IsRefused() throws {
        let link = FileRecord(
            kind: .symlink, mode: 0o755, size: 0, path: Array("lnk".utf8), linkTarget: [0x72, 0xFF, 0x6E])
        try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"])], records: [link, file("run.sh", payload)]),
            "symlink target is not valid UTF-8")
    }

    /// Whatever the launcher says about a file name, an argv item or argv[0] stays one line with
    /// no raw control bytes (today's launcher turned only LF into a space).
    func testMessagesEscapeControlBytes() throws {
        let records = [file("run.sh", payload), file("a\r\u{1B}[2Jb", "x")]  // out of order: refused
        let err = try assertRefused(
            try signed([entry(["/bin/sh", "{l}/run.sh"])], records: records, data: payload + "x"), "out of order")
        XCTAssertTrue(err.contains("a\\x0d\\x1b[2Jb"), err)
        let err2 = try assertRefused(try signed([entry(["bin/\u{1B}]0;x\u{07}sh"])]), "relative program")
        XCTAssertTrue(err2.contains("bin/\\x1b]0;x\\x07sh"), err2)
        // A launcher command that does not exist, named with control bytes.
        let ok = try signed([entry(["/bin/sh", "{l}/run.sh"])])
        let err3 = try assertRefused(ok, "unknown launcher command", args: ["--launcher", "x\u{1B}[2J\ny"])
        XCTAssertTrue(err3.contains("x\\x1b[2J\\x0ay"), err3)
    }

    /// `--launcher info` prints argv items with newlines and ESC escaped, one row per entry.
    func testInfoEscapesArgv() throws {
        let b = try signed([entry(["/bin/sh", "-c", "echo PAYLOAD\n\u{1B}[2J", "{l}/run.sh"])])
        let o = try Harness.run(b, ["--launcher", "info"], env: ["HOSTILE_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertFalse(o.stdout.unicodeScalars.contains { $0.value == 0x1B }, o.stdout)
        XCTAssertTrue(o.stdout.contains("/bin/sh -c echo PAYLOAD\\x0a\\x1b[2J {l}/run.sh\n"), o.stdout)
        // JSON: valid, the argv exact after decoding, and no raw ESC or C1 control in the text.
        let c1 = try signed([entry(["/bin/sh", "-c", "echo \u{9B}31m\u{1B}[2J\u{202E}", "{l}/run.sh"])])
        let j = try Harness.run(c1, ["--launcher", "info", "--json"], env: ["HOSTILE_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(j.status, 0, j.stderr)
        XCTAssertFalse(
            j.stdout.unicodeScalars.contains {
                $0.value == 0x1B || (0x80...0x9F).contains($0.value) || $0.value == 0x202E
            }, j.stdout)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let argv = (json["entries"] as? [[String: Any]])?.first?["argv"] as? [String]
        XCTAssertEqual(argv, ["/bin/sh", "-c", "echo \u{9B}31m\u{1B}[2J\u{202E}", "{l}/run.sh"])
    }

    // MARK: Frames

    /// A layer `l` of a 52,000-byte run.sh in four 16 KiB frames (codec `codec`) and its record.
    func framedLayer(codec: Codec = .zstd) throws -> (BuiltLayer, LayerRecord) {
        let data = String(repeating: payload, count: 4000)
        let layer = try craftLayer([file("run.sh", data)], data: data, codec: codec, frameSize: 16 << 10)
        XCTAssertEqual(layer.1.frames.count, 4)
        return layer
    }

    /// Signed bundles whose frame table breaks a rule (bundle-append would never write one; `write`
    /// signs it as given): overlapping and gapped frames, frames adding up to more or fewer bytes
    /// than the layer, an empty frame, one over 16 MiB, one storing more than the bound, a frame
    /// of an uncompressed layer changing size. The launcher refuses each with status 125 and one
    /// line naming the layer and the frame, extracting nothing; `bundle-append inspect` too.
    func testBadFrameTablesAreRefused() throws {
        let cases: [(String, Codec, (inout [FrameRecord]) -> Void, String)] = [
            (
                "overlap", .zstd,
                { f in
                    f[1].storedOffset -= 1; f[1].storedSize += 1
                },
                "manifest: layer 'l' frame 1 overlaps the frame before it"
            ),
            (
                "gap", .zstd,
                { f in
                    f[2].decodedOffset += 1; f[2].decodedSize -= 1
                },
                "manifest: layer 'l' frame 2 leaves a gap after the frame before it"
            ),
            (
                "more", .zstd, { f in f[3].decodedSize += 1 },
                "manifest: layer 'l' frames hold"
            ),
            ("fewer", .zstd, { f in f.removeLast() }, "manifest: layer 'l' frames hold"),
            (
                "empty", .zstd,
                { f in
                    f.append(
                        FrameRecord(
                            storedOffset: f[3].storedOffset + f[3].storedSize, storedSize: 0,
                            decodedOffset: f[3].decodedOffset + f[3].decodedSize, decodedSize: 0, digest: f[3].digest))
                }, "manifest: layer 'l' frame 4 declares 0 decoded bytes"
            ),
            (
                "over 16 MiB", .zstd, { f in f[0].decodedSize = Limits.maxFrameSize + 1 },
                "manifest: layer 'l' frame 0 declares 16777217 decoded bytes"
            ),
            (
                "stored bound", .zstd,
                { f in f[1].storedSize = FrameRecord.maxStoredSize(decodedSize: f[1].decodedSize) + 1 },
                "manifest: layer 'l' frame 1 stores"
            ),
            (
                "none resized", .none,
                { f in
                    f[0].storedSize += 1; f[1].storedOffset += 1; f[1].storedSize -= 1
                },
                "manifest: uncompressed layer 'l' frame 0 has different stored and decoded sizes"
            ),
        ]
        for (name, codec, change, needle) in cases {
            let (built, honest) = try framedLayer(codec: codec)
            var layer = honest
            change(&layer.frames)
            let bundle = try writeSignedAsGiven(
                Manifest(
                    appName: "hostile", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [layer],
                    entries: [entry(["/bin/sh", "{l}/run.sh"])]), layers: [built], prefix: "frames")
            let stderr = try assertRefused(bundle, needle)
            XCTAssertTrue(stderr.contains(needle), "\(name): \(stderr)")
            assertFailed(try Harness.run(Harness.tool, ["inspect", bundle]), status: 1, mentioning: needle, name)
        }
        // The table unchanged: the same layer runs.
        let (built, layer) = try framedLayer()
        try runs(
            try writeSignedAsGiven(
                Manifest(
                    appName: "hostile", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [layer],
                    entries: [entry(["/bin/sh", "{l}/run.sh"])]), layers: [built], prefix: "frames"),
            times: 4000)
    }

    /// A signed frame whose stored bytes are garbage under a matching digest (its signer meant it:
    /// the digest check passes and the decoder sees it): refused with status 125, the same line
    /// at every launch, naming the layer and the frame, nothing extracted; `bundle-append verify`
    /// names the same frame and error.
    func testASignedFrameThatDoesNotDecodeIsRefusedTheSameWayEveryTime() throws {
        var (built, layer) = try framedLayer()
        let f = layer.frames[2]
        let range = Int(f.storedOffset)..<Int(f.storedOffset + f.storedSize)
        built.compressed.replaceSubrange(range, with: [UInt8](repeating: 0x5A, count: range.count))
        layer.frames[2].digest = Blake2b.hash(Array(built.compressed[range]))
        built.frames = layer.frames
        let bundle = try writeSignedAsGiven(
            Manifest(
                appName: "hostile", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [layer],
                entries: [entry(["/bin/sh", "{l}/run.sh"])]), layers: [built], prefix: "undecodable")
        let needle = "layer 'l' frame 2: zstd: not a zstd frame"
        let first = try assertRefused(bundle, needle)
        for _ in 0..<3 { XCTAssertEqual(try assertRefused(bundle, needle), first) }
        try Harness.write(key.publicKey.fileContents, to: dir + "/hostile.pub")
        assertFailed(
            try Harness.run(Harness.tool, ["verify", bundle, "--pubkey", dir + "/hostile.pub"]), status: 1,
            mentioning: needle)
    }

    // MARK: Bounded memory

    /// The largest file table the format allows: 1,000,000 records, ~256 MiB, half of them
    /// directories with long names (today's reader kept the table twice and a set of every
    /// directory: about 1 GiB). It is well-formed to the last record, then refused at the end
    /// (its files add up to less than declared), so the whole table is read and checked.
    func testLargestFileTableInBoundedMemory() throws {
        let pairs = 500_000
        var w = ByteWriter()
        let empty = Blake2b.hash([UInt8]())
        let stem = Array(String(repeating: "d", count: 200).utf8)
        let leaf = Array(("/" + String(repeating: "f", count: 55)).utf8)
        var table: [UInt8] = []
        table.reserveCapacity(270 << 20)
        for i in 0..<pairs {
            var name = stem
            name += Array(String(1_000_000 + i).utf8)  // 207 bytes, increasing
            w = ByteWriter()
            w.u8(FileKind.directory.rawValue); w.u32(0o755); w.u64(0); w.string(name)
            w.u8(FileKind.regular.rawValue); w.u32(0o644); w.u64(0); w.string(name + leaf); w.raw(empty)
            table += w.bytes
        }
        XCTAssertLessThanOrEqual(UInt64(table.count), Limits.maxFileTableLength)
        XCTAssertGreaterThan(UInt64(table.count), Limits.maxFileTableLength - (1 << 20))
        let b = try signed(
            [entry(["/bin/sh", "{l}/run.sh"])], records: [], data: "x", table: table,
            fileCount: Limits.maxFilesPerLayer, declaredSize: 1)
        table = []
        let started = Date()
        try assertRefused(b, "files add up to 0 bytes, the manifest says 1", timeout: 300)
        print(
            "largest file table: launcher peak RSS \(lastPeakRSSKiB) KiB, \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
        )
    }

    /// The stored table must be exactly one zstd frame (window at most 128 KiB) of the signed table:
    /// the raw table of format version 1, bytes after the frame or a larger window are refused
    /// before anything is extracted, as a table that does not match its digest.
    func testStoredTableMustBeOneFrame() throws {
        let raw = FileTable.encode([file("run.sh", payload)])
        let frame = try FileTableCodec.encode(raw)
        let cases: [(String, [UInt8])] = [
            ("raw", raw), ("trailing byte", frame + [0]), ("two frames", frame + frame),
            ("cut", Array(frame.dropLast())), ("empty", []),
        ]
        for (name, stored) in cases {
            let stderr = try assertRefused(
                try signed([entry(["/bin/sh", "{l}/run.sh"])], storedTable: stored),
                "file table does not match its digest")
            XCTAssertTrue(stderr.contains("layer 'l'"), "\(name): \(stderr)")
        }
        // A 3 MB table in a frame with an 8 MiB window: refused before the window is allocated.
        var records: [FileRecord] = []
        for i in 0..<20_000 {
            records.append(file(String(format: "f%06d-%@", i, String(repeating: "x", count: 100)), ""))
        }
        let big = FileTable.encode(records)
        XCTAssertGreaterThan(big.count, 2 << 20)
        let c = try Compressor(codec: .zstd, level: 19)
        var wide: [UInt8] = []
        try withBytes(big) { (b) throws(BundleError) in try c.compress(b, into: &wide) }
        try c.finish(into: &wide)
        try assertRefused(
            try signed(
                [entry(["/bin/sh", "{l}/run.sh"])], records: records, data: "", table: big, storedTable: wide,
                declaredSize: 0), "window larger than 128 KiB")
    }

    // MARK: Build-time refusals (bundle-append build)

    func build(
        _ execTOML: String, env: String = "", version: String = "1", layerSetup: (String) throws -> Void = { _ in }
    ) throws -> Harness.Output {
        let layer = dir + "/tree"
        try Harness.write("#!/bin/sh\necho PAYLOAD\n", to: layer + "/run.sh", mode: 0o755)
        try Harness.write("data\n", to: layer + "/data.txt", mode: 0o644)
        try layerSetup(layer)
        if !FileManager.default.fileExists(atPath: dir + "/k.key") { try Harness.tool(["keygen", dir + "/k"]) }
        let spec = """
            [bundle]
            name = "hostile"
            version = "\(version)"

            [layers.l]
            path = "tree"

            [entries.hostile]
            exec = \(execTOML)
            \(env.isEmpty ? "" : "env = { \(env) }")
            """
        try Harness.write(spec, to: dir + "/h.toml")
        return try Harness.run(
            Harness.tool,
            ["build", dir + "/h.toml", "-o", dir + "/out", "--key", dir + "/k.key", "--stub", Harness.stub, "-q"])
    }

    func assertBuildRefused(
        _ o: Harness.Output, _ needles: String..., file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertNotEqual(o.status, 0, "built: \(o.stdout)", file: file, line: line)
        for n in needles {
            XCTAssertTrue(o.stderr.contains(n), "'\(o.stderr)' should mention '\(n)'", file: file, line: line)
        }
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "wrote the bundle", file: file, line: line)
    }

    func testBuildRefusesHostileEntries() throws {
        assertBuildRefused(try build(#"["{l}/../../bin/sh"]"#), "entries.hostile.exec[0]", "'..' after {l}")
        assertBuildRefused(
            try build(#"["/bin/sh", "{l}/run.sh", "{l}/.."]"#), "entries.hostile.exec[2]", "leaves layer 'l'")
        assertBuildRefused(try build(#"["bin/sh"]"#), "entries.hostile.exec[0]", "relative program")
        assertBuildRefused(try build(#"["./run.sh"]"#), "relative program")
        assertBuildRefused(
            try build(#"["{l}/run.sh"]"#, env: #"HOSTILE_LAUNCHER_BUNDLE_EXE = "/x""#),
            "entries.hostile.env.HOSTILE_LAUNCHER_BUNDLE_EXE", "launcher's own")
        assertBuildRefused(
            try build(#"["{l}/run.sh"]"#, env: #"HOSTILE_LAUNCHER_ENTRY = "x""#),
            "entries.hostile.env.HOSTILE_LAUNCHER_ENTRY")
        // The app-named variables are the app's own in a bundle built from a spec (env-prefix
        // defaults to HOSTILE_LAUNCHER), so an entry may set them.
        XCTAssertEqual(try build(#"["{l}/run.sh"]"#, env: #"HOSTILE_ENTRY = "x""#).status, 0)
        try FileManager.default.removeItem(atPath: dir + "/out")
        assertBuildRefused(
            try build(#"["{l}/run.sh"]"#, env: #"X = "{l}x""#), "entries.hostile.env.X", "must be followed by '/'")
        assertBuildRefused(try build(#"["{l}/run.sh"]"#, version: #"1\u001b[31m"#), "bundle.version", "\\x1b[31m")
    }

    func testBuildRefusesProgramsAbsentFromTheirLayer() throws {
        assertBuildRefused(try build(#"["{l}/missing"]"#), "entries.hostile.exec[0]", "is not in layer 'l'")
        assertBuildRefused(
            try build(#"["/bin/sh", "{l}/missing.sh"]"#), "entries.hostile.exec[1]", "is not in layer 'l'")
        assertBuildRefused(try build(#"["{l}/data.txt"]"#), "entries.hostile.exec[0]", "is not executable")
        assertBuildRefused(try build(#"["{l}/run.sh/x"]"#), "is not in layer 'l'")
        assertBuildRefused(
            try build(#"["{l}/loop"]"#) {
                try FileManager.default.createSymbolicLink(atPath: $0 + "/loop", withDestinationPath: "loop")
            },
            "too many levels of symbolic links")
        assertBuildRefused(
            try build(#"["{l}/gone"]"#) {
                try FileManager.default.createSymbolicLink(atPath: $0 + "/gone", withDestinationPath: "nothing")
            },
            "is not in layer 'l'")
    }

    func testBuildAcceptsProgramsThroughSymlinksInsideTheLayer() throws {
        let o = try build(#"["{l}/bin/tool", "{l}"]"#) { layer in
            try Harness.write("#!/bin/sh\necho PAYLOAD\n", to: layer + "/real/tool", mode: 0o755)
            try FileManager.default.createSymbolicLink(atPath: layer + "/bin", withDestinationPath: "real")
        }
        XCTAssertEqual(o.status, 0, o.stderr)
        let run = try Harness.run(dir + "/out", [], env: ["HOSTILE_LAUNCHER_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(run.stdout, "PAYLOAD\n", run.stderr)
    }

    func testBuildRefusesLinkTargetsThatAreNotUTF8() throws {
        let o = try build(#"["{l}/run.sh"]"#) { layer in
            let target: [CChar] = [0x72, CChar(bitPattern: 0xFF), 0x6E, 0]
            XCTAssertEqual(target.withUnsafeBufferPointer { symlink($0.baseAddress!, layer + "/lnk") }, 0)
        }
        assertBuildRefused(o, "layer 'l': lnk", "not valid UTF-8")
    }
}
