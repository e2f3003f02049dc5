import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleSystem

/// Last-use bookkeeping: each launch touches `bundles/<bundle digest>` (one `utimensat`); its
/// mtime is the bundle's last use. The file lists the bundle's app, version, binary and layers,
/// so `cache list` and `cache gc` know which bundles reference which layers.
public struct BundleRecord: Sendable {
    public var digest: String
    public var app: String
    public var version: String
    public var binary: String
    public var layers: [String]
    /// Seconds since 1970 (negative for a file dated before 1970).
    public var lastUse: Int64

    /// Reads one record; nil for anything that is not a small regular file of ours.
    static func read(_ dirfd: borrowing FileDescriptor, _ name: [UInt8]) -> BundleRecord? {
        guard let fd = try? Sys.openat(dirfd, name, .readOnly | .noFollow | .nonBlocking) else {
            return nil
        }
        guard let st = try? Sys.fstat(fd), st.type == .regular, Ownership.isTrusted(st),
            st.size < 1 << 20,
            let bytes = try? Sys.pread(fd, count: Int(st.size), at: 0, what: "bundle record")
        else { return nil }
        var r = BundleRecord(
            digest: Sys.displayName(name), app: "", version: "", binary: "", layers: [],
            lastUse: Int64(st.modifiedSeconds)
        )
        for line in bytes.split(separator: 0x0A) {
            guard let eq = line.firstIndex(of: 0x3D) else { continue }
            let key = Array(line[line.startIndex..<eq]), value = String(decoding: line[(eq + 1)...], as: UTF8.self)
            switch key {
            case Array("app".utf8): r.app = value
            case Array("version".utf8): r.version = value
            case Array("binary".utf8): r.binary = value
            case Array("layers".utf8): r.layers = value.splitBytes(at: UInt8(ascii: ","))
            default: break
            }
        }
        return r
    }
}

extension CacheRoot {
    /// One `utimensat` on the warm path; the record is (re)written only when it is missing.
    public func touchBundle(_ bundle: BundleFile, exePath: String) {
        guard let bundles = try? directory(.bundles, create: false) else { return }
        do { try Sys.touchat(bundles.fd, Hex.encode(bundle.digest)) } catch  where error.errno == Errno.ENOENT {
            writeBundleRecord(bundle, exePath: exePath)
        } catch {}
    }

    /// Writes `bundles/<digest>` atomically (temporary file, then rename). Best effort: a cache
    /// that cannot take the record still runs the bundle.
    public func writeBundleRecord(_ bundle: BundleFile, exePath: String) {
        guard let bundles = try? directory(.bundles, create: true) else { return }
        let m = bundle.manifest
        // The binary's path is the only text here that is not checked by the manifest rules: a
        // file name can hold a newline (which would add lines such as `app=` to the record) or
        // ESC. It is stored escaped: one line, shown as is by `cache list`.
        let text =
            "app=\(m.appName)\nversion=\(m.appVersion)\nbinary=\(TerminalText.escaped(exePath))\nlayers=\(m.layers.map { $0.cacheName }.joined(separator: ","))\n"
        let final = Hex.encode(bundle.digest)
        let tmp = final + ".tmp." + String(Sys.processID())
        guard
            let fd = try? Sys.openat(
                bundles.fd, tmp, .writeOnly | .create | .truncate | .noFollow | .nonBlocking,
                0o600)
        else { return }
        let ok =
            (try? withBytes(Array(text.utf8)) { (b) throws(BundleError) in try Sys.writeAll(fd, b, what: tmp) }) != nil
        fd.close()
        if ok, (try? Sys.renameat(bundles.fd, Array(tmp.utf8), bundles.fd, Array(final.utf8))) != nil { return }
        try? Sys.unlinkat(bundles.fd, Array(tmp.utf8))
    }

    /// Every bundle record (temporary ones excluded).
    public func records() -> [BundleRecord] {
        guard let bundles = try? directory(.bundles, create: false) else { return [] }
        let names = (try? Sys.listDirectoryBytes(bundles.fd)) ?? []
        return names.filter { !Sys.displayName($0).containsBytes(".tmp.") }.compactMap {
            BundleRecord.read(bundles.fd, $0)
        }
    }

    public func removeRecord(_ digest: String) {
        guard let bundles = try? directory(.bundles, create: false) else { return }
        try? Sys.unlinkat(bundles.fd, Array(digest.utf8))
    }
}
