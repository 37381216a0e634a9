#!/usr/bin/env bash
# The formats a dataset really holds, end to end through `git dedup check`:
# a WebP or GIF copy of a training photo in test/ is a leak, as is a JPEG
# whose EXIF tag turns it back into the training photo; a corrupt, empty,
# mislabelled or unsupported file is reported by path and reason with exit 3
# (0 with dedup.unreadable=warn); dedup.maxPixels refuses larger images.
. "$(dirname "$0")/lib.sh"

for tool in cwebp; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FATAL: $tool is required (Debian: webp)" >&2; exit 1; }
done

new_repo dataset
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
photo Wood.jpg data/train/Wood.jpg
git add .
commit_quiet "train split"

# --- WebP and GIF copies of a training photo --------------------------------
mkdir -p data/test
djpeg -scale 1/2 -pnm "$DEDUP_PHOTO_DIR/Dune.jpg" >"$T/dune.ppm"
cwebp -quiet -q 75 "$T/dune.ppm" -o data/test/dune.webp
djpeg -scale 1/2 -gif "$DEDUP_PHOTO_DIR/Aqua.jpg" >data/test/aqua.gif
photo Storm.jpg data/test/Storm.jpg # unrelated: must not be reported
git add data/test
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/dune.webp test data/train/Dune.jpg train)" "$OUT"
expect_grep "$(near_leak_re data/test/aqua.gif test data/train/Aqua.jpg train)" "$OUT"
expect_count 2 '^LEAK ' "$OUT"
expect_no_grep 'Storm' "$OUT"
expect_no_grep '^UNREADABLE' "$OUT"
git rm -q --cached data/test/dune.webp data/test/aqua.gif
rm data/test/dune.webp data/test/aqua.gif

# --- a rotated-by-tag twin: stored turned a quarter, EXIF turns it back ----
# jpegtran turns the pixels clockwise (-trim drops the partial edge blocks);
# orientation 8 ("row 0 is the left side") tells viewers to turn them back.
jpegtran -rotate 90 -trim -copy none "$DEDUP_PHOTO_DIR/Wood.jpg" >"$T/turned.jpg"
{
    printf '\377\330'                          # SOI
    printf '\377\341\000\042Exif\000\000'      # APP1, 34 bytes
    printf 'II\052\000\010\000\000\000'        # TIFF header, IFD0 at 8
    printf '\001\000'                          # one entry
    printf '\022\001\003\000\001\000\000\000\010\000\000\000' # 0x0112 SHORT 1: 8
    printf '\000\000\000\000'                  # no IFD1
    tail -c +3 "$T/turned.jpg"
} >data/test/wood_tagged.jpg
git add data/test/wood_tagged.jpg
expect_exit 1 git dedup check
# No "(rot..)" in the line: the tag was applied, so it matches as is.
expect_grep "$(near_leak_re data/test/wood_tagged.jpg test data/train/Wood.jpg train)" "$OUT"
git rm -q --cached data/test/wood_tagged.jpg
rm data/test/wood_tagged.jpg
git add data/test
commit_quiet "clean test image"

# --- unreadable files: each named with its reason, exit 3 -------------------
head -c 4000 "$DEDUP_PHOTO_DIR/Aqua.jpg" >data/test/broken.jpg
: >data/test/empty.png
echo "not a picture, whatever the name says" >data/test/notes.jpg
djpeg -bmp "$DEDUP_PHOTO_DIR/Storm.jpg" >data/test/storm.bmp
cwebp -quiet -q 75 "$T/dune.ppm" -o "$T/dune.webp"
head -c 2000 "$T/dune.webp" >data/test/cut.webp
git add data/test
expect_exit 3 git dedup check
expect_grep '^UNREADABLE data/test/broken\.jpg: corrupt or truncated JPEG: Premature end of JPEG file$' "$OUT"
expect_grep '^UNREADABLE data/test/empty\.png: empty file$' "$OUT"
expect_grep '^UNREADABLE data/test/notes\.jpg: not a recognised image format$' "$OUT"
expect_grep '^UNREADABLE data/test/storm\.bmp: BMP images are not supported$' "$OUT"
expect_grep '^UNREADABLE data/test/cut\.webp: truncated WebP$' "$OUT"
expect_count 5 '^UNREADABLE ' "$OUT"
expect_no_grep '^LEAK ' "$OUT"
expect_exit 0 git -c dedup.unreadable=warn dedup check
expect_grep '^UNREADABLE data/test/broken\.jpg' "$OUT"

# The unreadable files never reach the cache: fixing one is decoded afresh
# and then checked like any other image.
git rm -q --cached data/test/broken.jpg data/test/empty.png data/test/notes.jpg \
    data/test/storm.bmp data/test/cut.webp
rm data/test/broken.jpg data/test/empty.png data/test/notes.jpg data/test/storm.bmp \
    data/test/cut.webp
expect_exit 0 git dedup check

# --- dedup.maxPixels --------------------------------------------------------
# The cap is checked when an image is decoded (an image already in the cache
# was decoded safely once), so the capped check comes first.
djpeg -scale 1/8 -pnm "$DEDUP_PHOTO_DIR/LadyBird.jpg" | cjpeg -quality 80 >data/test/small.jpg
git add data/test/small.jpg
expect_exit 3 git -c dedup.maxPixels=1000 dedup check
expect_grep '^UNREADABLE data/test/small\.jpg: JPEG is [0-9]+x[0-9]+ \([0-9]+ pixels\), over the limit of 1000 pixels' "$OUT"
expect_exit 0 git -c dedup.maxPixels=100m dedup check
expect_exit 2 git -c dedup.maxPixels=0 dedup check
expect_grep 'dedup\.maxPixels' "$ERR"
expect_exit 2 git -c dedup.maxPixels=lots dedup check

finish
