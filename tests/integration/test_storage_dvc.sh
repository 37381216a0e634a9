#!/usr/bin/env bash
# Images tracked by DVC: .dvc files and dvc.lock name them by md5, their
# bytes are in DVC's cache.  DVC is not in Debian, so the test builds the
# cache the way DVC does: files/md5/xx/<rest> (DVC 3) or xx/<rest> (DVC 2),
# read-only copies, and a directory as a JSON listing <md5>.dir.
. "$(dirname "$0")/lib.sh"
command -v md5sum >/dev/null 2>&1 || { echo "FATAL: md5sum is required" >&2; exit 1; }

# dvc_put FILE CACHE LAYOUT: put FILE in the cache (LAYOUT 3 or 2); print its md5.
dvc_put() {
    local md5 dir
    md5=$(md5sum <"$1" | cut -c1-32)
    if [ "$3" = 3 ]; then dir="$2/files/md5/${md5:0:2}"; else dir="$2/${md5:0:2}"; fi
    mkdir -p "$dir"
    [ -e "$dir/${md5:2}" ] || { cp "$1" "$dir/${md5:2}" && chmod a-w "$dir/${md5:2}"; }
    echo "$md5"
}

# dvc_put_dir DIR CACHE LAYOUT: every file under DIR and the listing; print "<md5>.dir".
dvc_put_dir() {
    local listing="[" sep="" rel md5 dir lmd5
    while read -r rel; do
        md5=$(dvc_put "$1/$rel" "$2" "$3")
        listing="$listing$sep{\"md5\": \"$md5\", \"relpath\": \"$rel\"}"
        sep=", "
    done < <(cd "$1" && find . -type f | sed 's,^\./,,' | LC_ALL=C sort)
    printf '%s]' "$listing" >"$T/listing.json"
    lmd5=$(md5sum <"$T/listing.json" | cut -c1-32)
    if [ "$3" = 3 ]; then dir="$2/files/md5/${lmd5:0:2}"; else dir="$2/${lmd5:0:2}"; fi
    mkdir -p "$dir"
    cp "$T/listing.json" "$dir/${lmd5:2}.dir"
    echo "$lmd5.dir"
}

# cache_file MD5 [LAYOUT]: where the cache holds it
cache_file() {
    if [ "${2:-3}" = 3 ]; then echo ".dvc/cache/files/md5/${1:0:2}/${1:2}"; else echo ".dvc/cache/${1:0:2}/${1:2}"; fi
}

new_repo dvc
mkdir -p .dvc
# configobj syntax, as DVC writes it (git's config parser would refuse the quotes)
printf "[core]\n    remote = storage\n['remote \"storage\"']\n    url = /nonexistent\n" >.dvc/config
printf '/cache\n/tmp\n' >.dvc/.gitignore
photo Dune.jpg data/train/Dune.jpg
git add .dvc data && commit_quiet "dataset"

# --- a single image tracked by a .dvc file (DVC 3 layout) --------------------
W="$T/work"
mkdir -p "$W" images/test
photo Dune.jpg "$W/dune.jpg"
md5=$(dvc_put "$W/dune.jpg" .dvc/cache 3)
cp "$W/dune.jpg" images/test/dune.jpg
echo /dune.jpg >images/test/.gitignore
cat >images/test/dune.jpg.dvc <<EOF
outs:
- md5: $md5
  size: $(stat -c %s "$W/dune.jpg")
  hash: md5
  path: dune.jpg
EOF
git add images/test
check "the image itself is not in git" test -z "$(git ls-files images/test/dune.jpg)"
expect_exit 1 git dedup check
expect_line "LEAK images/test/dune.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
rows=$(sqlite3 .git/dedup/cache.sqlite "select count(*) from features where content_id = 'dvc:$md5'")
expect_eq "$rows" 1 "cached under dvc:<md5>"
expect_exit 1 git dedup check --format json
expect_contains '"decoded":0' "$OUT"
commit_quiet "dvc file"

# --- a tracked directory holding both splits (DVC 2 layout) -------------------
mkdir -p "$W/dataset/train" "$W/dataset/val/deep"
photo Aqua.jpg "$W/dataset/train/Aqua.jpg"
resized_copy Aqua.jpg "$W/dataset/val/deep/aqua-small.jpg"
photo Storm.jpg "$W/dataset/val/storm.jpg"
echo "path,label" >"$W/dataset/labels.csv"
dirmd5=$(dvc_put_dir "$W/dataset" .dvc/cache 2)
cat >dataset.dvc <<EOF
outs:
- md5: $dirmd5
  size: 12345
  nfiles: 4
  path: dataset
EOF
echo /dataset >.gitignore
git add .gitignore dataset.dvc
expect_exit 1 git dedup check
expect_grep "$(near_leak_re dataset/val/deep/aqua-small.jpg val dataset/train/Aqua.jpg train)" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_contains "(5 images checked, 3 new, " "$OUT"
commit_quiet "dvc dir"

# --- dvc.lock: outputs of a pipeline stage (DVC 3 layout) ---------------------
mkdir -p "$W/prepared/train"
photo Wood.jpg "$W/prepared/train/wood.jpg"
wmd5=$(dvc_put "$W/prepared/train/wood.jpg" .dvc/cache 3)
cat >dvc.lock <<EOF
schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py
    deps:
    - path: prepare.py
      hash: md5
      md5: 00000000000000000000000000000000
      size: 10
    outs:
    - path: prepared/train/wood.jpg
      hash: md5
      md5: $wmd5
      size: $(stat -c %s "$W/prepared/train/wood.jpg")
