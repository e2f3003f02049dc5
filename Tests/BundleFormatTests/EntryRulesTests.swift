import XCTest
import TestSupport
@testable import BundleFormat

/// The shared entry rules (`EntryRules`): what a signed manifest may ask the launcher to run
/// and set. The builder and every reader call the same function; these tests pin its decisions,
/// then throw random entries at it and check that whatever it accepts is safe.
final class EntryRulesTests: XCTestCase {
    func entry(_ argv: [String], env: [(String, String)] = []) -> EntryRecord {
        EntryRecord(name: "e", isDefault: true, argv: argv, env: env.map { .init(key: $0.0, value: $0.1) }, layers: [])
    }

    /// The refusal and the field it names (as `EntryRules` hands it to `fieldName`), nil when accepted.
    func violation(_ argv: [String], env: [(String, String)] = [], app: String = "hello") -> (
        error: BundleError, field: EntryRules.Field?
    )? {
        var named: EntryRules.Field? = nil
        do {
            try EntryRules.check(
                entry(argv, env: env), environmentPrefix: Names.environmentPrefix(app),
                fieldName: {
                    named = $0; return $0.description
                })
            return nil
        } catch { return (error, named) }
    }

    /// Refused with `.badEntry`, naming `field`; `needle` pins which rule fired (these tests pin the
    /// rules' decisions, and the reason is what the builder and the launcher print).
    func refused(
        _ argv: [String], env: [(String, String)] = [], app: String = "hello", field: EntryRules.Field,
        _ needle: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let v = violation(argv, env: env, app: app) else {
            return XCTFail("\(argv) \(env) should be refused", file: file, line: line)
        }
        XCTAssertEqual(v.error.code, .badEntry, v.error.message, file: file, line: line)
        XCTAssertEqual(v.field, field, v.error.message, file: file, line: line)
        XCTAssertTrue(v.error.message.hasPrefix("\(field): "), v.error.message, file: file, line: line)
        XCTAssertTrue(
            v.error.message.contains(needle), "'\(v.error.message)' should mention '\(needle)'", file: file, line: line)
    }

    func accepted(
        _ argv: [String], env: [(String, String)] = [], app: String = "hello", file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertNil(violation(argv, env: env, app: app), "\(argv) \(env)", file: file, line: line)
    }

    // MARK: Programs

    func testProgramsThatAreAccepted() {
        accepted(["{native}/hello"])
        accepted(["{py}/bin/python3", "-I", "{py}/lib"])
        accepted(["/bin/sh", "{scripts}/greet.sh", "--greeting={{hi}}"])
        accepted(["/usr/bin/env"])
        accepted(["sh", "-c", "echo hi"])  // a bare name: looked up in PATH
        accepted(["/usr/../bin/sh"])  // absolute: leaves no layer
        accepted(["{a}/bin/x y"])  // a space is part of the file name here
        accepted(["{a}/x", "{a}"])  // the layer itself as an argument
    }

    func testLeavingTheLayerIsRefused() {
        refused(["{layer}/../../bin/sh"], field: .argv(0), "'..' after {layer}")
        refused(["{a}/bin/.."], field: .argv(0), "'..'")
        refused(["{a}/x", "{a}/../etc/passwd"], field: .argv(1), "leaves layer 'a'")
        refused(["{a}/x", "--lib={b}/.."], field: .argv(1), "'..' after {b}")
        refused(["{a}/x", "{a}/lib:{b}/x/../../y"], field: .argv(1), "'..' after {b}")
        refused(["{a}/x"], env: [("PATH", "{a}/bin:{a}/..")], field: .env("PATH"), "'..' after {a}")
        // A placeholder glued to a name is a sibling of the layer, not inside it.
        refused(["{a}x"], field: .argv(0), "must be followed by '/'")
        refused(["{a}/x", "{a}.."], field: .argv(1), "must be followed by '/'")
        refused(["{a}/x", "{a}{b}"], field: .argv(1), "must be followed by '/'")
        refused(["{a}/x"], env: [("X", "{a}{{")], field: .env("X"), "must be followed by '/'")
    }

    func testSeparatorsEndThePathAfterAPlaceholder() {
        accepted(["{a}/x", "{a}/bin:{b}/bin", "{a},{b}", "'{a}'/x", "\"{a}\"", "{a}/x;../y", "{a}/x ../y"])
        accepted(["{a}/x", "{a}/...", "{a}/..x", "{a}/x..", "../relative/arg"])  // not '..' components after a placeholder
    }

