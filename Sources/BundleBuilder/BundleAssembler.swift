import Foundation
import BundleFormat
import BundleCrypto

/// How the bundle is signed.
public enum Signing: Sendable {
    case key(SecretKey)
    /// Needs `--unsigned` on the command line; the stub then says so in `--launcher info`.
    case unsigned
}

/// Puts a stub, built layers and a manifest together into the bytes of one executable.
public enum BundleAssembler {
    /// Patches the key slot of a stub copy. The marker must occur exactly once.
    public static func patchStub(_ stub: [UInt8], signing: Signing) throws(BuildError) -> [UInt8] {
        guard let at = KeySlotSearch.find(in: stub) else {
            throw BuildError(
                "the stub has no key slot, or more than one: is it a bundle-stub built by scripts/build-stub.sh?")
        }
        let current: KeySlot
        do {
            current = try withBytes(stub) { (b) throws(BundleError) in
                try KeySlot(decoding: UnsafeRawBufferPointer(rebasing: b[at..<(at + KeySlot.size)]))
            }
        } catch { throw BuildError("stub key slot: \(error.message)") }
        guard current == .empty else {
            throw BuildError(
                "the stub's key slot is already filled: pass an unbundled stub (stubs/<target>/bundle-stub)")
        }
        try checkPEHeaders(stub)
        if stub.count >= Trailer.size, Array(stub.suffix(Trailer.size).prefix(8)) == Trailer.magic {
            throw BuildError("the stub already carries a bundle: pass an unbundled stub (stubs/<target>/bundle-stub)")
        }
        let slot: KeySlot
        switch signing {
        case .key(let key): slot = .pinned(keyBytes: key.publicKey.slotBytes)
        case .unsigned: slot = .unsigned
        }
        var out = stub
        out.replaceSubrange(at..<(at + KeySlot.size), with: slot.encoded())
        return out
    }

    /// A PE stub's headers must be ones every reader can find the trailer behind
    /// (`PECertificateDirectory`), and the stub must not be Authenticode-signed: its certificate
    /// table would sit between the stub and the layers, where no signing tool or reader expects it
    /// (the bundle is signed after it is built, docs/format.md, "Finding the trailer").
    static func checkPEHeaders(_ stub: [UInt8]) throws(BuildError) {
        let directory: PECertificateDirectory?
        do { directory = try PECertificateDirectory(prefix: Array(stub.prefix(TrailerLocation.prefixLength))) } catch {
            throw BuildError("the stub's \(error.message)")
        }
        guard let directory, !directory.isEmpty else { return }
        throw BuildError(
            "the stub is Authenticode-signed (a certificate table of \(directory.size) bytes at offset \(directory.offset)): pass the unsigned stub (`osslsigncode remove-signature -in STUB -out UNSIGNED` removes the signature) and sign the bundle after building it"
        )
    }

