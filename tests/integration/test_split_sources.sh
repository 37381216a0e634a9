#!/usr/bin/env bash
# Where splits come from: .gitattributes (nested files, negation, -dedup),
# every manifest kind (CSV/TSV with RFC 4180 quoting, JSON lines, list files,
# YOLO data.yaml, COCO annotation JSON), the path convention, and their
# precedence; configurable split names, held-out pairs, and the committed
# .gitdedup under git config and `git -c`.
. "$(dirname "$0")/lib.sh"

EXACT='exact bytes'

# ============================================================================
# .gitattributes
new_repo attrs
photo Dune.jpg pics/a/dune.jpg
photo Aqua.jpg pics/b/aqua.jpg
cat >.gitattributes <<'EOF'
pics/** dedup-split=train
EOF
git add . && commit_quiet "train by attribute"
# a nested .gitattributes puts one folder in test
mkdir -p pics/holdout
printf '*.jpg dedup-split=test\n' >pics/holdout/.gitattributes
photo Dune.jpg pics/holdout/x.jpg
git add pics
expect_exit 1 git dedup check
expect_line "LEAK pics/holdout/x.jpg [test] ~ pics/a/dune.jpg [train]: $EXACT" "$OUT"
# the same folder negated back to unspecified: no split, no leak
printf '*.jpg !dedup-split\n' >pics/holdout/.gitattributes
git add pics
expect_exit 0 git dedup check
expect_no_grep '^LEAK ' "$OUT"
# -dedup excludes a path even where the path convention would put it in test
printf '*.jpg dedup-split=test\n' >pics/holdout/.gitattributes
photo Aqua.jpg data/test/aqua-copy.jpg
printf 'data/test/aqua-copy.jpg -dedup\n' >>.gitattributes
git add .
expect_exit 1 git dedup check
expect_count 1 '^LEAK ' "$OUT"
expect_line "LEAK pics/holdout/x.jpg [test] ~ pics/a/dune.jpg [train]: $EXACT" "$OUT"
# attributes are read from the index, not the working tree
printf 'pics/** dedup-split=train\n' >.gitattributes
expect_exit 1 git dedup check
expect_count 1 '^LEAK ' "$OUT"
git checkout -q -- .gitattributes
# a value-less dedup-split is an error naming the path
printf '*.jpg dedup-split\n' >pics/holdout/.gitattributes
git add pics
expect_exit 2 git dedup check
expect_grep "pics/holdout/x\.jpg: \.gitattributes sets dedup-split without a value" "$ERR"
# an unknown split name: which source, which keys
printf '*.jpg dedup-split=holdout\n' >pics/holdout/.gitattributes
git add pics
expect_exit 2 git dedup check
expect_contains "pics/holdout/x.jpg (.gitattributes): split 'holdout' is neither a training split (dedup.trainSplits = train) nor a held-out one (dedup.heldOutSplits = test,val)" "$ERR"
git config dedup.heldOutSplits "holdout, test, val"
expect_exit 1 git dedup check
expect_line "LEAK pics/holdout/x.jpg [holdout] ~ pics/a/dune.jpg [train]: $EXACT" "$OUT"
# ...and the path convention's names are read the same way
printf '*.jpg dedup-split=validation\n' >pics/holdout/.gitattributes
git add pics
expect_exit 1 git dedup check
expect_line "LEAK pics/holdout/x.jpg [val] ~ pics/a/dune.jpg [train]: $EXACT" "$OUT"
git config --unset dedup.heldOutSplits
git reset -q --hard

# ============================================================================
# CSV, TSV and JSON lines; precedence over the path convention
new_repo csv
photo Dune.jpg "images/dune, large.jpg"
photo Storm.jpg images/storm.jpg
photo Wood.jpg data/test/wood.jpg # the path says test; the manifest says train
cat >splits.csv <<'EOF'
label,path,split
dune,"images/dune, large.jpg",train
"a ""storm""",images/storm.jpg,test
,data/test/wood.jpg,train
EOF
git config dedup.manifest splits.csv
git add . && commit_quiet "csv dataset"
photo Dune.jpg data/test/dune.jpg
photo Wood.jpg data/val/wood.jpg
git add data
expect_exit 1 git dedup check --format json
expect_contains '{"kind":"exact_bytes","held_out":{"path":"data/test/dune.jpg","split":"test"},"train":{"path":"images/dune, large.jpg","split":"train","label":"dune"},"transform":"identity","distance":0}' "$OUT"
expect_contains '"held_out":{"path":"data/val/wood.jpg","split":"val"},"train":{"path":"data/test/wood.jpg","split":"train"}' "$OUT"
# .gitattributes beats the manifest
printf 'data/test/wood.jpg dedup-split=test\n' >.gitattributes
git add .gitattributes
expect_exit 1 git dedup check
expect_count 1 '^LEAK ' "$OUT"
expect_line "LEAK data/test/dune.jpg [test] ~ images/dune, large.jpg [train]: $EXACT" "$OUT"
git rm -q --cached .gitattributes && rm .gitattributes
git reset -q --hard
# TSV and JSON lines, with their own column names and paths from the root
mkdir -p meta
printf 'file\tset\tclass\nimages/storm.jpg\ttest\tsky\n' >meta/more.tsv
printf '{"file": "data/test/wood.jpg", "set": "train", "class": 7}\n\n{"file":"images/dune, large.jpg","set":"train"}\n' >meta/rows.jsonl
git config --unset dedup.manifest
git config --add dedup.manifest meta/more.tsv
git config --add dedup.manifest meta/rows.jsonl
git config dedup.pathColumn file
git config dedup.splitColumn set
git config dedup.labelColumn class
git config dedup.manifestBase root
photo Wood.jpg data/val/wood.jpg
git add .
expect_exit 1 git dedup check --json
expect_contains '"held_out":{"path":"data/val/wood.jpg","split":"val"},"train":{"path":"data/test/wood.jpg","split":"train","label":"7"}' "$OUT"
# manifestBase=manifest (the default): the same paths now resolve under meta/
git config --unset dedup.manifestBase
expect_exit 2 git dedup check
expect_contains "meta/more.tsv:2: names 'meta/images/storm.jpg', which is not in the index" "$ERR"
git config dedup.manifestBase root
# an empty value clears the list: no manifests, path convention only (so
# data/test/wood.jpg is in test, which only held-out pairs compare with val)
git config --add dedup.manifest ""
expect_exit 0 git dedup check
expect_exit 1 git -c dedup.checkHeldOutPairs=true dedup check
expect_line "LEAK data/val/wood.jpg [val] ~ data/test/wood.jpg [test]: $EXACT" "$OUT"
expect_exit 0 git -c dedup.manifest= -c dedup.pathConvention=false dedup check
git reset -q --hard
for k in manifest pathColumn splitColumn labelColumn manifestBase; do git config --unset-all dedup.$k || true; done

# ============================================================================
# Bad manifests: the file and line, exit 2, nothing checked
new_repo bad
photo Dune.jpg images/dune.jpg
photo Dune.jpg images/copy.jpg
git config dedup.manifest list.csv
bad_csv() { # bad_csv CONTENT REGEX
    printf "$1" >list.csv
    git add -A
    expect_exit 2 git dedup check
    expect_grep "$2" "$ERR"
    expect_no_grep '^LEAK ' "$OUT"
}
bad_csv 'path,split\nimages/dune.jpg,train\nimages/copy.jpg,test\nimages/missing.jpg,test\n' \
    "list\\.csv:4: names 'images/missing\\.jpg', which is not in the index"
bad_csv 'path,split\nimages/dune.jpg,train\n"images/copy.jpg"x,test\n' 'list\.csv:3: bad quote: text after the closing quote'
bad_csv 'path,split\nimages/dune.jpg,train\nimages/co"py.jpg,test\n' 'list\.csv:3: bad quote: a quote inside an unquoted field'
bad_csv 'path,split\nimages/dune.jpg,train\n"images/copy.jpg,test\n' 'list\.csv:3: bad quote: the quoted field opened on line 3 never closes'
bad_csv 'file,split\nimages/dune.jpg,train\n' "list\\.csv:1: no column named 'path' in the header \\(columns: file, split\\); name the right one with dedup\\.pathColumn"
bad_csv 'path,split\nimages/dune.jpg,train,extra\n' 'list\.csv:2: 3 fields, but the header has 2'
bad_csv 'path,split\n../outside.jpg,train\n' "list\\.csv:2: '\\.\\./outside\\.jpg' is absolute or leaves the repository"
bad_csv 'path,split\nimages/dune.jpg,train\nimages/copy.jpg,holdout\n' "list\\.csv:3: split 'holdout' is neither a training split"
bad_csv 'path,split\nimages/dune.jpg,train\nimages/./x/../dune.jpg,test\n' "manifests disagree on 'images/dune\\.jpg': list\\.csv:2 puts it in train, list\\.csv:3 in test"
git config dedup.manifest nothere.csv
expect_exit 2 git dedup check
expect_contains "dedup.manifest names 'nothere.csv', which is not in the index" "$ERR"
git config dedup.labelColumn class
git config dedup.manifest list.csv
bad_csv 'path,split\nimages/dune.jpg,train\n' "list\\.csv:1: no column named 'class'"
git config --unset dedup.labelColumn
printf '{"path":"images/dune.jpg","split":"train"}\n{"path": 3, "split":"test"}\n' >rows.jsonl
git config dedup.manifest rows.jsonl
git add -A
expect_exit 2 git dedup check
expect_contains "rows.jsonl:2: 'path' must be a string" "$ERR"
printf '{"path":"images/dune.jpg","split":"train"}\n{"path":"images/copy.jpg",\n' >rows.jsonl
git add -A
expect_exit 2 git dedup check
expect_grep 'rows\.jsonl:2: not valid JSON' "$ERR"
# a fixed manifest is checked again, whole
printf '{"path":"images/dune.jpg","split":"train"}\n{"path":"images/copy.jpg","split":"test"}\n' >rows.jsonl
git add -A
expect_exit 1 git dedup check
expect_line "LEAK images/copy.jpg [test] ~ images/dune.jpg [train]: $EXACT" "$OUT"

# ============================================================================
# Two manifests that disagree: both named
new_repo conflict
photo Dune.jpg img/a.jpg
printf 'img/a.jpg\n' >train.txt
printf 'path,split\nimg/a.jpg,test\n' >other.csv
git config --add dedup.manifest train.txt
git config --add dedup.manifest other.csv
git add .
expect_exit 2 git dedup check
expect_contains "manifests disagree on 'img/a.jpg': other.csv:2 puts it in test, train.txt:1 in train" "$ERR"
# a folder in a data.yaml against a line of a CSV
printf 'train: img\n' >data.yaml
git config --unset-all dedup.manifest
git config --add dedup.manifest other.csv
git config --add dedup.manifest data.yaml
git add .
expect_exit 2 git dedup check
expect_contains "manifests disagree on 'img/a.jpg': other.csv:2 puts it in test, data.yaml:1 in train" "$ERR"
# .gitattributes settles it (it is stronger than every manifest)
printf 'img/a.jpg dedup-split=test\n' >.gitattributes
git add .
expect_exit 2 git dedup check # the manifests still contradict each other
git rm -q --cached .gitattributes && rm .gitattributes
# one name in both lists of split names
git config dedup.trainSplits train,test
expect_exit 2 git dedup check
expect_contains "split 'test' is in both dedup.trainSplits and dedup.heldOutSplits" "$ERR"
git config --unset dedup.trainSplits

# ============================================================================
# List files, YOLO data.yaml, COCO annotations
new_repo lists
photo Dune.jpg pool/1.jpg
photo Aqua.jpg pool/2.jpg
mkdir -p lists
printf '# training images\n../pool/1.jpg\n./../pool/2.jpg\n' >lists/train.txt
printf '../pool/3.jpg\n' >lists/test.txt
photo Storm.jpg pool/3.jpg
git config --add dedup.manifest lists/train.txt
git config --add dedup.manifest lists/test.txt
git add . && commit_quiet "lists"
resized_copy Aqua.jpg pool/4.jpg
printf '../pool/3.jpg\n../pool/4.jpg\n' >lists/test.txt
git add .
expect_exit 1 git dedup check
expect_grep "$(near_leak_re pool/4.jpg test pool/2.jpg train)" "$OUT"
git reset -q --hard && git clean -qfd

new_repo yolo
photo Dune.jpg ds/images/tr/dune.jpg
photo Aqua.jpg ds/images/tr/aqua.jpg
photo Dune.jpg ds/images/va/dune.jpg
photo Storm.jpg ds/extra/storm.jpg
photo Storm.jpg ds/images/te/storm.jpg
printf './images/te/storm.jpg\n' >ds/test.txt
cat >ds/data.yaml <<'EOF'
# a YOLO dataset
path: .
train: [images/tr, extra]
val: images/va
test: test.txt
names:
  0: thing
EOF
git config dedup.manifest ds/data.yaml
git add .
expect_exit 1 git dedup check
expect_line "LEAK ds/images/te/storm.jpg [test] ~ ds/extra/storm.jpg [train]: $EXACT" "$OUT"
expect_line "LEAK ds/images/va/dune.jpg [val] ~ ds/images/tr/dune.jpg [train]: $EXACT" "$OUT"
expect_count 2 '^LEAK ' "$OUT"
printf 'path: ../../elsewhere\ntrain: a\n' >ds/data.yaml
git add .
expect_exit 2 git dedup check
expect_contains "ds/data.yaml: path '../../elsewhere' is absolute or leaves the repository" "$ERR"
printf 'train: [images/tr\nval: x\n' >ds/data.yaml
git add .
expect_exit 2 git dedup check
expect_grep 'ds/data\.yaml:[0-9]+: not valid YAML' "$ERR"

new_repo coco
photo Dune.jpg coco/train2017/000001.jpg
photo Aqua.jpg coco/train2017/000002.jpg
photo Aqua.jpg coco/val2017/000009.jpg
mkdir -p coco/annotations
printf '{"info": {},\n "images": [\n  {"id": 1, "file_name": "000001.jpg"},\n  {"id": 2, "file_name": "000002.jpg"}\n ],\n "annotations": []}\n' \
    >coco/annotations/instances_train2017.json
printf '{"images":[{"id":9,"file_name":"000009.jpg","width":1}]}' >coco/annotations/instances_val2017.json
git config --add dedup.manifest coco/annotations/instances_train2017.json
git config --add dedup.manifest coco/annotations/instances_val2017.json
git config dedup.pathConvention false
git add .
expect_exit 1 git dedup check
expect_line "LEAK coco/val2017/000009.jpg [val] ~ coco/train2017/000002.jpg [train]: $EXACT" "$OUT"
# a COCO file whose name says no split needs dedup.<file>.split
git mv coco/annotations/instances_val2017.json coco/annotations/extra.json
git config --unset-all dedup.manifest
git config --add dedup.manifest coco/annotations/instances_train2017.json
git config --add dedup.manifest coco/annotations/extra.json
expect_exit 2 git dedup check
expect_contains "coco/annotations/extra.json: cannot tell which split this COCO file is from its name; set dedup.coco/annotations/extra.json.split" "$ERR"
git config dedup.coco/annotations/extra.json.split test
git config dedup.coco/annotations/extra.json.root coco/val2017
expect_exit 1 git dedup check
expect_line "LEAK coco/val2017/000009.jpg [test] ~ coco/train2017/000002.jpg [train]: $EXACT" "$OUT"
printf '{"images":[{"id":9}]}' >coco/annotations/extra.json
git add .
expect_exit 2 git dedup check
expect_contains "coco/annotations/extra.json:1: images[0] has no file_name" "$ERR"

# ============================================================================
# Held-out splits against each other
new_repo pairs
photo Dune.jpg data/train/dune.jpg
photo Storm.jpg data/test/storm.jpg
git add . && commit_quiet "dataset"
photo Storm.jpg data/val/storm-copy.jpg
git add .
expect_exit 0 git dedup check
git config dedup.checkHeldOutPairs true
expect_exit 1 git dedup check
expect_line "LEAK data/val/storm-copy.jpg [val] ~ data/test/storm.jpg [test]: $EXACT" "$OUT"
expect_exit 1 git dedup check --json
expect_contains '"held_out":{"path":"data/val/storm-copy.jpg","split":"val"},"train":{"path":"data/test/storm.jpg","split":"test"},"transform":"identity","distance":0,"held_out_pair":true}' "$OUT"
git config --unset dedup.checkHeldOutPairs

# ============================================================================
# The committed .gitdedup, under git config and git -c
new_repo shared
git config dedup.overlap false # only the threshold decides below
photo Dune.jpg images/a.jpg
lossy_copy Dune.jpg images/b.jpg
printf 'path,split\nimages/a.jpg,train\nimages/b.jpg,train\n' >splits.csv
cat >.gitdedup <<'EOF'
# shared by the team
[dedup]
	manifest = splits.csv
	threshold = 0
EOF
git add . && commit_quiet "dataset and shared config"
printf 'path,split\nimages/a.jpg,train\nimages/b.jpg,test\n' >splits.csv
git add splits.csv
expect_exit 0 git dedup check --json # threshold 0 from .gitdedup: the lossy copy passes
expect_contains '"threshold":0' "$OUT"
git config dedup.threshold 31 # the repository's config overrides .gitdedup
expect_exit 1 git dedup check
expect_grep "$(near_leak_re images/b.jpg test images/a.jpg train)" "$OUT"
expect_exit 0 git -c dedup.threshold=0 dedup check # and git -c overrides both
git config --unset dedup.threshold
# the staged .gitdedup counts, not the working tree's
printf '[dedup]\n\tmanifest = splits.csv\n\tthreshold = 31\n' >.gitdedup
expect_exit 0 git dedup check
git add .gitdedup
expect_exit 1 git dedup check
# errors in .gitdedup name it
printf '[dedup]\n\tmanifest = splits.csv\n\tthreshold = lots\n' >.gitdedup
git add .gitdedup
expect_exit 2 git dedup check
expect_contains "dedup.threshold (in .gitdedup (staged)): 'lots' is not a whole number" "$ERR"
printf '[dedup\n\tmanifest = splits.csv\n' >.gitdedup
git add .gitdedup
expect_exit 2 git dedup check
expect_grep '\.gitdedup \(staged\)' "$ERR"
printf '[include]\n\tpath = /etc/gitconfig\n' >.gitdedup
git add .gitdedup
expect_exit 2 git dedup check
expect_contains "includes are not allowed in the committed config" "$ERR"

finish