    func testRelativeProgramsAreRefused() {
        for p in ["bin/sh", "./x", "../x", "a/b/c", ".", ".."] {
            refused([p], field: .argv(0), "relative program")
        }
        refused([""], field: .argv(0), "empty")
        refused(["x{a}/y"], field: .argv(0), "must start with its layer's placeholder")
        refused(["/opt/{a}/y"], field: .argv(0), "must start with its layer's placeholder")
    }

    func testMalformedPlaceholdersAreRefusedByTheRulesThemselves() {
        refused(["{a}/x", "}x"], field: .argv(1), "malformed placeholder")
        refused(["{a"], field: .argv(0), "malformed placeholder")
        refused(["/bin/true"], env: [("E", "{}")], field: .env("E"), "malformed placeholder")
        refused(["/bin/true", "{a/b}/x"], field: .argv(1), "cannot name a layer")
        refused(["/bin/true", "{;}"], field: .argv(1), "cannot name a layer")
    }

    func testProgramShapeInsideItsLayer() {
        refused(["{a}"], field: .argv(0), "layer directory")
        refused(["{a}/"], field: .argv(0), "inside layer 'a'")
        refused(["{a}/./x"], field: .argv(0), "inside layer 'a'")
        refused(["{a}//x"], field: .argv(0), "inside layer 'a'")
        refused(["{a}/.dgmo-layer"], field: .argv(0), "reserved")
        refused(["{a}/x/{b}/y"], field: .argv(0), "must be {a} or {a}/path")
        // The first item starting with a layer's placeholder is the file the launcher checks.
        refused(["/bin/sh", "{s}/run.sh:{t}/x"], field: .argv(1), "must be {s} or {s}/path")
        accepted(["/bin/sh", "{s}/run.sh", "{s}/a:{s}/b"])  // later items of the same layer are free
    }

    func testProgramPaths() throws {
        let paths = try EntryRules.programPaths(entry(["/bin/sh", "{s}/lib/run.sh", "{py}", "{s}/other", "x{t}/y"]))
        XCTAssertEqual(
            paths,
            [
                .init(layer: "s", path: Array("lib/run.sh".utf8), argvIndex: 1),
                .init(layer: "py", path: [], argvIndex: 2),
            ])
    }

    // MARK: Environment

    func testEnvKeysAreUniqueAndLeaveTheLaunchersVariablesAlone() {
        refused(["/bin/true"], env: [("A", "1"), ("B", "2"), ("A", "3")], field: .env("A"), "set twice")
        refused(["/bin/true"], env: [("HELLO_ENTRY", "x")], field: .env("HELLO_ENTRY"), "launcher's own")
        for key in [
            "HELLO_BUNDLE_EXE", "HELLO_BUNDLE_VERSION", "HELLO_BUNDLE_ENTRY", "HELLO_BUNDLE_CACHE", "HELLO_BUNDLE_X",
        ] {
            refused(["/bin/true"], env: [(key, "x")], field: .env(key), "HELLO_BUNDLE_*")
        }
        refused(
            ["/bin/true"], env: [("MY_APP_BUNDLE_EXE", "x")], app: "my-app", field: .env("MY_APP_BUNDLE_EXE"),
            "MY_APP_BUNDLE_*")
        accepted(
            ["/bin/true"],
            env: [
                ("HELLO_HOME", "x"), ("HELLO_BUNDLEX", "y"), ("hello_entry", "z"), ("OTHER_ENTRY", "w"),
                ("HELLO_CACHE_DIR", "v"),
            ])
    }

    // MARK: The decoder uses the same rules

    func testManifestDecodingRefusesHostileEntries() {
        let fx = Fx.manifest()
        func decode(_ change: (inout EntryRecord) -> Void) throws -> Manifest {
            var m = fx.manifest
            change(&m.entries[0])
            return try fx.decode(m.encoded())
        }
        assertBundleError(
            try decode { $0.argv[0] = "{base}/../../bin/sh" }, .badEntry, mentions: "entry 'app' argv[0]",
            "'..' after {base}")
        assertBundleError(try decode { $0.argv[0] = "bin/sh" }, .badEntry, mentions: "entry 'app' argv[0]")
        assertBundleError(
            try decode { $0.env.append(.init(key: "MY_APP_X_BUNDLE_EXE", value: "/x")) }, .badEntry,
            mentions: "launcher's own")
        assertBundleError(
            try decode { $0.env = [.init(key: "K", value: "1"), .init(key: "K", value: "2")] }, .badEntry)
        XCTAssertNoThrow(try decode { $0.env.append(.init(key: "MY_APP_HOME", value: "{base}")) })
    }

