#!/usr/bin/env bash
# e2e_video.sh KIND — the video pipeline checked on the wire with kcat.
#
# `streamlab produce video` sends N=24 synthetic 640x480 frames and M=10 320x240 ones to
# `video_frames`, and F=6 frames of a 640x480 video file made here with the ffmpeg tool
# (source video_file); kcat adds D=5 corrupt frames made here from a real one (not JSON, bad
# base64, a PNG instead of a JPEG, a declared size that differs from the JPEG's, a bad
# timestamp); `streamlab engine --pipelines video --count N+M+D` processes them. kcat reads
# every output topic back and Python checks: processed_video_frames holds exactly the N
# big synthetic frames (by frame_id) and the F file frames, each with every seed field unchanged and every analysis
# field with the right value or range; video_source_aggregations ends at N frames and
# their byte total for sample_generator and at F for video_file; video_resolution_windows counts N SD frames; video_frames.dlq holds
# the D corrupt ones, each with its reason. `engine --replay` of the same records with
# --min-width 320 --min-height 240 processes the small frames too (as Low). Then `streamlab consume --save-dir` writes N
# JPEGs of 640x480 and `consume --ascii` prints a frame as text.  `produce video --interval
# 0.2 --topic video_frames_sampled` of a 25 fps file sends its frames 0 5 10 15 20 only.
# run.sh: limit=300 min=38
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

N=24 M=10 D=5 F=6
GROUP=$(group_name video)

# --- input ------------------------------------------------------------------------
if "$STREAMLAB" produce video -b "$BROKER" --count "$N" --fps 0 >"$WORK/p1.out" 2>"$WORK/p1.err"; then
    pass "produce video sends $N synthetic 640x480 frames"
else
    fail "produce video sends $N synthetic 640x480 frames" "$(tail -3 "$WORK/p1.err")"
fi
grep -q "produced $N sample_generator frames to video_frames" "$WORK/p1.out" \
    && pass "produce video prints its summary" || fail "produce video prints its summary" "$(cat "$WORK/p1.out")"
if "$STREAMLAB" produce video -b "$BROKER" --count "$M" --fps 0 --width 320 --height 240 \
        >"$WORK/p2.out" 2>"$WORK/p2.err"; then
    pass "produce video sends $M synthetic 320x240 frames"
else
    fail "produce video sends $M synthetic 320x240 frames" "$(tail -3 "$WORK/p2.err")"
fi
if ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=640x480:rate=25 -frames:v "$F" \
        -c:v mpeg4 -pix_fmt yuv420p -y "$WORK/clip.avi" 2>"$WORK/ffmpeg.err" &&
    "$STREAMLAB" produce video -b "$BROKER" --source "$WORK/clip.avi" --fps 0 \
        >"$WORK/p3.out" 2>"$WORK/p3.err"; then
    pass "produce video --source FILE sends the $F frames ffmpeg made"
else
    fail "produce video --source FILE sends the $F frames ffmpeg made" "$(tail -3 "$WORK/ffmpeg.err" "$WORK/p3.err")"
fi
grep -q "produced $F video_file frames" "$WORK/p3.out" \
    && pass "the file source reports $F video_file frames" \
    || fail "the file source reports $F video_file frames" "$(cat "$WORK/p3.out")"

# The original's --interval: a file is sampled one frame per interval of its own time
# (25 frames at 25 fps, --interval 0.2: frames 0 5 10 15 20); --topic works for video too.
if ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=640x480:rate=25 -frames:v 25 \
        -c:v mpeg4 -pix_fmt yuv420p -y "$WORK/clip25.avi" 2>"$WORK/ffmpeg25.err" &&
    "$STREAMLAB" produce video -b "$BROKER" --source "$WORK/clip25.avi" --interval 0.2 \
        --topic video_frames_sampled >"$WORK/p4.out" 2>"$WORK/p4.err"; then
    pass "produce video --interval 0.2 --topic video_frames_sampled runs"
else
    fail "produce video --interval 0.2 --topic video_frames_sampled runs" "$(tail -3 "$WORK/p4.err")"
fi
kcat_dump video_frames_sampled "$WORK/sampled.jsonl"
expect_eq "a 25 fps file at --interval 0.2 is sampled at frames 0 5 10 15 20 (the original's rule)" \
    "0 5 10 15 20" "$($PY -c '
import json, sys
print(" ".join(str(json.loads(json.loads(l)["payload"])["metadata"]["source_frame"])
               for l in open(sys.argv[1]) if l.strip()))' "$WORK/sampled.jsonl")"

