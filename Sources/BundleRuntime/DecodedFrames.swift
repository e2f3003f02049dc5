import BundleFormat
import BundleSystem

/// A layer's decoded bytes, in order, for the extractor's writer: the frames (docs/format.md,
/// "Frame table") are decoded on `threads` threads, each with its own `FrameReader`, into a ring
/// of `threads + 1` frame-sized slots, while the caller's thread writes files out of the slots in
/// frame order. With no thread (one processor, or none could be started) the caller decodes each
/// frame itself when it needs it.
///
/// Scheduling: frames are claimed in order (`nextToClaim`); frame *k* uses slot *k* mod *slots*,
/// and is claimed only once the writer has moved past frame *k - slots*, so a slot is never
/// overwritten while the writer reads it. Memory: the slots (each the layer's largest decoded
/// frame) and one `FrameReader` per thread, whatever the layer's size.
///
/// Errors: a thread that fails on frame *k* records the error if *k* is the lowest failed frame
/// so far, and no frame is claimed after that. The writer throws that error when it reaches frame
/// *k*: every frame before it was claimed before it and completes, so the error is the same
/// whatever the number of threads or their timing. A writer that fails itself (a full disk) calls
/// `cancel()`. `finish()` and `cancel()` join every thread, and the caller must call one of them
/// (`LayerExtractor` does, in a `defer`): a running thread holds the pool (the call through its
/// worker's reference retains it), so `deinit` cannot run while a thread does, and must not
/// join one (it could run on that very thread).
final class DecodedFrames {
    private let layer: LayerRecord
    private let slots: [UnsafeMutableRawBufferPointer]
    // Guarded by `monitor` when there are threads.
    private var ready: [Bool]
    private var nextToClaim = 0
    private var nextToWrite = 0  // the frame the writer holds or waits for
    private var failedFrame = Int.max
    private var failure: BundleError? = nil
    private var cancelled = false
    // The writer's own.
    private var holding = false
    private var pos = 0
    private var end = 0
    private let monitor: Sys.Monitor?
    private var workers: [Worker] = []
    private var threads: [Sys.Thread] = []
    /// The reader of the caller's thread, when no thread decodes.
    private var inlineReader: FrameReader? = nil

    /// How many threads decode `layer` (`FrameTable.decodingThreads`, with this machine's processors).
    static func threadCount(for layer: LayerRecord, processors: Int = Sys.processorCount) -> Int {
        // BENCH_INLINE_DECODE exists only for scripts/bench.sh, to measure what the threads gain;
        // no shipped stub has it.
        #if BENCH_INLINE_DECODE
            return 0
        #else
            return FrameTable.decodingThreads(layer.frames, codec: layer.codec, processors: processors)
        #endif
    }

    /// Starts decoding `layer` of `file` on `threads` threads (0: on the caller's thread).
    init(file: BundleFile, layer: LayerRecord, threads requested: Int) throws(BundleError) {
        self.layer = layer
        let largest = Int(layer.frames.map { $0.decodedSize }.max() ?? 0)
        var monitor: Sys.Monitor? = nil
        var threads = requested
        if threads > 0 {
            monitor = Sys.Monitor()
            if monitor == nil { threads = 0 }
        }
        self.monitor = monitor
        let slotCount = threads + 1
        var slots: [UnsafeMutableRawBufferPointer] = []
        for _ in 0..<slotCount { slots.append(.allocate(byteCount: max(largest, 1), alignment: 16)) }
        self.slots = slots
        self.ready = [Bool](repeating: false, count: slotCount)
        if threads == 0 {
            inlineReader = try FrameReader(file: file, layer: layer)
            return
        }
        for _ in 0..<threads { workers.append(Worker(reader: try FrameReader(file: file, layer: layer))) }
        for w in workers {
            w.pool = self
            guard let t = Sys.startThread(decodeThreadEntry, context: Unmanaged.passUnretained(w).toOpaque()) else {
                break
            }
            self.threads.append(t)
        }
        if self.threads.isEmpty {
            // No thread could start: the caller's thread decodes, with the first worker's reader.
            inlineReader = workers[0].reader
            workers = []
        }
    }

