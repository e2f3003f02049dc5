import Foundation
import XCTest
import TestSupport

/// scripts/lib/libc-root.sh on a machine with a foreign architecture added: there a bare
/// `dpkg-query -L libc6` fails ("ambiguous package name 'libc6' with more than one installed
/// instance"). Adding an architecture to this shared machine would change apt for everyone, so
/// the test puts a `dpkg-query` first in PATH that answers a bare `libc6` exactly as dpkg does
/// then, and passes every other call to the real one.
final class LibcRootTests: XCTestCase {
    func testLibcRootNamesTheNativeArchitecture() throws {
        try require(getuid() == 0, "needs root (make_libc_root runs mknod): run make test as root")
        let dir = try Harness.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Harness.write(
            """
            #!/bin/sh
            # dpkg-query as it answers with libc6:amd64 and libc6:arm64 both installed.
            for a in "$@"; do
              if [ "$a" = libc6 ]; then
                echo "dpkg-query: error: --listfiles needs a valid package name but 'libc6' is not: ambiguous package name 'libc6' with more than one installed instance" >&2
                exit 2
              fi
            done
            exec /usr/bin/dpkg-query "$@"
            """, to: dir + "/bin/dpkg-query", mode: 0o755)
        let lib = Harness.packageRoot.appendingPathComponent("scripts/lib/libc-root.sh").path
        let path = dir + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

        // The shim really reproduces the failure the old script hit.
        let bare = try Harness.run("/bin/bash", ["-c", "dpkg-query -L libc6"], env: ["PATH": path])
        XCTAssertEqual(bare.status, 2)
        XCTAssertTrue(bare.stderr.contains("ambiguous package name 'libc6'"), bare.stderr)

        let o = try Harness.run(
            "/bin/bash", ["-c", "set -euo pipefail; . \"$0\"; make_libc_root \"$1\"", lib, dir + "/root"],
            env: ["PATH": path])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stderr, "")
        let libc = dir + "/root/usr/lib/x86_64-linux-gnu/libc.so.6"
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: libc)
                || FileManager.default.fileExists(atPath: dir + "/root/lib/x86_64-linux-gnu/libc.so.6"),
            "the root holds the C library")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/root/dev/null"))
        // install-test.sh names the package the same way for dpkg-query -s and -L.
        let installTest = try String(
            contentsOf: Harness.packageRoot.appendingPathComponent("scripts/install-test.sh"), encoding: .utf8)
        XCTAssertFalse(
            installTest.contains("dpkg-query -s libc6 ") || installTest.contains("dpkg-query -L libc6 "),
            "install-test.sh uses a bare libc6")
    }
}
