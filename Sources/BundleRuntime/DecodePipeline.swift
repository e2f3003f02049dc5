import BundleFormat
import BundleSystem
import BundleCodecs

/// The extraction pipeline: one thread decodes the layer (reading, hashing the stored bytes,
/// decompressing: `LayerStream`) into a ring of `slotCount` buffers, while the caller's thread
/// undoes the filter in each buffer and writes files straight out of it. The filter runs on the
/// writer's side to balance the two threads (decoding alone was the longer one). Memory: the ring
/// (`slotCount × slotSize`) plus the stream's own buffers, whatever the layer's size.
///
/// The filter's state (its stream position, an operand cut by a buffer's end) lives on the
/// writer's thread only: the last ≤ 4 bytes of a buffer that the filter cannot finish yet are
/// copied out before the buffer goes back to the decoder, and in front of the next buffer's bytes
/// (each slot has `carryRoom` bytes of headroom for them), so the filter sees one contiguous stream.
///
/// One mutex and one condition variable guard the ring. Errors: the decoding thread stores its
/// `BundleError` and stops; the writer sees it when it next waits for data. A writer that fails
/// (a full disk) calls `cancel()`, which wakes the decoder and makes it stop. `finish()` and
/// `cancel()` join the thread, so none is left running. The caller must call one of them: the
/// running thread holds a reference to the pipeline, so `deinit` cannot run before it ends.
final class DecodePipeline {
    static let slotCount = 3
    static let slotSize = 1 << 20
    /// Headroom before each slot's bytes for the carried operand (at most 4 bytes).
    static let carryRoom = 16

    private var stream: LayerStream
    private let slots: [UnsafeMutableRawBufferPointer]
    private var counts: [Int]
    private var fillIndex = 0  // next slot the decoder fills
    private var full = 0  // slots filled and not yet released by the writer
    // The writer's state (its thread only).
    private var readIndex = 0  // next slot the writer takes
    private var holding = false  // the writer holds slot `readIndex`
    private var current: UnsafeMutableRawPointer? = nil  // what `next` reads: a slot, or `carry` at the end
    private var readPos = 0  // position in `current`
    private var readyEnd = 0  // end of the final (filtered) bytes in `current`
    private var slotEnd = 0  // end of the decoded bytes in `current`
    private var filter: X86BranchFilter?
    private let carry: UnsafeMutableRawBufferPointer  // the bytes the filter has not finished
    private var carryCount = 0
    private var decoderDone = false  // the decoder has stopped (end of stream, error or cancel)
    private var streamEnded = false  // it stopped at the end of the stream, checked by `finish`
    private var failure: BundleError? = nil
    private var cancelled = false
    private let monitor: Sys.Monitor
    private var thread: Sys.Thread? = nil
    private let layerName: String

    /// Starts the decoding thread; nil when threads are unavailable (the caller decodes inline).
    static func start(_ stream: consuming LayerStream, layerName: String) -> DecodePipeline? {
        guard let monitor = Sys.Monitor() else { return nil }
        let pipeline = DecodePipeline(stream, monitor: monitor, layerName: layerName)
        let context = Unmanaged.passUnretained(pipeline).toOpaque()
        guard let thread = Sys.startThread(decodeThreadEntry, context: context) else { return nil }
        pipeline.thread = thread
        return pipeline
    }

    private init(
        _ stream: consuming LayerStream, monitor: Sys.Monitor, layerName: String
    ) {
        var stream = stream
        self.filter = stream.takeFilter()
        self.stream = stream
        self.carry = .allocate(byteCount: DecodePipeline.carryRoom, alignment: 16)
        self.monitor = monitor
        self.layerName = layerName
        var slots: [UnsafeMutableRawBufferPointer] = []
        for _ in 0..<DecodePipeline.slotCount {
            slots.append(.allocate(byteCount: DecodePipeline.carryRoom + DecodePipeline.slotSize, alignment: 16))
        }
        self.slots = slots
        self.counts = [Int](repeating: 0, count: DecodePipeline.slotCount)
    }

    deinit {
        stopThread()
        for s in slots { s.deallocate() }
        carry.deallocate()
    }

    // MARK: the decoding thread

    fileprivate func decodeLoop() {
        while true {
            monitor.lock()
            while full == DecodePipeline.slotCount && !cancelled { monitor.wait() }
            if cancelled { decoderDone = true; monitor.broadcast(); monitor.unlock(); return }
            let index = fillIndex
            monitor.unlock()

            // Outside the lock: the writer only touches slots the decoder has released.
            let slot = UnsafeMutableRawBufferPointer(rebasing: slots[index][DecodePipeline.carryRoom...])
            var n = 0
            var error: BundleError? = nil
            do {
                while n < slot.count {
                    let k = try stream.read(UnsafeMutableRawBufferPointer(rebasing: slot[n...]))
                    if k == 0 { break }
                    n += k
                }
            } catch let e { error = e }

            monitor.lock()
            if let error {
                failure = error
                decoderDone = true
            } else {
                if n > 0 {
                    counts[index] = n
                    fillIndex = (index + 1) % DecodePipeline.slotCount
                    full += 1
                }
                if n < slot.count { decoderDone = true; streamEnded = true }
            }
            let done = decoderDone
            monitor.broadcast()
            monitor.unlock()
            if done { return }
        }
    }

    // MARK: the writer's side

