import Foundation
import XCTest
import BundleBuilder
import TestSupport

/// The SBOM's native libraries come from scanning, so adding one to a build makes it appear.
final class NativeLibraryScanTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("libscan", subdirectories: ["tree/lib"]) }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    func gcc(_ args: [String]) throws {
        let o = try ProcessRunner.run("/usr/bin/gcc", args)
        XCTAssertEqual(o.status, 0, "gcc \(args): \(o.stderr)")
    }

    func testAnAddedLibraryAppearsWithVersionAndDigest() throws {
        // A library nobody packaged, and a program that needs it under a name that does not
        // look like a library file (found through DT_NEEDED).
        try "int dgmo_scan_probe(void) { return 7; }\n".write(
            toFile: dir + "/probe.c", atomically: true, encoding: .utf8)
        try gcc([
            "-shared", "-fPIC", "-Wl,-soname,libdgmoprobe.so.3", "-o", dir + "/tree/lib/libdgmoprobe.so.3",
            dir + "/probe.c",
        ])
        try "int dgmo_other(void) { return 1; }\n".write(toFile: dir + "/other.c", atomically: true, encoding: .utf8)
        try gcc([
            "-shared", "-fPIC", "-Wl,-soname,plugin-core.bin", "-o", dir + "/tree/lib/plugin-core.bin",
            dir + "/other.c",
        ])
        try "int dgmo_other(void); int main(void) { return dgmo_other(); }\n".write(
            toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        try gcc(["-o", dir + "/tree/app", dir + "/main.c", dir + "/tree/lib/plugin-core.bin"])
        // A library Debian installed (libsodium, which the build needs anyway), copied in unchanged.
        let sodium = try XCTUnwrap(
            ["/usr/lib/x86_64-linux-gnu/libsodium.so.23", "/lib/x86_64-linux-gnu/libsodium.so.23"]
                .first { FileManager.default.fileExists(atPath: $0) },
            "libsodium23 is installed (a dependency of libsodium-dev)")
        let real = try XCTUnwrap(realpath(sodium, nil))
        defer { free(real) }
        try FileManager.default.copyItem(atPath: String(cString: real), toPath: dir + "/tree/lib/libsodium.so.23")

        let libs = NativeLibraryScan.staged([(prefix: "", directory: dir + "/tree")])
        XCTAssertEqual(libs.map(\.location), ["lib/libdgmoprobe.so.3", "lib/libsodium.so.23", "lib/plugin-core.bin"])

        let probe = try XCTUnwrap(libs.first { $0.fileName == "libdgmoprobe.so.3" })
        XCTAssertEqual(probe.name, "libdgmoprobe")
        XCTAssertEqual(probe.version, "3")
        XCTAssertEqual(probe.purl, "pkg:generic/libdgmoprobe@3")
        XCTAssertTrue(probe.evidence.contains("file name only"))
        XCTAssertEqual(probe.sha256.count, 64)

        let s = try XCTUnwrap(libs.first { $0.fileName == "libsodium.so.23" })
        XCTAssertEqual(s.name, "libsodium")
        XCTAssertTrue(s.version.hasPrefix("1.0.18"), s.version)
        XCTAssertTrue(s.purl.hasPrefix("pkg:deb/debian/libsodium23@1.0.18"), s.purl)
        XCTAssertEqual(s.license, "ISC")
        XCTAssertTrue(libs.contains { $0.fileName == "plugin-core.bin" }, "found through the program's DT_NEEDED")
    }

    /// The launcher's C library is musl from the pinned zig: its version is read from zig's own
    /// copy of musl, and the evidence names the pin.
    func testTheLaunchersCLibraryIsMuslFromThePinnedZig() throws {
        let root = try Self.fakeZig(dir: dir, musl: "1.2.5")
        try "ziglang==0.17.1 \\\n    --hash=sha256:\(String(repeating: "ab", count: 32))\n".write(
            toFile: dir + "/req.txt", atomically: true, encoding: .utf8)
        let musl = try XCTUnwrap(NativeLibraryScan.musl(zigRoot: root, requirements: dir + "/req.txt"))
        XCTAssertEqual(musl.name, "musl")
        XCTAssertEqual(musl.version, "1.2.5")
        XCTAssertEqual(musl.purl, "pkg:generic/musl@1.2.5")
        XCTAssertEqual(musl.license, "MIT")
        XCTAssertEqual(musl.sha256, String(repeating: "ab", count: 32))
        XCTAssertTrue(musl.evidence.contains("zig 0.17.1"), musl.evidence)
        XCTAssertNil(
            NativeLibraryScan.musl(zigRoot: dir + "/none", requirements: dir + "/req.txt"), "no zig: nothing invented")
    }

    static func fakeZig(dir: String, musl: String) throws -> String {
        let root = dir + "/ziglang"
        try FileManager.default.createDirectory(
            atPath: root + "/lib/libc/musl/src/internal", withIntermediateDirectories: true)
        try "#define VERSION \"\(musl)\"\n".write(
            toFile: root + "/lib/libc/musl/src/internal/version.h", atomically: true, encoding: .utf8)
        return root
    }

    func testTheLaunchersLinkLineIsReadFromTheModuleMaps() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources").path
        let maps = NativeLibraryScan.moduleMaps(in: sources)
        XCTAssertGreaterThanOrEqual(maps.count, 4, "\(maps)")
        let libs = NativeLibraryScan.linked(moduleMaps: maps)
        XCTAssertEqual(Set(libs.map(\.name)), ["libsodium", "libzstd", "xz-utils", "zlib"])
        for l in libs {
            XCTAssertTrue(l.purl.hasPrefix("pkg:deb/debian/"), l.purl)
            XCTAssertFalse(l.version.isEmpty)
            XCTAssertEqual(l.sha256.count, 64)
        }
        // A module map that links one more library: it appears.
        try FileManager.default.createDirectory(atPath: dir + "/CExtra", withIntermediateDirectories: true)
        try "module CExtra [system] {\n    header \"shim.h\"\n    link \"bz2\"\n    export *\n}\n"
            .write(toFile: dir + "/CExtra/module.modulemap", atomically: true, encoding: .utf8)
        let more = NativeLibraryScan.linked(moduleMaps: maps + NativeLibraryScan.moduleMaps(in: dir))
        if FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libbz2.a") {
            XCTAssertTrue(more.contains { $0.name == "bzip2" && $0.fileName == "libbz2.a" }, "\(more.map(\.name))")
        } else {
            XCTAssertEqual(more.count, libs.count, "no libbz2.a to link: nothing invented")
        }
    }
}
