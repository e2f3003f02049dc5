import BundleFormat

extension BuildTarget {
    /// The target this launcher was compiled for. A signed manifest naming another one is refused
    /// before anything runs: the layers' programs could not run here (bundle-append refuses to
    /// build such a bundle, so this catches only a bundle assembled by other means, or an update
    /// file for another platform handed to `--launcher verify-file`).
    static var running: BuildTarget {
        #if arch(x86_64)
            return .linuxX64
        #elseif arch(arm64)
            return .linuxArm64
        #else
            #error("the launcher is built for linux-x64 and linux-arm64 only")
        #endif
    }
}

/// Fails with one line unless `manifest` is for the target this launcher was compiled for.
public func requireRunningTarget(_ manifest: Manifest, file: String) {
    guard manifest.target == BuildTarget.running else {
        fail("\(file): is a bundle for \(manifest.target.name), and this launcher is for \(BuildTarget.running.name)")
    }
}
