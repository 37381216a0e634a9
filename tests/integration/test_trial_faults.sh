#!/usr/bin/env bash
# Faults found by a new user's trial, each with the input that showed it.
. "$(dirname "$0")/lib.sh"

new_repo trial
expect_exit 0 git dedup install
photo Dune.jpg data/train/Dune.jpg
git add data && commit_quiet "train"
resized_copy Dune.jpg data/test/copy.jpg

# 1. GIT_WORK_TREE (set by git for hooks when a command ran with
#    --work-tree): libgit2 1.5 refuses it; every commit was refused.
repo=$(pwd)
git add data/test/copy.jpg
expect_exit 1 env GIT_DIR="$repo/.git" GIT_WORK_TREE="$repo" git dedup check
expect_grep '^LEAK data/test/copy\.jpg \[test\] ~ data/train/Dune\.jpg \[train\]' "$OUT"
git rm -q --cached data/test/copy.jpg
echo readme >README
git add README
before=$(head_rev)
cd / # (no subshell: assertions must count in this shell)
expect_exit 0 git --git-dir="$repo/.git" --work-tree="$repo" commit -q -m "from outside"
cd "$repo"
check_not "a clean commit with --work-tree went through" test "$(head_rev)" = "$before"
git add data/test/copy.jpg
before=$(head_rev)
cd /
expect_exit 1 git --git-dir="$repo/.git" --work-tree="$repo" commit -q -m "leak"
cd "$repo"
expect_eq "$(head_rev)" "$before" "a leaking commit with --work-tree was refused"
git rm -q --cached data/test/copy.jpg

# 2. check in a bare repository has nothing staged: say so (exit 2) instead
#    of passing silently.
git clone -q --bare . "$T/bare.git"
cd "$T/bare.git"
expect_exit 2 git dedup check
expect_grep 'bare repository: it has no staged changes to check; use --all, --rev <commit> or --range' "$ERR"
expect_exit 0 git dedup check --all
cd "$repo"

# 3. --format json still prints one JSON object when the check cannot run.
expect_exit 2 git -c dedup.threshold=999 dedup check --format json
expect_line '{"version":1,"error":"dedup.threshold: 999 is out of range (0 to 255)","summary":{"exit_code":2}}' "$OUT"
# a value too large for the key ("2g") is out of range, not "not a whole number"
expect_exit 2 git -c dedup.maxPixels=2g dedup check
expect_grep "dedup\.maxPixels: 2147483648 is out of range \(1 to 2147483647\)" "$ERR"

# 4. control characters from the dataset's files never reach the terminal raw
printf 'test/a.jpg\tb\033[31mogus\n' >.gitattributes
sed -i 's/\t/ dedup-split=/' .gitattributes
git add .gitattributes
photo Aqua.jpg test/a.jpg
git add test/a.jpg
expect_exit 2 git dedup check
check_not "no raw ESC byte on stderr" grep -q "$(printf '\033')" "$ERR"
expect_grep 'b\\033\[31mogus' "$ERR"

# 5. a file we cannot decode is still an exact copy of its twin: byte-identical
#    BMPs in train and test are a leak (exit 1), not only two warnings.
git rm -q --cached -r test .gitattributes >/dev/null
rm -rf test .gitattributes
printf 'BM\066\000\000\000\000\000\000\000\066\000\000\000(not decoded)' >data/train/scan.bmp
cp data/train/scan.bmp data/test/scan-copy.bmp
git add data
expect_exit 1 git dedup check
expect_line 'LEAK data/test/scan-copy.bmp [test] ~ data/train/scan.bmp [train]: exact bytes' "$OUT"
expect_grep '^UNREADABLE data/test/scan-copy\.bmp: BMP images are not supported' "$OUT"

# 6. a soft photograph (bokeh: hash quality 23 of 100) resized and re-encoded
#    into test/ is a near duplicate, not "too flat" and passed: a fresh user's
#    trial committed exactly this.
git rm -q --cached -r data >/dev/null
rm -rf data
mkdir -p train test
jpegtran -copy none -crop 768x768+0+0 "$DEDUP_PHOTO_DIR/TwoWings.jpg" | djpeg | cjpeg -quality 90 >train/wings.jpg
djpeg -scale 1/2 train/wings.jpg | cjpeg -quality 70 >test/wings-half.jpg
git add train test
expect_exit 1 git dedup check
expect_line 'LEAK test/wings-half.jpg [test] ~ train/wings.jpg [train]: near duplicate, distance 14 of 256' "$OUT"
# and a flat frame still counts as exact-only in the summary
printf 'P5\n64 64\n255\n' >flat.pgm
head -c 4096 /dev/zero | tr '\0' '\200' >>flat.pgm
cjpeg -quality 90 flat.pgm >test/flat.jpg
rm flat.pgm
git add test/flat.jpg
expect_exit 1 git dedup check
expect_grep '1 too flat for a perceptual match \(exact copies only\)' "$BOTH"
# and is named, for both searches (a fresh user's trial saw only counts);
# the bokeh photographs are too soft for overlap search, not for the hash
expect_line 'git-dedup: too flat for a perceptual match: test/flat.jpg' "$OUT"
expect_line 'git-dedup: too flat to compare for overlaps: test/flat.jpg, test/wings-half.jpg, train/wings.jpg' "$OUT"
expect_exit 1 git dedup check --format json
expect_grep '"too_flat":\[\{"path":"test/flat.jpg","split":"test","exact_only":true,"not_comparable":true\},\{"path":"test/wings-half.jpg","split":"test","exact_only":false,"not_comparable":true\},' "$OUT"

# 7. a usage error of check with --format json printed nothing on stdout:
#    the README promises one JSON object whenever the check cannot run.
expect_exit 2 git dedup check --format json --bogus
expect_line '{"version":1,"error":"unknown option for check: --bogus","summary":{"exit_code":2}}' "$OUT"
expect_grep 'usage: git dedup check' "$ERR"
expect_exit 2 git dedup check --json --all --rev HEAD
expect_line '{"version":1,"error":"use only one of --all, --range and --rev","summary":{"exit_code":2}}' "$OUT"
# text asked last wins, as for a run that works: nothing on stdout then
expect_exit 2 git dedup check --format json --format text --bogus
expect_eq "$(wc -c <"$OUT")" 0 "a text usage error printed nothing on stdout"

finish
