// Throughput of undoing a branch filter (what the launcher adds per byte of a filtered
// layer), measured on a real file: best of five passes, 256 KiB pieces as LayerStream feeds them.
// Built by scripts/bench-filter.sh together with Sources/BundleCodecs/X86BranchFilter.swift (or,
// names swapped, Arm64BranchFilter.swift).
import Glibc

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/proc/self/exe"
let fd = open(path, O_RDONLY)
guard fd >= 0 else { print("cannot open \(path)"); exit(1) }
var st = stat()
fstat(fd, &st)
let n = Int(st.st_size)
let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 16)
var got = 0
while got < n {
    let r = read(fd, buf.baseAddress! + got, n - got)
    guard r > 0 else { print("cannot read \(path)"); exit(1) }
    got += r
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

var best = Double.infinity
for _ in 0..<5 {
    var filter = X86BranchFilter(encoding: false, totalSize: UInt64(n))
    let t0 = now()
    var pos = 0
    while pos < n {
        let end: Int = min(pos + (256 << 10), n)
        let piece = UnsafeMutableRawBufferPointer(rebasing: buf[pos..<end])
        let done: Int = filter.process(piece, atEnd: end == n)
        pos += done
    }
    best = min(best, now() - t0)
}
let mb: Double = Double(n) / 1e6
let rate: Int = Int(mb / best)
print("x86 filter undo: \(path): \(Int(mb)) MB in \(Int(best * 1000)) ms = \(rate) MB/s")
