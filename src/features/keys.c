/*
 * keys.c - the exact keys (XXH3-128 of the stored bytes and of the decoded
 * pixels) and the per-image feature bundle.
 *
 * xxHash is compiled in with XXH_INLINE_ALL so the streaming state can live
 * on the stack: the pixel hash then cannot fail, which its signature
 * requires.  The bits are the same XXH3-128 that libxxhash computes.
 */
#include "dedup/features.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static dedup_hash128 from_xxh(XXH128_hash_t h)
{
    dedup_hash128 out = {h.low64, h.high64};
    return out;
}

dedup_hash128 dedup_byte_hash(const void *bytes, size_t len)
{
    /* XXH3 reads nothing when len is 0, but a NULL pointer is still not a buffer. */
    static const unsigned char empty[1] = {0};
    return from_xxh(XXH3_128bits(bytes ? bytes : empty, bytes ? len : 0));
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Width and height go in first, as little-endian 32-bit values, so two
 * images with the same bytes in a different shape hash differently. */
dedup_hash128 dedup_pixel_hash(const dedup_image *img)
{
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    unsigned char dims[8];
    put_le32(dims, (uint32_t)img->width);
    put_le32(dims + 4, (uint32_t)img->height);
    XXH3_128bits_update(&state, dims, sizeof(dims));
    const size_t row_bytes = (size_t)img->width * 3;
    if (img->pixels && img->width > 0)
        for (int y = 0; y < img->height; y++)
            XXH3_128bits_update(&state, img->pixels + (size_t)y * img->stride, row_bytes);
    return from_xxh(XXH3_128bits_digest(&state));
}

/* High word first, like XXH128_canonicalFromHash, so the text reads as one
 * big-endian 128-bit number. */
void dedup_hash128_hex(const dedup_hash128 *h, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    const uint64_t words[2] = {h->hi, h->lo};
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 16; i++)
            out[w * 16 + i] = digits[(words[w] >> (60 - 4 * i)) & 0xf];
    out[32] = '\0';
}

int dedup_features_compute(dedup_features *out, const uint8_t *bytes, size_t len,
                           const dedup_image *img, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!img)
        return dedup_error_set(err, DEDUP_EINVAL, "features of a missing image");
    int rc = dedup_pdq_compute(&out->pdq, img, err);
    if (rc)
        return rc;
    out->byte_hash = dedup_byte_hash(bytes, len);
    /* A scaled JPEG decode is not the image's pixels; hashing it would give
     * a key that depends on our decode scale. */
    if (img->full_resolution) {
        out->has_pixel_hash = 1;
        out->pixel_hash = dedup_pixel_hash(img);
    }
    /* Images built in memory may not say how they were stored. */
    out->width = img->source_width > 0 ? img->source_width : img->width;
    out->height = img->source_height > 0 ? img->source_height : img->height;
    return dedup_local_compute(&out->local, img, err);
}
