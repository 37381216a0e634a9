/*
 * decode.c - the decode layer's entry points: sniff the format from the
 * bytes, hand them to that format's decoder (jpeg.c, png.c, webp.c, gif.c),
 * then apply the EXIF orientation (orient.c) so the pixels are the picture
 * a person sees.  Pure: the caller hands us bytes and gets pixels or a
 * reason; nothing here touches files, git or global state.
 *
 * Every decoder checks the header's dimensions against max_pixels before it
 * allocates, so a small file that declares a huge image cannot exhaust
 * memory, and fails rather than return pixels it did not fully decode.
 */
#include "dedup/decode.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <spng.h>
#include <webp/decode.h>

#include "decode/internal.h"

struct dedup_decoder {
    /* libjpeg's decompressor is worth keeping between images (TurboJPEG
     * does the same); the other libraries have no reusable state. */
    dedup_jpeg_state *jpeg;
};

const char *dedup_format_name(dedup_format format)
{
    switch (format) {
    case DEDUP_FORMAT_JPEG:
        return "jpeg";
    case DEDUP_FORMAT_PNG:
        return "png";
    case DEDUP_FORMAT_GIF:
        return "gif";
    case DEDUP_FORMAT_WEBP:
        return "webp";
    case DEDUP_FORMAT_BMP:
        return "bmp";
    case DEDUP_FORMAT_TIFF:
        return "tiff";
    case DEDUP_FORMAT_HEIF:
        return "heif";
    case DEDUP_FORMAT_JXL:
        return "jxl";
    case DEDUP_FORMAT_JP2:
        return "jp2";
    default:
        return "unknown";
    }
}

const char *dedup_decode_label(dedup_format format)
{
    switch (format) {
    case DEDUP_FORMAT_JPEG:
        return "JPEG";
    case DEDUP_FORMAT_PNG:
        return "PNG";
    case DEDUP_FORMAT_GIF:
        return "GIF";
    case DEDUP_FORMAT_WEBP:
        return "WebP";
    case DEDUP_FORMAT_BMP:
        return "BMP";
    case DEDUP_FORMAT_TIFF:
        return "TIFF";
    case DEDUP_FORMAT_HEIF:
        return "HEIF/AVIF";
    case DEDUP_FORMAT_JXL:
        return "JPEG XL";
    case DEDUP_FORMAT_JP2:
        return "JPEG 2000";
    default:
        return "unknown";
    }
}

/* An ISO BMFF file whose "ftyp" box names an image brand: HEIC, HEIF, AVIF. */
static int is_heif(const uint8_t *b, size_t len)
{
    static const char *const brands[] = {"heic", "heix", "hevc", "heim", "heis", "hevm",
                                         "hevs", "mif1", "msf1", "avif", "avis"};
    if (len < 12 || memcmp(b + 4, "ftyp", 4) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
        if (memcmp(b + 8, brands[i], 4) == 0)
            return 1;
    return 0;
}

dedup_format dedup_decode_sniff(const uint8_t *b, size_t len)
{
    if (!b)
        return DEDUP_FORMAT_UNKNOWN;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return DEDUP_FORMAT_JPEG;
    if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return DEDUP_FORMAT_PNG;
    if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return DEDUP_FORMAT_GIF;
    if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return DEDUP_FORMAT_WEBP;
    if (len >= 2 && b[0] == 'B' && b[1] == 'M')
        return DEDUP_FORMAT_BMP;
    if (len >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0 ||
                     memcmp(b, "II+\0", 4) == 0 || memcmp(b, "MM\0+", 4) == 0))
        return DEDUP_FORMAT_TIFF;
    if (is_heif(b, len))
        return DEDUP_FORMAT_HEIF;
    if ((len >= 2 && b[0] == 0xFF && b[1] == 0x0A) ||
        (len >= 12 && memcmp(b, "\0\0\0\x0cJXL \r\n\x87\n", 12) == 0))
        return DEDUP_FORMAT_JXL;
    if ((len >= 12 && memcmp(b, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0) ||
        (len >= 4 && memcmp(b, "\xff\x4f\xff\x51", 4) == 0))
        return DEDUP_FORMAT_JP2;
    return DEDUP_FORMAT_UNKNOWN;
}

void dedup_decode_options_init(dedup_decode_options *opts)
{
    opts->min_side = 64;
    opts->max_pixels = 178956970; /* ~179 MP: beyond any camera, far below a bomb */
}

int dedup_decoder_new(dedup_decoder **out, dedup_error *err)
{
    *out = NULL;
    dedup_decoder *dec = calloc(1, sizeof(*dec));
    if (!dec)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory creating a decoder");
    int rc = dedup_decode_jpeg_new(&dec->jpeg, err);
    if (rc) {
        free(dec);
        return rc;
    }
    *out = dec;
    return 0;
}

void dedup_decoder_free(dedup_decoder *dec)
{
    if (!dec)
        return;
    dedup_decode_jpeg_free(dec->jpeg);
    free(dec);
}

void dedup_image_free(dedup_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof(*img));
}

