import Foundation
import XCTest

/// What distro tools and scanners say about the release (issue 15, items 2 and 4): the workflow
/// passes actionlint, and the SBOM of the DGMO binary passes CycloneDX's official validator with a
/// license and purl on every component and the native libraries found by scanning.
/// The checkers are pinned in packaging/lint/requirements.txt; `make test` installs them
/// (scripts/install-deps.sh --release) into .build-lint/venv.
final class ReleaseLintTests: XCTestCase {
    static let venv = Harness.packageRoot.appendingPathComponent(".build-lint/venv").path

    func checker(_ name: String) throws -> String {
        let path = Self.venv + "/bin/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: run 'scripts/install-deps.sh --release' (make test does)")
            throw XCTSkip("no \(name)")
        }
        return path
    }

    func testWorkflowPassesActionlint() throws {
        let root = Harness.packageRoot.path
        let workflow = root + "/.github/workflows/release.yml"
        // shellcheck (install-deps) lets actionlint check the run: scripts too.
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/shellcheck"), "shellcheck is installed")
        let o = try Harness.run(try checker("actionlint"), ["-no-color", workflow], cwd: root)
        XCTAssertEqual(o.status, 0, "actionlint:\n" + o.stdout + o.stderr)
        XCTAssertEqual(o.stdout, "")

        // What actionlint does not judge: no red placeholder job, write access only where it publishes,
        // secrets only through env:, apt-get install only after apt-get update.
        let text = try String(contentsOfFile: workflow, encoding: .utf8)
        XCTAssertFalse(text.contains("exit 1"), "no job fails on purpose")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var job = ""
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                job = line.trimmingCharacters(in: .whitespaces)
            }
            if line.contains("contents: write") {
                XCTAssertEqual(job, "publish:", "line \(i + 1): write permission outside publish")
            }
            if line.contains("${{ secrets.") {
                XCTAssertTrue(
                    line.trimmingCharacters(in: .whitespaces).range(
                        of: #"^[A-Z0-9_]+: \$\{\{ secrets\.[A-Z0-9_]+ \}\}$"#, options: .regularExpression) != nil,
                    "line \(i + 1): a secret used outside env: \(line)")
            }
            if line.contains("apt-get install") {
                XCTAssertTrue(
                    lines[..<i].contains { $0.contains("apt-get update") },
                    "line \(i + 1): apt-get install before apt-get update")
            }
        }
    }

    func testSBOMIsValidCycloneDXWithLicensesPurlsAndScannedNativeLibraries() throws {
        try Harness.requireDGMOBinary()
        let binary = DGMOTests.binary
        let dir = try Harness.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let o = try Harness.run(binary, ["--launcher", "sbom"], env: ["DGMO_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.status, 0, o.stderr)
        try o.stdout.write(toFile: dir + "/sbom.json", atomically: true, encoding: .utf8)

        // The official validator, strict, against the 1.5 schema.
        let validate = """
            import sys
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
            errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
            print("INVALID", errors) if errors else print("VALID")
            """
        let v = try Harness.run(try checker("python"), ["-c", validate, dir + "/sbom.json"])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual(v.stdout, "VALID\n", v.stdout + v.stderr)

        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        let components = try XCTUnwrap(doc["components"] as? [[String: Any]])
        for c in components {
            let name = c["name"] as? String ?? "?"
            XCTAssertFalse((c["purl"] as? String ?? "").isEmpty, "\(name) has a purl")
            XCTAssertFalse((c["version"] as? String ?? "").isEmpty, "\(name) has a version")
            let licenses = c["licenses"] as? [[String: Any]] ?? []
            XCTAssertEqual(licenses.count, 1, "\(name) has a license")
            XCTAssertFalse((c["hashes"] as? [[String: String]] ?? []).isEmpty, "\(name) has a hash")
        }
        for tool in ["dgmo-file-watcher", "dgmo-process-manager", "dgmo-system-info"] {
            XCTAssertTrue(
                components.contains {
                    $0["name"] as? String == tool && ($0["purl"] as? String)?.hasPrefix("pkg:") == true
                }, tool)
        }
        // Shipped in the Python engine, and linked into the launcher: found by scanning.
        let descriptions = components.map { "\($0["name"] ?? "") \($0["description"] ?? "")" }
        for lib in ["libbz2.so", "liblzma.so", "libz.so", "libuuid.so", "libgcc_s.so"] {
            XCTAssertTrue(descriptions.contains { $0.contains(lib) && $0.contains("shipped at") }, "\(lib) listed")
        }
        for (name, archive) in [
            ("musl", "libc.a"), ("libsodium", "libsodium.a"), ("libzstd", "libzstd.a"), ("xz-utils", "liblzma.a"),
            ("zlib", "libz.a"),
        ] {
            XCTAssertTrue(
                descriptions.contains { $0.hasPrefix(name + " " + archive + " linked statically into the launcher") },
                "\(name) (\(archive)) listed: \(descriptions)")
        }
        // The timestamp is the build time: SOURCE_DATE_EPOCH or the last commit, never the clock of a later run.
        let info = try Harness.run(binary, ["--launcher", "info", "--json"], env: ["DGMO_CACHE_DIR": dir + "/cache"])
        let buildTime = try XCTUnwrap(
            (JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])?["buildTime"] as? Int)
        let f = ISO8601DateFormatter()
        XCTAssertEqual(
            (doc["metadata"] as? [String: Any])?["timestamp"] as? String,
            f.string(from: Date(timeIntervalSince1970: TimeInterval(buildTime))))
    }
}
