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
static const lzma_vli CLZMA_FILTER_LZMA2 = LZMA_FILTER_LZMA2;
static const lzma_vli CLZMA_VLI_UNKNOWN = LZMA_VLI_UNKNOWN;
