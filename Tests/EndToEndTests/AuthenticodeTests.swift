import Foundation
import XCTest
import BundleFormat
import TestSupport

/// A windows-x64 bundle signed with Authenticode after it was built (docs/format.md, "Finding the
/// trailer"; docs/security.md, "Authenticode"): osslsigncode appends its certificate table after the
/// trailer, and every reader finds the trailer before that table. The stub is a real PE program,
/// compiled with the pinned zig for x86_64-windows-gnu with the key slot of Sources/CKeySlot (the
/// Windows launcher is not built here); the certificate is a self-signed one made by the test.
final class AuthenticodeTests: XCTestCase {
    var dir = ""
    /// The bundle as built, and as signed by osslsigncode.
    var built = "", signed = ""

    static let source = """
        #include "CKeySlot.h"
        int main(void) { return ckeyslot_bytes()[32]; }

        """

    /// The PE stub, compiled once per run (zig's first Windows build takes minutes: it builds mingw's C library).
    static let peStub: Result<String, Error> = Result {
        let dir = try TempDir.make("authenticode-stub")
        try Harness.write(source, to: dir + "/stub.c")
        let script = """
            set -e
            . scripts/lib/zig-toolchain.sh
            zig_toolchain
            $ZIG_CC -target x86_64-windows-gnu -O2 -I Sources/CKeySlot/include -o "$1/stub.exe" "$1/stub.c" \
              Sources/CKeySlot/keyslot.c
            """
        // The caller's environment: zig keeps its cache (mingw's build) under the real HOME.
        let o = try ProcessRunner.run(
            "/bin/bash", ["-c", script, "zig-cc", dir], environment: ProcessInfo.processInfo.environment,
            cwd: Harness.packageRoot.path, timeout: 1800)
        guard o.status == 0 else {
            throw Harness.SetupError(
                description: "zig cc for x86_64-windows-gnu failed (status \(o.status)): \(o.stderr)")
        }
        return dir + "/stub.exe"
    }

