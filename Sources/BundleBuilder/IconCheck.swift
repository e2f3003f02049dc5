import Foundation
import BundleFormat

/// Refuses, at build time, a `[bundle] icon` that names no regular file of its layer, or a file
/// that is not a PNG, ICO or SVG image: the spec parser checked only its shape (`{layer}/path`,
/// `BundleProperties.problem`), and a desktop file or installer given the path would show nothing.
/// Paths resolve as the launcher resolves an entry's program (`ProgramCheck.resolve`: symlinks
/// followed inside the layer).
enum IconCheck {
    static func check(_ spec: BundleSpec, layers: [BuiltLayer]) throws(BuildError) {
        guard let icon = spec.properties.icon,
            let pieces = try? Placeholders.parse(icon), pieces.count == 2,
            case .placeholder(let layerName) = pieces[0], case .literal(let rest) = pieces[1],
            let layer = layers.first(where: { $0.name == layerName })
        else { return }
        let key = "\(spec.keyPrefix)bundle.icon"
        let shown = TerminalText.shown(icon)
        let directory = spec.layers.first { $0.name == layerName }?.directory ?? layerName
        let path = Array(rest.dropFirst())  // after the `/`
        let tree = Dictionary(layer.records.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let found: ProgramCheck.Found
        do { found = try ProgramCheck.resolve(path, in: tree) } catch {
            throw BuildError("\(key): '\(shown)': \(error.message) in layer '\(layerName)' (\(directory))")
        }
        switch found {
        case .missing:
            throw BuildError("\(key): '\(shown)' is not in layer '\(layerName)' (\(directory))")
        case .directory:
            throw BuildError("\(key): '\(shown)' is a directory in layer '\(layerName)' (\(directory)), not an image")
        case .file:
            break
        }
        // The layer's files were read from `directory` a moment ago; its symlinks stay inside it.
        let file = directory + "/" + String(decoding: path, as: UTF8.self)
        let head: [UInt8]
        do { head = try prefix(of: file, count: 4096) } catch {
            throw BuildError("\(key): cannot read \(file): \(error.message)")
        }
        guard format(head) != nil else {
            throw BuildError(
                "\(key): '\(shown)' is not a PNG, ICO or SVG image (it starts with neither \\x89PNG, 00 00 01 00, <svg nor <?xml)"
            )
        }
    }

    /// The image format `head` (a file's first bytes) starts like: PNG's signature, an ICO
    /// directory header (reserved 0, type 1), or SVG text (after an optional UTF-8 byte order mark
    /// and white space, `<svg`, or an XML declaration, doctype or comment followed by `<svg` within
    /// the bytes given).
    static func format(_ head: [UInt8]) -> String? {
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "PNG" }
        if head.starts(with: [0x00, 0x00, 0x01, 0x00]) { return "ICO" }
        var text = head[...]
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }
        while let b = text.first, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { text = text.dropFirst() }
        if text.starts(with: Array("<svg".utf8)) { return "SVG" }
        if text.starts(with: Array("<?xml".utf8)) || text.starts(with: Array("<!".utf8)) {
            let needle = Array("<svg".utf8)
            let bytes = Array(text)
            if bytes.count >= needle.count,
                (0...(bytes.count - needle.count)).contains(where: {
                    bytes[$0..<($0 + needle.count)].elementsEqual(needle)
                })
            {
                return "SVG"
            }
        }
        return nil
    }

    static func prefix(of path: String, count: Int) throws(FileBytes.Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileBytes.Failure(message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw FileBytes.Failure(message: String(cString: strerror(errno))) }
            if n == 0 { break }
            done += n
        }
        return Array(out[..<done])
    }
}
