/// Substring search without _StringProcessing.
///
/// The launcher's modules do not import _StringProcessing (Package.swift), which is where
/// `String.contains(_: some StringProtocol)` lives; linking it would pull the regex engine
/// into every binary. Names in the cache are plain bytes, so a byte-wise search is exact.
extension String {
    func containsBytes(_ part: String) -> Bool {
        let hay = Array(utf8), needle = Array(part.utf8)
        guard !needle.isEmpty else { return true }
        guard hay.count >= needle.count else { return false }
        for start in 0...(hay.count - needle.count) where hay[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }
}