    /// The next decoded (and unfiltered) bytes, at most `limit` of them, valid until
    /// `release(_:)`; fails if the stream ends first or the decoder failed.
    func next(limit: Int) throws(BundleError) -> UnsafeRawBufferPointer {
        while readPos == readyEnd { try take() }
        let n = min(limit, readyEnd - readPos)
        return UnsafeRawBufferPointer(start: current! + readPos, count: n)
    }

    /// Marks `count` bytes from `next` as used; a slot used up goes back to the decoder.
    func release(_ count: Int) {
        readPos += count
        if readPos == readyEnd && holding { giveBack() }
    }

    /// Takes the next filled slot: the carried bytes go in front of its own, and the filter
    /// finishes what it can. At the stream's end, the carried bytes are final as they are.
    private func take() throws(BundleError) {
        monitor.lock()
        while full == 0 && !decoderDone { monitor.wait() }
        let available = full > 0
        // Read under the lock: the decoder writes other elements of the same array.
        let count = available ? counts[readIndex] : 0
        let failure = self.failure
        let ended = streamEnded
        monitor.unlock()
        if available {
            let base = slots[readIndex].baseAddress!
            let start = DecodePipeline.carryRoom - carryCount
            if carryCount > 0 { (base + start).copyMemory(from: carry.baseAddress!, byteCount: carryCount) }
            carryCount = 0
            holding = true
            current = base
            readPos = start
            slotEnd = DecodePipeline.carryRoom + count
            if filter != nil {
                readyEnd =
                    start
                    + filter!.process(
                        UnsafeMutableRawBufferPointer(start: base + start, count: slotEnd - start), atEnd: false)
            } else {
                readyEnd = slotEnd
            }
            if readPos == readyEnd { giveBack() }  // nothing final yet: all of it is carried
            return
        }
        if let failure { throw failure }
        if ended && carryCount > 0 {
            // The stream's last bytes: an operand cut by its end is left alone.
            if filter != nil {
                _ = filter!.process(UnsafeMutableRawBufferPointer(rebasing: carry[0..<carryCount]), atEnd: true)
            }
            current = carry.baseAddress!
            readPos = 0
            readyEnd = carryCount
            slotEnd = carryCount
            carryCount = 0
            return
        }
        throw BundleError(
            .truncated, "layer '\(layerName)': data ends before the files it declares (corrupt or truncated)")
    }

    /// Copies the held slot's unfinished tail (≤ 4 bytes) aside and returns the slot to the decoder.
    private func giveBack() {
        carryCount = slotEnd - readyEnd
        if carryCount > 0 { carry.baseAddress!.copyMemory(from: current! + readyEnd, byteCount: carryCount) }
        holding = false
        current = nil
        readPos = 0; readyEnd = 0; slotEnd = 0
        readIndex = (readIndex + 1) % DecodePipeline.slotCount
        monitor.lock()
        full -= 1
        monitor.broadcast()
        monitor.unlock()
    }

    /// After the last file: waits for the decoder, then the stream must have ended with nothing
    /// left over, and `LayerStream.finish` checks the rest (trailing bytes, the data digest).
    func finish() throws(BundleError) {
        monitor.lock()
        // Decoded bytes nobody asked for end the wait at once: a decoder blocked on a full ring
        // would otherwise never finish.
        while !decoderDone && full == 0 { monitor.wait() }
        // Bytes the files did not use: in the ring, in the writer's hands, or carried.
        let leftover = full > 0 || readPos < readyEnd || carryCount > 0
        let failure = self.failure
        let ended = streamEnded
        monitor.unlock()
        stopThread()
        if let failure { throw failure }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 16)
        defer { scratch.deallocate() }
        guard ended, !leftover else {
            throw BundleError(.codec, "layer '\(layerName)': data is longer than the files it declares")
        }
        try stream.finish(scratch: scratch)
    }

    /// Stops the decoder (after a writer's failure) and joins it.
    func cancel() {
        monitor.lock()
        cancelled = true
        monitor.broadcast()
        monitor.unlock()
        stopThread()
    }

    private func stopThread() {
        guard let t = thread else { return }
        monitor.lock()
        cancelled = true
        monitor.broadcast()
        monitor.unlock()
        Sys.join(t)
        thread = nil
    }
}

/// The decoding thread's entry: a C function with the pipeline as its context.
private let decodeThreadEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
    Unmanaged<DecodePipeline>.fromOpaque(context!).takeUnretainedValue().decodeLoop()
    return nil
}

/// Where the extractor's pass 2 gets decoded bytes: the stream itself, on the calling thread, or
/// the pipeline's ring. A pipeline that is dropped (an error in pass 2) stops and joins its thread.
enum DecodedBytes {
    final class Inline {
        var stream: LayerStream
        init(_ stream: consuming LayerStream) { self.stream = stream }
    }
    case inline(Inline)
    case pipelined(DecodePipeline)

    /// `pipelined`: decode on a second thread if one can be started. (BENCH_NO_PIPELINE exists
    /// only for scripts/bench.sh, to measure what the pipeline gains; no shipped stub has it.)
    init(_ bundle: BundleFile, layer: LayerRecord, pipelined: Bool) throws(BundleError) {
        let offset = bundle.trailer.layers.lowerBound
        #if !BENCH_NO_PIPELINE
            if pipelined,
                let p = DecodePipeline.start(
                    try LayerStream(file: bundle, dataOffset: offset, layer: layer), layerName: layer.name)
            {
                self = .pipelined(p)
                return
            }
        #endif
        self = .inline(Inline(try LayerStream(file: bundle, dataOffset: offset, layer: layer)))
    }
}
