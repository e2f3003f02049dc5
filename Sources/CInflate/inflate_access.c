/* See include/CInflate.h: zlib's z_stream, laid out by the target's own C compiler. */
#include "CInflate.h"

#include <stdlib.h>
#include <zlib.h>

_Static_assert(CINFLATE_OK == Z_OK && CINFLATE_STREAM_END == Z_STREAM_END && CINFLATE_NEED_DICT == Z_NEED_DICT &&
                   CINFLATE_STREAM_ERROR == Z_STREAM_ERROR && CINFLATE_DATA_ERROR == Z_DATA_ERROR &&
                   CINFLATE_MEM_ERROR == Z_MEM_ERROR && CINFLATE_BUF_ERROR == Z_BUF_ERROR,
               "CInflate.h's codes are zlib's");

int32_t cinflate_new(void **out) {
    z_stream *s = calloc(1, sizeof *s);
    if (s == NULL) return Z_MEM_ERROR;
    int r = inflateInit2(s, 15);
    if (r != Z_OK) {
        free(s);
        return r;
    }
    *out = s;
    return Z_OK;
}

int32_t cinflate_reset(void *inflater) { return inflateReset((z_stream *)inflater); }

int32_t cinflate_run(void *inflater, const uint8_t *in, uint32_t in_count, uint8_t *out, uint32_t out_count,
                     int32_t finish, uint32_t *in_left, uint32_t *out_left) {
    z_stream *s = inflater;
    s->next_in = (Bytef *)in; /* zlib does not write through next_in */
    s->avail_in = in_count;
    s->next_out = out;
    s->avail_out = out_count;
    int r = inflate(s, finish ? Z_FINISH : Z_NO_FLUSH);
    *in_left = s->avail_in;
    *out_left = s->avail_out;
    s->next_in = NULL;
    s->next_out = NULL;
    return r;
}

void cinflate_free(void *inflater) {
    inflateEnd((z_stream *)inflater);
    free(inflater);
}
