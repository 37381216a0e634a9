/*
 * exif.c - the one EXIF fact we use: the orientation tag (0x0112) of IFD0.
 *
 * Parsed by hand rather than with libexif: we need one 16-bit value from
 * the first directory, which is some forty lines with explicit bounds
 * checks, whereas a general EXIF library parses (and has had memory-safety
 * bugs in) maker notes, thumbnails and dozens of tag types we would never
 * read, and would be one more dependency to track in the cache key.  Every
 * read below is checked against the block's length before it is made; the
 * parser is fuzzed on its own (tests/fuzz/fuzz_exif.c) and through every
 * decoder that carries EXIF.
 *
 * A damaged block is not an error: the image is then taken as stored
 * (orientation 1), the way viewers show it.
 */
#include <string.h>

#include "decode/internal.h"

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3
#define TYPE_LONG 4
#define IFD_ENTRY_BYTES 12

typedef struct {
    const uint8_t *p;
    size_t len;
    int big_endian;
} tiff;

/* 0 if the 2 or 4 bytes at off are not all inside the block. */
static int read16(const tiff *t, size_t off, unsigned *out)
{
    if (off > t->len || t->len - off < 2)
        return 0;
    const uint8_t *b = t->p + off;
    *out = t->big_endian ? (unsigned)(b[0] << 8 | b[1]) : (unsigned)(b[1] << 8 | b[0]);
    return 1;
}

static int read32(const tiff *t, size_t off, uint32_t *out)
{
    if (off > t->len || t->len - off < 4)
        return 0;
    const uint8_t *b = t->p + off;
    if (t->big_endian)
        *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    else
        *out = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    return 1;
}

int dedup_decode_exif_orientation(const uint8_t *exif, size_t len)
{
    if (!exif)
        return 1;
    /* JPEG's APP1 and some WebP writers put this before the TIFF header. */
    if (len >= 6 && memcmp(exif, "Exif\0\0", 6) == 0) {
        exif += 6;
        len -= 6;
    }
    tiff t = {exif, len, 0};
    if (len < 8)
        return 1;
    if (memcmp(exif, "MM", 2) == 0)
        t.big_endian = 1;
    else if (memcmp(exif, "II", 2) != 0)
        return 1;
    unsigned magic, count;
    uint32_t ifd;
    if (!read16(&t, 2, &magic) || magic != 42 || !read32(&t, 4, &ifd) || !read16(&t, ifd, &count))
        return 1;
    /* A directory that does not fit is damage, even if the entry we want
     * happens to lie inside the block. */
    if ((size_t)count * IFD_ENTRY_BYTES > len - 2 - (size_t)ifd)
        return 1;
    for (unsigned i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * IFD_ENTRY_BYTES;
        unsigned tag, type;
        uint32_t n, value32;
        if (!read16(&t, entry, &tag) || !read16(&t, entry + 2, &type) || !read32(&t, entry + 4, &n))
            return 1; /* unreachable after the size check, kept as the guard */
        if (tag != TAG_ORIENTATION)
            continue;
        /* One value, stored in the entry itself: SHORT as the standard says,
         * LONG as a few writers do. */
        unsigned value = 0;
        if (n != 1)
            return 1;
        if (type == TYPE_SHORT) {
            if (!read16(&t, entry + 8, &value))
                return 1;
        } else if (type == TYPE_LONG) {
            if (!read32(&t, entry + 8, &value32))
                return 1;
            value = value32 <= 8 ? (unsigned)value32 : 0;
        } else {
            return 1;
        }
        return value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
}
