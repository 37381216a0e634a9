/*
 * test_report.c - path quoting as git does it, and the JSON report's shape
 * and escaping, checked byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/report.h"
#include "testutil.h"

static char *quoted(const char *path, int non_ascii)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dedup_report_quote_path(f, path, non_ascii);
    fclose(f);
    return buf;
}

static void expect_quote(const char *path, int non_ascii, const char *want)
{
    char *got = quoted(path, non_ascii);
    if (strcmp(got, want) != 0)
        dedup_test_fail(__FILE__, __LINE__, "quote(%s) = %s, want %s", path, got, want);
    free(got);
}

int main(void)
{
    expect_quote("train/a b.jpg", 1, "train/a b.jpg");
    expect_quote("test/\xc3\xa9.jpg", 1, "\"test/\\303\\251.jpg\"");
    expect_quote("test/\xc3\xa9.jpg", 0, "test/\xc3\xa9.jpg");
    expect_quote("test/a\"b.jpg", 0, "\"test/a\\\"b.jpg\"");
    expect_quote("test/a\tb\\c.jpg", 0, "\"test/a\\tb\\\\c.jpg\"");
    expect_quote("test/a\001.jpg", 0, "\"test/a\\001.jpg\"");

    /* JSON: one leak, one unreadable, invalid UTF-8 replaced */
    dedup_item items[3];
    memset(items, 0, sizeof(items));
    items[0].path = "test/caf\xc3\xa9 \"1\".jpg";
    items[0].split = "test";
    items[0].role = DEDUP_ROLE_HELD_OUT;
    items[1].path = "train/a.jpg";
    items[1].split = "train";
    items[1].role = DEDUP_ROLE_TRAIN;
    items[2].path = "val/bad\xff.png";
    items[2].split = "val";
    items[2].role = DEDUP_ROLE_HELD_OUT;
    dedup_item_list list = {items, 3, 3, 2, NULL, 0, NULL, 0};
    dedup_leak leak = {.held_out = 0,
                       .train = 1,
                       .kind = DEDUP_MATCH_NEAR_DUPLICATE,
                       .transform = DEDUP_XFORM_FLIP_H,
                       .distance = 12};
    dedup_unreadable bad = {2, "corrupt\nPNG"};
    dedup_result r;
    memset(&r, 0, sizeof(r));
    r.leaks = &leak;
    r.leak_count = 1;
    r.unreadable = &bad;
    r.unreadable_count = 1;
    r.checked = 2;
    r.decoded = 1;
    dedup_report_options o = {DEDUP_REPORT_JSON, 1, 0, "staged", 31, 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_report_write(f, &list, &r, &o, &err), 0);
    fclose(f);
    const char *want =
        "{\"version\":1,\"mode\":\"staged\",\"threshold\":31,\"leaks\":[{\"kind\":\"near_"
        "duplicate\",\"held_out\":{\"path\":\"test/caf\xc3\xa9 \\\"1\\\".jpg\",\"split\":"
        "\"test\"},\"train\":{\"path\":\"train/a.jpg\",\"split\":\"train\"},\"transform\":"
        "\"flip_h\",\"distance\":12}],\"unreadable\":[{\"path\":\"val/bad\\ufffd.png\","
        "\"split\":\"val\",\"reason\":\"corrupt\\u000aPNG\"}],\"too_flat\":[],\"notes\":[],"
        "\"summary\":{"
        "\"leaks\":1,\"unreadable\":1,\"images\":3,\"new\":2,\"checked\":2,\"decoded\":1,"
        "\"exact_only\":0,\"not_comparable\":0,\"exit_code\":1}}\n";
    if (strcmp(buf, want) != 0)
        dedup_test_fail(__FILE__, __LINE__, "JSON report:\n got %s\nwant %s", buf, want);
    free(buf);

    /* text: the leak line names both paths, kind, transform and distance */
    o.style = DEDUP_REPORT_TEXT;
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(dedup_report_write(f, &list, &r, &o, &err), 0);
    fclose(f);
    CHECK(strstr(buf, "LEAK \"test/caf\\303\\251 \\\"1\\\".jpg\" [test] ~ train/a.jpg [train]: "
                      "near duplicate (flip_h), distance 12 of 256\n") == buf);
    CHECK(strstr(buf, "UNREADABLE \"val/bad\\377.png\": corrupt\nPNG\n") != NULL);
    CHECK(strstr(buf, "git-dedup: refused: 1 held-out image matches a training image") != NULL);
    free(buf);

    /* An overlap a hair above the origin: "0", never
     * "-0" (a fresh user's trial showed "at 384,-0 in the train image"). */
    leak.kind = DEDUP_MATCH_OVERLAP;
    leak.transform = DEDUP_XFORM_IDENTITY;
    leak.distance = 0;
    leak.share_held_out = 0.5;
    leak.share_train = 0.5;
    leak.dx = 384.2;
    leak.dy = -0.04;
    leak.scale = 1.0;
    leak.rotation = -0.04;
    leak.inliers = 40;
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(dedup_report_write(f, &list, &r, &o, &err), 0);
    fclose(f);
    if (!strstr(buf, "overlap (50% of the test image, 50% of the train image), at 384,0 in the "
                     "train image\n"))
        dedup_test_fail(__FILE__, __LINE__, "text overlap line: %s", buf);
    free(buf);
    o.style = DEDUP_REPORT_JSON;
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(dedup_report_write(f, &list, &r, &o, &err), 0);
    fclose(f);
    if (!strstr(buf, "\"offset\":[384.2,0.0],\"scale\":1.000,\"rotation\":0.0,"))
        dedup_test_fail(__FILE__, __LINE__, "JSON overlap: %s", buf);
    free(buf);

    /* Images too flat for a search are named: a fresh user's trial saw
     * "1 too flat to compare for overlaps" and had to look at every image
     * to find which.  Text names the first three of each kind. */
    dedup_item many[6];
    memset(many, 0, sizeof(many));
    const char *names[6] = {"test/sea1.jpg", "test/sea2.jpg",  "test/sea3.jpg",
                            "test/sea4.jpg", "train/grey.png", "test/photo.jpg"};
    for (int i = 0; i < 6; i++) {
        many[i].path = (char *)names[i];
        many[i].split = i == 4 ? "train" : "test";
        many[i].role = i == 4 ? DEDUP_ROLE_TRAIN : DEDUP_ROLE_HELD_OUT;
    }
    dedup_item_list flat_list = {many, 6, 6, 6, NULL, 0, NULL, 0};
    dedup_flat flat[5] = {{0, 0, 1}, {1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 1, 1}};
    dedup_result fr;
    memset(&fr, 0, sizeof(fr));
    fr.flat = flat;
    fr.flat_count = 5;
    fr.checked = 6;
    fr.low_quality = 1;
    fr.not_comparable = 5;
    o.style = DEDUP_REPORT_TEXT;
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(dedup_report_write(f, &flat_list, &fr, &o, &err), 0);
    fclose(f);
    if (!strstr(buf, "git-dedup: too flat for a perceptual match: train/grey.png\n") ||
        !strstr(buf, "git-dedup: too flat to compare for overlaps: test/sea1.jpg, test/sea2.jpg, "
                     "test/sea3.jpg and 2 more (--format json lists them all)\n"))
        dedup_test_fail(__FILE__, __LINE__, "text flat lines: %s", buf);
    free(buf);
    o.style = DEDUP_REPORT_JSON;
    buf = NULL;
    f = open_memstream(&buf, &len);
    CHECK_EQ_INT(dedup_report_write(f, &flat_list, &fr, &o, &err), 0);
    fclose(f);
    if (!strstr(buf, "\"too_flat\":[{\"path\":\"test/sea1.jpg\",\"split\":\"test\","
                     "\"exact_only\":false,\"not_comparable\":true},") ||
        !strstr(buf, "{\"path\":\"train/grey.png\",\"split\":\"train\",\"exact_only\":true,"
                     "\"not_comparable\":true}],\"notes\""))
        dedup_test_fail(__FILE__, __LINE__, "JSON too_flat: %s", buf);
    free(buf);
    return dedup_test_finish("test_report");
}
