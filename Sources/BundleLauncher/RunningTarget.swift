import BundleFormat

extension BuildTarget {
    /// The target this launcher was compiled for. A signed manifest naming another one is refused
    /// before anything runs: the layers' programs could not run here (bundle-append refuses to
    /// build such a bundle, so this catches only a bundle assembled by other means, or an update
    /// file for another platform handed to `--launcher verify-file`).
    ///
    /// The OS comes from a define that scripts/build-stub.sh passes (`-D DGMO_TARGET_OS_LINUX`, `-D DGMO_TARGET_OS_WINDOWS`),
    /// not from `os()`: the arm64 launcher is compiled for the bare-metal triple
    /// `aarch64-none-none-elf`, where `os(Linux)` is false, and a macOS x86_64 launcher must not
    /// call itself linux-x64 because its CPU is the same.
    static var running: BuildTarget {
        #if DGMO_TARGET_OS_LINUX && arch(x86_64)
            return .linuxX64
        #elseif DGMO_TARGET_OS_LINUX && arch(arm64)
            return .linuxArm64
        #elseif DGMO_TARGET_OS_WINDOWS && arch(x86_64)
            return .windowsX64
        #else
            #error(
                "the launcher is built for linux-x64, linux-arm64 and windows-x64 only: build it with scripts/build-stub.sh, which sets DGMO_TARGET_OS_LINUX or DGMO_TARGET_OS_WINDOWS"
            )
        #endif
    }
}

/// Fails with one line unless `manifest` is for the target this launcher was compiled for.
public func requireRunningTarget(_ manifest: Manifest, file: String) {
    guard manifest.target == BuildTarget.running else {
        fail("\(file): is a bundle for \(manifest.target.name), and this launcher is for \(BuildTarget.running.name)")
    }
}
