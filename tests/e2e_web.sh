#!/usr/bin/env bash
# e2e_web.sh KIND — `streamlab web`: the upload page in a real browser, and its HTTP errors.
#
# Debian's chromium (headless), driven through the DevTools protocol by
# tests/lib/cdp_upload.py, opens the page, sees Kafka connected and the topic list, picks
# a PNG made here with ffmpeg and waits for the page's success message; the test then
# finds the record in processed_files (an engine with --file-min-size 0 runs) with the
# PNG's MD5 and size.  Then (issue 19) a 3 MB file named .png that is not one
# (random bytes): the page says "Not sent" with the reason, makes no request, paints its
# bar red; a 1.5 MB text file over --max-size 1: the page shows "Failed (HTTP 413)" and
# the server's reason, its bar red.  With curl: an unsupported type gives 415, a body over --max-size
# 413, a truncated multipart body 400, no file field 400, a path-traversal filename is
# cleaned; the spool directory is empty afterwards (no partial file).  The answers keep the
# original's shapes: /upload success, message, metadata; /status status, bootstrap_servers;
# /topics a list of names.
# run.sh: limit=300 min=21
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

GROUP=$(group_name web-engine)
SPOOL=$WORK/spool
mkdir -p "$SPOOL"
"$STREAMLAB" engine -b "$BROKER" --pipelines files --group "$GROUP" --file-min-size 0 \
    --checkpoint-interval 0.2 >"$WORK/engine.out" 2>"$WORK/engine.err" &
bg_track $!
TMPDIR=$SPOOL "$STREAMLAB" web -b "$BROKER" --listen 127.0.0.1:0 --max-size 1 --pace "$GROUP" \
    >"$WORK/web.out" 2>"$WORK/web.err" &
bg_track $!
WEB=
for _ in $(seq 1 100); do
    WEB=$(head -n1 "$WORK/web.out" 2>/dev/null)
    [[ $WEB =~ ^127\.0\.0\.1:[0-9]+$ ]] && break
    WEB=
    sleep 0.1
done
if [ -z "$WEB" ]; then
    fail "streamlab web prints its address" "$(cat "$WORK/web.err")"
    finish
    exit 1
fi
pass "streamlab web listens on loopback ($WEB)"

ffmpeg -v error -f lavfi -i testsrc=s=400x300 -frames:v 1 "$WORK/browser.png" </dev/null
head -c 3000000 /dev/urandom >"$WORK/random.png"
head -c 1500000 /dev/urandom | base64 | head -c 1500000 >"$WORK/large.txt"
timeout 240 $PY tests/lib/cdp_upload.py "http://$WEB/" "$WORK/browser.png" "$WORK/chromium" \
    "$WORK/random.png" "$WORK/large.txt" \
    >"$WORK/cdp.out" 2>"$WORK/cdp.err" || echo "not ok - the browser driver ran: exit $?" >>"$WORK/cdp.out"
tap_from <(grep -v '^RESULT ' "$WORK/cdp.out")
md5=$(md5sum <"$WORK/browser.png" | cut -d' ' -f1)
grep -q "^RESULT Uploaded browser.png as image to uploaded_images .*md5 $md5" "$WORK/cdp.out" \
    && pass "the success message names the topic, partition, offset and MD5" \
    || fail "the success message names the topic" "$(grep RESULT "$WORK/cdp.out")"
found=
for _ in $(seq 1 60); do
    kcat_dump processed_files "$WORK/processed.jsonl"
    found=$($PY - "$WORK/processed.jsonl" "$md5" "$(stat -c %s "$WORK/browser.png")" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    v = json.loads(json.loads(l)["payload"])
    if v.get("filename") == "browser.png" and v.get("file_hash") == sys.argv[2] \
            and v.get("file_size") == int(sys.argv[3]):
        m = v.get("metadata", {})
        print("%sx%s" % (m.get("width"), m.get("height")))
PYEOF
)
    [ -n "$found" ] && break
    sleep 1
done
expect_eq "processed_files holds browser.png (MD5, size, 400x300)" "400x300" "$found"

# --- HTTP errors ---------------------------------------------------------------------------
post() { curl -s -o "$WORK/resp.json" -w '%{http_code}' "$@"; }
cp /bin/true "$WORK/fake.png"
code=$(post -F "file=@$WORK/fake.png" "http://$WEB/upload")
[ "$code" = 415 ] && grep -q 'unsupported file type' "$WORK/resp.json" \
    && pass "an executable named .png: HTTP 415 with the reason" \
    || fail "unsupported type: 415" "$code $(cat "$WORK/resp.json")"
