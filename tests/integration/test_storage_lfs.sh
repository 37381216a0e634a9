#!/usr/bin/env bash
# Images behind Git LFS pointers, with the real git-lfs client: leaks
# through LFS objects, the pointer's oid as the cache key, missing objects
# (dedup.lfsMissing and its defaults), corrupt pointers, lfs.storage, an LFS
# training image leaking into a zip shard, and dedup.maxBlobBytes.
. "$(dirname "$0")/lib.sh"
command -v git-lfs >/dev/null 2>&1 || { echo "FATAL: git-lfs is required (Debian package git-lfs)" >&2; exit 1; }

# settle: let a second pass and refresh the index, so that no entry is "racily
# clean" (as new as the index): git would run LFS's clean filter on such a file
# at the next "git add", which writes its object back into .git/lfs/objects.
settle() {
    sleep 1
    git update-index -q --refresh >/dev/null 2>&1 || true
}

# lfs_path PATH: the LFS object file behind the staged pointer at PATH.
lfs_path() {
    local oid
    oid=$(git cat-file -p ":$1" | sed -n 's/^oid sha256://p')
    echo ".git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid"
}

# ============================================================================
new_repo lfs
git lfs install --local >/dev/null
git lfs track '*.jpg' '*.tar' >/dev/null
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
photo Storm.jpg data/test/Storm.jpg
git add .gitattributes data && commit_quiet "dataset in LFS"
expect_eq "$(git cat-file -p :data/train/Dune.jpg | head -1)" \
    "version https://git-lfs.github.com/spec/v1" "git stores a pointer, not the photo"
check "the LFS object is in .git/lfs/objects" test -f "$(lfs_path data/train/Dune.jpg)"

# --- a byte copy and a near copy, both through LFS ---------------------------
photo Dune.jpg data/test/Dune-copy.jpg
resized_copy Aqua.jpg data/val/aqua-small.jpg
git add data
expect_exit 1 git dedup check
expect_line "LEAK data/test/Dune-copy.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_grep "$(near_leak_re data/val/aqua-small.jpg val data/train/Aqua.jpg train)" "$OUT"
# the cache is keyed by the pointer's oid: a known object is never read again
rows=$(sqlite3 .git/dedup/cache.sqlite "select count(*) from features where content_id like 'lfs:%'")
expect_eq "$rows" 3 "three distinct LFS objects cached under lfs:<sha256> (the copy shares one)"
expect_exit 1 git dedup check --format json
expect_contains '"decoded":0' "$OUT"
# a pointer that is still the same object under a new name costs no decode either
git mv -f data/test/Dune-copy.jpg data/test/Dune-renamed.jpg
expect_exit 1 git dedup check --format json
expect_contains '"held_out":{"path":"data/test/Dune-renamed.jpg","split":"test"}' "$OUT"
expect_contains '"decoded":0' "$OUT"
git reset -q --hard

# --- a missing object -------------------------------------------------------
# (cloned with GIT_LFS_SKIP_SMUDGE, or a server: the object was never fetched)
settle
obj=$(lfs_path data/train/Dune.jpg)
mv "$obj" "$T/dune-object"
rm -rf .git/dedup
photo Wood.jpg data/test/Wood.jpg
git add data/test/Wood.jpg
# default for a commit: warn (a note), the rest is checked
expect_exit 0 git dedup check
expect_contains "data/train/Dune.jpg: not checked: Git LFS object" "$ERR"
expect_contains "run 'git lfs fetch'" "$ERR"
expect_exit 0 git dedup check --format json
expect_grep '"notes":\[".*data/train/Dune.jpg: not checked: Git LFS object [0-9a-f]{64} is not here' "$OUT"
expect_contains '"unreadable":[]' "$OUT"
# fail: unreadable, exit 3, with the fix
expect_exit 3 git -c dedup.lfsMissing=fail dedup check
expect_grep "^UNREADABLE data/train/Dune.jpg: Git LFS object [0-9a-f]{64} is not here \(.*\): run 'git lfs fetch'" "$OUT"
expect_exit 2 git -c dedup.lfsMissing=maybe dedup check
expect_contains "dedup.lfsMissing: 'maybe' is not a valid value" "$ERR"
commit_quiet "wood"
# --range (CI, which can fetch): fail by default
expect_exit 3 git dedup check --range HEAD~1..HEAD
expect_grep '^UNREADABLE data/train/Dune.jpg: Git LFS object' "$OUT"
expect_exit 0 git -c dedup.lfsMissing=warn dedup check --range HEAD~1..HEAD
# ... but in a server's pre-receive hook (git sets GIT_QUARANTINE_PATH) it warns
expect_exit 0 env GIT_QUARANTINE_PATH="$T/quarantine" git dedup check --range HEAD~1..HEAD
expect_contains "not checked: Git LFS object" "$ERR"
# a committed .gitdedup can choose too
printf '[dedup]\n\tlfsMissing = warn\n' >.gitdedup
git add .gitdedup && commit_quiet "gitdedup"
expect_exit 0 git dedup check --range HEAD~2..HEAD
git rm -q .gitdedup && commit_quiet "no gitdedup"
# fetched again (here: put back), the check sees it
mv "$T/dune-object" "$obj"
photo Dune.jpg data/val/dune-again.jpg
git add data/val
expect_exit 1 git dedup check
expect_line "LEAK data/val/dune-again.jpg [val] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
git reset -q --hard

