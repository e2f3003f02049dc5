import ArgumentParser
import BundleBuilder
import BundleCrypto
import BundleFormat

// Command-line options that more than one packager command takes (bundle-append build and sign,
// an app's own build tool): declared once, so their names, help and checks cannot drift apart.

/// `--key` and `--password-file`: the minisign secret key to sign with.
public struct KeyOptions: ParsableArguments {
    @Option(
        help:
            "Secret key file (minisign format). Encrypted keys read the password from $BUNDLE_APPEND_PASSWORD, --password-file or the terminal."
    )
    public var key: String?

    @Option(help: "File holding the secret key's password (first line).")
    public var passwordFile: String?

    public init() {}

    /// The key `--key` names (asking for its password when it is encrypted), or nil without `--key`.
    public func secretKey() throws(BuildError) -> SecretKey? {
        guard let key else { return nil }
        return try KeyLoading.secretKey(path: key, passwordFile: passwordFile)
    }
}

/// `--stub`: the launcher stub to put in front of the bundle.
public struct StubOption: ParsableArguments {
    @Option(
        help:
            "Launcher stub to use. Default: for linux-x64 $BUNDLE_APPEND_STUB, then stubs/<target>/bundle-stub (.exe for windows-x64) in this tool's directory (a source build), its parent (the release archive: bin/ beside stubs/) or ../lib/bundle-append, symlinks to the tool resolved. One with symbol tables (a debug stub) is stripped."
    )
    public var stub: String?

    public init() {}

    /// `--stub`, else `StubLocation.default(for:)`.
    public func path(for target: BuildTarget) throws(BuildError) -> String {
        if let stub { return stub }
        return try StubLocation.default(for: target)
    }
}

/// `--target`: the platform a bundle is built for.
public struct TargetOption: ParsableArguments {
    @Option(
        help:
            "The platform to build for: linux-x64, linux-arm64, windows-x64, macos-x64 or macos-arm64 (only the linux targets have a launcher stub yet). The stub and the programs in the layers must be for it, and the layers' names must suit it."
    )
    public var target = BuildTarget.default.name

    public init() {}

    public func validate() throws {
        if BuildTarget(name: target) == nil {
            throw ValidationError(
                "--target must be one of \(BuildTarget.allCases.map(\.name).joined(separator: ", ")), not '\(target)'")
        }
    }

    /// The parsed target (`validate` has refused any other name).
    public var buildTarget: BuildTarget { BuildTarget(name: target) ?? .default }
}