EOF
git add dvc.lock
resized_copy Wood.jpg data/test/wood-small.jpg
git add data/test
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/wood-small.jpg test prepared/train/wood.jpg train)" "$OUT"
commit_quiet "pipeline"

# --- a change to a .dvc file alone is a change to its image -------------------
photo Aqua.jpg "$W/aqua.jpg"
amd5=$(dvc_put "$W/aqua.jpg" .dvc/cache 2) # already there, as dataset/train/Aqua.jpg
sed -i "s/$md5/$amd5/; s/size: .*/size: $(stat -c %s "$W/aqua.jpg")/" images/test/dune.jpg.dvc
git add images/test/dune.jpg.dvc
expect_exit 1 git dedup check
expect_line "LEAK images/test/dune.jpg [test] ~ dataset/train/Aqua.jpg [train]: exact bytes" "$OUT"
git reset -q --hard

# --- missing objects (not pulled): dedup.dvcMissing ---------------------------
rm -rf .git/dedup
aqua_obj=$(cache_file "$amd5" 2)
mv "$aqua_obj" "$T/aqua-object"
photo Garden.jpg data/test/Garden.jpg
git add data/test
expect_exit 0 git dedup check
expect_grep "dataset/train/Aqua.jpg: not checked: DVC object $amd5 is not in the DVC cache \(.*\): run 'dvc pull'" "$ERR"
expect_exit 3 git -c dedup.dvcMissing=fail dedup check
expect_grep "^UNREADABLE dataset/train/Aqua.jpg: DVC object $amd5 is not in the DVC cache" "$OUT"
commit_quiet "garden"
expect_exit 3 git dedup check --range HEAD~1..HEAD
mv "$T/aqua-object" "$aqua_obj"
# the directory's listing itself missing: its images cannot even be named
listing=$(cache_file "${dirmd5%.dir}" 2).dir
mv "$listing" "$T/listing"
rm -rf .git/dedup
expect_exit 3 git -c dedup.dvcMissing=fail dedup check --range HEAD~1..HEAD
expect_line "UNREADABLE dataset: the folder is tracked by DVC (dataset.dvc), but its listing ${dirmd5} is not in the DVC cache ($PWD/.dvc/cache/files/md5/${dirmd5:0:2}/${dirmd5:2}): run 'dvc pull' (or 'dvc fetch') to check its images" "$OUT"
expect_exit 0 git -c dedup.dvcMissing=warn dedup check --range HEAD~1..HEAD
expect_contains "dataset: not checked: the folder is tracked by DVC" "$ERR"
mv "$T/listing" "$listing"
# a listing that names a path outside its folder is damaged
chmod u+w "$listing"
cp "$listing" "$T/listing-good"
printf '[{"md5": "%s", "relpath": "../../escape.jpg"}]' "$amd5" >"$listing"
expect_exit 3 git dedup check --range HEAD~1..HEAD
expect_grep "^UNREADABLE dataset: DVC directory listing .* names '../../escape.jpg', outside the folder" "$OUT"
cp "$T/listing-good" "$listing"

# --- where the cache is: .dvc/config cache.dir, config.local, dedup.dvcCacheDir
rm -rf .git/dedup
mv .dvc/cache "$T/moved-cache"
printf "[core]\n    remote = storage\n[cache]\n    dir = ../../moved-cache\n" >.dvc/config
git add .dvc/config
photo Dune.jpg data/test/dune-again.jpg
git add data/test
expect_exit 1 git dedup check
expect_line "LEAK data/test/dune-again.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
# (at HEAD the cache was not where .dvc/config says, so the folder's images count as new)
expect_grep "$(near_leak_re dataset/val/deep/aqua-small.jpg val dataset/train/Aqua.jpg train)" "$OUT"
git reset -q --hard
rm -rf .git/dedup
printf "[cache]\n    dir = %s\n" "$T/moved-cache" >.dvc/config.local
printf "[cache]\n    dir = /nonexistent\n" >.dvc/config
git add .dvc/config
resized_copy Aqua.jpg data/test/aqua-3.jpg
git add data/test
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/aqua-3.jpg test dataset/train/Aqua.jpg train)" "$OUT"
rm .dvc/config.local
rm -rf .git/dedup
mv "$T/moved-cache" "$T/third-cache"
expect_exit 1 git -c dedup.dvcCacheDir="$T/third-cache" dedup check
expect_grep "$(near_leak_re data/test/aqua-3.jpg test dataset/train/Aqua.jpg train)" "$OUT"
git reset -q --hard
mv "$T/third-cache" .dvc/cache

# --- broken .dvc files are a repository error, like a broken manifest ---------
printf 'outs:\n- md5: nothex\n  path: x.jpg\n' >images/test/bad.jpg.dvc
git add images/test/bad.jpg.dvc
expect_exit 2 git dedup check
expect_contains "images/test/bad.jpg.dvc:2: md5 'nothex' is not 32 lower-case hexadecimal digits" "$ERR"
printf 'outs:\n- md5: %s\n  path: ../../../outside.jpg\n' "$md5" >images/test/bad.jpg.dvc
git add images/test/bad.jpg.dvc
expect_exit 2 git dedup check
expect_contains "images/test/bad.jpg.dvc:2: output '../../../outside.jpg' is absolute or leaves the repository" "$ERR"
printf 'outs: [\n' >images/test/bad.jpg.dvc
git add images/test/bad.jpg.dvc
expect_exit 2 git dedup check
expect_contains "images/test/bad.jpg.dvc:" "$ERR"
expect_contains "not valid YAML" "$ERR"
git reset -q --hard
rm -f images/test/bad.jpg.dvc

finish