kcat_dump video_frames "$WORK/video_frames.jsonl"
$PY - "$WORK" <<'EOF'
import base64, json, sys
work = sys.argv[1]
frames = [json.loads(json.loads(l)["payload"]) for l in open(work + "/video_frames.jsonl") if l.strip()]
good = next(f for f in frames if f["frame_width"] == 640 and f["source"] == "sample_generator")
def variant(**kw):
    f = dict(good); f.update(kw); return json.dumps(f, separators=(",", ":"))
png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
lines = ['{"frame_id": "broken',
         variant(frame_id="bad_b64", frame_data="!!!" + good["frame_data"][3:]),
         variant(frame_id="png", frame_data=png),
         variant(frame_id="wrong_size", frame_width=800, frame_height=600),
         variant(frame_id="bad_time", timestamp="not a time")]
with open(work + "/corrupt.tsv", "w") as out:
    for l in lines:
        out.write("sample_generator\t" + l + "\n")
EOF
if timeout 60 kcat -b "$BROKER" -P -t video_frames -K $'\t' -X acks=all <"$WORK/corrupt.tsv" \
        2>"$WORK/kcat.err"; then
    pass "kcat produces $D corrupt frames"
else
    fail "kcat produces $D corrupt frames" "$(tail -3 "$WORK/kcat.err")"
fi
TOTAL=$((N + M + D + F))
expect_eq "video_frames holds $TOTAL records" "$TOTAL" "$(kcat_count video_frames)"
kcat_dump video_frames "$WORK/video_frames.jsonl"

# --- the engine -----------------------------------------------------------------------
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --pipelines video --count "$TOTAL" --group "$GROUP" \
    --json >"$WORK/engine.out" 2>"$WORK/engine.err" || rc=$?
expect_eq "engine --pipelines video --count $TOTAL exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -20
tail -n1 "$WORK/engine.out" >"$WORK/summary.json"
for t in processed_video_frames video_source_aggregations video_resolution_windows \
         video_frames.dlq; do
    kcat_dump "$t" "$WORK/$t.jsonl" || echo "# kcat could not read $t"
done

# --- the checks ----------------------------------------------------------------------
$PY - "$WORK" "$N" "$M" "$D" "$F" >"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/checks.txt"
import base64, datetime, json, sys
work, n, m, d, nf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
    return cond

def load(topic):
    try:
        return [json.loads(l) for l in open("%s/%s.jsonl" % (work, topic)) if l.strip()]
    except OSError:
        return []

def values(envs):
    out = []
    for e in envs:
        try:
            out.append(json.loads(e["payload"]))
        except (TypeError, ValueError):
            out.append(None)
    return out

inputs = []
for e in load("video_frames"):
    try:
        inputs.append(json.loads(e["payload"]))
    except ValueError:
        pass
big = {f["frame_id"]: f for f in inputs if f.get("frame_width") == 640 and "frame_data" in f
       and f.get("source") == "sample_generator"
       and f.get("frame_id") not in ("bad_b64", "png", "wrong_size", "bad_time")}
files = {f["frame_id"]: f for f in inputs if f.get("source") == "video_file"}
ok("the file source sent %d frames of 640x480" % nf, len(files) == nf and
   all(f["frame_width"] == 640 and f["frame_height"] == 480 for f in files.values()),
   str([(f["frame_width"], f["frame_height"]) for f in files.values()]))
small = [f for f in inputs if f.get("frame_width") == 320]
ok("the inputs are %d big and %d small frames" % (n, m), len(big) == n and len(small) == m,
   "%d big, %d small" % (len(big), len(small)))

summary = json.load(open(work + "/summary.json")) if open(work + "/summary.json").read().strip() else {}
ok("summary: input video_frames == %d" % (n + m + d + nf),
   summary.get("input", {}).get("video_frames") == n + m + d + nf, str(summary.get("input")))
ok("summary: %d dead letters" % d, summary.get("dlq") == d, str(summary.get("dlq")))

penvs = load("processed_video_frames")
allp = values(penvs)
fileout = [p for p in allp if p and p.get("source") == "video_file"]
ok("processed_video_frames holds the %d file frames, video_file with expected_fps 25" % nf,
   sorted(p["frame_id"] for p in fileout) == sorted(files)
   and all(p.get("expected_fps") == 25 and p["analysis"]["resolution_category"] == "SD" for p in fileout),
   str([(p.get("frame_id"), p.get("expected_fps")) for p in fileout][:3]))