# --- an incomplete object: its size is not the pointer's ----------------------
settle
rm -rf .git/dedup
head -c 1000 "$obj" >"$T/short" && cp "$obj" "$T/dune-object" && chmod u+w "$obj" && cp "$T/short" "$obj"
photo Garden.jpg data/test/Garden.jpg
git add data/test
expect_exit 3 git -c dedup.lfsMissing=warn dedup check
expect_grep '^UNREADABLE data/train/Dune.jpg: Git LFS object [0-9a-f]{64} is 1000 bytes, but its pointer says [0-9]+' "$OUT"
rows=$(sqlite3 .git/dedup/cache.sqlite "select count(*) from features where content_id = 'lfs:$(basename "$obj")'")
expect_eq "$rows" 0 "nothing cached from the incomplete object"
cp "$T/dune-object" "$obj"
git reset -q --hard

# --- corrupt pointers -------------------------------------------------------
# (written past git-lfs's clean filter, as a hostile or broken client would)
stage_raw() { # stage_raw PATH FILE: stage FILE's bytes at PATH without filters
    git update-index --add --cacheinfo "100644,$(git hash-object -w --no-filters "$2"),$1"
}
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:../../../../../etc/passwd\nsize 10\n' >"$T/evil"
stage_raw data/test/evil.jpg "$T/evil"
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\n' "$(printf '%064d' 0)" >"$T/nosize"
stage_raw data/test/nosize.jpg "$T/nosize"
printf 'version https://git-lfs.github.com/spec/v1\noid md5:%s\nsize 3\n' "$(printf '%032d' 0)" >"$T/md5"
stage_raw data/test/md5.jpg "$T/md5"
photo Dune.jpg data/test/dune-3.jpg
git add data/test/dune-3.jpg
expect_exit 1 git dedup check
expect_line "UNREADABLE data/test/evil.jpg: corrupt Git LFS pointer: the oid is not 64 hexadecimal digits" "$OUT"
expect_line "UNREADABLE data/test/nosize.jpg: corrupt Git LFS pointer: no size line" "$OUT"
expect_line "UNREADABLE data/test/md5.jpg: Git LFS pointer with an oid that is not sha256" "$OUT"
expect_line "LEAK data/test/dune-3.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
git rm -q --cached data/test/dune-3.jpg && rm data/test/dune-3.jpg
expect_exit 3 git dedup check
git reset -q --hard

# --- lfs.storage: objects kept elsewhere --------------------------------------
rm -rf .git/dedup
mkdir -p "$T/lfs-store"
mv .git/lfs/objects "$T/lfs-store/objects"
git config lfs.storage "$T/lfs-store"
photo Aqua.jpg data/val/aqua-copy.jpg
git add data/val
expect_exit 1 git dedup check
expect_line "LEAK data/val/aqua-copy.jpg [val] ~ data/train/Aqua.jpg [train]: exact bytes" "$OUT"
git reset -q --hard

# --- an LFS-tracked tar shard: streamed from the object ----------------------
mkdir -p "$T/stage"
photo Aqua.jpg "$T/stage/000001.jpg"
tar -cf data/test/shard-000.tar -C "$T/stage" 000001.jpg
git add data/test/shard-000.tar
expect_eq "$(git cat-file -p :data/test/shard-000.tar | head -1)" \
    "version https://git-lfs.github.com/spec/v1" "the shard is an LFS pointer"
expect_exit 1 git dedup check
expect_line "LEAK data/test/shard-000.tar:000001.jpg [test] ~ data/train/Aqua.jpg [train]: exact bytes" "$OUT"
git reset -q --hard
git config --unset lfs.storage
mv "$T/lfs-store/objects" .git/lfs/objects

# ============================================================================
# The leak the issue names: the training copy is an LFS object, the held-out
# copy a member of a zip shard (a plain blob).
new_repo lfs_zip
git lfs install --local >/dev/null
git lfs track '*.jpg' >/dev/null
photo Dune.jpg images/train/Dune.jpg
git add .gitattributes images && commit_quiet "train in LFS"
mkdir -p "$T/zipstage/samples" images/test
photo Dune.jpg "$T/zipstage/samples/0001.jpg"
photo Storm.jpg "$T/zipstage/samples/0002.jpg"
echo '{"label": 3}' >"$T/zipstage/samples/0001.json"
(cd "$T/zipstage" && zip -qr "$REPO/images/test/shard-0001.zip" samples)
git add images/test/shard-0001.zip
expect_exit 1 git dedup check
expect_line "LEAK images/test/shard-0001.zip:samples/0001.jpg [test] ~ images/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_contains "(3 images checked, 2 new, 3 decoded)" "$OUT"
expect_exit 1 git dedup check --format json
expect_contains '"held_out":{"path":"images/test/shard-0001.zip:samples/0001.jpg","split":"test","archive":"images/test/shard-0001.zip","member":"samples/0001.jpg"},"train":{"path":"images/train/Dune.jpg","split":"train"}' "$OUT"
expect_contains '"images":3,"new":2,' "$OUT"

# ============================================================================
# Plain blobs over dedup.maxBlobBytes are refused, and LFS is suggested.
new_repo bigblob
photo Dune.jpg data/train/Dune.jpg
git add data && commit_quiet "train"
photo Storm.jpg data/test/Storm.jpg
git add data
expect_exit 3 git -c dedup.maxBlobBytes=100k dedup check
expect_grep '^UNREADABLE data/test/Storm.jpg: a plain git blob of [0-9]+ bytes, over dedup.maxBlobBytes \(102400\): .*Git LFS' "$OUT"
expect_grep '^UNREADABLE data/train/Dune.jpg: a plain git blob' "$OUT"
expect_exit 0 git -c dedup.maxBlobBytes=100m dedup check
expect_exit 2 git -c dedup.maxBlobBytes=lots dedup check
expect_contains "dedup.maxBlobBytes: 'lots' is not a whole number" "$ERR"

finish
