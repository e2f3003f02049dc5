/// What a path inside a layer may look like. Checked by the builder when it scans a
/// directory and again by the stub before it creates anything: a signed manifest can
/// still come from a buggy builder (docs/security.md, "Safe names and links").
public enum PathRules {
    /// Which rule a path breaks. Internal: outside this module it is `BundleError(.badPath)` with
    /// this description as its message (`check`, `checkSymlink`); tests match the case itself.
    enum Violation: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong
        case componentTooLong
        case absolute
        case nul
        case dotComponent  // "", ".", ".." components: "a//b", "./a", "a/..", trailing "/"
        case invalidUTF8
        case reserved  // the layer's own marker name at the top level
        case symlinkEscapes  // a link target that leaves the layer
        case targetNotUTF8  // a link target that is not valid UTF-8

        var description: String {
            switch self {
            case .empty: return "empty path"
            case .tooLong: return "path longer than \(Limits.maxPathLength) bytes"
            case .componentTooLong: return "path component longer than \(Limits.maxComponentLength) bytes"
            case .absolute: return "absolute path"
            case .nul: return "NUL byte in path"
            case .dotComponent: return "empty, '.' or '..' path component"
            case .invalidUTF8: return "path is not valid UTF-8"
            case .reserved: return "path uses the reserved name '\(PathRules.markerName)'"
            case .symlinkEscapes: return "symlink points outside its layer"
            case .targetNotUTF8: return "symlink target is not valid UTF-8"
            }
        }
    }

    /// Name of the completion marker the stub writes at the top of every extracted layer.
    public static let markerName = ".dgmo-layer"

    /// Checks a layer-relative path given as raw bytes.
    public static func check(_ path: [UInt8]) throws(BundleError) {
        do { try rule(path) } catch { throw BundleError(.badPath, error.description) }
    }

    public static func check(_ path: String) throws(BundleError) { try check(Array(path.utf8)) }

    /// Checks that a symlink at `path` with target `target` resolves inside the layer.
    public static func checkSymlink(path: [UInt8], target: [UInt8]) throws(BundleError) {
        do { try symlinkRule(path: path, target: target) } catch { throw BundleError(.badPath, error.description) }
    }

    /// The first rule `path` breaks, thrown as a `Violation`.
    static func rule(_ path: [UInt8]) throws(Violation) {
        guard !path.isEmpty else { throw .empty }
        guard path.count <= Limits.maxPathLength else { throw .tooLong }
        guard path[0] != 0x2F else { throw .absolute }
        guard !path.contains(0) else { throw .nul }
        guard String(validating: path, as: UTF8.self) != nil else { throw .invalidUTF8 }
        var start = 0
        var first = true
        for i in 0...path.count where i == path.count || path[i] == 0x2F {
            let component = path[start..<i]
            if component.isEmpty || component.elementsEqual([0x2E]) || component.elementsEqual([0x2E, 0x2E]) {
                throw .dotComponent
            }
            guard component.count <= Limits.maxComponentLength else { throw .componentTooLong }
            if first, component.elementsEqual(markerName.utf8) { throw .reserved }
            first = false
            start = i + 1
        }
    }

    /// The first rule a symlink at `path` with target `target` breaks:
    /// absolute targets are refused and `..` may not climb above the layer root.
    static func symlinkRule(path: [UInt8], target: [UInt8]) throws(Violation) {
        guard !target.isEmpty else { throw .empty }
        guard target.count <= Limits.maxPathLength else { throw .tooLong }
        guard target[0] != 0x2F else { throw .symlinkEscapes }
        guard !target.contains(0) else { throw .nul }
        // Targets are text like paths: the launcher creates the link from a String, and a byte
        // string that is not UTF-8 would not survive that unchanged (docs/format.md, "File table").
        guard String(validating: target, as: UTF8.self) != nil else { throw .targetNotUTF8 }
        // `..` may only lead the target ("../../lib/x", not "lib/../../x"): after a downward
        // step through a component that may itself be a link, a lexical `..` no longer means
        // what it seems. With that rule every link resolves to an ancestor of its directory
        // and then downwards, and by induction over the other links it stays inside the layer.
        var depth = path.reduce(0) { $0 + ($1 == 0x2F ? 1 : 0) }  // depth of the link's directory
        var descending = false
        var start = 0
        for i in 0...target.count where i == target.count || target[i] == 0x2F {
            let component = target[start..<i]
            if component.elementsEqual([0x2E, 0x2E]) {
                if descending { throw .symlinkEscapes }
                depth -= 1
                if depth < 0 { throw .symlinkEscapes }
            } else if !component.isEmpty && !component.elementsEqual([0x2E]) {
                descending = true
            }
            start = i + 1
        }
    }
}
