/*
 * orient.c - turn decoded pixels as stored into the picture as displayed,
 * for the eight EXIF orientations.
 *
 * Done after decoding (and after any DCT or WebP scaling), on the small
 * image: rotating the scaled pixels costs a few thousand pixel moves, and
 * scaling commutes with these transforms.  Orientations 2-4 keep the shape
 * and are done in place; 5-8 swap width and height and need a second
 * buffer of the same size, so the peak is twice the decoded image.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/internal.h"

/* Where displayed pixel (dx, dy) comes from in the stored W x H image, for
 * the orientations that swap the sides (2-4 are mirror_in_place's).  EXIF
 * states each case as "stored row 0 is the displayed <side>, stored column
 * 0 is the displayed <side>"; these are those sentences inverted. */
static void source_of(int orientation, size_t w, size_t h, size_t dx, size_t dy, size_t *sx,
                      size_t *sy)
{
    switch (orientation) {
    case 5: /* row 0 is the left side, column 0 the top: transpose */
        *sx = dy, *sy = dx;
        break;
    case 6: /* row 0 is the right side, column 0 the top: turn clockwise */
        *sx = dy, *sy = h - 1 - dx;
        break;
    case 7: /* row 0 is the right side, column 0 the bottom: transverse */
        *sx = w - 1 - dy, *sy = h - 1 - dx;
        break;
    case 8: /* row 0 is the left side, column 0 the bottom: turn anticlockwise */
        *sx = w - 1 - dy, *sy = dx;
        break;
    default:
        *sx = dx, *sy = dy;
        break;
    }
}

static void swap_px(uint8_t *a, uint8_t *b)
{
    for (int c = 0; c < 3; c++) {
        uint8_t t = a[c];
        a[c] = b[c];
        b[c] = t;
    }
}

/* Orientations 2 (mirrored left-right), 3 (turned 180 degrees) and 4
 * (mirrored top-bottom): every pixel trades places with its mirror image. */
static void mirror_in_place(dedup_image *img, int orientation)
{
    size_t w = (size_t)img->width, h = (size_t)img->height;
    int flip_x = orientation == 2 || orientation == 3;
    int flip_y = orientation == 3 || orientation == 4;
    /* Visit each pair once: the first half of the rows when flipping
     * vertically (plus the middle row's first half for 180), else the
     * first half of every row. */
    for (size_t y = 0; y < h; y++) {
        size_t ty = flip_y ? h - 1 - y : y;
        if (ty < y)
            break;
        for (size_t x = 0; x < w; x++) {
            size_t tx = flip_x ? w - 1 - x : x;
            if (ty == y && tx <= x)
                continue;
            swap_px(img->pixels + y * img->stride + 3 * x, img->pixels + ty * img->stride + 3 * tx);
        }
    }
}

int dedup_decode_orient(dedup_image *img, int orientation, dedup_error *err)
{
    if (orientation < 2 || orientation > 8 || !img->pixels)
        return 0;
    if (orientation <= 4) {
        mirror_in_place(img, orientation);
        return 0;
    }
    size_t w = (size_t)img->width, h = (size_t)img->height;
    /* Displayed size is h x w. */
    uint8_t *turned = dedup_decode_alloc(h, w, 3);
    if (!turned)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory turning a %zux%zu image", w, h);
    size_t stride = h * 3;
    for (size_t dy = 0; dy < w; dy++) {
        uint8_t *row = turned + dy * stride;
        for (size_t dx = 0; dx < h; dx++) {
            size_t sx, sy;
            source_of(orientation, w, h, dx, dy, &sx, &sy);
            memcpy(row + 3 * dx, img->pixels + sy * img->stride + 3 * sx, 3);
        }
    }
    free(img->pixels);
    img->pixels = turned;
    img->width = (int)h;
    img->height = (int)w;
    img->stride = stride;
    int sw = img->source_width;
    img->source_width = img->source_height;
    img->source_height = sw;
    return 0;
}
