#!/usr/bin/env bash
# A change to a manifest alone (no image staged) moves images between splits
# and must be checked like a change to the images: a CSV line edited, a line
# moved from train.txt to test.txt, a .gitattributes rule, the .gitdedup
# that names the manifests.  A manifest edit that moves nothing decodes
# nothing.
. "$(dirname "$0")/lib.sh"

new_repo move
photo Dune.jpg images/dune.jpg
resized_copy Dune.jpg images/dune-small.jpg
photo Storm.jpg images/storm.jpg
cat >splits.csv <<'EOF'
path,split,label
images/dune.jpg,train,sand
images/dune-small.jpg,train,sand
images/storm.jpg,test,sky
EOF
printf '[dedup]\n\tmanifest = splits.csv\n' >.gitdedup
git add . && commit_quiet "dataset"
expect_exit 0 git dedup install

# --- editing one line of the CSV moves a near copy into test ----------------
sed -i 's|^images/dune-small.jpg,train|images/dune-small.jpg,test|' splits.csv
git add splits.csv
expect_eq "$(git diff --cached --name-only)" "splits.csv" "only the manifest is staged"
expect_exit 1 git dedup check
expect_grep "$(near_leak_re images/dune-small.jpg test images/dune.jpg train)" "$OUT"
expect_contains "(2 images checked, 1 new," "$OUT"
before=$(head_rev)
expect_exit 1 git commit -m "move dune-small to test"
expect_eq "$(head_rev)" "$before" "the manifest-only move is refused by the hook"
expect_grep "$(near_leak_re images/dune-small.jpg test images/dune.jpg train)" "$BOTH"
git reset -q --hard

# --- reordering the manifest moves nothing: nothing new, nothing decoded ----
{ head -1 splits.csv; tail -n +2 splits.csv | sort -r; } >splits.new && mv splits.new splits.csv
git add splits.csv
rm -rf .git/dedup
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
check "nothing decoded: no cache created" test ! -e .git/dedup
expect_exit 0 git commit -q -m "reorder the manifest"
# a label change alone is not a move either
sed -i 's|,sky$|,clouds|' splits.csv
git add splits.csv
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
git reset -q --hard

# --- the manifest removed from .gitdedup: the path convention takes over ----
mkdir -p data/train data/test
git mv images/dune.jpg data/train/dune.jpg
git mv images/dune-small.jpg data/test/dune-small.jpg
printf 'path,split\ndata/train/dune.jpg,train\ndata/test/dune-small.jpg,train\nimages/storm.jpg,test\n' >splits.csv
git add . && commit_quiet "folders"
printf '[dedup]\n' >.gitdedup
git add .gitdedup
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"
git reset -q --hard

# --- a .gitattributes rule alone moves it too, over the manifest ------------
printf 'data/test/* dedup-split=test\n' >.gitattributes
git add .gitattributes
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"
git reset -q --hard
rm -f .gitattributes

# --- list files: a line moved from train.txt to test.txt ---------------------
new_repo lists
photo Aqua.jpg pool/aqua.jpg
resized_copy Aqua.jpg pool/aqua-small.jpg
printf 'pool/aqua.jpg\npool/aqua-small.jpg\n' >train.txt
: >test.txt
git config --add dedup.manifest train.txt
git config --add dedup.manifest test.txt
git add . && commit_quiet "lists"
printf 'pool/aqua.jpg\n' >train.txt
printf 'pool/aqua-small.jpg\n' >test.txt
git add .
expect_exit 1 git dedup check
expect_grep "$(near_leak_re pool/aqua-small.jpg test pool/aqua.jpg train)" "$OUT"
# the same move as a range, for CI
commit_quiet "move"
expect_exit 1 git dedup check --range HEAD~1..HEAD
expect_grep "$(near_leak_re pool/aqua-small.jpg test pool/aqua.jpg train)" "$OUT"
# a broken manifest committed earlier does not block its fix
printf 'pool/aqua.jpg\npool/missing.jpg\n' >train.txt
git add . && commit_quiet "broken"
printf 'pool/aqua.jpg\n' >train.txt
git add .
expect_exit 1 git dedup check
expect_contains "the dataset at HEAD could not be read, so every image counts as new: train.txt:2: names 'pool/missing.jpg'" "$ERR"
expect_grep "$(near_leak_re pool/aqua-small.jpg test pool/aqua.jpg train)" "$OUT"

finish
