#!/usr/bin/env bash
# e2e_files.sh KIND — file uploads end to end: `streamlab upload`, the files pipeline,
# `streamlab consume --save-dir`, the drop folder, and bad input.
#
# Round trips (text files, so that libmagic calls them documents): 0 B, 1 B, exactly one
# chunk (715776 B), one byte over, 5 MB and a big one: 200 MB on the embedded broker,
# where the size is the point (it keeps ~5 MB a partition, the upload must pace on the
# engine), 110 MB on Kafka (still very_large, over 100 MB).  Each is uploaded while an engine
# (--file-min-size 0) and a saving consumer run; the upload paces on both groups (the
# embedded broker keeps only ~5 MB a partition).  Checked: processed_files has each file
# with its MD5 (file_hash), size and the original's content_hash (sha256 of the base64,
# 16 hex digits); the saved copy has the same MD5.
# Metadata on fixtures made here with ffmpeg and by hand: PNG 320x240 (3 channels), JPEG
# 640x360, a text of 7 words, a PDF with known text, an MP4 of 50 frames at 25 fps.
# Wire meanings: a one-record upload keeps file_content in processed_files, a chunked one
# says where its chunks are; text_length and word_count count the whole text; chunk
# records carry chunk_content, no file_content (upload --topic to a topic of its own).
# Bad input: unsupported type, a content/extension mismatch, a missing file, a directory,
# --max-size, a path-traversal filename, a corrupt record, a missing chunk, a chunk timeout.
# The drop folder (upload --watch and --headless --watch-dir), and the console: u with Tab
# completion, pane 5 showing the upload processed and the per-type bars (tmux).
# run.sh: limit=600 min=72
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

F=$WORK/files SAVE=$WORK/saved
mkdir -p "$F" "$SAVE"
ENGINE_GROUP=$(group_name engine) SAVE_GROUP=$(group_name save)

# text_file PATH BYTES: BYTES of base64 text (lines of 76).
# Text that does not compress, the same on every run: a keystream (AES-CTR over zeros,
# keyed by the file's name) in base64.  Not /dev/urandom: libmagic reads a random
# start now and then as some binary format (image/x-godot-stex once), and the upload
# refuses a .txt whose content is not text.
text_file() {
    openssl enc -aes-128-ctr -pass "pass:$(basename "$1")" -nosalt -pbkdf2 </dev/zero 2>/dev/null |
        head -c $(( $2 * 3 / 4 + 1024 )) | base64 -w 76 | head -c "$2" >"$1"
}
: >"$F/zero.txt"
printf 'x' >"$F/one.txt"
text_file "$F/boundary.txt" 715776
text_file "$F/over.txt" 715777
text_file "$F/five.txt" $((5 * 1024 * 1024))
if [ "$KIND" = embedded ]; then BIG_MIB=200; else BIG_MIB=110; fi
export BIG_MIB
text_file "$F/big.txt" $((BIG_MIB * 1024 * 1024))
expect_eq "fixture big.txt is $BIG_MIB MiB" $((BIG_MIB * 1024 * 1024)) "$(stat -c %s "$F/big.txt")"

# Media fixtures.
ffmpeg -v error -f lavfi -i color=c=red:s=320x240 -frames:v 1 "$F/red.png" </dev/null
ffmpeg -v error -f lavfi -i testsrc=s=640x360 -frames:v 1 "$F/test.jpg" </dev/null
ffmpeg -v error -f lavfi -i testsrc=s=320x240:r=25 -t 2 -pix_fmt yuv420p "$F/clip.mp4" </dev/null
printf 'the quick brown fox jumps over dogs\n' >"$F/words.txt"
$PY - "$F/hello.pdf" <<'PYEOF'
import sys
# A one-page PDF with "Hello streamlab PDF" in Helvetica; offsets computed, not guessed.
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
stream = b"BT /F1 18 Tf 20 70 Td (Hello streamlab PDF) Tj ET"
objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
out = bytearray(b"%PDF-1.4\n")
offs = []
for i, o in enumerate(objs):
    offs.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    out += b"%010d 00000 n \n" % o
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
PYEOF

# The engine and a saving consumer, in their own groups.
"$STREAMLAB" engine -b "$BROKER" --pipelines files --group "$ENGINE_GROUP" --file-min-size 0 \
    --checkpoint-interval 0.2 --chunk-timeout 3 >"$WORK/engine.out" 2>"$WORK/engine.err" &
