import Foundation
import BundleCrypto

/// What every CycloneDX 1.5 document the tools write shares (dgmo-build's SBOM, the one
/// `bundle-append build` adds): the encoding, the timestamp and the serial number, all derived from
/// the inputs, so the same build gives the same bytes.
public enum CycloneDX {
    /// Pretty-printed with sorted keys and a final newline: one encoding per document, so a digest
    /// of it (and the bundle holding it) is reproducible.
    public static func encoded(_ object: Any) throws(BuildError) -> [UInt8] {
        let json: Data
        do {
            json = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        } catch { throw BuildError("cannot encode JSON: \(error)") }
        return Array(json) + [0x0A]
    }

    /// `urn:uuid:` and a UUID (version 4, variant 1 in shape) made of the first 16 bytes of the
    /// BLAKE2b of `identity`: a serial number that changes with the content and never at random.
    public static func serialNumber(hashing identity: [UInt8]) -> String {
        let h = Array(Hex.encode(Blake2b.hash(identity, outputLength: 16)))
        return
            "urn:uuid:\(String(h[0..<8]))-\(String(h[8..<12]))-4\(String(h[13..<16]))-8\(String(h[17..<20]))-\(String(h[20..<32]))"
    }

    /// `metadata.timestamp`: the build time (`BuildTime`), never the clock of the run.
    public static func timestamp(_ t: UInt64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
    }

    /// A declared license as CycloneDX states it: an SPDX expression (AND/OR/WITH) as one, anything
    /// else as a license name (a name is never checked against SPDX's list, an `id` would be);
    /// nothing declared is `NOASSERTION`.
    public static func licenses(_ text: String?) -> [[String: Any]] {
        guard let text, !text.isEmpty else { return [["license": ["name": "NOASSERTION"]]] }
        if text.contains(" WITH ") || text.contains(" OR ") || text.contains(" AND ") { return [["expression": text]] }
        return [["license": ["name": text]]]
    }
}