    deinit {
        assert(threads.isEmpty, "DecodedFrames dropped without finish() or cancel()")
        for s in slots { s.deallocate() }
    }

    // MARK: the decoding threads

    /// One thread's reader, and the pool it works for (set before the thread starts).
    fileprivate final class Worker {
        let reader: FrameReader
        unowned(unsafe) var pool: DecodedFrames? = nil
        init(reader: FrameReader) { self.reader = reader }
    }

    fileprivate func decodeLoop(_ reader: FrameReader) {
        guard let monitor else { return }
        let count = layer.frames.count
        let slotCount = slots.count
        monitor.lock()
        while true {
            while !cancelled && failedFrame == Int.max && nextToClaim < count && nextToClaim >= nextToWrite + slotCount
            {
                monitor.wait()
            }
            if cancelled || failedFrame != Int.max || nextToClaim >= count {
                monitor.unlock()
                return
            }
            let k = nextToClaim
            nextToClaim += 1
            monitor.unlock()
            var error: BundleError? = nil
            do { try reader.decode(k, into: slots[k % slotCount]) } catch let e { error = e }
            monitor.lock()
            if let error {
                if k < failedFrame {
                    failedFrame = k
                    failure = error
                }
            } else {
                ready[k % slotCount] = true
            }
            monitor.broadcast()
        }
    }

    // MARK: the writer's side

    /// The next decoded bytes, at most `limit` of them, valid until `release(_:)`; fails if the
    /// layer's bytes end first or a frame failed to read, match its digest or decode.
    func next(limit: Int) throws(BundleError) -> UnsafeRawBufferPointer {
        if !holding { try take() }
        let n = min(limit, end - pos)
        return UnsafeRawBufferPointer(rebasing: slots[nextToWrite % slots.count][pos..<(pos + n)])
    }

    /// Marks `count` bytes from `next` as written; a frame used up goes back to the threads.
    func release(_ count: Int) {
        pos += count
        guard pos == end, holding else { return }
        holding = false
        if let monitor, !threads.isEmpty {
            monitor.lock()
            ready[nextToWrite % slots.count] = false
            nextToWrite += 1
            monitor.broadcast()
            monitor.unlock()
        } else {
            nextToWrite += 1
        }
    }

    /// Waits for (or decodes) frame `nextToWrite`.
    private func take() throws(BundleError) {
        let w = nextToWrite
        guard w < layer.frames.count else {
            throw BundleError(
                .truncated, "layer '\(layer.name)': data ends before the files it declares (corrupt or truncated)")
        }
        if let reader = inlineReader {
            try reader.decode(w, into: slots[0])
        } else if let monitor {
            monitor.lock()
            while !ready[w % slots.count] && failedFrame > w { monitor.wait() }
            let failed = failedFrame <= w ? failure : nil
            monitor.unlock()
            if let failed { throw failed }
        }
        holding = true
        pos = 0
        end = Int(layer.frames[w].decodedSize)
    }

    /// After the last file: every frame must have been written, with no byte left over (each was
    /// checked against its digest before it was decoded). Joins the threads.
    func finish() throws(BundleError) {
        let leftover = holding || nextToWrite < layer.frames.count
        stopThreads()
        if leftover {
            throw BundleError(.codec, "layer '\(layer.name)': data is longer than the files it declares")
        }
    }

    /// Stops the threads (after a writer's failure) and joins them.
    func cancel() { stopThreads() }

    private func stopThreads() {
        guard !threads.isEmpty, let monitor else { return }
        monitor.lock()
        cancelled = true
        monitor.broadcast()
        monitor.unlock()
        for t in threads { Sys.join(t) }
        threads = []
        workers = []
    }
}

/// A decoding thread's entry: a C function with its `Worker` as the context.
private let decodeThreadEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
    let worker = Unmanaged<DecodedFrames.Worker>.fromOpaque(context!).takeUnretainedValue()
    worker.pool!.decodeLoop(worker.reader)
    return nil
}
