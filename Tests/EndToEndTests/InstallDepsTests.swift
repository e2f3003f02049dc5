import Foundation
import XCTest

/// scripts/install-deps.sh on a machine where the arm64 cross libraries were installed first (the
/// order it runs in: it sources arm64-toolchain.sh, then checks the host's packages). There a bare
/// `dpkg-query -W libsodium-dev` answers for the arm64 instance, so the old check skipped the amd64
/// headers and static libraries and `make demo` failed on a new machine with "cannot find -lsodium".
///
/// Adding an architecture to this shared machine changes apt for everyone, so, as LibcRootTests does,
/// the test puts shims first in PATH: a `dpkg-query` that answers exactly as dpkg does for that state
/// (amd64 has every package but libsodium-dev and libzstd-dev; arm64 has the four C libraries), a
/// `dpkg` with arm64 as its foreign architecture, and an `apt-get` that records what it was asked to
/// install instead of installing it.
final class InstallDepsTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        let bin = dir + "/bin"
        try Harness.write(
            """
            #!/bin/sh
            # dpkg-query -W -f='${Status}' SPEC as dpkg answers with: every package installed for amd64
            # but libsodium-dev and libzstd-dev; the four C libraries installed for arm64.
            spec=""
            for a in "$@"; do case "$a" in -*) ;; *) spec=$a ;; esac; done
            found() { printf 'install ok installed'; exit 0; }
            case "$spec" in
              libsodium-dev:amd64|libzstd-dev:amd64) ;;
              *:amd64) found ;;
              libsodium-dev:arm64|libzstd-dev:arm64|liblzma-dev:arm64|zlib1g-dev:arm64) found ;;
              *:*) ;;
              *) found ;;  # a bare name: dpkg answers for any installed instance, the arm64 one too
            esac
            echo "dpkg-query: no packages found matching $spec" >&2
            exit 1
            """, to: bin + "/dpkg-query", mode: 0o755)
        try Harness.write(
            """
            #!/bin/sh
            case "$1" in
              --print-architecture) echo amd64 ;;
              --print-foreign-architectures) echo arm64 ;;
              *) echo "dpkg shim: unexpected call: $*" >&2; exit 2 ;;
            esac
            """, to: bin + "/dpkg", mode: 0o755)
        try Harness.write(
            "#!/bin/sh\necho \"$*\" >> \"$APT_CALLS\"\n", to: bin + "/apt-get", mode: 0o755)
        // glibc_pin_served: the pinned libc6 is in the index (so no `apt-get update` for that reason).
        try Harness.write(
            "#!/bin/sh\nprintf 'Package: libc6\\nSHA256: 0\\n'\n", to: bin + "/apt-cache", mode: 0o755)
        // What the cross toolchain's checks look for after installing, present.
        for tool in ["aarch64-linux-gnu-gcc", "qemu-aarch64-static", "ld.lld", "python3"] {
            try Harness.write("#!/bin/sh\nexit 0\n", to: bin + "/" + tool, mode: 0o755)
        }
        for lib in ["libsodium.a", "libzstd.a", "liblzma.a", "libz.a"] {
            try Harness.write("", to: dir + "/arm64-lib/" + lib)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    var env: [String: String] {
        [
            "PATH": dir + "/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APT_CALLS": dir + "/apt-calls",
            "DGMO_ARM64_LIBDIR": dir + "/arm64-lib",
        ]
    }

    func testHostPackagesAreCheckedForTheHostArchitectureAfterTheArm64Ones() throws {
        // The shim reproduces what misled the old check: the bare name reads as installed.
        let bare = try Harness.run(
            "/bin/sh", ["-c", "dpkg-query -W -f='${Status}' libsodium-dev | grep -q 'install ok installed'"], env: env)
        XCTAssertEqual(bare.status, 0, "the shim answers a bare name for the arm64 instance, as dpkg does")

        let script = Harness.packageRoot.appendingPathComponent("scripts/install-deps.sh").path
        let o = try Harness.run("/bin/bash", [script], env: env)
        XCTAssertEqual(o.status, 0, o.stderr)
        let calls = (try? String(contentsOfFile: dir + "/apt-calls", encoding: .utf8)) ?? ""
        let installs = calls.split(separator: "\n").filter { $0.contains(" install ") || $0.hasPrefix("install ") }
        XCTAssertEqual(installs.count, 1, "one apt-get install, for the host's missing packages: \(calls)")
        let asked = installs.first.map { $0.split(separator: " ").filter { !$0.hasPrefix("-") && $0 != "install" } }
        // (the words left are the option values of -o and the package names)
        XCTAssertEqual(
            asked?.filter { !$0.contains("=") }.map(String.init), ["libsodium-dev", "libzstd-dev"],
            "the amd64 headers and static libraries are installed although their arm64 instances are: \(calls)")
        XCTAssertTrue(calls.contains("update"), "apt-get update ran before installing: \(calls)")
        XCTAssertTrue(o.stderr.contains("installing: libsodium-dev libzstd-dev"), o.stderr)
    }

    func testNothingIsInstalledWhenTheHostHasEverything() throws {
        // The same machine once the amd64 libraries are there: quiet, no apt-get at all.
        try Harness.write(
            """
            #!/bin/sh
            printf 'install ok installed'
            """, to: dir + "/bin/dpkg-query", mode: 0o755)
        let script = Harness.packageRoot.appendingPathComponent("scripts/install-deps.sh").path
        let o = try Harness.run("/bin/bash", [script], env: env)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stderr, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/apt-calls"), "apt-get was not called")
    }

    /// deb_installed against the real dpkg of this machine: a bare name is this machine's architecture,
    /// a package of Architecture: all counts for it, and an explicit foreign architecture is that one only.
    func testDebInstalledNamesTheArchitecture() throws {
        let lib = Harness.packageRoot.appendingPathComponent("scripts/lib/deb-packages.sh").path
        func missing(_ packages: [String]) throws -> [String] {
            let o = try Harness.run(
                "/bin/bash", ["-c", ". \"$0\"; deb_missing \"$@\"", lib] + packages,
                env: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            XCTAssertEqual(o.status, 0, o.stderr)
            return o.stdout.split(separator: "\n").map(String.init)
        }
        let native = try Harness.run("/usr/bin/dpkg", ["--print-architecture"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // dpkg itself is this machine's; debconf is Architecture: all on Debian.
        XCTAssertEqual(try missing(["dpkg", "dpkg:\(native)", "debconf"]), [])
        let foreign = native == "s390x" ? "mips64el" : "s390x"  // an architecture nothing here installs
        XCTAssertEqual(
            try missing(["dpkg:\(foreign)", "no-such-package-dgmo", "debconf:\(foreign)"]),
            ["dpkg:\(foreign)", "no-such-package-dgmo", "debconf:\(foreign)"])
    }
}