    static func which(_ program: String) -> String? {
        ["/usr/local/bin", "/usr/bin", "/bin"].map { $0 + "/" + program }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    override func setUpWithError() throws {
        guard Self.which("osslsigncode") != nil else {
            throw XCTSkip(
                "osslsigncode is not installed (scripts/install-deps.sh installs it; apt-get install osslsigncode)")
        }
        let stub = try Self.peStub.get()
        dir = try Harness.makeTempDir()
        try FileManager.default.createDirectory(atPath: dir + "/app", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: stub, toPath: dir + "/app/run.exe")
        try Harness.write(String(repeating: "read me\n", count: 100), to: dir + "/app/readme.txt")
        try Harness.write(
            """
            [bundle]
            name = "win"
            version = "1.0"
            [layers.app]
            path = "app"
            [entries.win]
            exec = ["{app}/run.exe"]
            """, to: dir + "/win.toml")
        try Harness.tool(["keygen", dir + "/k"])
        built = dir + "/built.exe"
        signed = dir + "/signed.exe"
        try Harness.tool([
            "build", dir + "/win.toml", "-o", built, "--key", dir + "/k.key", "--stub", stub, "--target",
            "windows-x64", "-q",
        ])
        let cert = try Harness.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bundle test", "-days", "2",
                "-keyout", dir + "/cert.key", "-out", dir + "/cert.pem",
            ])
        XCTAssertEqual(cert.status, 0, cert.stderr)
        try sign(built, to: signed)
    }

    override func tearDownWithError() throws { if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) } }

    func sign(_ input: String, to output: String) throws {
        let o = try Harness.run(
            Self.which("osslsigncode")!,
            ["sign", "-certs", dir + "/cert.pem", "-key", dir + "/cert.key", "-in", input, "-out", output])
        XCTAssertEqual(o.status, 0, "osslsigncode sign: \(o.stdout) \(o.stderr)")
    }

    func osslsigncodeVerify(_ file: String) throws -> ProcessOutput {
        try Harness.run(Self.which("osslsigncode")!, ["verify", "-CAfile", dir + "/cert.pem", "-in", file])
    }

    func verify(_ file: String) throws -> ProcessOutput {
        try Harness.run(Harness.tool, ["verify", file, "--pubkey", dir + "/k.pub"])
    }

    /// The file's location and trailer, read as BundleFile reads them.
    func trailer(_ bytes: [UInt8]) throws -> (TrailerLocation, Trailer) {
        let location = try TrailerLocation(
            prefix: Array(bytes.prefix(TrailerLocation.prefixLength)), fileSize: UInt64(bytes.count))
        let end = Int(location.end)
        return (location, try Trailer(decoding: Array(bytes[end - Trailer.size..<end]), fileSize: location.end))
    }

    func testSignedBundleIsReadBeforeItsCertificateTable() throws {
        let before = try Harness.bytes(built), after = try Harness.bytes(signed)
        XCTAssertEqual(before.count % 8, 0, "bundle-append pads a PE bundle to 8 bytes")
        XCTAssertEqual(try osslsigncodeVerify(signed).status, 0, "osslsigncode verify accepts the signed bundle")

        // osslsigncode appended its table right after the trailer (no padding) and changed only the
        // PE checksum and data directory 4 in the headers: the key slot and everything else are as built.
        let (location, t) = try trailer(after)
        let table = try XCTUnwrap(location.certificateTable)
        XCTAssertEqual(table.lowerBound, UInt64(before.count))
        XCTAssertEqual(table.upperBound, UInt64(after.count))
        XCTAssertEqual(t, try trailer(before).1)
        let optional = Int(UInt32(before[0x3C]) | UInt32(before[0x3D]) << 8) + 24
        let changed = (0..<before.count).filter { before[$0] != after[$0] }
        let allowed = Set(optional + 64..<optional + 68).union(optional + 144..<optional + 152)
        XCTAssertFalse(changed.isEmpty)
        XCTAssertTrue(Set(changed).isSubset(of: allowed), "bytes changed by signing: \(changed)")

        let inspect = try Harness.tool(["inspect", signed])
        XCTAssertTrue(inspect.stdout.contains("target:         windows-x64"), inspect.stdout)
        XCTAssertTrue(
            inspect.stdout.contains("authenticode:   certificate table of"),
            "inspect names the table: \(inspect.stdout)")
        XCTAssertFalse(try Harness.tool(["inspect", built]).stdout.contains("authenticode:"))
        let json = try Harness.tool(["inspect", "--json", signed]).stdout
        XCTAssertTrue(json.contains("\"certificateTableSize\" : \(table.count)"), json)
        let v = try verify(signed)
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stdout.contains("OK — win 1.0 for windows-x64"), v.stdout)
        try Harness.tool(["extract", signed, dir + "/out"])
        XCTAssertEqual(
            try Harness.bytes(dir + "/out/app/run.exe"), try Harness.bytes(dir + "/app/run.exe"),
            "the layer extracted from the signed bundle")

        // Signed twice (osslsigncode replaces the table): still read.
        try sign(signed, to: dir + "/resigned.exe")
        XCTAssertEqual(try verify(dir + "/resigned.exe").status, 0)
    }

    func testTamperedSignedBundleIsRefused() throws {
        let bytes = try Harness.bytes(signed)
        let (_, t) = try trailer(bytes)
        // A byte of the manifest header: our Ed25519 signature fails (and Authenticode's too).
        var header = bytes
        header[Int(t.header.lowerBound) + 10] ^= 0x01
        try Harness.writeBytes(header, to: dir + "/header.exe")
        assertFailed(try verify(dir + "/header.exe"), status: 1, mentioning: "signature verification failed")
        XCTAssertNotEqual(try osslsigncodeVerify(dir + "/header.exe").status, 0)
        // A byte of the layer: its frame's signed digest fails.
        var layer = bytes
        layer[Int(t.layers.lowerBound) + 20] ^= 0x01
        try Harness.writeBytes(layer, to: dir + "/layer.exe")
        let o = try verify(dir + "/layer.exe")
        XCTAssertEqual(o.status, 1, o.stdout + o.stderr)
        XCTAssertTrue(o.stderr.contains("digest"), o.stderr)
    }

    func testBytesAfterTheCertificateTableAreRefused() throws {
        let appended = dir + "/appended.exe"
        try Harness.writeBytes(try Harness.bytes(signed) + Array("trailing junk".utf8), to: appended)
        let needle = "13 bytes follow its certificate table"
        assertFailed(try Harness.run(Harness.tool, ["inspect", appended]), status: 1, mentioning: needle)
        assertFailed(try verify(appended), status: 1, mentioning: needle)
        assertFailed(try Harness.run(Harness.tool, ["extract", appended, dir + "/out"]), status: 1, mentioning: needle)
        // A table cut short: it runs past the end of the file.
        let cut = dir + "/cut.exe"
        try Harness.writeBytes(Array(try Harness.bytes(signed).dropLast(8)), to: cut)
        assertFailed(try verify(cut), status: 1, mentioning: "runs past the end of the file")
    }

    /// The launcher (Embedded Swift, its own BundleFile) reads the signed PE bundle too: a linux
    /// bundle's `--launcher verify-file` gets as far as the manifest's target.
    func testLauncherReadsTheSignedBundle() throws {
        try Harness.tool(["sign", signed, "--key", dir + "/k.key"])
        try Harness.write("#!/bin/sh\necho linux\n", to: dir + "/lin/run", mode: 0o755)
        try Harness.write(
            """
            [bundle]
            name = "win"
            version = "1.0"
            [layers.lin]
            path = "lin"
            [entries.win]
            exec = ["/bin/sh", "{lin}/run"]
            """, to: dir + "/lin.toml")
        let launcher = dir + "/win"
        try Harness.tool([
            "build", dir + "/lin.toml", "-o", launcher, "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
        let env = ["WIN_LAUNCHER_CACHE_DIR": dir + "/cache"]
        assertFailed(
            try Harness.run(launcher, ["--launcher", "verify-file", signed], env: env), status: 125,
            mentioning: "is a bundle for windows-x64, and this launcher is for linux-x64")
        let appended = dir + "/appended.exe"
        try Harness.writeBytes(try Harness.bytes(signed) + [0], to: appended)
        try Harness.tool(["sign", appended, "--key", dir + "/k.key"])
        assertFailed(
            try Harness.run(launcher, ["--launcher", "verify-file", appended], env: env), status: 125,
            mentioning: "1 byte follow its certificate table")
    }

    /// A stub that is itself Authenticode-signed is refused at build: its table would sit between
    /// the stub and the layers.
    func testSignedStubIsRefusedAtBuild() throws {
        try sign(try Self.peStub.get(), to: dir + "/signed-stub.exe")
        assertFailed(
            try Harness.run(
                Harness.tool,
                [
                    "build", dir + "/win.toml", "-o", dir + "/x.exe", "--key", dir + "/k.key", "--stub",
                    dir + "/signed-stub.exe", "--target", "windows-x64", "-q",
                ]), status: 1, mentioning: "the stub is Authenticode-signed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.exe"))
    }
}
