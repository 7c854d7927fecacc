/* Decodes a Brotli stream from stdin to stdout (libbrotlidec), for the compression tests:
 * Debian's python3 has no brotli module by default. Exit status 1 on a malformed stream. */
#include <brotli/decode.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t cap = 1 << 16, len = 0, n;
    unsigned char *in = malloc(cap);
    if (!in) return 2;
    while ((n = fread(in + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            unsigned char *more = realloc(in, cap *= 2);
            if (!more) return 2;
            in = more;
        }
    }
    BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!s) return 2;
    const uint8_t *next_in = in;
    size_t avail_in = len;
    uint8_t out[1 << 16];
    BrotliDecoderResult r;
    do {
        uint8_t *next_out = out;
        size_t avail_out = sizeof(out);
        r = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
        fwrite(out, 1, sizeof(out) - avail_out, stdout);
    } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    int ok = r == BROTLI_DECODER_RESULT_SUCCESS && avail_in == 0;
    BrotliDecoderDestroyInstance(s);
    free(in);
    if (!ok) fputs("brotli_decode: malformed or truncated stream\n", stderr);
    return ok ? 0 : 1;
}
