import Foundation
import XCTest
import TestSupport

/// bundle-append's own release archive (issue 28, item 1): a packager with only the archive, no
/// source tree, builds and runs a bundle. scripts/tool-archive.sh builds the static tool (its own
/// scratch path, so a release build of several minutes the first time: SLOW_TESTS) and packs it with
/// the debug linux-x64 stub, stripped (STUB_TARGETS=linux-x64; the release packs all three targets'
/// release stubs). The archive is copied away, unpacked, and the tool run through a symlink in another
/// directory, from another working directory, with no BUNDLE_APPEND_STUB. As root it also runs in a
/// root holding only the C library (scripts/lib/libc-root.sh): no Swift, no -dev libraries.
final class ToolReleaseTests: XCTestCase {
    func testTheArchiveAloneBuildsAndRunsABundle() throws {
        let root = Harness.packageRoot.path
        try require(
            FileManager.default.isExecutableFile(atPath: Harness.stub),
            "no linux-x64 stub at \(Harness.stub): run 'make check' or 'make test' (they build it)")
        let dir = try Harness.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = root + "/scripts/tool-archive.sh"

        // The build needs swift (and gcc, readelf) from the caller's PATH. Unoptimised: the link and
        // the layout are what is tested, and a release build of Foundation's users costs minutes more.
        let built = try Harness.run(
            script, ["build", dir + "/tool/bundle-append"],
            env: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "TOOL_CONFIG": "debug"],
            cwd: root, timeout: 3600)
        guard built.status == 0 else { return XCTFail("tool-archive.sh build: \(built.stderr)") }
        let needed = try Harness.run("/usr/bin/readelf", ["-d", dir + "/tool/bundle-append"])
        let libraries = needed.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.dropLast() }.map(String.init)
        XCTAssertEqual(Set(libraries), ["libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2"], needed.stdout)

        try FileManager.default.createDirectory(
            atPath: dir + "/stubs/linux-x64", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Harness.stub, toPath: dir + "/stubs/linux-x64/bundle-stub")
        // Stripped, as the release stubs are: the libc-only root below has no strip for the tool to call.
        let strip = try Harness.run("/usr/bin/strip", ["--strip-all", dir + "/stubs/linux-x64/bundle-stub"])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        let packed = try Harness.run(
            script, ["pack", dir + "/tool/bundle-append", dir + "/stubs", dir + "/dist"],
            env: ["STUB_TARGETS": "linux-x64"], cwd: root)
        guard packed.status == 0 else { return XCTFail("tool-archive.sh pack: \(packed.stderr)") }
        let archive = packed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = ((archive as NSString).lastPathComponent as NSString).deletingPathExtension
            .replacingOccurrences(of: ".tar", with: "")
        XCTAssertTrue(name.hasPrefix("bundle-append-") && name.hasSuffix("-linux-x64"), archive)

        // The packager's machine: the archive copied elsewhere, unpacked under opt/, a symlink on PATH.
        let home = dir + "/home"
        try FileManager.default.createDirectory(atPath: home + "/opt", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: archive, toPath: home + "/download.tar.gz")
        let untar = try Harness.run("/bin/tar", ["-xzf", home + "/download.tar.gz", "-C", home + "/opt"])
        XCTAssertEqual(untar.status, 0, untar.stderr)
        let unpacked = home + "/opt/" + name
        for file in [
            "bin/bundle-append", "stubs/linux-x64/bundle-stub", "README.txt", "share/doc/bundle-append/README.md",
            "share/doc/bundle-append/spec.md",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: unpacked + "/" + file), file)
        }
        try FileManager.default.createSymbolicLink(
            atPath: home + "/bin/bundle-append", withDestinationPath: "../opt/\(name)/bin/bundle-append")

        // The example, outside the source tree.
        let app = home + "/app"
        try FileManager.default.createDirectory(atPath: app + "/build/native", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/examples/hello/hello.toml", toPath: app + "/hello.toml")
        try FileManager.default.copyItem(atPath: root + "/examples/hello/scripts", toPath: app + "/scripts")
        let cc = try Harness.run(
            "/usr/bin/gcc",
            ["-static", "-O2", "-o", app + "/build/native/hello", root + "/examples/hello/hello.c"])
        XCTAssertEqual(cc.status, 0, cc.stderr)

        // By its bare name on PATH (argv[0] without a slash) and through the symlink, from app/.
        let env = ["PATH": home + "/bin:/usr/bin:/bin", "HOME": home]
        let keygen = try Harness.run("/bin/sh", ["-c", "bundle-append keygen k"], env: env, cwd: app)
        XCTAssertEqual(keygen.status, 0, keygen.stderr)
        let build = try Harness.run(
            "/bin/sh", ["-c", "bundle-append build hello.toml -o hello --key k.key"], env: env, cwd: app)
        XCTAssertEqual(build.status, 0, build.stderr)
        let run = try Harness.run(app + "/hello", ["from the archive"], env: env, cwd: home)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("argv[1] = [from the archive]"), run.stdout)
        let verify = try Harness.run(
            home + "/bin/bundle-append", ["verify", "hello", "--pubkey", "k.pub"], env: env, cwd: app)
        XCTAssertEqual(verify.status, 0, verify.stderr)

        // Without its stubs: one line naming where it looked and every way out.
        try FileManager.default.moveItem(atPath: unpacked + "/stubs", toPath: unpacked + "/stubs.away")
        let lost = try Harness.run(
            home + "/bin/bundle-append", ["build", "hello.toml", "-o", "again", "--key", "k.key"], env: env, cwd: app)
        assertFailed(lost, status: 1, mentioning: "cannot find the linux-x64 launcher stub")
        for way in [
            unpacked + "/bin/stubs/linux-x64/bundle-stub", unpacked + "/stubs/linux-x64/bundle-stub",
            unpacked + "/lib/bundle-append/stubs/linux-x64/bundle-stub", "--stub FILE", "BUNDLE_APPEND_STUB=FILE",
            "'make stubs'",
        ] {
            XCTAssertTrue(lost.stderr.contains(way), "\(way) in: \(lost.stderr)")
        }
        XCTAssertEqual(lost.stderr.split(separator: "\n").count, 1, lost.stderr)
        try FileManager.default.moveItem(atPath: unpacked + "/stubs.away", toPath: unpacked + "/stubs")

        try runInALibcOnlyRoot(unpacked: unpacked, name: name, app: app, dir: dir)
    }

    /// The unpacked tool in a root holding only Debian's libc6 files: it builds and the bundle runs.
    private func runInALibcOnlyRoot(unpacked: String, name: String, app: String, dir: String) throws {
        try require(getuid() == 0, "needs root (chroot, mknod): run make test as root")
        let root = dir + "/root"
        let lib = Harness.packageRoot.appendingPathComponent("scripts/lib/libc-root.sh").path
        let script = """
            set -euo pipefail
            . "$0"; make_libc_root "$1"
            mkdir -p "$1/opt" "$1/usr/local/bin" "$1/work/build"
            cp -a "$2" "$1/opt/"
            ln -s "/opt/$3/bin/bundle-append" "$1/usr/local/bin/bundle-append"
            cp "$4/hello.toml" "$1/work/"; cp -a "$4/scripts" "$4/build" "$1/work/"
            for tool in swift swiftc sh bash git python3; do
              if [ -n "$(find "$1" -name "$tool" | head -1)" ]; then echo "$tool in the libc root" >&2; exit 1; fi
            done
            if [ -n "$(find "$1" -name 'libsodium*' -o -name 'libswift*' -o -name 'libstdc++*' | head -1)" ]; then
              echo "a library other than the C library in the root" >&2; exit 1
            fi
            unshare -m --propagation private -- bash -c '
              set -e
              mount -t proc proc "$1/proc"
              chroot=$(command -v chroot)
              in_root() { env -i PATH=/usr/local/bin HOME=/root "$chroot" "$1" "${@:2}"; }
              in_root "$1" bundle-append keygen /work/k
              in_root "$1" bundle-append build /work/hello.toml -o /work/hello --key /work/k.key -q
              in_root "$1" /work/hello "in a libc-only root"
            ' _ "$1"
            """
        let o = try Harness.run(
            "/bin/bash", ["-c", script, lib, root, unpacked, name, app],
            env: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 600)
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("argv[1] = [in a libc-only root]"), o.stdout + o.stderr)
    }
}
