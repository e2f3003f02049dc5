/// Deterministic random numbers for tests (SplitMix64), so a failing case reproduces from its seed.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator that starts at `seed` and prints it first (`seed: N (label)`), so the output of a
    /// failing run names the seed that reproduces it. Call it once per test.
    public static func seeded(_ seed: UInt64, for label: String) -> SplitMix64 {
        print("seed: \(seed) (\(label))")
        return SplitMix64(state: seed)
    }

    /// `count` pseudo-random bytes, eight from each step.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            var word = next()
            for _ in 0..<min(8, count - out.count) {
                out.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return out
    }
}