int dedup_decode_check_pixels(const char *format, uint64_t w, uint64_t h, uint64_t max_pixels,
                              dedup_error *err)
{
    if (w == 0 || h == 0)
        return dedup_error_set(err, DEDUP_EDECODE, "%s header declares %llux%llu pixels", format,
                               (unsigned long long)w, (unsigned long long)h);
    /* Every format we decode stores sides in at most 32 bits, so the
     * product cannot overflow; INT_MAX keeps sizes representable as int. */
    if (w > INT_MAX || h > INT_MAX)
        return dedup_error_set(err, DEDUP_ETOOBIG, "%s of %llux%llu pixels is too large", format,
                               (unsigned long long)w, (unsigned long long)h);
    uint64_t n = w * h;
    if (max_pixels && n > max_pixels)
        return dedup_error_set(err, DEDUP_ETOOBIG,
                               "%s is %llux%llu (%llu pixels), over the limit of %llu pixels "
                               "(git config dedup.maxPixels)",
                               format, (unsigned long long)w, (unsigned long long)h,
                               (unsigned long long)n, (unsigned long long)max_pixels);
    return 0;
}

uint8_t *dedup_decode_alloc(size_t width, size_t height, size_t channels)
{
    if (width == 0 || height == 0 || channels == 0)
        return NULL;
    if (width > SIZE_MAX / channels || height > SIZE_MAX / (width * channels))
        return NULL;
    return malloc(width * height * channels);
}

static int refuse_format(dedup_format f, dedup_error *err)
{
    if (f == DEDUP_FORMAT_UNKNOWN)
        return dedup_error_set(err, DEDUP_EDECODE, "not a recognised image format");
    return dedup_error_set(err, DEDUP_EUNSUPPORTED, "%s images are not supported",
                           dedup_decode_label(f));
}

int dedup_decode_header(dedup_decoder *dec, dedup_image_info *out, const uint8_t *bytes, size_t len,
                        dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->orientation = 1;
    if (!dec || (!bytes && len))
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_decode_header: missing argument");
    if (len == 0)
        return dedup_error_set(err, DEDUP_EDECODE, "empty file");
    out->format = dedup_decode_sniff(bytes, len);
    int rc;
    switch (out->format) {
    case DEDUP_FORMAT_JPEG:
        rc = dedup_decode_jpeg_header(dec->jpeg, out, bytes, len, err);
        break;
    case DEDUP_FORMAT_PNG:
        rc = dedup_decode_png_header(out, bytes, len, err);
        break;
    case DEDUP_FORMAT_GIF:
        rc = dedup_decode_gif_header(out, bytes, len, err);
        break;
    case DEDUP_FORMAT_WEBP:
        rc = dedup_decode_webp_header(out, bytes, len, err);
        break;
    default:
        return refuse_format(out->format, err);
    }
    /* An empty image (a GIF may declare a 0x0 canvas) has no header worth
     * reporting: the same refusal the decode would give, without the cap. */
    if (rc == 0)
        rc = dedup_decode_check_pixels(dedup_decode_label(out->format), (uint64_t)out->width,
                                       (uint64_t)out->height, 0, err);
    return rc;
}

int dedup_decode_image(dedup_decoder *dec, dedup_image *out, const uint8_t *bytes, size_t len,
                       const dedup_decode_options *opts, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    dedup_decode_options defaults;
    if (!opts) {
        dedup_decode_options_init(&defaults);
        opts = &defaults;
    }
    if (!dec || (!bytes && len))
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_decode_image: missing argument");
    if (len == 0)
        return dedup_error_set(err, DEDUP_EDECODE, "empty file");
    int orientation = 1, rc;
    dedup_format f = dedup_decode_sniff(bytes, len);
    switch (f) {
    case DEDUP_FORMAT_JPEG:
        rc = dedup_decode_jpeg(dec->jpeg, out, &orientation, bytes, len, opts, err);
        break;
    case DEDUP_FORMAT_PNG:
        rc = dedup_decode_png(out, &orientation, bytes, len, opts, err);
        break;
    case DEDUP_FORMAT_GIF:
        rc = dedup_decode_gif(out, bytes, len, opts, err);
        break;
    case DEDUP_FORMAT_WEBP:
        rc = dedup_decode_webp(out, &orientation, bytes, len, opts, err);
        break;
    default:
        return refuse_format(f, err);
    }
    if (rc)
        return rc;
    if ((rc = dedup_decode_orient(out, orientation, err))) {
        dedup_image_free(out);
        return rc;
    }
    return 0;
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/*
 * libjpeg-turbo and giflib can only tell the version they were built with
 * (libjpeg's JMSG_VERSION is the IJG API level, the same for every
 * libjpeg-turbo); libspng and libwebp report the library actually loaded.
 * An upgrade of any of them changes this text at the latest when git-dedup
 * is rebuilt against it.
 */
int dedup_decode_version(char *out, size_t cap, dedup_error *err)
{
    int webp = WebPGetDecoderVersion();
    int n = snprintf(out, cap, "libjpeg-turbo %s; libspng %s; libwebp %d.%d.%d; giflib %d.%d.%d",
                     STRINGIFY(LIBJPEG_TURBO_VERSION), spng_version_string(), (webp >> 16) & 0xff,
                     (webp >> 8) & 0xff, webp & 0xff, GIFLIB_MAJOR, GIFLIB_MINOR, GIFLIB_RELEASE);
    if (n < 0 || (size_t)n >= cap)
        return dedup_error_set(err, DEDUP_ETOOBIG,
                               "decoder version text needs %d bytes, only %zu given", n, cap);
    return 0;
}
