import BundleFormat
import CPlatform

/// The extraction pipeline: one thread decodes the layer (reading, hashing the stored bytes,
/// decompressing, undoing the filter: `LayerStream`) into a ring of `slotCount` buffers, while
/// the caller's thread writes files straight out of those buffers. Memory: the ring
/// (`slotCount × slotSize`) plus the stream's own buffers, whatever the layer's size.
///
/// One mutex and one condition variable guard the ring. Errors: the decoding thread stores its
/// `BundleError` and stops; the writer sees it when it next waits for data. A writer that fails
/// (a full disk) calls `cancel()`, which wakes the decoder and makes it stop. `finish()` and
/// `cancel()` join the thread, so none is left running; `deinit` cancels if neither was called.
final class DecodePipeline {
    static let slotCount = 3
    static let slotSize = 1 << 20

    private var stream: LayerStream
    private let slots: [UnsafeMutableRawBufferPointer]
    private var counts: [Int]
    private var fillIndex = 0        // next slot the decoder fills
    private var readIndex = 0        // slot the writer reads
    private var readPos = 0          // position in that slot
    private var full = 0             // slots filled and not yet released by the writer
    private var decoderDone = false  // the decoder has stopped (end of stream, error or cancel)
    private var streamEnded = false  // it stopped at the end of the stream, checked by `finish`
    private var failure: BundleError? = nil
    private var cancelled = false
    private let mutex: UnsafeMutableRawPointer
    private let cond: UnsafeMutableRawPointer
    private var thread: UnsafeMutableRawPointer? = nil
    private let layerName: String

    /// Starts the decoding thread; nil when threads are unavailable (the caller decodes inline).
    static func start(_ stream: consuming LayerStream, layerName: String) -> DecodePipeline? {
        guard let mutex = cplat_mutex_new() else { return nil }
        guard let cond = cplat_cond_new() else { cplat_mutex_free(mutex); return nil }
        let pipeline = DecodePipeline(stream, mutex: mutex, cond: cond, layerName: layerName)
        let context = Unmanaged.passUnretained(pipeline).toOpaque()
        var thread: UnsafeMutableRawPointer? = nil
        guard cplat_thread_start(decodeThreadEntry, context, &thread) == 0, let thread else { return nil }
        pipeline.thread = thread
        return pipeline
    }

    private init(_ stream: consuming LayerStream, mutex: UnsafeMutableRawPointer, cond: UnsafeMutableRawPointer, layerName: String) {
        self.stream = stream
        self.mutex = mutex
        self.cond = cond
        self.layerName = layerName
        var slots: [UnsafeMutableRawBufferPointer] = []
        for _ in 0..<DecodePipeline.slotCount { slots.append(.allocate(byteCount: DecodePipeline.slotSize, alignment: 16)) }
        self.slots = slots
        self.counts = [Int](repeating: 0, count: DecodePipeline.slotCount)
    }

    deinit {
        stopThread()
        for s in slots { s.deallocate() }
        cplat_cond_free(cond)
        cplat_mutex_free(mutex)
    }

    // MARK: the decoding thread

    fileprivate func decodeLoop() {
        while true {
            cplat_mutex_lock(mutex)
            while full == DecodePipeline.slotCount && !cancelled { cplat_cond_wait(cond, mutex) }
            if cancelled { decoderDone = true; cplat_cond_broadcast(cond); cplat_mutex_unlock(mutex); return }
            let index = fillIndex
            cplat_mutex_unlock(mutex)

            // Outside the lock: the writer only touches slots the decoder has released.
            let slot = slots[index]
            var n = 0
            var error: BundleError? = nil
            do {
                while n < slot.count {
                    let k = try stream.read(UnsafeMutableRawBufferPointer(rebasing: slot[n...]))
                    if k == 0 { break }
                    n += k
                }
            } catch let e { error = e }

            cplat_mutex_lock(mutex)
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
            cplat_cond_broadcast(cond)
            cplat_mutex_unlock(mutex)
            if done { return }
        }
    }

    // MARK: the writer's side

    /// The next decoded bytes, at most `limit` of them, valid until `release(_:)`; fails if the
    /// stream ends first or the decoder failed.
    func next(limit: Int) throws(BundleError) -> UnsafeRawBufferPointer {
        cplat_mutex_lock(mutex)
        while full == 0 && !decoderDone { cplat_cond_wait(cond, mutex) }
        let available = full > 0
        let failure = self.failure
        cplat_mutex_unlock(mutex)
        guard available else {
            if let failure { throw failure }
            throw BundleError(.truncated, "layer '\(layerName)': data ends before the files it declares (corrupt or truncated)")
        }
        let slot = slots[readIndex]
        let n = min(limit, counts[readIndex] - readPos)
        return UnsafeRawBufferPointer(rebasing: slot[readPos..<(readPos + n)])
    }

    /// Marks `count` bytes from `next` as used; a slot used up goes back to the decoder.
    func release(_ count: Int) {
        readPos += count
        guard readPos == counts[readIndex] else { return }
        readPos = 0
        readIndex = (readIndex + 1) % DecodePipeline.slotCount
        cplat_mutex_lock(mutex)
        full -= 1
        cplat_cond_broadcast(cond)
        cplat_mutex_unlock(mutex)
    }

    /// After the last file: waits for the decoder, then the stream must have ended with nothing
    /// left over, and `LayerStream.finish` checks the rest (trailing bytes, the data digest).
    func finish() throws(BundleError) {
        cplat_mutex_lock(mutex)
        // Decoded bytes nobody asked for end the wait at once: a decoder blocked on a full ring
        // would otherwise never finish.
        while !decoderDone && full == 0 { cplat_cond_wait(cond, mutex) }
        let leftover = full > 0
        let failure = self.failure
        let ended = streamEnded
        cplat_mutex_unlock(mutex)
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
        cplat_mutex_lock(mutex)
        cancelled = true
        cplat_cond_broadcast(cond)
        cplat_mutex_unlock(mutex)
        stopThread()
    }

    private func stopThread() {
        guard let t = thread else { return }
        cplat_mutex_lock(mutex)
        cancelled = true
        cplat_cond_broadcast(cond)
        cplat_mutex_unlock(mutex)
        cplat_thread_join(t)
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
        if pipelined, let p = DecodePipeline.start(try LayerStream(fd: bundle.fd, dataOffset: offset, layer: layer), layerName: layer.name) {
            self = .pipelined(p)
            return
        }
        #endif
        self = .inline(Inline(try LayerStream(fd: bundle.fd, dataOffset: offset, layer: layer)))
    }
}
