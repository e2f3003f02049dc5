import BundleFormat
import BundleCrypto
import BundleSystem

/// Which signatures a reader accepts.
public enum Trust: Sendable {
    /// Only bundles signed by this key (the stub's pinned key, or `verify --pubkey`).
    case key(PublicKey)
    /// Unsigned bundles only (a stub built with `--unsigned`).
    case unsignedOnly
    /// Read without checking the signature (tools' `inspect`); digests are still checked on extraction.
    case inspectOnly
}

/// A bundle file opened and checked: trailer, manifest header, signature.
///
/// Opening reads four small regions (the file's first 4 KiB, which hold a PE file's headers; the
/// trailer, the header and the signature block) and verifies the signature over the header before
/// anything is parsed further, so the warm launch costs a few `pread`s and one Ed25519 check, never
/// a pass over the layers.
public final class BundleFile {
    public let fd: FileDescriptor
    public let path: String
    public let fileSize: UInt64
    public let trailer: Trailer
    /// Where the bundle ends in the file: before a signed PE file's certificate table, if any.
    public let location: TrailerLocation
    public let headerBytes: [UInt8]
    public let manifest: Manifest
    public let signature: SignatureBlock?
    /// BLAKE2b-256 of the manifest header: names this exact bundle.
    public let digest: [UInt8]

    public convenience init(path: String, trust: Trust) throws(BundleError) {
        try self.init(opening: path, path: path, trust: trust)
    }

    /// Opens `opening` and calls the bundle `path` in messages: the launcher opens `/proc/self/exe`,
    /// which is the very file the kernel is running even if another file was renamed over `path`
    /// since `execve`, and reports the path that `readlink` gave.
    public convenience init(opening: String, path: String, trust: Trust) throws(BundleError) {
        // O_NONBLOCK: a FIFO or device at this path must not hang the open; init(fd:) then
        // refuses anything that is not a regular file.
        try self.init(fd: try Sys.open(opening, .readOnly | .nonBlocking), path: path, trust: trust)
    }

    /// Takes ownership of `fd` (closed with the bundle, or at once when this throws).
    private init(fd: consuming FileDescriptor, path: String, trust: Trust) throws(BundleError) {
        let st: FileStatus
        st = try Sys.fstat(fd)
        guard st.type == .regular else {
            throw BundleError(.notRegularFile, "\(path) is not a regular file")
        }
        let size = UInt64(st.size)
        guard size >= UInt64(Trailer.size) else {
            throw BundleError(.badTrailer, "no bundle found: file is only \(size) bytes")
        }

        // The file's first bytes say whether it is a PE file, whose Authenticode certificate table
        // (if any) follows the bundle: the trailer ends where that table starts.
        let prefix = try Sys.pread(
            fd, count: Int(min(size, UInt64(TrailerLocation.prefixLength))), at: 0, what: "file header")
        let location = try TrailerLocation(prefix: prefix, fileSize: size)
        let trailerBytes = try Sys.pread(
            fd, count: Trailer.size, at: location.end - UInt64(Trailer.size), what: "trailer")
        let trailer = try Trailer(decoding: trailerBytes, fileSize: location.end)

        let header = try Sys.pread(fd, count: trailer.header.count, at: trailer.header.lowerBound, what: "manifest")
        var signature: SignatureBlock? = nil
        if trailer.isSigned {
            let sigBytes = try Sys.pread(
                fd, count: trailer.signature.count, at: trailer.signature.lowerBound, what: "signature block")
            signature = try SignatureBlock(decoding: sigBytes)
        }

        // The signature is checked on the raw header bytes before they are parsed.
        switch trust {
        case .key(let key):
            guard let signature else {
                throw BundleError(
                    .untrustedKey,
                    "bundle is unsigned, but this launcher only runs bundles signed by key \(key.keyID.displayString)")
            }
            let sigKeyID = KeyID(bytes: signature.keyID)
            guard signature.keyID == key.keyID.bytes else {
                throw BundleError(
                    .untrustedKey,
                    "bundle is signed by key \(sigKeyID?.displayString ?? "?"), not by the trusted key \(key.keyID.displayString)"
                )
            }
            let ok = header.withUnsafeBytes {
                Ed25519.verifyPrehashed(signature: signature.signature, message: $0, publicKey: key)
            }
            guard ok else {
                throw BundleError(
                    .badSignature,
                    "signature verification failed: the manifest was modified or not signed by key \(key.keyID.displayString)"
                )
            }
        case .unsignedOnly:
            guard signature == nil else {
                throw BundleError(
                    .untrustedKey,
                    "bundle is signed, but this launcher was built for unsigned bundles and holds no key to check it")
            }
        case .inspectOnly:
            break
        }

        let manifest = try Manifest(
            decoding: header, layersLength: UInt64(trailer.layers.count), tablesLength: UInt64(trailer.tables.count))
        if let signature, manifest.keyID != signature.keyID {
            throw BundleError(
                .badManifest,
                "manifest names key \(KeyID(bytes: manifest.keyID)?.displayString ?? "?") but is signed by another key")
        }
        if signature == nil, manifest.keyID.contains(where: { $0 != 0 }) {
            throw BundleError(.badManifest, "manifest names a signing key but the bundle carries no signature")
        }

        self.fd = fd
        self.path = path
        self.fileSize = size
        self.trailer = trailer
        self.location = location
        self.headerBytes = header
        self.manifest = manifest
        self.signature = signature
        self.digest = Blake2b.hash(header)
    }

    public var isSigned: Bool { signature != nil }

    /// Reads a layer's file table whole (tools: up to 256 MiB), decodes it and checks it against
    /// the digest the header carries; the launcher streams it instead (`fileTableStream`).
    public func fileTable(of layer: LayerRecord) throws(BundleError) -> [UInt8] {
        var source = TableSource(
            file: self, offset: trailer.tables.lowerBound + layer.tableOffset, length: layer.tableLength,
            layerName: layer.name)
        var table: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            table.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard source.finish() == layer.digest else {
            throw BundleError(
                .digestMismatch,
                "layer '\(layer.name)': file table does not match its digest (the bundle is corrupt or was modified)")
        }
        return table
    }

    /// The bytes before the appended data: the stub itself.
    public func readKeySlot() throws(BundleError) -> KeySlot {
        let stub = try Sys.pread(fd, count: Int(trailer.stubLength), at: 0, what: "launcher stub")
        guard let at = KeySlotSearch.find(in: stub) else {
            throw BundleError(.badKey, "launcher stub has no key slot (or more than one)")
        }
        return try KeySlot(decoding: Array(stub[at..<(at + KeySlot.size)]))
    }
}
