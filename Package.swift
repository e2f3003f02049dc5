// swift-tools-version:6.0
//
// DGMO bundle packaging: a static launcher stub (Stub/), the format library it reads
// with (Sources/), and the packager's tool (Tools/bundle-append). See README.md.

import PackageDescription

/// `DGMO_WARNINGS_AS_ERRORS=1 swift build` (as `make check` and `make test` run it) turns warnings in
/// the project's own Swift targets into errors; dependencies are compiled as before.
let strictSettings: [SwiftSetting] =
    Context.environment["DGMO_WARNINGS_AS_ERRORS"] == "1"
    ? [.unsafeFlags(["-warnings-as-errors"])] : []

/// Modules linked into the static launcher import neither _Concurrency nor _StringProcessing:
/// the launcher uses neither, and their implicit imports would link Dispatch and the regex
/// engine (with their metadata, which `--gc-sections` cannot drop) into every binary.
let launcherModuleSettings: [SwiftSetting] =
    [
        .unsafeFlags([
            "-Xfrontend", "-disable-implicit-concurrency-module-import",
            "-Xfrontend", "-disable-implicit-string-processing-module-import",
        ])
    ] + strictSettings

let package = Package(
    name: "dgmo-bundle",
    // No library products: the launcher's modules carry unsafeFlags (see above), which SwiftPM
    // refuses in a dependency, so another package could not use them anyway.
    products: [
        .executable(name: "bundle-append", targets: ["bundle-append"]),
        .executable(name: "dgmo-build", targets: ["dgmo-build"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // One system-library target per C library, nothing else in it.
        .systemLibrary(name: "CSodium", path: "Sources/CSodium"),
        .systemLibrary(name: "CLZMA", path: "Sources/CLZMA"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        // zlib's inflater behind fixed-width functions: z_stream's layout differs on Windows.
        .target(name: "CInflate", path: "Sources/CInflate", linkerSettings: [.linkedLibrary("z")]),
        // The launcher's one door to the operating system: fixed-width types, our own constants,
        // one-line wrappers that translate them (docs/security.md, "Platform layer").
        .target(name: "CPlatform", path: "Sources/CPlatform"),
        // The patchable public-key slot compiled into the stub.
        .target(name: "CKeySlot", path: "Sources/CKeySlot"),

        // Pure bytes in, values out: trailer, manifest, limits, path rules. No Foundation, no I/O.
        .target(name: "BundleFormat", path: "Sources/BundleFormat", swiftSettings: launcherModuleSettings),
        // Streaming compressors and decompressors (zstd, xz, zlib, none). No Foundation.
        .target(
            name: "BundleCodecs", dependencies: ["BundleFormat", "CZstd", "CLZMA", "CZlib", "CInflate"],
            path: "Sources/BundleCodecs", swiftSettings: launcherModuleSettings),
        // BLAKE2b digests, Ed25519, minisign key and signature formats. No Foundation.
        .target(
            name: "BundleCrypto", dependencies: ["CSodium", "BundleFormat"], path: "Sources/BundleCrypto",
            swiftSettings: launcherModuleSettings),
        // The syscall layer and the operations the cache asks of the OS: the only Swift module that
        // imports CPlatform (docs/security.md, "Platform layer"). No Foundation.
        .target(
            name: "BundleSystem", dependencies: ["BundleFormat", "CPlatform"], path: "Sources/BundleSystem",
            swiftSettings: launcherModuleSettings),
        // Reading a bundle from a file descriptor, verifying it, extracting layers safely.
        // Used by the stub and by bundle-append's verify/extract, so both check the same way. No Foundation.
        .target(
            name: "BundleRuntime", dependencies: ["BundleFormat", "BundleCodecs", "BundleCrypto", "BundleSystem"],
            path: "Sources/BundleRuntime", swiftSettings: launcherModuleSettings),
        // The per-user cache: root, layer install and publish, locks, bundle records, verify, gc and
        // clear, all by descriptor and checked with fstat; extracting a bundle into a directory. Used by the
        // stub, by bundle-append extract (the same code as --launcher extract) and by tests. No Foundation.
        .target(
            name: "BundleCache", dependencies: ["BundleFormat", "BundleCrypto", "BundleRuntime", "BundleSystem"],
            path: "Sources/BundleCache", swiftSettings: launcherModuleSettings),
        // What the launcher decides (the entry, the self path, the layers in the cache, the runtime's
        // command and environment, the ops commands' text and JSON), as a library the tests reach;
        // Stub/main.swift orders the steps and hands off. No Foundation.
        .target(
            name: "BundleLauncher",
            dependencies: [
                "BundleFormat", "BundleCodecs", "BundleCrypto", "BundleSystem", "BundleRuntime", "BundleCache", "CKeySlot",
            ],
            path: "Sources/BundleLauncher",
            // The launcher's OS is a define, not os() (RunningTarget.swift); build-stub.sh sets it for
            // the stub, this for `swift build` and the tests. BundleFormat gets none here, so the
            // tools apply every target's name rules.
            swiftSettings: launcherModuleSettings + [.define("DGMO_TARGET_OS_LINUX", .when(platforms: [.linux]))]),
        // Spec parsing, directory scanning, layer compression, signing, writing bundles (Foundation allowed).
        .target(
            name: "BundleBuilder",
            dependencies: [
                "BundleFormat", "BundleCodecs", "BundleCrypto", "CKeySlot",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            path: "Sources/BundleBuilder",
            swiftSettings: strictSettings),

        // Command-line options shared by the packager's tools (key, stub, target).
        .target(
            name: "PackagerOptions",
            dependencies: [
                "BundleBuilder", "BundleCrypto", "BundleFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/PackagerOptions",
            swiftSettings: strictSettings),

        // The launcher's entry point (Stub/main.swift) is not a SwiftPM target: scripts/build-stub.sh
        // compiles it and the modules above (listed once, in Stub/modules) as Embedded Swift into a
        // small static binary per target (README.md).
        .executableTarget(
            name: "bundle-append",
            dependencies: [
                "BundleBuilder", "BundleRuntime", "BundleCache", "BundleSystem", "PackagerOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/bundle-append",
            swiftSettings: strictSettings),
        // DGMO's build pipeline: Bun, PyInstaller and Go outputs into one signed binary (see docs/dgmo.md).
        .executableTarget(
            name: "dgmo-build",
            dependencies: [
                "BundleBuilder", "BundleCodecs", "BundleCrypto", "BundleFormat", "PackagerOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/dgmo-build",
            swiftSettings: strictSettings),

        // Helpers shared by the test targets: deterministic random numbers, temporary directories, a
        // process runner, BundleError assertions, and failing (not skipping) when a requirement is missing.
        .target(
            name: "TestSupport", dependencies: ["BundleFormat"], path: "Tests/TestSupport",
            swiftSettings: strictSettings),
        .testTarget(
            name: "BundleFormatTests", dependencies: ["BundleFormat", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "BundleCodecsTests", dependencies: ["BundleCodecs", "BundleFormat", "CLZMA", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "BundleCryptoTests", dependencies: ["BundleCrypto", "BundleFormat", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "BundleCacheTests",
            dependencies: [
                "BundleCache", "BundleRuntime", "BundleBuilder", "BundleCodecs", "BundleFormat", "BundleCrypto",
                "BundleSystem", "CPlatform", "TestSupport",
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "BundleLauncherTests",
            dependencies: ["BundleLauncher", "BundleFormat", "BundleSystem", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "BundleBuilderTests",
            dependencies: ["BundleBuilder", "BundleFormat", "BundleCodecs", "BundleCrypto", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["BundleBuilder", "BundleFormat", "BundleCrypto", "BundleRuntime", "BundleSystem", "TestSupport"],
            swiftSettings: strictSettings),
    ]
)
