import Foundation
import BundleFormat
import BundleCrypto

/// The one way to build a bundle (`bundle-append build`, an app's build tool): stub and layers in, an
/// executable file out, with its detached signature and public key beside it when asked.
public struct BundleBuild {
    /// Where the launcher stub comes from: a file, or bytes already read.
    public enum Stub: Sendable {
        case path(String)
        case bytes([UInt8])
    }

    /// What goes into the bundle's layers: directories to compress now, or layers a caller has
    /// compressed already (a measured release choice, `CompressionChoice`).
    public enum Layers: Sendable {
        case compress([LayerSpec])
        case built([BuiltLayer])
    }

    /// `OUTPUT.minisig` (a minisign signature of the whole file, with `trustedComment`) and the
    /// public key at `publicKeyPath`, written after the bundle. Needs a signing key.
    public struct DetachedSignature: Sendable {
        public var trustedComment: String
        public var publicKeyPath: String
        public init(trustedComment: String, publicKeyPath: String) {
            self.trustedComment = trustedComment
            self.publicKeyPath = publicKeyPath
        }
    }

    public var spec: BundleSpec
    public var stub: Stub
    /// nil: compress `spec.layers`.
    public var layers: Layers?
    public var outputPath: String
    public var signing: Signing
    /// The platform the bundle is for: its stub and its layers' ELF files must be for it.
    public var target: BuildTarget
    /// `BuildTime.resolve`: `SOURCE_DATE_EPOCH`, else the last commit's time, so the same inputs
    /// give the same bytes.
    public var buildTime: UInt64
    /// Drop the stub's symbol tables when it has any (`StubStripping`).
    public var stripStub: Bool
    public var detachedSignature: DetachedSignature?
    /// Add the SBOM `BundleSBOM` makes, in a layer `bundle-metadata`, when no layer carries
    /// `metadata/sbom.cdx.json` already (`bundle-append build` does, unless `--no-sbom`).
    public var addSBOM: Bool
    /// Called from worker threads with (bytes done, bytes total) while layers compress.
    public var progress: (@Sendable (UInt64, UInt64) -> Void)?

    public init(
        spec: BundleSpec, stub: Stub, outputPath: String, signing: Signing, target: BuildTarget = .default,
        buildTime: UInt64 = BundleBuild.defaultBuildTime(), layers: Layers? = nil, stripStub: Bool = true,
        detachedSignature: DetachedSignature? = nil, addSBOM: Bool = false,
        progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) {
        self.spec = spec
        self.stub = stub
        self.layers = layers
        self.outputPath = outputPath
        self.signing = signing
        self.target = target
        self.buildTime = buildTime
        self.stripStub = stripStub
        self.detachedSignature = detachedSignature
        self.addSBOM = addSBOM
        self.progress = progress
    }

    /// `SOURCE_DATE_EPOCH`, else the last commit's time of the repository around the current
    /// directory, else the clock (an invalid `SOURCE_DATE_EPOCH` counts as unset here; the tools
    /// call `BuildTime.resolve`, which refuses it).
    public static func defaultBuildTime() -> UInt64 {
        (try? BuildTime.resolve(inputsIn: "."))?.time ?? UInt64(Date().timeIntervalSince1970)
    }

    public struct Result: Sendable {
        public var outputPath: String
        public var size: Int
        /// The stub's size in the bundle (after stripping).
        public var stubSize: Int
        public var layers: [BuiltLayer]
        /// The SBOM the bundle carries: the layer holding it, whether the build made it, and its bytes.
        public var sbom: SBOM?
    }

    public struct SBOM: Sendable {
        public var layer: String
        public var generated: Bool
        public var document: [UInt8]
    }

    /// Compresses the layers in parallel, assembles, and writes the output atomically
    /// (temporary file in the same directory, fsync, rename) with mode 0755; then the detached
    /// signature and public key, if asked.
    public func run() throws(BuildError) -> Result {
        var stub: [UInt8]
        switch self.stub {
        case .bytes(let b): stub = b
        case .path(let path):
            do { stub = try FileBytes.read(path) } catch {
                throw BuildError("cannot read stub \(path): \(error.message)")
            }
        }
        // The stub first: a wrong one fails before minutes of compression.
        try ArchitectureCheck.checkStub(stub, target: target)
        if stripStub { stub = try StubStripping.stripped(stub, target: target) }
        if detachedSignature != nil, case .unsigned = signing {
            throw BuildError("a detached signature needs a signing key")
        }
        if addSBOM, spec.layers.contains(where: { $0.name == BundleSBOM.layerName }) {
            throw BuildError(
                "\(spec.keyPrefix)layers.\(BundleSBOM.layerName): layer name '\(BundleSBOM.layerName)' is reserved for the generated SBOM; rename it or pass --no-sbom"
            )
        }
        var built: [BuiltLayer]
        switch layers ?? .compress(spec.layers) {
        case .compress(let specs): built = try BundleBuild.buildLayers(specs, progress: progress)
        case .built(let l): built = l
        }
        let sbom = try attachSBOM(to: &built)
        let bytes = try BundleAssembler.assemble(
            stub: stub, spec: spec, layers: built, buildTime: buildTime, signing: signing, target: target)
        try BundleBuild.writeAtomically(bytes, to: outputPath, mode: 0o755)
        if let detachedSignature, case .key(let key) = signing {
            let sig = bytes.withUnsafeBytes {
                MinisignSignature.create(for: $0, key: key, trustedComment: detachedSignature.trustedComment)
            }
            try SigningFiles.writeSignature(sig, to: outputPath + ".minisig")
            try SigningFiles.writePublicKey(key.publicKey, to: detachedSignature.publicKeyPath)
        }
        return Result(outputPath: outputPath, size: bytes.count, stubSize: stub.count, layers: built, sbom: sbom)
    }