penvs = [e for e, p in zip(penvs, allp) if not (p and p.get("source") == "video_file")]
processed = [p for p in allp if not (p and p.get("source") == "video_file")]
ids = [p.get("frame_id") for p in processed if p]
ok("processed_video_frames holds exactly the %d synthetic frames of 640x480" % n,
   sorted(ids) == sorted(big) and len(ids) == n,
   "%d records; missing %s; unexpected %s" % (len(ids), sorted(set(big) - set(ids))[:3],
                                               sorted(set(ids) - set(big))[:3]))
ok("processed frames are keyed by source",
   all(e.get("key") == "sample_generator" for e in penvs)
   and all(e.get("key") == "video_file" for e, p in zip(load("processed_video_frames"), allp)
           if p and p.get("source") == "video_file"), str({e.get("key") for e in penvs}))
errs = []
for p in processed:
    src = big.get(p.get("frame_id"))
    if src is None:
        continue
    for k, v in src.items():
        if p.get(k) != v:
            errs.append("%s: %s changed" % (p["frame_id"], k))
    a = p.get("analysis", {})
    # The original's rules, computed here: aspect ratio to 2 decimals (Python round()),
    # orientation > 1.5 landscape, < 0.8 portrait, else square; resolution by pixel count.
    ratio = 640 / 480
    px = 640 * 480
    want = {"aspect_ratio": round(ratio, 2), "total_pixels": px,
            "orientation": "landscape" if ratio > 1.5 else "portrait" if ratio < 0.8 else "square",
            "resolution_category": "HD" if px >= 1920 * 1080 else "HD_Ready" if px >= 1280 * 720
                                   else "SD" if px >= 640 * 480 else "Low"}
    for k, v in want.items():
        if a.get(k) != v:
            errs.append("%s: analysis.%s is %r, want %r" % (p["frame_id"], k, a.get(k), v))
    jpeg = base64.b64decode(src["frame_data"])
    if a.get("compression_ratio") != round(len(jpeg) / (640 * 480 * 3), 3):
        errs.append("%s: compression_ratio %r, want %r" % (p["frame_id"], a.get("compression_ratio"),
                                                          round(len(jpeg) / (640 * 480 * 3), 3)))
    # The original's producer: frame_size_bytes = len(the base64 text); jpeg_bytes is extra.
    if src.get("frame_size_bytes") != len(src["frame_data"]) or src.get("jpeg_bytes") != len(jpeg):
        errs.append("%s: frame_size_bytes %r / jpeg_bytes %r, want %d / %d" % (
            p["frame_id"], src.get("frame_size_bytes"), src.get("jpeg_bytes"),
            len(src["frame_data"]), len(jpeg)))
    for k in ("brightness", "contrast"):
        if not (isinstance(a.get(k), float) and 0 < a[k] < 1):
            errs.append("%s: analysis.%s is %r" % (p["frame_id"], k, a.get(k)))
    for k in ("processing_timestamp",):
        try:
            datetime.datetime.fromisoformat(a.get(k))
        except (TypeError, ValueError):
            errs.append("%s: analysis.%s is %r" % (p["frame_id"], k, a.get(k)))
    if p.get("expected_fps") != 1:
        errs.append("%s: expected_fps %r" % (p["frame_id"], p.get("expected_fps")))
    if not isinstance(p.get("processing_notes"), str) or "SD" not in p["processing_notes"]:
        errs.append("%s: processing_notes %r" % (p["frame_id"], p.get("processing_notes")))
    try:
        datetime.datetime.fromisoformat(p.get("flink_processing_time"))
    except (TypeError, ValueError):
        errs.append("%s: flink_processing_time %r" % (p["frame_id"], p.get("flink_processing_time")))
ok("every processed frame keeps its seed fields and has every analysis field right",
   not errs and processed, "; ".join(errs[:5]))

allaggs = values(load("video_source_aggregations"))
aggs = [a for a in allaggs if a and a.get("source") == "sample_generator"]
faggs = [a for a in allaggs if a and a.get("source") == "video_file"]
last = aggs[-1] if aggs else {}
ok("video_source_aggregations ends at total_frames %d for video_file" % nf,
   len(faggs) == nf and faggs[-1].get("total_frames") == nf, str(faggs[-1:]))
total_bytes = sum(f["frame_size_bytes"] for f in big.values())
ok("video_source_aggregations: one update per processed frame (%d)" % n, len(aggs) == n, str(len(aggs)))
ok("video_source_aggregations ends at total_frames %d for sample_generator" % n,
   last.get("source") == "sample_generator" and last.get("total_frames") == n, str(last))