printf 'MZ' >"$WORK/tool.exe"
code=$(post -F "file=@$WORK/tool.exe" "http://$WEB/upload")
expect_eq "an .exe: HTTP 415" 415 "$code"
head -c 2000000 /dev/urandom | base64 >"$WORK/big.txt"
code=$(post -F "file=@$WORK/big.txt" "http://$WEB/upload")
[ "$code" = 413 ] && grep -q 'larger than the limit' "$WORK/resp.json" \
    && pass "an upload over --max-size 1: HTTP 413" || fail "too large: 413" "$code $(cat "$WORK/resp.json")"
printf -- '--XX\r\nContent-Disposition: form-data; name="file"; filename="t.txt"\r\nContent-Type: text/plain\r\n\r\nhello wor' >"$WORK/trunc.body"
code=$(post -H "Content-Type: multipart/form-data; boundary=XX" --data-binary @"$WORK/trunc.body" "http://$WEB/upload")
[ "$code" = 400 ] && grep -q 'truncated' "$WORK/resp.json" \
    && pass "a truncated multipart body: HTTP 400" || fail "truncated: 400" "$code $(cat "$WORK/resp.json")"
code=$(post -F "other=x" "http://$WEB/upload")
expect_eq "a form without a file: HTTP 400" 400 "$code"
printf 'a traversal attempt\n' >"$WORK/evil.txt"
code=$(post -F "file=@$WORK/evil.txt;filename=../../../tmp/evil-streamlab.txt" "http://$WEB/upload")
[ "$code" = 200 ] && grep -q '"filename":"evil-streamlab.txt"' "$WORK/resp.json" \
    && pass "a path-traversal filename is cleaned to its last component" \
    || fail "traversal name cleaned" "$code $(cat "$WORK/resp.json")"
# The original's answer shapes, beside streamlab's own fields: /upload success, message,
# metadata; /status status and bootstrap_servers; /topics a list of topic names.
$PY - "$WORK/resp.json" >"$WORK/shapes.txt" 2>&1 <<'PYEOF' || echo "not ok - the shape checker ran" >>"$WORK/shapes.txt"
import json, sys
r = json.load(open(sys.argv[1]))
m = r.get("metadata") or {}
good = (r.get("success") is True and isinstance(r.get("message"), str) and "evil-streamlab.txt" in r["message"]
        and m.get("filename") == "evil-streamlab.txt" and m.get("file_type") == "document"
        and m.get("file_size") == len(b"a traversal attempt\n") and r.get("ok") is True)
print(("ok - " if good else "not ok - ") + "/upload answers success, message and metadata (the original's), and ok: " + ("" if good else repr(r)[:300]))
PYEOF
tap_from "$WORK/shapes.txt"
curl -s "http://$WEB/status" >"$WORK/status.json"
curl -s "http://$WEB/topics" >"$WORK/topics.json"
$PY - "$WORK/status.json" "$WORK/topics.json" "$BROKER" <<'PYEOF' >"$WORK/shapes2.txt" 2>&1 || echo "not ok - the shape checker ran" >>"$WORK/shapes2.txt"
import json, sys
s = json.load(open(sys.argv[1]))
good = s.get("status") == "connected" and s.get("bootstrap_servers") == sys.argv[3] and s.get("kafka_connected") is True
print(("ok - " if good else "not ok - ") + "/status answers status and bootstrap_servers: " + repr(s)[:200])
t = json.load(open(sys.argv[2]))
good = isinstance(t, list) and all(isinstance(x, str) for x in t) and "uploaded_documents" in t
print(("ok - " if good else "not ok - ") + "/topics answers a list of topic names: " + repr(t)[:200])
PYEOF
tap_from "$WORK/shapes2.txt"
code=$(post -F "file=@$WORK/tool.exe" "http://$WEB/upload")
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r.get("success") is False and r.get("message") and r.get("error") else 1)' "$WORK/resp.json" \
    && pass "a refused upload answers success false with a message (and streamlab's error)" \
    || fail "a refused upload answers success false" "$code $(cat "$WORK/resp.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$WEB/nope")
expect_eq "an unknown page: HTTP 404" 404 "$code"
sleep 0.5
expect_eq "the spool directory is empty (no partial file left)" "" "$(ls -A "$SPOOL")"

finish
