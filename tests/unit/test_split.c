/*
 * test_split.c - the path convention for splits and the image test, exactly
 * as the README documents them.
 */
#include <stdio.h>
#include <string.h>

#include "dedup/repo.h"
#include "testutil.h"

static void expect(const char *path, dedup_split want)
{
    dedup_split got = dedup_split_from_path(path);
    if (got != want)
        dedup_test_fail(__FILE__, __LINE__, "split of '%s' is %s, want %s", path,
                        dedup_split_name(got), dedup_split_name(want));
}

int main(void)
{
    expect("train/a.jpg", DEDUP_SPLIT_TRAIN);
    expect("data/Training/a.jpg", DEDUP_SPLIT_TRAIN);
    expect("data/TEST/a.jpg", DEDUP_SPLIT_TEST);
    expect("testing/x/a.jpg", DEDUP_SPLIT_TEST);
    expect("val/a.png", DEDUP_SPLIT_VAL);
    expect("valid/a.png", DEDUP_SPLIT_VAL);
    expect("Validation/a.png", DEDUP_SPLIT_VAL);
    expect("dev/a.png", DEDUP_SPLIT_VAL);
    /* suffixes real datasets use */
    expect("coco/train2017/0001.jpg", DEDUP_SPLIT_TRAIN);
    expect("coco/val2017/0001.jpg", DEDUP_SPLIT_VAL);
    expect("airbus/train_v2/a.jpg", DEDUP_SPLIT_TRAIN);
    expect("airbus/test_v2/a.jpg", DEDUP_SPLIT_TEST);
    expect("coco/test-dev/a.jpg", DEDUP_SPLIT_TEST);
    expect("x/val_1/a.jpg", DEDUP_SPLIT_VAL);
    expect("x/train-v10/a.jpg", DEDUP_SPLIT_TRAIN);
    /* the component nearest the file wins */
    expect("train/test/a.jpg", DEDUP_SPLIT_TEST);
    expect("test/cats/train/a.jpg", DEDUP_SPLIT_TRAIN);
    expect("val/images/a.jpg", DEDUP_SPLIT_VAL);
    /* not splits */
    expect("a.jpg", DEDUP_SPLIT_NONE);
    expect("train.jpg", DEDUP_SPLIT_NONE);
    expect("images/test.jpg", DEDUP_SPLIT_NONE);
    expect("trainval/a.jpg", DEDUP_SPLIT_NONE);
    expect("trains/a.jpg", DEDUP_SPLIT_NONE);
    expect("contest/a.jpg", DEDUP_SPLIT_NONE);
    expect("test_x/a.jpg", DEDUP_SPLIT_NONE);
    expect("train_v/a.jpg", DEDUP_SPLIT_NONE);
    expect("train2017a/a.jpg", DEDUP_SPLIT_NONE);
    expect("device/a.jpg", DEDUP_SPLIT_NONE);
    expect("/a.jpg", DEDUP_SPLIT_NONE);
    expect("train//a.jpg", DEDUP_SPLIT_TRAIN);

    CHECK(dedup_split_is_held_out(DEDUP_SPLIT_TEST));
    CHECK(dedup_split_is_held_out(DEDUP_SPLIT_VAL));
    CHECK(!dedup_split_is_held_out(DEDUP_SPLIT_TRAIN));
    CHECK(!dedup_split_is_held_out(DEDUP_SPLIT_NONE));

    CHECK(dedup_path_is_image("a/b.JPG"));
    CHECK(dedup_path_is_image("a/b.jpeg"));
    CHECK(dedup_path_is_image("b.png"));
    CHECK(dedup_path_is_image("b.WebP"));
    CHECK(dedup_path_is_image("b.tiff"));
    CHECK(!dedup_path_is_image("a/b.txt"));
    CHECK(!dedup_path_is_image("a/.jpg"));
    CHECK(!dedup_path_is_image("a.jpg/readme"));
    CHECK(!dedup_path_is_image("a/jpg"));
    return dedup_test_finish("test_split");
}