    func testVersionsArePrintableASCII() {
        let fx = Fx.manifest()
        for bad in ["", "1.0\u{1B}[31m", "1.0\r", "1 0", "1.0\u{7F}", "ü", String(repeating: "v", count: 65)] {
            XCTAssertFalse(Names.isValidVersion(bad), bad)
            var m = fx.manifest
            m.appVersion = bad
            if bad.utf8.count <= 64 { assertBundleError(try fx.decode(m.encoded()), .badManifest) }
        }
        for good in ["1", "1.2.3+build.5", "2024-01-01_rc~1", String(repeating: "v", count: 64)] {
            XCTAssertTrue(Names.isValidVersion(good), good)
        }
        // The message shows the bad version escaped, on one line.
        var m = fx.manifest
        m.appVersion = "1\n\u{1B}"
        assertBundleError(try fx.decode(m.encoded()), .badManifest, mentions: "'1\\x0a\\x1b'")
    }

    // MARK: Adversarial: random entries

    /// Thousands of random entries built from the tokens that matter (placeholders, `/`, `..`,
    /// separators, braces). Whatever the rules accept must be safe: after substitution, every
    /// path that starts at a layer stays inside it, and the program is absolute or a bare name.
    func testRandomEntriesThatPassAreSafe() {
        var rng = SplitMix64(state: 0x11B)
        let tokens = [
            "{a}", "{b}", "/", "..", ".", "x", "bin", ":", ";", ",", " ", "'", "{{", "}}", "-", "=", "\"", "}", "{",
        ]
        var acceptedCount = 0, refusedCount = 0
        for _ in 0..<20_000 {
            func template() -> String {
                (0..<Int.random(in: 1...7, using: &rng)).map { _ in tokens.randomElement(using: &rng)! }.joined()
            }
            let argv = (0..<Int.random(in: 1...3, using: &rng)).map { _ in template() }
            let env = (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                (["A", "B", "HELLO_ENTRY", "HELLO_BUNDLE_X"].randomElement(using: &rng)!, template())
            }
            guard violation(argv, env: env) == nil else { refusedCount += 1; continue }
            acceptedCount += 1
            // Layer `n` is at "/R/n\u{1}": no layer's root is a prefix of another's ("/R/x", "/R/xbin").
            for item in argv + env.map(\.1) {
                guard let substituted = try? Placeholders.substitute(item, { "/R/" + $0 + "\u{1}" }),
                    let names = try? Placeholders.names(in: item)
                else {
                    XCTFail("accepted a template that does not substitute: \(item)"); continue
                }
                assertStaysInside(substituted, item, roots: names.map { "/R/" + $0 + "\u{1}" })
            }
            let program = try! Placeholders.substitute(argv[0], { "/R/" + $0 + "\u{1}" })!
            XCTAssertTrue(program.hasPrefix("/") || !program.contains("/"), "program \(argv[0]) -> \(program)")
            XCTAssertFalse(program.isEmpty || program == "." || program == "..", argv[0])
            let keys = env.map(\.0)
            XCTAssertEqual(Set(keys).count, keys.count, "\(keys)")
            XCTAssertFalse(keys.contains { $0.hasPrefix("HELLO_BUNDLE_") || $0 == "HELLO_ENTRY" }, "\(keys)")
        }
        XCTAssertGreaterThan(acceptedCount, 500)
        XCTAssertGreaterThan(refusedCount, 500)
    }

    /// Every occurrence of a layer root in `s` starts a path (up to the next separator) that,
    /// normalised lexically, is the root or below it.
    func assertStaysInside(
        _ s: String, _ template: String, roots: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        let bytes = Array(s.utf8)
        for root in roots {
            let r = Array(root.utf8)
            var i = 0
            while i + r.count <= bytes.count {
                defer { i += 1 }
                guard bytes[i..<(i + r.count)].elementsEqual(r) else { continue }
                var j = i
                while j < bytes.count, !EntryRules.separators.contains(bytes[j]) { j += 1 }
                XCTAssertTrue(
                    i + r.count == j || bytes[i + r.count] == 0x2F, "'\(template)': a sibling of its layer", file: file,
                    line: line)
                var parts: [Substring] = []
                for c in String(decoding: bytes[i..<j], as: UTF8.self).split(
                    separator: "/", omittingEmptySubsequences: true)
                {
                    if c == "." { continue }
                    if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
                    parts.append(c)
                }
                let normalised = "/" + parts.joined(separator: "/")
                XCTAssertTrue(
                    normalised == root || normalised.hasPrefix(root + "/"),
                    "'\(template)' -> '\(s)': '\(normalised)' is outside \(root)", file: file, line: line)
            }
        }
    }
}
