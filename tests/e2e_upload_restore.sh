#!/usr/bin/env bash
# e2e_upload_restore.sh KIND — an upload being reassembled survives kill -9 of the engine.
#
# Partition 0 of uploaded_documents gets a small file, chunks 0-4 of an 8-chunk file
# (240,000 bytes) and another small file.  Once the engine (2 workers, exactly-once) has
# committed those 7 input offsets — so the upload's state went into its changelog in that
# transaction or an earlier one — it is killed with SIGKILL.  Then chunks 5-7 and a
# third small file arrive, and the engine is started again (--until-end).  It restores the
# upload (head and counters from the changelog; the MD5 and SHA-256 running hashes, which
# OpenSSL cannot serialize, by reading chunks 0-4 again from the input) and finishes it:
# processed_files (read_committed) holds each of the four files once, the big one with the
# content_hash of its whole content, and uploaded_files.dlq stays empty.  Without the
# restore the engine would see chunk 5 first and send the upload to the dlq.
# run.sh: limit=240 min=8
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

G=$(group_name upload-restore)
ENGINE=("$STREAMLAB" engine -b "$BROKER" --pipelines files --group "$G" --file-min-size 0
    --chunk-timeout 120 --workers 2 --json -X session.timeout.ms=6000)
"${ENGINE[@]}" >"$WORK/e1.out" 2>"$WORK/e1.err" &
e1=$!
bg_track "$e1"
for _ in $(seq 1 120); do # the engine makes the topics
    timeout 5 kcat -b "$BROKER" -L -t uploaded_documents 2>/dev/null | grep -q 'partition 0,' && break
    sleep 0.5
done

# The records, as the uploader writes them (keyed by file name), and what to expect.
$PY - "$WORK" <<'PYEOF'
import base64, hashlib, json, sys
w = sys.argv[1]
def rec(fid, name, data, whole, **kw):
    r = {"file_id": fid, "filename": name, "file_type": "document", "file_size": len(whole),
         "file_hash": hashlib.md5(whole).hexdigest(), "upload_timestamp": "2024-01-15T10:30:00",
         "file_content": base64.b64encode(data).decode(),
         "metadata": {"text_content": "", "mime_type": "application/octet-stream"}}
    r.update(kw)
    if "chunk_index" in kw:  # a chunk, as the uploader shapes it
        r["chunk_content"] = r.pop("file_content")
    return "%s\t%s\n" % (name, json.dumps(r))
big = bytes((i * 7 + i // 251) % 256 for i in range(240000))
chunks = [rec("document_big", "big.bin", big[i * 30000:(i + 1) * 30000], big, chunk_index=i,
              chunk_count=8) for i in range(8)]
small = {n: rec("document_" + n, n + ".txt", (n * 3).encode(), (n * 3).encode())
         for n in ("s1", "s2", "s3")}
open(w + "/part1.txt", "w").write(small["s1"] + "".join(chunks[:5]) + small["s2"])
open(w + "/part2.txt", "w").write("".join(chunks[5:]) + small["s3"])
b64 = base64.b64encode(big)  # content_hash: sha256 of the whole base64 text, 16 hex digits
json.dump({"content_hash": hashlib.sha256(b64).hexdigest()[:16], "size": len(big)},
          open(w + "/expect.json", "w"))
PYEOF

# The group's committed offset on partition 0: set by the commit of the transaction
# that holds the outputs and the state (the embedded broker shows records of open
# transactions to read_committed readers, so the outputs alone do not say it).
committed_p0() {
    "$STREAMLAB" groups -b "$BROKER" --describe "$G" --json 2>/dev/null | $PY -c '
import json, sys
g = json.load(sys.stdin)
print(max([p.get("committed") or -1 for p in g.get("partitions", [])
           if p.get("topic") == "uploaded_documents" and p.get("partition") == 0] or [-1]))' \
        2>/dev/null || echo -1
}
kcat -b "$BROKER" -P -t uploaded_documents -K $'\t' -p 0 <"$WORK/part1.txt"
c=-1
for _ in $(seq 1 120); do
    c=$(committed_p0)
    [ "$c" -ge 7 ] && break
    sleep 0.5
done
expect_eq "the engine commits the first part (7 records: offset 7 committed)" 7 "$c"
n=$(kcat_count processed_files)
expect_eq "... with both small files' outputs" 2 "$n"
[ "$n" = 2 ] || grep -v '^$' "$WORK/e1.err" | tail -n 8 | sed 's/^/# engine (first run): /'
kill -9 "$e1"
wait "$e1" 2>/dev/null
kcat -b "$BROKER" -P -t uploaded_documents -K $'\t' -p 0 <"$WORK/part2.txt"

rc=0
timeout 180 "${ENGINE[@]}" --until-end >"$WORK/e2.out" 2>"$WORK/e2.err" || rc=$?
expect_eq "the restarted engine reads to the end (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/e2.err" | sed 's/^/# engine: /'
grep -E 'engine: (restored|read [0-9]+ input records again)' "$WORK/e2.err" | sed 's/^/# /'

kcat_dump processed_files "$WORK/processed.jsonl"
kcat_dump uploaded_files.dlq "$WORK/dlq.jsonl"
$PY - "$WORK" >"$WORK/checks" 2>&1 <<'PYEOF' || echo "not ok - the checker ran: it crashed" >>"$WORK/checks"
import collections, json, sys
w = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
want = json.load(open(w + "/expect.json"))
rows = [json.loads(json.loads(l)["payload"]) for l in open(w + "/processed.jsonl") if l.strip()]
ids = collections.Counter(r["file_id"] for r in rows)
ok("processed_files holds each of the four files exactly once",
   ids == {"document_s1": 1, "document_s2": 1, "document_s3": 1, "document_big": 1}, dict(ids))
big = [r for r in rows if r["file_id"] == "document_big"]
ok("the restored upload is finished with its whole size",
   big and big[0]["file_size"] == want["size"] and big[0].get("chunk_count") == 8,
   big and {k: big[0].get(k) for k in ("file_size", "chunk_count")})
ok("its content_hash is that of the whole content (hashes rebuilt from chunks 0-4 read again)",
   big and big[0]["analysis"]["content_hash"] == want["content_hash"],
   big and "%s, want %s" % (big[0]["analysis"].get("content_hash"), want["content_hash"]))
dlq = [json.loads(json.loads(l)["payload"]) for l in open(w + "/dlq.jsonl") if l.strip()]
ok("uploaded_files.dlq stays empty", not dlq, [d.get("error") for d in dlq])
summary = json.loads(open(w + "/e2.out").read().strip().splitlines()[-1])
ok("the summary counts the state restored and the chunks read again (>= 5)",
   summary.get("state_restored", 0) > 0 and summary.get("records_replayed", 0) >= 5,
   {k: summary.get(k) for k in ("state_restored", "records_replayed")})
PYEOF
tap_from "$WORK/checks"
finish