ENGINE_PID=$!
bg_track $ENGINE_PID
# The engine makes the topics (Admin API on real Kafka); `consume` gives up on a topic
# that does not exist yet, so the saver starts once uploaded_documents is there.
for _ in $(seq 1 120); do
    timeout 5 kcat -b "$BROKER" -L -t uploaded_documents 2>/dev/null | grep -q 'partition 2,' && break
    sleep 0.5
done
"$STREAMLAB" consume uploaded_documents -b "$BROKER" --group "$SAVE_GROUP" --from-beginning \
    --save-dir "$SAVE" -X auto.commit.interval.ms=200 >"$WORK/save.out" 2>"$WORK/save.err" &
SAVE_PID=$!
bg_track $SAVE_PID

upload() { # upload ARGS...: JSON lines on stdout
    timeout 600 "$STREAMLAB" upload -b "$BROKER" --json --pace "$ENGINE_GROUP" "$@"
}

rc=0
upload --pace "$SAVE_GROUP" --pace-timeout 120 "$F/zero.txt" "$F/one.txt" "$F/boundary.txt" \
    "$F/over.txt" "$F/five.txt" "$F/big.txt" >"$WORK/up.jsonl" 2>"$WORK/up.err" || rc=$?
expect_eq "upload of the six round-trip files exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# upload: /' "$WORK/up.err" | tail -5
rc=0
upload "$F/red.png" "$F/test.jpg" "$F/clip.mp4" "$F/words.txt" "$F/hello.pdf" \
    >>"$WORK/up.jsonl" 2>>"$WORK/up.err" || rc=$?
expect_eq "upload of the five metadata fixtures exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# upload: /' "$WORK/up.err" | tail -5

# Wait until the engine has written all ten (zero.txt is filtered out) (bounded), then look.
for _ in $(seq 1 300); do
    [ "$(kcat_count processed_files)" -ge 10 ] && break
    sleep 1
done
kcat_dump processed_files "$WORK/processed.jsonl"
kcat_dump file_type_aggregations "$WORK/aggs.jsonl"
# Stop the saver so that it reports what it holds, then read its lines.
for _ in $(seq 1 100); do grep -q big.txt "$WORK/save.out" && break; sleep 0.3; done
kill -TERM $SAVE_PID; wait_bounded "$SAVE_PID" 30 >/dev/null

$PY - "$F" "$SAVE" "$WORK" >"$WORK/checks" 2>&1 <<'PYEOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/checks"
import base64, collections, hashlib, json, os, sys
F, SAVE, WORK = sys.argv[1:4]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
ups = {}
for l in open(WORK + "/up.jsonl"):
    u = json.loads(l)
    ups[os.path.basename(u.get("filename", u.get("path", "")))] = u
proc = {}
for l in open(WORK + "/processed.jsonl"):
    v = json.loads(json.loads(l)["payload"])
    proc[v["filename"]] = v
def md5(p):
    h = hashlib.md5()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
def content_hash(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(3 << 20), b""):
            h.update(base64.b64encode(b))
    return h.hexdigest()[:16]
