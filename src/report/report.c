/*
 * report.c - text and JSON reports.  Paths are byte strings in git; text
 * quotes them like git does (so they can be pasted into git commands), JSON
 * carries them as UTF-8 and replaces invalid bytes with U+FFFD rather than
 * emitting invalid JSON.
 */
#include "dedup/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dedup_report_quote_path(FILE *out, const char *path, int quote_non_ascii)
{
    const unsigned char *p = (const unsigned char *)path;
    int needs = 0;
    for (const unsigned char *q = p; *q && !needs; q++)
        needs =
            *q < 0x20 || *q == 0x7f || *q == '"' || *q == '\\' || (quote_non_ascii && *q >= 0x80);
    if (!needs) {
        fputs(path, out);
        return;
    }
    fputc('"', out);
    for (; *p; p++) {
        switch (*p) {
        case '\a':
            fputs("\\a", out);
            break;
        case '\b':
            fputs("\\b", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\v':
            fputs("\\v", out);
            break;
        case '\f':
            fputs("\\f", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f || (quote_non_ascii && *p >= 0x80))
                fprintf(out, "\\%03o", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void dedup_report_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p++, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p++);
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
        }
    }
    fputc('"', out);
}

/* Images (new ones when only_new) in the list: an archive is not one, its
 * members are (they join the list, and its counts, as the check reads it). */
/* v rounded to 1/per, without the "-0" printf would show for a small
 * negative value (an offset of -0.3 pixels is no offset). */
static double no_negative_zero(double v, double per)
{
    const double r = floor(v * per + 0.5) / per;
    return r == 0 ? 0.0 : r;
}

static size_t count_images(const dedup_item_list *items, int only_new)
{
    size_t archives = 0;
    for (size_t i = 0; i < items->count; i++)
        archives += items->items[i].is_archive && (!only_new || items->items[i].is_new);
    size_t n = only_new ? items->new_count : items->count;
    return n >= archives ? n - archives : 0;
}

/* The split name and the label come from the dataset's own files: escape them. */
static void json_side(FILE *out, const dedup_item *item)
{
    fputs("{\"path\":", out);
    dedup_report_json_string(out, item->path);
    fputs(",\"split\":", out);
    dedup_report_json_string(out, item->split);
    if (item->label) {
        fputs(",\"label\":", out);
        dedup_report_json_string(out, item->label);
    }
    /* Added in issue 4: an archive member names its archive and itself. */
    if (item->storage == DEDUP_STORAGE_MEMBER && item->member &&
        strlen(item->path) > strlen(item->member)) {
        size_t n = strlen(item->path) - strlen(item->member) - 1;
        char *archive = malloc(n + 1);
        if (archive) {
            memcpy(archive, item->path, n);
            archive[n] = '\0';
            fputs(",\"archive\":", out);
            dedup_report_json_string(out, archive);
            free(archive);
        }
        fputs(",\"member\":", out);
        dedup_report_json_string(out, item->member);
    }
    fputc('}', out);
}

static void write_json(FILE *out, const dedup_item_list *items, const dedup_result *r,
                       const dedup_report_options *o)
{
    fprintf(out, "{\"version\":1,\"mode\":\"%s\",\"threshold\":%u,\"leaks\":[", o->mode,
            o->threshold);
    for (size_t i = 0; i < r->leak_count; i++) {
        const dedup_leak *l = &r->leaks[i];
        fprintf(out, "%s{\"kind\":\"%s\",\"held_out\":", i ? "," : "",
                dedup_match_kind_name(l->kind));
        json_side(out, &items->items[l->held_out]);
        fputs(",\"train\":", out);
        json_side(out, &items->items[l->train]);
        fprintf(out, ",\"transform\":\"%s\",\"distance\":%u", dedup_transform_name(l->transform),
                l->distance);
        if (l->kind == DEDUP_MATCH_OVERLAP)
            fprintf(out,
                    ",\"overlap\":{\"held_out_share\":%.3f,\"train_share\":%.3f,"
                    "\"offset\":[%.1f,%.1f],\"scale\":%.3f,\"rotation\":%.1f,\"inliers\":%u}",
                    l->share_held_out, l->share_train, no_negative_zero(l->dx, 10),
                    no_negative_zero(l->dy, 10), l->scale, no_negative_zero(l->rotation, 10),
                    l->inliers);
        /* Added in issue 3: two held-out splits (dedup.checkHeldOutPairs). */
        if (items->items[l->train].role == DEDUP_ROLE_HELD_OUT)
            fputs(",\"held_out_pair\":true", out);
        fputc('}', out);
    }
    fputs("],\"unreadable\":[", out);
    for (size_t i = 0; i < r->unreadable_count; i++) {
        const dedup_item *item = &items->items[r->unreadable[i].item];
        fprintf(out, "%s{\"path\":", i ? "," : "");
        dedup_report_json_string(out, item->path);
        fputs(",\"split\":", out);
        dedup_report_json_string(out, item->split);
        fputs(",\"reason\":", out);
        dedup_report_json_string(out, r->unreadable[i].reason);
        fputc('}', out);
    }
    fputs("],\"too_flat\":[", out);
    for (size_t i = 0; i < r->flat_count; i++) {
        const dedup_flat *f = &r->flat[i];
        const dedup_item *item = &items->items[f->item];
        fprintf(out, "%s{\"path\":", i ? "," : "");
        dedup_report_json_string(out, item->path);
        fputs(",\"split\":", out);
        dedup_report_json_string(out, item->split);
        fprintf(out, ",\"exact_only\":%s,\"not_comparable\":%s}", f->exact_only ? "true" : "false",
                f->not_comparable ? "true" : "false");
    }
    fputs("],\"notes\":[", out);
    for (size_t i = 0; i < items->note_count; i++) {
        if (i)
            fputc(',', out);
        dedup_report_json_string(out, items->notes[i]);
    }
    for (size_t i = 0; i < r->note_count; i++) {
        if (i || items->note_count)
            fputc(',', out);
        dedup_report_json_string(out, r->notes[i]);
    }
    fprintf(out,
            "],\"summary\":{\"leaks\":%zu,\"unreadable\":%zu,\"images\":%zu,\"new\":%zu,"
            "\"checked\":%zu,\"decoded\":%zu,\"exact_only\":%zu,\"not_comparable\":%zu,"
            "\"exit_code\":%d}}\n",
            r->leak_count, r->unreadable_count, count_images(items, 0), count_images(items, 1),
            r->checked, r->decoded, r->low_quality, r->not_comparable, o->exit_code);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/*
 * Name the images a search could not use: the first few, then how many
 * more (a dataset of open-sea tiles has thousands; JSON lists them all).
 */
#define FLAT_NAMED 3
static void list_flat(FILE *out, const dedup_item_list *items, const dedup_result *r,
                      const dedup_report_options *o, int exact_only)
{
    size_t n = 0;
    for (size_t i = 0; i < r->flat_count; i++) {
        const dedup_flat *f = &r->flat[i];
        if (exact_only ? !f->exact_only : !f->not_comparable)
            continue;
        if (n < FLAT_NAMED) {
            fputs(n            ? ", "
                  : exact_only ? "git-dedup: too flat for a perceptual match: "
                               : "git-dedup: too flat to compare for overlaps: ",
                  out);
            dedup_report_quote_path(out, items->items[f->item].path, o->quote_paths);
        }
        n++;
    }
    if (n > FLAT_NAMED)
        fprintf(out, " and %zu more (--format json lists them all)", n - FLAT_NAMED);
    if (n)
        fputc('\n', out);
}

static void write_text(FILE *out, const dedup_item_list *items, const dedup_result *r,
                       const dedup_report_options *o)
{
    for (size_t i = 0; i < r->leak_count; i++) {
        const dedup_leak *l = &r->leaks[i];
        const dedup_item *h = &items->items[l->held_out], *t = &items->items[l->train];
        fputs("LEAK ", out);
        dedup_report_quote_path(out, h->path, o->quote_paths);
        fputs(" [", out);
        dedup_report_quote_path(out, h->split, o->quote_paths);
        fputs("] ~ ", out);
        dedup_report_quote_path(out, t->path, o->quote_paths);
        fputs(" [", out);
        dedup_report_quote_path(out, t->split, o->quote_paths);
        fprintf(out, "]: %s", dedup_match_kind_label(l->kind));
        if (l->kind == DEDUP_MATCH_NEAR_DUPLICATE) {
            if (l->transform != DEDUP_XFORM_IDENTITY)
                fprintf(out, " (%s)", dedup_transform_name(l->transform));
            fprintf(out, ", distance %u of 256", l->distance);
        } else if (l->kind == DEDUP_MATCH_OVERLAP) {
            fprintf(
                out,
                " (%.0f%% of the %s image, %.0f%% of the %s image), at %.0f,%.0f in the %s image",
                100 * l->share_held_out, h->split, 100 * l->share_train, t->split,
                no_negative_zero(l->dx, 1), no_negative_zero(l->dy, 1), t->split);
            if (l->scale < 0.97 || l->scale > 1.03)
                fprintf(out, ", scale %.2f", l->scale);
            if (l->rotation < -1 || l->rotation > 1)
                fprintf(out, ", rotated %.0f degrees", l->rotation);
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < r->unreadable_count; i++) {
        fputs("UNREADABLE ", out);
        dedup_report_quote_path(out, items->items[r->unreadable[i].item].path, o->quote_paths);
        fprintf(out, ": %s\n", r->unreadable[i].reason);
    }
    list_flat(out, items, r, o, 1);
    list_flat(out, items, r, o, 0);
    char counts[224];
    int n = snprintf(counts, sizeof(counts), "%zu %s checked, %zu new, %zu decoded", r->checked,
                     plural(r->checked, "image", "images"), count_images(items, 1), r->decoded);
    if (r->low_quality && n > 0 && (size_t)n < sizeof(counts))
        n += snprintf(counts + n, sizeof(counts) - (size_t)n,
                      ", %zu too flat for a perceptual match (exact copies only)", r->low_quality);
    if (r->not_comparable && n > 0 && (size_t)n < sizeof(counts))
        snprintf(counts + n, sizeof(counts) - (size_t)n, ", %zu too flat to compare for overlaps",
                 r->not_comparable);
    const int all = o->mode && strcmp(o->mode, "all") == 0;
    if (r->leak_count) {
        /* The partner may be a training image or, with checkHeldOutPairs,
         * an image of another held-out split: advice that fits both. */
        size_t pairs = 0;
        for (size_t i = 0; i < r->leak_count; i++)
            pairs += items->items[r->leaks[i].train].role == DEDUP_ROLE_HELD_OUT;
        fprintf(out,
                "git-dedup: refused: %zu held-out %s %s (%s).\n"
                "git-dedup: next: for each pair listed above, remove one of the two images or "
                "put both in the same split%s.\n",
                r->leak_count, plural(r->leak_count, "image matches", "images match"),
                pairs == 0               ? "a training image"
                : pairs == r->leak_count ? "an image of another held-out split"
                                         : "a training image or an image of another held-out split",
                counts, all ? "" : "; 'git dedup check --all' lists the leaks already committed");
    } else if (r->unreadable_count && !o->unreadable_warn) {
        fprintf(out,
                "git-dedup: refused: no leak found, but %zu %s could not be checked (%s).\n"
                "git-dedup: next: fix or remove the %s listed above, or run 'git config "
                "dedup.unreadable warn' to let such changes through with a warning.\n",
                r->unreadable_count, plural(r->unreadable_count, "image", "images"), counts,
                plural(r->unreadable_count, "image", "images"));
    } else if (r->unreadable_count) {
        fprintf(out,
                "git-dedup: ok with warnings: no leak found; %zu %s could not be checked and "
                "%s allowed because dedup.unreadable=warn (%s).\n",
                r->unreadable_count, plural(r->unreadable_count, "image", "images"),
                plural(r->unreadable_count, "is", "are"), counts);
    } else {
        fprintf(out, "git-dedup: ok: no held-out image matches a training image (%s).\n", counts);
    }
}

int dedup_report_write(FILE *out, const dedup_item_list *items, const dedup_result *result,
                       const dedup_report_options *opts, dedup_error *err)
{
    errno = 0;
    if (opts->style == DEDUP_REPORT_JSON)
        write_json(out, items, result, opts);
    else
        write_text(out, items, result, opts);
    if (fflush(out) != 0 || ferror(out))
        return dedup_error_set(err, DEDUP_EIO, "cannot write the report: %s",
                               errno ? strerror(errno) : "write error");
    return 0;
}