ok("video_source_aggregations: total_size_bytes %d, avg 640x480" % total_bytes,
   last.get("total_size_bytes") == total_bytes and last.get("avg_width") == 640
   and last.get("avg_height") == 480 and "last_updated" in last, str(last))

wins = values(load("video_resolution_windows"))
sd = sum(w.get("frame_count", 0) for w in wins if w.get("resolution_category") == "SD")
ok("video_resolution_windows count %d SD frames" % (n + nf), sd == n + nf and
   all(set(w) >= {"resolution_category", "frame_count", "window_start", "window_end"} for w in wins),
   json.dumps(wins)[:300])

dlq = values(load("video_frames.dlq"))
reasons = [x.get("error", "") for x in dlq if x]
want = ["not JSON", "not valid base64", "not a JPEG", "the JPEG is 640x480 but the record says 800x600",
        "\"timestamp\""]
ok("video_frames.dlq holds the %d corrupt frames" % d, len(dlq) == d, "%d: %s" % (len(dlq), reasons))
for w in want:
    ok("a dead letter says: %s" % w, any(w in r for r in reasons), str(reasons))
EOF
tap_from "$WORK/checks.txt"

# --- replay without Kafka, with the filter lowered to 320x240 ----------------------------
timeout 60 kcat -b "$BROKER" -C -t video_frames -o beginning -e -q -f '%s\n' >"$WORK/replay.jsonl"
rc=0
"$STREAMLAB" engine --pipelines video --replay "$WORK/replay.jsonl" --out "$WORK/replay-out" \
    --min-width 320 --min-height 240 >"$WORK/replay.out" 2>"$WORK/replay.err" || rc=$?
expect_eq "engine --replay --min-width 320 --min-height 240 exits 0" 0 "$rc"
expect_eq "the replay with the lower filter processes all $((N + M + F)) good frames" "$((N + M + F))" \
    "$(wc -l <"$WORK/replay-out/processed_video_frames.jsonl" 2>/dev/null | tr -d ' ')"
expect_eq "the replay sends the $D corrupt frames to video_frames.dlq" "$D" \
    "$(wc -l <"$WORK/replay-out/video_frames.dlq.jsonl" 2>/dev/null | tr -d ' ')"
expect_eq "the replay calls the $M small frames Low" "$M" \
    "$(grep -c '"resolution_category":"Low"' "$WORK/replay-out/processed_video_frames.jsonl" 2>/dev/null)"

# --- the consumer -----------------------------------------------------------------------
rc=0
timeout 60 "$STREAMLAB" consume processed_video_frames -b "$BROKER" --from-beginning --count "$((N + F))" \
    --save-dir "$WORK/saved" >"$WORK/save.out" 2>"$WORK/save.err" || rc=$?
expect_eq "consume --save-dir exits 0" 0 "$rc"
expect_eq "consume --save-dir writes $((N + F)) files" "$((N + F))" "$(ls "$WORK/saved" 2>/dev/null | grep -c '\.jpg$')"
$PY - "$WORK/saved" "$((N + F))" >"$WORK/saved.txt" <<'EOF'
import os, struct, sys
d, n = sys.argv[1], int(sys.argv[2])
sizes = []
for name in sorted(os.listdir(d)):
    b = open(os.path.join(d, name), "rb").read()
    i, size = 2, None
    while b[:2] == b"\xff\xd8" and i + 9 < len(b):   # walk the markers to the frame header
        marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            size = struct.unpack(">HH", b[i + 5:i + 9])[::-1]
            break
        i += 2 + length
    sizes.append(size)
good = sum(1 for s in sizes if s == (640, 480))
print(("ok - " if good == n else "not ok - ") + "the saved files are %d JPEGs of 640x480" % n
      + ("" if good == n else ": %s" % sizes[:5]))
EOF
tap_from "$WORK/saved.txt"
rc=0
timeout 60 "$STREAMLAB" consume processed_video_frames -b "$BROKER" --from-beginning --count 1 \
    --ascii --cols 60 >"$WORK/ascii.out" 2>"$WORK/ascii.err" || rc=$?
expect_eq "consume --ascii exits 0" 0 "$rc"
lines=$(awk 'NR > 1 && length($0) == 60' "$WORK/ascii.out" | wc -l)
if [ "$lines" -ge 20 ] && head -1 "$WORK/ascii.out" | grep -qE "(sample_generator|video_file)  640x480"; then
    pass "consume --ascii prints the frame as $lines lines of 60 characters"
else
    fail "consume --ascii prints the frame as text" "$(head -3 "$WORK/ascii.out")"
fi
finish