    /// Lays out `stub | layers | header | tables | signature | trailer` (docs/format.md), after
    /// checking that the stub and the layers' programs are for `target`, that the names suit it
    /// (`NameCheck`), that each entry's program and the icon are in their layers (`ProgramCheck`,
    /// `IconCheck`) and that the manifest passes the launcher's own checks.
    public static func assemble(
        stub: [UInt8], spec: BundleSpec, layers: [BuiltLayer], buildTime: UInt64, signing: Signing,
        target: BuildTarget = .default
    ) throws(BuildError) -> [UInt8] {
        try ArchitectureCheck.checkStub(stub, target: target)
        try ArchitectureCheck.checkLayers(layers, target: target)
        try ProgramCheck.check(spec, layers: layers)
        try IconCheck.check(spec, layers: layers)
        var layerRecords: [LayerRecord] = []
        var offset: UInt64 = 0
        var tableOffset: UInt64 = 0
        for l in layers {
            layerRecords.append(
                LayerRecord(
                    name: l.name, codec: l.codec, filter: l.filter, offset: offset,
                    compressedSize: UInt64(l.compressed.count),
                    uncompressedSize: l.uncompressedSize, fileCount: l.records.count,
                    tableOffset: tableOffset, tableLength: UInt64(l.storedTable.count), digest: l.digest,
                    frames: l.frames))
            offset += UInt64(l.compressed.count)
            tableOffset += UInt64(l.storedTable.count)
        }
        try NameCheck.check(spec, layers: layers, records: layerRecords, target: target)
        let entries = spec.entries.map { e in
            EntryRecord(
                name: e.name, isDefault: e.isDefault, argv: e.exec,
                env: e.env.map { .init(key: $0.key, value: $0.value) },
                layers: e.layers.compactMap { n in layers.firstIndex { $0.name == n } }.sorted())
        }
        let keyID: [UInt8]
        switch signing {
        case .key(let k): keyID = k.keyID.bytes
        case .unsigned: keyID = [UInt8](repeating: 0, count: Manifest.keyIDLength)
        }
        let manifest = Manifest(
            appName: spec.name, appVersion: spec.version, buildTime: buildTime, keyID: keyID,
            layers: layerRecords, entries: entries, target: target, properties: spec.properties)
        let header = manifest.encoded()
        guard UInt64(header.count) <= Limits.maxHeaderLength else {
            throw BuildError("manifest header is larger than \(Limits.maxHeaderLength) bytes")
        }
        // Decode what we wrote with the launcher's own checks: a builder bug fails here, not at launch.
        let tablesLength = tableOffset
        do {
            _ = try withBytes(header) { (b) throws(BundleError) in
                try Manifest(decoding: b, layersLength: offset, tablesLength: tablesLength)
            }
        } catch { throw BuildError("the manifest does not pass the launcher's checks: \(error.message)") }
        return try write(stub: stub, manifest: manifest, layers: layers, signing: signing)
    }

    /// Signs and lays out `manifest` exactly as given, with no check of its contents. Tests use it
    /// to make correctly signed hostile bundles that only the launcher's own checks can refuse.
    static func write(stub: [UInt8], manifest: Manifest, layers: [BuiltLayer], signing: Signing) throws(BuildError)
        -> [UInt8]
    {
        let patched = try patchStub(stub, signing: signing)
        let header = manifest.encoded()
        var signatureBlock: [UInt8] = []
        if case .key(let key) = signing {
            let sig = header.withUnsafeBytes { key.signPrehashed($0) }
            signatureBlock = SignatureBlock(keyID: key.keyID.bytes, signature: sig).encoded()
        }
        let layersLength = layers.reduce(0) { $0 + $1.compressed.count }
        let tablesLength = layers.reduce(0) { $0 + $1.storedTable.count }
        let appended = layersLength + header.count + tablesLength + signatureBlock.count + Trailer.size
        let bundleLength = patched.count + appended
        // A PE bundle's length is a multiple of 8, so that an Authenticode certificate table can
        // follow the trailer without padding: zero bytes at the end of the stub region make it so.
        let isPE = patched.starts(with: PECertificateDirectory.dosMagic)
        let alignment = Int(TrailerLocation.peAlignment)
        let padding = isPE ? (alignment - bundleLength % alignment) % alignment : 0
        var out = patched
        out.reserveCapacity(bundleLength + padding)
        out += [UInt8](repeating: 0, count: padding)
        let layersStart = UInt64(out.count)
        for l in layers { out += l.compressed }
        let headerStart = UInt64(out.count)
        out += header
        let tablesStart = UInt64(out.count)
        for l in layers { out += l.storedTable }
        let sigStart = UInt64(out.count)
        out += signatureBlock
        let trailer = Trailer(
            signed: !signatureBlock.isEmpty,
            layers: layersStart..<headerStart, header: headerStart..<tablesStart,
            tables: tablesStart..<sigStart, signature: sigStart..<UInt64(out.count))
        out += trailer.encoded()
        // Find a PE bundle's trailer as the readers do: a builder bug fails here, not at launch.
        if isPE {
            do throws(BundleError) {
                let location = try TrailerLocation(
                    prefix: Array(out.prefix(TrailerLocation.prefixLength)), fileSize: UInt64(out.count))
                guard try Trailer(decoding: Array(out.suffix(Trailer.size)), fileSize: location.end) == trailer else {
                    throw BundleError(.badTrailer, "the trailer read back differs from the one written")
                }
            } catch { throw BuildError("the bundle does not pass the readers' checks: \(error.message)") }
        }
        return out
    }
}