chunks = {"zero.txt": 1, "one.txt": 1, "boundary.txt": 1, "over.txt": 2,
          "five.txt": 8, "big.txt": -(-int(os.environ["BIG_MIB"]) * 1024 * 1024 // 715776)}
for name, n in chunks.items():
    p = F + "/" + name
    u = ups.get(name, {})
    ok("%s: upload says ok, %d record(s), its MD5" % (name, n),
       u.get("ok") and u.get("chunks") == n and u.get("file_hash") == md5(p), repr(u)[:300])
    r = proc.get(name)
    if name == "zero.txt":  # the filter passes file_size > --file-min-size (0)
        ok("zero.txt: not in processed_files (0 > 0 is false)", r is None, repr(r)[:200])
    elif not r:
        ok("%s: in processed_files" % name, False, "not found among %s" % sorted(proc))
        continue
    else:
      ok("%s: processed_files has its size, MD5 and content_hash" % name,
         r["file_size"] == os.path.getsize(p) and r["file_hash"] == md5(p)
         and r["analysis"]["content_hash"] == content_hash(p),
         "%r %r %r" % (r["file_size"], r["file_hash"], r["analysis"]))
      # The original's processor passes file_content on: a one-record upload has it; a
      # chunked one has none and says where its chunks are.
      if n == 1:
          ok("%s: processed_files carries its file_content (one record)" % name,
             r.get("file_content") == base64.b64encode(open(p, "rb").read()).decode()
             and "content_location" not in r, repr(r.get("file_content"))[:80])
      else:
          loc = r.get("content_location", {})
          ok("%s: no file_content; content_location names topic, partition, first offset, %d chunks" % (name, n),
             "file_content" not in r and loc == {"topic": "uploaded_documents", "partition": u.get("partition"),
                                                 "offset": u.get("offset"), "chunk_count": n,
                                                 "field": "chunk_content"}, repr(loc))
      if name in ("over.txt", "five.txt"):
          # The original's text_length = len(text), word_count = len(text.split()) of the
          # whole document (not of the 8,000-byte text_content preview).
          text = open(p, encoding="utf-8").read()
          ok("%s: text_length %d and word_count %d describe the whole text" % (name, len(text), len(text.split())),
             r["analysis"].get("text_length") == len(text) and r["analysis"].get("word_count") == len(text.split())
             and len(r["metadata"].get("text_content", "")) <= 8000,
             repr({k: r["analysis"].get(k) for k in ("text_length", "word_count")}))
    s = SAVE + "/" + name
    ok("%s: saved copy has the same MD5" % name, os.path.exists(s) and md5(s) == md5(p),
       "missing" if not os.path.exists(s) else "md5 differs")
ok("the saver left no partial file", not [x for x in os.listdir(SAVE) if x.startswith(".")],
   os.listdir(SAVE))
cats = {n: proc[n]["analysis"]["size_category"] for n in chunks if n in proc}
ok("size categories: small / medium / very_large",
   cats.get("one.txt") == "small" and cats.get("five.txt") == "medium"
   and cats.get("big.txt") == "very_large", repr(cats))
r = proc.get("big.txt", {})
ok("big.txt: file_size_mb %s.0, priority normal, notes, flink_processing_time" % os.environ["BIG_MIB"],
   r.get("analysis", {}).get("file_size_mb") == float(os.environ["BIG_MIB"]) and r.get("processing_priority") == "normal"
   and r.get("processing_notes") == "Document processing - text extraction completed"
   and "flink_processing_time" in r, repr({k: r.get(k) for k in ("analysis", "processing_priority")}))
# Metadata.
def m(name):
    return proc.get(name, {}).get("metadata", {}), proc.get(name, {}).get("analysis", {})
meta, a = m("red.png")
ok("red.png: 320x240, 3 channels, 76800 pixels, image, Low quality, colour depth 24",
   (meta.get("width"), meta.get("height"), meta.get("channels"), meta.get("total_pixels"))
   == (320, 240, 3, 76800) and proc["red.png"]["file_type"] == "image"
   and a.get("image_quality") == "Low" and a.get("color_depth") == 24
   and a.get("aspect_ratio") == 1.33, repr((meta, a)))
meta, a = m("test.jpg")
ok("test.jpg: 640x360, 3 channels, aspect 1.78", (meta.get("width"), meta.get("height"),
   meta.get("channels"), a.get("aspect_ratio")) == (640, 360, 3, 1.78), repr((meta, a)))
meta, a = m("clip.mp4")
ok("clip.mp4: 50 frames at 25 fps, 320x240, 2 s, SD, total_frames 50, priority high",
   (meta.get("frame_count"), meta.get("fps"), meta.get("width"), meta.get("height"))
   == (50, 25.0, 320, 240) and abs(meta.get("duration", 0) - 2.0) < 0.1
   and a.get("video_quality") == "SD" and a.get("total_frames") == 50
   and proc["clip.mp4"].get("processing_priority") == "high" and a.get("bitrate_estimate", 0) > 0,
   repr((meta, a)))
meta, a = m("words.txt")
ok("words.txt: 7 words, 36 characters, has_text, text/plain",
   (a.get("word_count"), a.get("text_length"), a.get("has_text"), meta.get("mime_type"))
   == (7, 36, True, "text/plain"), repr((meta, a)))
meta, a = m("hello.pdf")
ok("hello.pdf: text 'Hello streamlab PDF' (3 words), application/pdf",
   "Hello streamlab PDF" in meta.get("text_content", "") and a.get("word_count") == 3
   and meta.get("mime_type") == "application/pdf", repr((meta, a)))
aggs = {}
for l in open(WORK + "/aggs.jsonl"):
    v = json.loads(json.loads(l)["payload"])
    aggs[v["file_type"]] = v
d = aggs.get("document", {})
want = sum(os.path.getsize(F + "/" + n) for n in list(chunks) + ["words.txt", "hello.pdf"])
ok("file_type_aggregations: document totals over the 7 processed documents",
   d.get("total_files") == 7 and d.get("total_size_bytes") == want
   and d.get("largest_file_size") == int(os.environ["BIG_MIB"]) * 1024 * 1024 and d.get("smallest_file_size") == 1
   and abs(d.get("avg_size_bytes", 0) - want / 7) < 1e-6,
   "%r; processed_files rows per file: %r; document totals in order: %r" % (
       d, dict(collections.Counter(json.loads(json.loads(l)["payload"])["filename"]
                                   for l in open(WORK + "/processed.jsonl") if l.strip())),
       [json.loads(json.loads(l)["payload"]).get("total_files") for l in open(WORK + "/aggs.jsonl")
        if l.strip() and '"document"' in l]))
ok("file_type_aggregations: one image total of 2, one video of 1",
   aggs.get("image", {}).get("total_files") == 2 and aggs.get("video", {}).get("total_files") == 1,
   repr(aggs)[:300])
PYEOF
tap_from "$WORK/checks"

# --- the chunk records' shape -------------------------------------------------------------
# A chunk carries its bytes in chunk_content and no file_content, so that a client of the
# original (which saves file_content under filename) skips it instead of saving a chunk as
# the file; `upload --topic` sends to a topic of our own, --chunk-size makes small chunks.
head -c 20000 /dev/urandom | base64 -w 76 >"$F/chunky.txt"
rc=0
timeout 120 "$STREAMLAB" upload -b "$BROKER" --json --pace none --chunk-size 3000 \
    --topic e2e_chunk_shape "$F/chunky.txt" >"$WORK/chunky.json" 2>"$WORK/chunky.err" || rc=$?
expect_eq "upload --topic e2e_chunk_shape --chunk-size 3000 exits 0" 0 "$rc"
kcat_dump e2e_chunk_shape "$WORK/chunky.jsonl"
$PY - "$F/chunky.txt" "$WORK/chunky.jsonl" >"$WORK/chunky.checks" 2>&1 <<'PYEOF' || echo "not ok - the chunk checker ran" >>"$WORK/chunky.checks"
import base64, hashlib, json, sys
data = open(sys.argv[1], "rb").read()
recs = [json.loads(json.loads(l)["payload"]) for l in open(sys.argv[2]) if l.strip()]
recs.sort(key=lambda r: r.get("chunk_index", -1))
n = (len(data) + 2999) // 3000
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
ok("the upload went to e2e_chunk_shape as %d chunk records" % n, len(recs) == n, len(recs))
ok("no chunk record has file_content; each has chunk_content, chunk_index, chunk_count",
   all("file_content" not in r and isinstance(r.get("chunk_content"), str) and r.get("chunk_count") == n
       for r in recs), repr([sorted(r) for r in recs[:1]]))
ok("the chunks' chunk_content put together is the file; file_size and file_hash are the file's",
   b"".join(base64.b64decode(r["chunk_content"]) for r in recs) == data
   and all(r["file_size"] == len(data) and r["file_hash"] == hashlib.md5(data).hexdigest() for r in recs))
# A client of the original: saves base64-decoded file_content under filename when there is one.
saved = {}
for r in recs:
    if r.get("file_content"):
        saved[r["filename"]] = base64.b64decode(r["file_content"])
ok("a client of the original saves no chunk as the file (it finds no file_content)", not saved, repr(saved.keys()))
PYEOF
tap_from "$WORK/chunky.checks"

# --- upload --chunk-size through the files pipeline ----------------------------------------
# 1.5 MB in chunks of 150,000 bytes (10 records, not the default's 3): the engine puts
# them together; processed_files has the file with its own size and MD5.
text_file "$F/smallchunks.txt" 1500000
rc=0
upload --chunk-size 150000 "$F/smallchunks.txt" >"$WORK/smallchunks.json" 2>"$WORK/smallchunks.err" || rc=$?
expect_eq "upload --chunk-size 150000 of 1.5 MB exits 0" 0 "$rc"
sc_md5=$(md5sum <"$F/smallchunks.txt" | cut -d' ' -f1)
$PY -c 'import json,sys; u=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(0 if u.get("chunks") == 10 and u.get("file_hash") == sys.argv[2] else 1)' \
    "$WORK/smallchunks.json" "$sc_md5"
check "upload --chunk-size 150000 sends 10 chunk records with the file's MD5" test $? = 0
sc_found=
for _ in $(seq 1 120); do
    kcat_dump processed_files "$WORK/processed2.jsonl"
    sc_found=$($PY - "$WORK/processed2.jsonl" "$sc_md5" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    v = json.loads(json.loads(l)["payload"])
    if v.get("filename") == "smallchunks.txt" and v.get("file_hash") == sys.argv[2] and v.get("file_size") == 1500000:
        print("yes")
        break
PYEOF
)
    [ "$sc_found" = yes ] && break
    sleep 1
done
expect_eq "processed_files has smallchunks.txt put together from its 10 chunks (size, MD5)" yes "$sc_found"

# --- bad input --------------------------------------------------------------------------
printf 'MZ\x90\x00binary' >"$F/tool.exe"
cp /bin/true "$F/fake.png"
before=$(kcat_count uploaded_images)
out=$("$STREAMLAB" upload -b "$BROKER" --pace none "$F/tool.exe" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'unsupported file type ".exe"' <<<"$out" && pass "unsupported extension: exit 1, says so" \
    || fail "unsupported extension: exit 1, says so" "rc $rc: $out"
out=$("$STREAMLAB" upload -b "$BROKER" --pace none "$F/fake.png" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "named as an image (.png) but its content is" <<<"$out" \
    && pass "content not matching its extension: exit 1, says so" \
    || fail "content not matching its extension: exit 1, says so" "rc $rc: $out"
out=$("$STREAMLAB" upload -b "$BROKER" --pace none "$F/missing.txt" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "cannot read .*missing.txt: No such file" <<<"$out" \
    && pass "missing file: exit 1, says so" || fail "missing file: exit 1, says so" "rc $rc: $out"
mkdir -p "$F/dir.txt"
out=$("$STREAMLAB" upload -b "$BROKER" --pace none "$F/dir.txt" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "not a regular file" <<<"$out" \
    && pass "a directory: exit 1, says so" || fail "a directory: exit 1, says so" "rc $rc: $out"
out=$("$STREAMLAB" upload -b "$BROKER" --pace none --max-size 1 "$F/five.txt" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "more than the limit" <<<"$out" \
    && pass "--max-size 1 refuses 5 MB: exit 1, says so" || fail "--max-size refuses" "rc $rc: $out"
expect_eq "nothing was sent for the refused files" "$before" "$(kcat_count uploaded_images)"

# Hand-made records: a traversal name, a corrupt one, a missing chunk, a lone chunk.
$PY - "$WORK/bad.txt" <<'PYEOF'
import base64, hashlib, json, sys
def rec(fid, name, data, md5=None, **kw):
    r = {"file_id": fid, "filename": name, "file_type": "document", "file_size": len(data),
         "file_hash": md5 or hashlib.md5(data).hexdigest(),
         "upload_timestamp": "2024-01-15T10:30:00", "file_content": base64.b64encode(data).decode(),
         "metadata": {"text_content": "", "mime_type": "text/plain"}}
    r.update(kw)
    if "chunk_index" in kw:  # a chunk, as the uploader shapes it
        r["chunk_content"] = r.pop("file_content")
    return r
out = []
out.append(("evil", rec("document_1", "../escape.txt", b"escaped\n")))
out.append(("abs", rec("document_2", "/etc/abs.txt", b"absolute\n")))
out.append(("corrupt", rec("document_3", "corrupt.txt", b"hello\n", md5="0" * 32)))
data = b"abcdefghi"
for i in (0, 2):  # chunk 1 of 3 never comes
    r = rec("document_4", "gap.txt", data[3 * i:3 * i + 3], chunk_index=i, chunk_count=3)
    r["file_size"], r["file_hash"] = len(data), hashlib.md5(data).hexdigest()
    out.append(("gap", r))
r = rec("document_5", "lonely.txt", b"abc", chunk_index=0, chunk_count=2)
r["file_size"], r["file_hash"] = 6, hashlib.md5(b"abcdef").hexdigest()
out.append(("lonely", r))
with open(sys.argv[1], "w") as f:
    for k, r in out:
        f.write("%s\t%s\n" % (k, json.dumps(r)))
PYEOF
kcat -b "$BROKER" -P -t uploaded_documents -K $'\t' -p 0 <"$WORK/bad.txt"
BAD=$WORK/bad-saved
mkdir -p "$BAD"
"$STREAMLAB" consume uploaded_documents -b "$BROKER" --from-beginning --idle 8 --save-dir "$BAD" \
    >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
expect_eq "consume --save-dir exits 1 when files were not saved" 1 "$rc"
grep -q "saved $BAD/escape.txt .*name \"../escape.txt\" cleaned" "$WORK/bad.out" \
    && [ -f "$BAD/escape.txt" ] && [ ! -e "$WORK/escape.txt" ] \
    && pass "../escape.txt is saved as DIR/escape.txt, nothing outside DIR" \
    || fail "../escape.txt is saved as DIR/escape.txt" "$(grep escape "$WORK/bad.out")"
grep -q "saved $BAD/abs.txt" "$WORK/bad.out" && [ -f "$BAD/abs.txt" ] && [ ! -e /etc/abs.txt ] \
    && pass "/etc/abs.txt is saved as DIR/abs.txt" || fail "/etc/abs.txt cleaned" "$(grep abs "$WORK/bad.out")"
grep -q "^corrupt: corrupt.txt: .*(not saved)" "$WORK/bad.out" && [ ! -e "$BAD/corrupt.txt" ] \
    && pass "a wrong MD5 is reported as corrupt and not saved" \
    || fail "a wrong MD5 is reported as corrupt" "$(grep corrupt "$WORK/bad.out")"
grep -q "^incomplete: gap.txt: expected chunk 1 of 3, got 2" "$WORK/bad.out" && [ ! -e "$BAD/gap.txt" ] \
    && pass "a missing chunk is reported as incomplete and not saved" \
    || fail "a missing chunk is reported" "$(grep gap "$WORK/bad.out")"
grep -q "^incomplete: lonely.txt: 1 of 2 chunks arrived" "$WORK/bad.out" && [ ! -e "$BAD/lonely.txt" ] \
    && pass "an upload still missing chunks at exit is reported and not saved" \
    || fail "an unfinished upload is reported" "$(grep lonely "$WORK/bad.out")"
expect_eq "no partial file is left in the save dir" "" "$(ls -A "$BAD" | grep '^\.' )"

# The engine: corrupt, gap and (after --chunk-timeout 3) lonely go to uploaded_files.dlq.
for _ in $(seq 1 60); do
    [ "$(kcat_count uploaded_files.dlq)" -ge 3 ] && break
    sleep 1
done
kcat_dump uploaded_files.dlq "$WORK/dlq.jsonl"
$PY - "$WORK/dlq.jsonl" >"$WORK/dlq.checks" 2>&1 <<'PYEOF' || echo "not ok - the dlq checker ran: it crashed" >>"$WORK/dlq.checks"
import json, sys
d = {}
for l in open(sys.argv[1]):
    v = json.loads(json.loads(l)["payload"])
    d[v.get("filename")] = v.get("error", "")
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
ok("engine: corrupt.txt -> uploaded_files.dlq as corrupt", d.get("corrupt.txt", "").startswith("corrupt: MD5"), repr(d))
ok("engine: gap.txt -> uploaded_files.dlq as missing chunks", "expected chunk 1, got chunk 2" in d.get("gap.txt", ""), repr(d))
ok("engine: lonely.txt -> uploaded_files.dlq after the chunk timeout", "1 of 2 chunks arrived, then nothing" in d.get("lonely.txt", ""), repr(d))
PYEOF
tap_from "$WORK/dlq.checks"

# --- the drop folder --------------------------------------------------------------------
DROP=$WORK/drop
mkdir -p "$DROP"
"$STREAMLAB" upload -b "$BROKER" --pace "$ENGINE_GROUP" --json --watch "$DROP" \
    >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
bg_track $WATCH_PID
printf 'dropped into the folder\n' >"$DROP/.dropped.tmp" && mv "$DROP/.dropped.tmp" "$DROP/dropped.txt"
printf 'nope' >"$DROP/bad.exe"
for _ in $(seq 1 60); do
    [ -e "$DROP/.sent/dropped.txt" ] && [ -e "$DROP/.failed/bad.exe" ] && break
    sleep 0.5
done
[ -e "$DROP/.sent/dropped.txt" ] && [ ! -e "$DROP/dropped.txt" ] && grep -q '"filename":"dropped.txt"' "$WORK/watch.out" \
    && pass "--watch: a dropped file is uploaded and moved to .sent/" \
    || fail "--watch: a dropped file is uploaded" "$(ls -la "$DROP" "$DROP/.sent" 2>&1 | tr '\n' ' ')"
[ -e "$DROP/.failed/bad.exe" ] && grep -q unsupported "$DROP/.failed/bad.exe.error" \
    && pass "--watch: an unsupported file goes to .failed/ with the reason" \
    || fail "--watch: an unsupported file goes to .failed/" "$(cat "$WORK/watch.err")"

# --- headless with a drop folder ---------------------------------------------------------
HD=$WORK/hdrop
mkdir -p "$HD"
text_file "$HD/headless.txt" 1500000
rc=0
timeout 300 "$STREAMLAB" --headless -b "$BROKER" --duration 4 --rate 20 --watch-dir "$HD" --json \
    >"$WORK/hl.out" 2>"$WORK/hl.err" || rc=$?
expect_eq "--headless --watch-dir exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$WORK/hl.err" | sed 's/^/# headless: /'
[ -e "$HD/.sent/headless.txt" ] && [ ! -e "$HD/headless.txt" ] \
    && pass "--headless --watch-dir: the dropped file went to .sent/" \
    || fail "--headless --watch-dir: the dropped file went to .sent/" "$(ls -A "$HD")"
expect_eq "--headless --watch-dir: its summary says one file uploaded, none failed" \
    "1 0" "$(tail -1 "$WORK/hl.out" | $PY -c 'import json,sys; u=json.load(sys.stdin).get("uploaded",{}); print(u.get("files"), u.get("failed"))' 2>&1)"

# --- the console: u uploads a file, pane 5 shows it processed -----------------------------
TMUX_SOCKET="streamlab-e2e-files-$$-$RANDOM"
tm() { env -u TMUX tmux -L "$TMUX_SOCKET" -f /dev/null "$@"; }
_prev=$(trap -p EXIT); _prev=${_prev#"trap -- '"}; _prev=${_prev%"' EXIT"}; _prev=${_prev//"'\\''"/"'"}
# shellcheck disable=SC2064
trap "tm kill-server 2>/dev/null${_prev:+; $_prev}" EXIT
mkdir -p "$WORK/console"
text_file "$WORK/console/console-upload.txt" $((2 * 1024 * 1024))
tm new-session -d -s files -x 200 -y 50 -c "$WORK/console" \
    "env LANG=C.UTF-8 LC_ALL=C.UTF-8 $STREAMLAB -b $BROKER; sleep 30"
screen_has() { tm capture-pane -p -t files 2>/dev/null | grep -qE -- "$1"; }
wait_screen() { for _ in $(seq 1 "$2"); do screen_has "$1" && return 0; sleep 0.5; done; return 1; }
wait_screen "5 Files" 60 && pass "console: pane 5 Files is on the screen" \
    || fail "console: pane 5 Files is on the screen" "$(tm capture-pane -p -t files | head -5)"
tm send-keys -t files u
wait_screen "upload which file\\?" 10 && pass "console: u asks for a path" || fail "console: u asks for a path"
tm send-keys -t files -l "console-up"
tm send-keys -t files Tab
wait_screen "upload which file.*console-upload\\.txt" 10 \
    && pass "console: Tab completes the file name" || fail "console: Tab completes the file name"
tm send-keys -t files Enter
if wait_screen "console-upload\\.tx.* document .* 2\\.0 MB medium +processed" 240; then
    pass "console: pane 5 shows the upload processed (type, size, size category)"
else
    fail "console: pane 5 shows the upload processed" "$(tm capture-pane -p -t files | sed -n '27,40p' | cut -c66-132)"
fi
wait_screen "document +[0-9]+ +[0-9.]+ MB .*█" 20 && pass "console: pane 5 shows the per-type totals as bars" \
    || fail "console: pane 5 shows per-type totals" "$(tm capture-pane -p -t files | sed -n '27,45p' | cut -c66-132)"
tm send-keys -t files q
tm kill-server 2>/dev/null

finish
