/// Finds the key slot in a stub's bytes: the builder to patch it, `inspect`/`verify` and the
/// launcher's tools to read it. Pure bytes, so the builder needs no part of the runtime for it.
public enum KeySlotSearch {
    /// Offset of the only key-slot marker in `bytes`, or nil when it is missing or repeated.
    public static func find(in bytes: [UInt8]) -> Int? {
        let m = KeySlot.marker
        var found: Int? = nil
        var i = 0
        let last = bytes.count - KeySlot.size
        while i <= last {
            if bytes[i] == m[0], bytes[i + 1] == m[1], bytes[(i + 2)..<(i + m.count)].elementsEqual(m[2...]) {
                if found != nil { return nil }
                found = i
                i += m.count
                continue
            }
            i += 1
        }
        return found
    }
}
