import BundleFormat

// Packaging only (see Compressor in Codecs.swift).
#if !LAUNCHER_DECODE_ONLY

    /// Encodes a whole stream: the filter, then the codec, as one stream (`Codecs.compress`, tests).
    /// Layers are encoded frame by frame (`FrameEncoder`, format version 3).
    ///
    /// Input arrives in arbitrary pieces (file reads); the filter needs to see each branch operand
    /// (x86) or instruction word (arm64) whole, so up to four bytes may wait here for the next
    /// piece. Memory is one fixed buffer.
    public final class LayerEncoder {
        /// The stream's filter, if any (`LayerFilter` without `.none`).
        private enum StreamFilter {
            case x86(X86BranchFilter)
            case arm64(Arm64BranchFilter)

            mutating func process(_ buffer: UnsafeMutableRawBufferPointer, atEnd: Bool) -> Int {
                switch self {
                case .x86(var f):
                    let done = f.process(buffer, atEnd: atEnd)
                    self = .x86(f)
                    return done
                case .arm64(var f):
                    let done = f.process(buffer, atEnd: atEnd)
                    self = .arm64(f)
                    return done
                }
            }
        }

        private let compressor: Compressor
        private var filter: StreamFilter?
        private let staging: UnsafeMutableRawBufferPointer
        /// Bytes in `staging` the filter has not finished (an operand cut by the last piece).
        private var pending = 0

        private static let stagingSize = 1 << 20

        /// `totalSize` is the length of the whole stream (the layer's uncompressed size); the x86
        /// filter's last segment depends on it.
        public init(codec: Codec, level: Int, filter: LayerFilter, totalSize: UInt64) throws(BundleError) {
            compressor = try Compressor(codec: codec, level: level)
            switch filter {
            case .none:
                self.filter = nil
                staging = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            case .x86:
                self.filter = .x86(X86BranchFilter(encoding: true, totalSize: totalSize))
                staging = .allocate(byteCount: LayerEncoder.stagingSize, alignment: 16)
            case .arm64:
                self.filter = .arm64(Arm64BranchFilter(encoding: true, totalSize: totalSize))
                staging = .allocate(byteCount: LayerEncoder.stagingSize, alignment: 16)
            }
        }

        deinit { staging.deallocate() }

        /// Appends the encoding of `input` (the next bytes of the stream) to `output`.
        public func encode(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(BundleError) {
            guard filter != nil else { return try compressor.compress(input, into: &output) }
            var offset = 0
            while offset < input.count {
                let n = min(input.count - offset, staging.count - pending)
                (staging.baseAddress! + pending).copyMemory(from: input.baseAddress! + offset, byteCount: n)
                offset += n
                try flushStaging(count: pending + n, atEnd: false, into: &output)
            }
        }

        /// Encodes what is still waiting and ends the stream. Call it exactly once.
        public func finish(into output: inout [UInt8]) throws(BundleError) {
            if filter != nil { try flushStaging(count: pending, atEnd: true, into: &output) }
            try compressor.finish(into: &output)
        }

        /// Filters `staging[0..<count]`, compresses the finished part and keeps the rest in front.
        private func flushStaging(count: Int, atEnd: Bool, into output: inout [UInt8]) throws(BundleError) {
            let done = filter!.process(UnsafeMutableRawBufferPointer(rebasing: staging[0..<count]), atEnd: atEnd)
            try compressor.compress(UnsafeRawBufferPointer(rebasing: staging[0..<done]), into: &output)
            pending = count - done
            if pending > 0 { staging.baseAddress!.copyMemory(from: staging.baseAddress! + done, byteCount: pending) }
        }
    }
#endif