    /// The SBOM a layer carries (read from the directory it was built from), else, with `addSBOM`,
    /// a generated one in a `bundle-metadata` layer appended after the spec's: the spec's layers
    /// keep their places, and no entry uses it, so it is never extracted.
    func attachSBOM(to built: inout [BuiltLayer]) throws(BuildError) -> SBOM? {
        if let carrier = BundleSBOM.carrier(built) {
            guard let directory = spec.layers.first(where: { $0.name == carrier.name })?.directory else { return nil }
            let file = directory + "/" + BundleSBOM.path
            do { return SBOM(layer: carrier.name, generated: false, document: try FileBytes.read(file)) } catch {
                throw BuildError("cannot read \(file): \(error.message)")
            }
        }
        guard addSBOM else { return nil }
        let document = try BundleSBOM.document(spec: spec, layers: built, target: target, buildTime: buildTime)
        let scratch = NSTemporaryDirectory() + "bundle-sbom-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(scratch, 0o700) == 0 else {
            throw BuildError("cannot create \(scratch): \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        built.append(try BundleSBOM.layer(document, scratch: scratch))
        return SBOM(layer: BundleSBOM.layerName, generated: true, document: document)
    }

    /// Compresses layers in parallel (one job per layer), in the order given.
    public static func buildLayers(_ specs: [LayerSpec], progress: (@Sendable (UInt64, UInt64) -> Void)? = nil)
        throws(BuildError) -> [BuiltLayer]
    {
        let total = specs.reduce(UInt64(0)) { $0 + BundleBuild.directorySize($1.directory) }
        let counter = ProgressCounter(total: total, report: progress)
        let results = LockedResults(count: specs.count)
        DispatchQueue.concurrentPerform(iterations: specs.count) { i in
            do throws(BuildError) {
                results.set(i, .success(try LayerBuilder.build(specs[i]) { counter.add($0) }))
            } catch { results.set(i, .failure(error)) }
        }
        var layers: [BuiltLayer] = []
        for r in results.all() {
            switch r {
            case .success(let l): layers.append(l)
            case .failure(let e): throw e
            case nil: throw BuildError("internal error: a layer was not built")
            }
        }
        return layers
    }

    static func directorySize(_ path: String) -> UInt64 {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: UInt64 = 0
        while let rel = e.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }

    /// Writes through a temporary file in the destination directory and renames it into place,
    /// so an interrupted build never leaves a half-written executable under the output name.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(BuildError) {
        let dir = PathText.directory(of: path)
        // A fresh name, created exclusively and never through a symlink: in a directory others can
        // write to, a file planted under a guessable name (owned by them, mode 0666) would
        // otherwise be written into and renamed into place, secret keys included.
        var fd: Int32 = -1
        var tmp = ""
        for _ in 0..<16 where fd < 0 {
            tmp =
                (dir.isEmpty ? "." : dir)
                + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 && errno != EEXIST { break }
        }
        guard fd >= 0 else { throw BuildError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        func fail(_ e: Int32) -> BuildError {
            close(fd)
            return BuildError("cannot write \(path): \(String(cString: strerror(e)))")
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(errno)
            }
            done += n
        }
        if fchmod(fd, mode) != 0 { throw fail(errno) }
        if fsync(fd) != 0 { throw fail(errno) }
        close(fd)
        guard rename(tmp, path) == 0 else {
            throw BuildError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        ok = true
    }
}

/// Counts compressed input across worker threads and forwards it to the progress callback.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done: UInt64 = 0
    private let total: UInt64
    private let report: (@Sendable (UInt64, UInt64) -> Void)?
    init(total: UInt64, report: (@Sendable (UInt64, UInt64) -> Void)?) { self.total = total; self.report = report }
    func add(_ n: Int) {
        guard let report else { return }
        lock.lock(); done += UInt64(n); let d = done; lock.unlock()
        report(d, max(total, d))
    }
}

final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<BuiltLayer, BuildError>?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<BuiltLayer, BuildError>) { lock.lock(); items[i] = r; lock.unlock() }
    func all() -> [Result<BuiltLayer, BuildError>?] { lock.lock(); defer { lock.unlock() }; return items }
}
