#!/usr/bin/env bash
# Overlapping crops (issue 6, the Kaggle Airbus leak): a test tile cut from
# the same photograph as a training tile, shifted so the two share about a
# third of their area, is refused by the installed hook, also after a
# rescale and re-encode; an adjacent tile that shares no pixels passes.
# Real photographs, cropped by the test (jpegtran -crop is lossless).
. "$(dirname "$0")/lib.sh"

crop() { # crop PHOTO WxH+X+Y DEST
    mkdir -p "$(dirname "$3")"
    jpegtran -crop "$2" -outfile "$3" "$DEDUP_PHOTO_DIR/$1"
}

new_repo overlap
expect_exit 0 git dedup install
crop Wood.jpg 1000x1000+0+0 data/train/tile_0_0.jpg
crop Wood.jpg 1000x900+0+1008 data/train/tile_0_1.jpg
git add data
expect_exit 0 git commit -q -m "training tiles"

# adjacent tiles: touching the training tile, and beside it with a gap
crop Wood.jpg 1000x1000+1008+0 data/test/tile_1_0.jpg
crop Wood.jpg 900x600+1200+1000 data/test/tile_far.jpg
git add data
before=$(head_rev)
expect_exit 0 git commit -q -m "adjacent test tiles"
check_not "the adjacent tiles were committed" test "$(head_rev)" = "$before"

# a tile shifted by (496, 304): 35% of it lies inside tile_0_0
crop Wood.jpg 1000x1000+496+304 data/test/shifted.jpg
git add data
before=$(head_rev)
expect_exit 1 git commit -m "overlapping test tile" # git shows hook output on stderr
expect_eq "$(head_rev)" "$before" "the overlapping tile was refused"
expect_grep '^LEAK data/test/shifted\.jpg \[test\] ~ data/train/tile_0_0\.jpg \[train\]: overlap \(3[0-9]% of the test image, 3[0-9]% of the train image\), at 4[89][0-9],(29[0-9]|3[01][0-9]) in the train image' "$BOTH"

# JSON carries the shares and the offset
expect_exit 1 git dedup check --format json
expect_contains '"kind":"overlap","held_out":{"path":"data/test/shifted.jpg","split":"test"},"train":{"path":"data/train/tile_0_0.jpg","split":"train"}' "$OUT"
expect_grep '"overlap":\{"held_out_share":0\.3[0-9]*,"train_share":0\.3[0-9]*,"offset":\[4[89][0-9]\.[0-9],(29[0-9]|3[01][0-9])\.[0-9]\]' "$OUT"

# dedup.minOverlap above the shared share lets it through
expect_exit 0 git -c dedup.minOverlap=50 dedup check
expect_exit 0 git -c dedup.overlap=false dedup check

# rescaled to 3/4 and re-encoded at quality 80: still found
git rm -q --cached data/test/shifted.jpg
djpeg -scale 3/4 data/test/shifted.jpg | cjpeg -quality 80 >data/test/shifted_small.jpg
rm data/test/shifted.jpg
git add data
expect_exit 1 git dedup check
expect_grep '^LEAK data/test/shifted_small\.jpg \[test\] ~ data/train/tile_0_0\.jpg \[train\]: overlap \(3[0-9]% of the test image' "$OUT"

# the other direction: a new training tile that overlaps a committed test tile
git rm -q --cached data/test/shifted_small.jpg && rm data/test/shifted_small.jpg
crop Wood.jpg 1000x1000+1504+304 data/train/tile_new.jpg
git add data
expect_exit 1 git dedup check
expect_grep '^LEAK data/test/tile_1_0\.jpg \[test\] ~ data/train/tile_new\.jpg \[train\]: overlap ' "$OUT"

# Crops of plasma's woven facade that share no pixel, far apart on it: the
# bands curve, so one lines up with the other once turned 14 degrees.  Crops
# are not turned (copies only by quarter turns), so the hook passes them;
# dedup.maxRotation=45 accepts any rotation and shows the fit it refused.
facade=/usr/share/wallpapers/Grey/contents/images/2560x1600.jpg
if [ -f "$facade" ]; then
    new_repo facade
    expect_exit 0 git dedup install
    mkdir -p data/train data/test
    jpegtran -crop 680x625+253+354 -outfile data/train/facade.jpg "$facade"
    git add data && commit_quiet "training crop"
    jpegtran -crop 683x740+956+690 -outfile data/test/facade_far.jpg "$facade"
    git add data
    before=$(head_rev)
    expect_exit 0 git commit -q -m "a far part of the facade"
    check_not "the far crop of the facade was committed" test "$(head_rev)" = "$before"
    expect_exit 1 git -c dedup.maxRotation=45 dedup check --all
    expect_grep '^LEAK data/test/facade_far\.jpg \[test\] ~ data/train/facade\.jpg \[train\]: overlap .*, rotated -1[0-9] degrees$' "$OUT"
    expect_exit 2 git -c dedup.maxRotation=46 dedup check --all
    expect_grep 'dedup\.maxRotation: 46 is out of range \(0 to 45\)' "$ERR"
else
    echo "# skipped the facade: $facade is not installed (plasma-workspace-wallpapers)"
fi

finish
