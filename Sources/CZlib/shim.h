#pragma once
#include <zlib.h>

/* inflateInit2/deflateInit2 are function-like macros Swift cannot import. */
static inline int czlib_inflate_init2(z_stream *strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
static inline int czlib_deflate_init2(z_stream *strm, int level, int windowBits, int memLevel, int strategy) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, memLevel, strategy);
}
