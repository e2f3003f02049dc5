import Foundation
import XCTest

/// `make release`'s scripts end to end: two plain builds from scratch (no SOURCE_DATE_EPOCH set:
/// every tool takes the last commit's time) give byte-identical artifacts; the packages pass
/// lintian and rpmlint (scripts/lint-packages.sh, run by release.sh); checksums and signatures
/// verify with the tools people have (sha256sum, minisign); the .deb and .rpm install into fresh
/// roots and run.
/// Uses dev compression and the debug tools (`make reproducible` does the same with release settings).
final class ReleaseTests: XCTestCase {
    func testReleaseIsReproducibleVerifiableAndInstallable() throws {
        guard getuid() == 0 else { throw XCTSkip("the install part needs root (chroot, mount)") }
        let root = Harness.packageRoot.path
        let keep = try Harness.makeTempDir() + "/release"
        defer { try? FileManager.default.removeItem(atPath: (keep as NSString).deletingLastPathComponent) }
        // No SOURCE_DATE_EPOCH: Harness.run passes only what is listed here.
        let env = [
            "BIN": Harness.binDir, "DGMO_BUILD_FLAGS": "", "REPRO_KEEP": keep,
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let repro = try Harness.run(
            "/bin/bash", [root + "/scripts/reproducibility-test.sh"], env: env, cwd: root, timeout: 1800)
        XCTAssertEqual(repro.status, 0, repro.stdout + repro.stderr)
        XCTAssertTrue(repro.stdout.contains("every artifact is byte-identical"), repro.stdout)
        XCTAssertTrue(
            repro.stdout.contains("SOURCE_DATE_EPOCH unset: every tool uses the last commit's time"), repro.stdout)
        XCTAssertEqual(
            repro.stderr.components(separatedBy: "lint-packages: clean").count - 1, 2,
            "lintian and rpmlint clean in both builds: \(repro.stderr)")
        // The build time everywhere is the last commit's: in the binary, its SBOM and the packages.
        let commitTime = try Harness.run("/usr/bin/git", ["log", "-1", "--format=%ct"], cwd: root).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let bin = try XCTUnwrap(
            try FileManager.default.contentsOfDirectory(atPath: keep).first { $0.hasSuffix("-linux-x64") })
        let cache = (keep as NSString).deletingLastPathComponent + "/cache"
        let info = try Harness.run(
            keep + "/" + bin, ["--launcher", "info", "--json"], env: ["DGMO_CACHE_DIR": cache])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("\"buildTime\":\(commitTime),"), info.stdout + info.stderr)
        XCTAssertTrue(repro.stdout.contains("identical  dgmo-linux-arm64\n"), repro.stdout)
        for kind in [".deb", ".rpm", ".tar.gz", ".tar.xz", "cdx.json"] {
            XCTAssertTrue(
                repro.stdout.contains("identical  release/") && repro.stdout.contains(kind), "compared \(kind)")
        }

        let files = try FileManager.default.contentsOfDirectory(atPath: keep).sorted()
        let artifacts = files.filter { !$0.hasSuffix(".minisig") && $0 != "dgmo.pub" }
        // linux-x64 and linux-arm64: binary, SBOM, .tar.gz, .tar.xz, .deb, .rpm each; one checksums file.
        XCTAssertEqual(artifacts.count, 13, "\(files)")
        for arm64 in [
            "-linux-arm64", "-linux-arm64.cdx.json", "-linux-arm64.tar.gz", "-linux-arm64.tar.xz", "_arm64.deb",
            ".aarch64.rpm",
        ] {
            XCTAssertTrue(artifacts.contains { $0.hasSuffix(arm64) }, "an arm64 artifact *\(arm64): \(artifacts)")
        }
        let sums = try Harness.run("/usr/bin/sha256sum", ["-c", "checksums.sha256"], cwd: keep)
        XCTAssertEqual(sums.status, 0, sums.stdout + sums.stderr)
        XCTAssertEqual(sums.stdout.components(separatedBy: ": OK\n").count - 1, 12, sums.stdout)
        for a in artifacts {
            XCTAssertTrue(files.contains(a + ".minisig"), "\(a) has a signature")
            let v = try Harness.run("/usr/bin/minisign", ["-Vm", a, "-p", "dgmo.pub"], cwd: keep)
            XCTAssertEqual(v.status, 0, "minisign -V \(a): \(v.stderr)")
        }

        // Package metadata: the glibc floor measured from the files the binary carries, not a hand-written one.
        let binary = try XCTUnwrap(artifacts.first { $0.hasPrefix("dgmo-") && $0.hasSuffix("-linux-x64") })
        let floor = try Harness.run(
            "/bin/bash", [root + "/scripts/lib/glibc-floor.sh", keep + "/" + binary], env: env, timeout: 300)
        XCTAssertEqual(floor.status, 0, floor.stderr)
        let measured = floor.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(measured, "2.17", "GlibcFloorTests checks the floor itself")
        let deb = try XCTUnwrap(artifacts.first { $0.hasSuffix("_amd64.deb") }),
            rpm = try XCTUnwrap(artifacts.first { $0.hasSuffix(".x86_64.rpm") })
        XCTAssertEqual(
            try Harness.run("/usr/bin/dpkg-deb", ["-f", keep + "/" + deb, "Depends"]).stdout, "libc6 (>= \(measured))\n"
        )
        let requires = try Harness.run("/usr/bin/rpm", ["-qp", "--requires", keep + "/" + rpm], env: env).stdout
        XCTAssertTrue(requires.split(separator: "\n").contains("glibc >= \(measured)"), requires)

        let install = try Harness.run(
            "/bin/bash", [root + "/scripts/install-test.sh", keep], env: env, cwd: root, timeout: 600)
        XCTAssertEqual(install.status, 0, install.stdout + install.stderr)
        XCTAssertTrue(
            install.stdout.contains("dpkg -r: removed cleanly") && install.stdout.contains("rpm -e: removed cleanly"),
            install.stdout)
        XCTAssertEqual(
            install.stdout.components(separatedBy: "DGMO v").count - 1, 4,
            "x64 and arm64 (under qemu), .deb and .rpm: \(install.stdout)")
    }
}
