import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleSystem

/// `<app> --launcher verify-file FILE [--signature SIG]`: is FILE a release this launcher would trust?
///
/// Used by the app's self-update: the new binary is checked with the key pinned in the
/// *running* binary, never with anything FILE brings along. Two signatures must hold:
/// - the minisign signature SIG (default `FILE.minisig`) over every byte of FILE, which covers
///   the stub (the bundle's own signature covers the manifest and layers, not the stub bytes);
/// - the bundle's own signature, so FILE is a bundle of this app signed by the same key.
/// Prints `{"name":...,"version":...,"key_id":...}` and exits 0, or fails with one line (125).
enum VerifyFile {
    static let maxSignatureSize = 8192

    static func run(_ args: [String], running: BundleFile, trust: Trust) -> Int32 {
        var file: String? = nil
        var sigPath: String? = nil
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.bytesEqual("--signature") {
                guard i + 1 < args.count else { fail("--signature needs a value") }
                sigPath = args[i + 1]; i += 2
            } else if a.hasBytePrefix("-") {
                fail(
                    "unknown option '\(a)' for 'verify-file'; usage: \(programName) --launcher verify-file FILE [--signature SIG]"
                )
            } else {
                if case .some = file { fail("usage: \(programName) --launcher verify-file FILE [--signature SIG]") }
                file = a; i += 1
            }
        }
        guard let file else { fail("usage: \(programName) --launcher verify-file FILE [--signature SIG]") }
        guard case .key(let key) = trust else {
            fail("this launcher holds no signing key (unsigned build), so it cannot verify \(file)")
        }
        let sigFile = sigPath ?? file + ".minisig"

        // One typed error per `do` (Embedded Swift has no `any Error` to catch both kinds).
        let signatureText: String
        do { signatureText = try readSmallText(sigFile) } catch { fail("\(sigFile): \(error.message)") }
        let signature: MinisignSignature
        do { signature = try MinisignSignature(fileContents: signatureText) } catch {
            fail("\(sigFile): \(error.message)")
        }

        do throws(BundleError) {
            try withMappedFile(file) { bytes throws(BundleError) in try signature.verify(file: bytes, publicKey: key) }
        } catch { fail("\(file): \(error.message)") }

        let other: BundleFile
        do { other = try BundleFile(path: file, trust: trust) } catch { fail("\(file): \(error.message)") }
        requireRunningTarget(other.manifest, file: file)
        guard other.manifest.appName.bytesEqual(running.manifest.appName) else {
            fail("\(file): is a bundle of '\(other.manifest.appName)', not of '\(running.manifest.appName)'")
        }
        writeOut(
            .output,
            "{\"name\":\(jsonString(other.manifest.appName)),\"version\":\(jsonString(other.manifest.appVersion)),\"key_id\":\(jsonString(key.keyID.displayString))}\n"
        )
        return 0
    }

    /// A regular file opened read-only, and its size.
    struct OpenedFile: ~Copyable {
        let fd: FileDescriptor
        let size: Int
    }

    /// Opens `path` read-only and checks it is a regular file.
    static func openRegularFile(_ path: String) throws(BundleError) -> OpenedFile {
        let fd = try Sys.open(path, .readOnly | .nonBlocking)  // a FIFO must not hang the open
        let st = try Sys.fstat(fd)
        guard st.type == .regular else { throw BundleError(.notRegularFile, "not a regular file") }
        return OpenedFile(fd: fd, size: Int(st.size))
    }

    static func readSmallText(_ path: String) throws(BundleError) -> String {
        let file = try openRegularFile(path)
        guard file.size <= maxSignatureSize else {
            throw BundleError(.tooLarge, "too large for a signature file (\(file.size) bytes)")
        }
        let bytes = try Sys.pread(file.fd, count: file.size, at: 0, what: "signature file")
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BundleError(.badSignature, "signature file is not UTF-8 text")
        }
        return text
    }

    /// Maps the whole file read-only, so a large binary is hashed without copying it into memory.
    static func withMappedFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws(BundleError) -> Void)
        throws(BundleError)
    {
        let file = try openRegularFile(path)
        let size = file.size
        guard size > 0 else { throw BundleError(.notRegularFile, "file is empty") }
        let base: UnsafeRawPointer
        do { base = try Sys.mapReadOnly(file.fd, size: size, what: path) } catch {
            throw error.reworded("cannot map the file: \(error.reason)")
        }
        defer { Sys.unmap(base, size: size) }
        try body(UnsafeRawBufferPointer(start: base, count: size))
    }
}
