#pragma once
#include <lzma.h>
#include <string.h>

/* LZMA_STREAM_INIT is a macro initialiser Swift cannot import. */
static inline void clzma_stream_init(lzma_stream *strm) {
    lzma_stream init = LZMA_STREAM_INIT;
    *strm = init;
}
static const uint32_t CLZMA_CONCATENATED = LZMA_CONCATENATED;
static const uint32_t CLZMA_PRESET_EXTREME = LZMA_PRESET_EXTREME;
