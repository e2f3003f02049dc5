import Foundation
import XCTest

/// The libc6 pinned in examples/dgmo/glibc.lock stops being served at Debian's next point release.
/// A fresh machine must then get one clear line naming the version apt serves now, its SHA-256 and
/// the command that moves the lock to it — not apt-get's "Version ... was not found" after minutes
/// of toolchain installs — and scripts/install-deps.sh must notice the unserved pin (it refreshes
/// apt's index for it). Uses apt's real index (scripts/install-deps.sh keeps it current).
final class GlibcLockTests: XCTestCase {
    /// A version Debian never served, so this stays an "unserved pin" for as long as the test lives.
    static let unserved = "2.17-0+dgmo.unserved"
    var dir = ""

    override func setUpWithError() throws { dir = try Harness.makeTempDir() }
    override func tearDownWithError() throws { if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) } }

    /// A copy of the example whose glibc.lock pins `version`.
    func sourceTree(pinning version: String) throws -> String {
        let src = dir + "/src"
        let example = Harness.packageRoot.appendingPathComponent("examples/dgmo").path
        XCTAssertEqual(try Harness.run("/bin/cp", ["-r", example, src]).status, 0)
        try? FileManager.default.removeItem(atPath: src + "/node_modules")
        let lock = src + "/glibc.lock"
        let text = try String(contentsOfFile: lock, encoding: .utf8)
        let pinned = text.replacingOccurrences(
            of: #"(?m)^libc6==[^ ]*"#, with: "libc6==\(version)", options: .regularExpression)
        XCTAssertNotEqual(pinned, text)
        try pinned.write(toFile: lock, atomically: true, encoding: .utf8)
        return src
    }

    /// What apt itself says it would download for libc6:amd64: its candidate version and that .deb's SHA-256.
    func aptCandidate() throws -> (version: String, sha256: String) {
        let policy = try Harness.run("/usr/bin/apt-cache", ["policy", "libc6:amd64"])
        let candidate = try XCTUnwrap(
            policy.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("Candidate: ") }
        ).dropFirst("Candidate: ".count)
        let show = try Harness.run("/usr/bin/apt-cache", ["show", "libc6:amd64=\(candidate)"])
        let sha = try XCTUnwrap(
            show.stdout.split(separator: "\n").first { $0.hasPrefix("SHA256: ") },
            "apt's index has no download for libc6 \(candidate): \(show.stdout)")
        return (String(candidate), String(sha.dropFirst("SHA256: ".count)))
    }

    func testUnservedPinNamesTheServedVersionItsHashAndTheLockUpdate() throws {
        let src = try sourceTree(pinning: Self.unserved)
        let lock = src + "/glibc.lock"
        let o = try Harness.run(
            Harness.binDir + "/dgmo-build",
            ["--source", src, "--work", dir + "/work", "-o", dir + "/out", "--stub", Harness.stub],
            cwd: dir, timeout: 120)
        XCTAssertEqual(o.status, 1, o.stderr)
        let errors = o.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        XCTAssertEqual(errors.count, 1, "one error line: \(o.stderr)")
        let line = String(errors.first ?? "")
        let served = try aptCandidate()
        XCTAssertTrue(line.contains("pins libc6 \(Self.unserved)"), line)
        XCTAssertTrue(
            line.contains("offers \(served.version) from http"), "names the version and where it comes from: \(line)")
        XCTAssertTrue(line.contains("with SHA-256 \(served.sha256)"), line)
        XCTAssertFalse(o.stderr.contains("was not found"), "apt-get's own error is not what the user sees: \(o.stderr)")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir + "/work/toolchain"),
            "reported before the toolchain is installed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "nothing was built")

        // The command the line gives, run as printed, moves the lock to exactly what apt serves
        // and leaves the rest of the file (its comments) as it was.
        let start = try XCTUnwrap(line.range(of: "run: "), line)
        let end = try XCTUnwrap(line.range(of: " (then rebuild"), line)
        let command = String(line[start.upperBound..<end.lowerBound])
        let before = try String(contentsOfFile: lock, encoding: .utf8)
        let r = try Harness.run("/bin/sh", ["-c", command], cwd: dir)
        XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
        let after = try String(contentsOfFile: lock, encoding: .utf8)
        let expected = before.replacingOccurrences(of: "libc6==\(Self.unserved)", with: "libc6==\(served.version)")
            .replacingOccurrences(
                of: #"--hash=sha256:[0-9a-f]{64}"#, with: "--hash=sha256:\(served.sha256)", options: .regularExpression)
        XCTAssertEqual(after, expected)
        XCTAssertNotEqual(after, before)
    }

    /// install-deps.sh decides whether to refresh apt's index from this check; it must say "not
    /// served" for a pin apt cannot download (apt-cache show alone exits 0 for unknown versions).
    func testInstallDepsSeesWhetherThePinIsServed() throws {
        let lib = Harness.packageRoot.appendingPathComponent("scripts/lib/glibc-pin.sh").path
        func served(_ lock: String) throws -> Int32 {
            try Harness.run("/bin/bash", ["-c", ". '\(lib)'; glibc_pin_served \"$1\"", "-", lock]).status
        }
        let src = try sourceTree(pinning: Self.unserved)
        XCTAssertEqual(try served(src + "/glibc.lock"), 1, "an unserved pin is noticed")
        let candidate = try aptCandidate()
        let current = dir + "/current.lock"
        try Harness.write("libc6==\(candidate.version) \\\n    --hash=sha256:\(candidate.sha256)\n", to: current)
        XCTAssertEqual(try served(current), 0, "the version apt serves is served")
    }
}
