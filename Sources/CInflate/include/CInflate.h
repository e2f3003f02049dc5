#pragma once
/* zlib's inflater behind fixed-width C functions, for the launcher's decoders (BundleCodecs).
 *
 * Why not z_stream from Swift: zlib's z_stream has `uLong` fields, and `long` is 8 bytes on
 * Linux and macOS but 4 on 64-bit Windows. The Windows launcher's Swift is compiled as IR for an
 * ELF (LP64) triple and retargeted (docs/platforms.md, "Windows x64 launcher"), so Swift would
 * read and write z_stream at Linux's offsets and pass Linux's sizeof(z_stream) to inflateInit2_.
 * Here only this file, compiled by the target's own C compiler, knows the struct; the header
 * holds fixed-width types and includes nothing but <stdint.h>. The encoder (tools only, which
 * run on Linux) still uses z_stream directly. */
#include <stdint.h>

/* zlib's return codes the decoders tell apart (the values of zlib.h, checked in inflate_access.c). */
#define CINFLATE_OK 0
#define CINFLATE_STREAM_END 1
#define CINFLATE_NEED_DICT 2
#define CINFLATE_STREAM_ERROR (-2)
#define CINFLATE_DATA_ERROR (-3)
#define CINFLATE_MEM_ERROR (-4)
#define CINFLATE_BUF_ERROR (-5)

/* An inflater for the zlib format (windowBits 15): CINFLATE_OK and *out set, or a code. */
int32_t cinflate_new(void **out);
/* inflateReset: ready for a new stream, keeping the window's memory. */
int32_t cinflate_reset(void *inflater);
/* One inflate call over `in` and `out` (`finish`: Z_FINISH, else Z_NO_FLUSH). On return
 * *in_left and *out_left are what zlib left unused; no pointer into the buffers is kept. */
int32_t cinflate_run(void *inflater, const uint8_t *in, uint32_t in_count, uint8_t *out, uint32_t out_count,
                     int32_t finish, uint32_t *in_left, uint32_t *out_left);
/* inflateEnd and the memory of the inflater. */
void cinflate_free(void *inflater);
