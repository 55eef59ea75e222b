#!/usr/bin/env python3
"""cdp_upload.py URL FILE PROFILE_DIR [REJECTED TOO_BIG] — drives Debian's chromium (headless) through the
DevTools protocol: opens the upload page at URL, checks that it shows Kafka as connected
and lists the upload topics, chooses FILE in the page's file input (as a user's pick
does), and waits for the page's per-file result line.  With REJECTED (a file whose
name or first bytes the server would refuse): the page says "Not sent: <why>" without a
request to /upload, its bar red; with TOO_BIG (a text file over the server's --max-size):
the page shows the server's reason after "Failed (HTTP 413)", its bar red.  Prints "ok - ..." / "not ok - ..."
lines (tests/lib/e2e.sh tap_from reads them) and, last, "RESULT <the result text>"."""
import json, os, re, subprocess, sys, time, urllib.request
import websocket  # python3-websocket

url, path, profile = sys.argv[1], sys.argv[2], sys.argv[3]
rejected = sys.argv[4] if len(sys.argv) > 4 else None
too_big = sys.argv[5] if len(sys.argv) > 5 else None

def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)), flush=True)
    return cond

proc = subprocess.Popen(
    ["/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
     "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-port=0",
     "--remote-allow-origins=*", "--user-data-dir=" + profile, "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    port = None
    deadline = time.time() + 60
    while time.time() < deadline and port is None:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if m:
            port = int(m.group(1))
    if not ok("chromium starts with a DevTools endpoint", port is not None, "no DevTools line"):
        sys.exit(0)
    targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port))
    page = [t for t in targets if t.get("type") == "page"][0]
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
    seq = [0]

    def call(method, **params):
        seq[0] += 1
        ws.send(json.dumps({"id": seq[0], "method": method, "params": params}))
        while True:
            msg = json.loads(ws.recv())
            if msg.get("id") == seq[0]:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def js(expr):
        r = call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")

    def wait_for(expr, timeout):
        end = time.time() + timeout
        while time.time() < end:
            v = js(expr)
            if v:
                return v
            time.sleep(0.2)
        return js(expr)

    call("Page.enable")
    call("Runtime.enable")
    call("Page.navigate", url=url)
    ok("the page loads with its drop zone",
       wait_for("document.readyState === 'complete' && !!document.getElementById('drop')", 30),
       "no #drop element")
    status = wait_for("(t => t.startsWith('connected') ? t : '')"
                      "(document.getElementById('status').textContent)", 15)
    ok("the page shows Kafka as connected", bool(status),
       js("document.getElementById('status').textContent"))
    topics = wait_for("document.getElementById('topics').textContent.includes('uploaded_images')"
                      " ? document.getElementById('topics').textContent : ''", 15)
    ok("the page lists the topics (uploaded_images among them)", bool(topics), repr(topics))
    doc = call("DOM.getDocument")
    node = call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#picker")
    call("DOM.setFileInputFiles", files=[os.path.abspath(path)], nodeId=node["nodeId"])
    done = ("(r => r && !r.textContent.startsWith('uploading') && !r.textContent.startsWith('checking')"
            " ? r.textContent : '')(document.querySelector('.result'))")
    result = wait_for(done, 120)
    ok("the page shows the upload's success message", bool(result) and result.startswith("Uploaded"),
       repr(result))
    width = js("document.querySelector('.bar > div').style.width")
    ok("the progress bar is full", width == "100%", repr(width))
    print("RESULT %s" % result, flush=True)
    red = "rgb(170, 17, 17)"
    bar_colour = "getComputedStyle(document.querySelector('.bar > div')).backgroundColor"
    uploads = "performance.getEntriesByType('resource').filter(e => e.name.endsWith('/upload')).length"
    if rejected:
        sent_before = js(uploads)
        call("DOM.setFileInputFiles", files=[os.path.abspath(rejected)], nodeId=node["nodeId"])
        text = wait_for("(r => r.startsWith('Not sent') || r.startsWith('Failed') ? r : '')"
                        "(document.querySelector('.result').textContent)", 30)
        ok("a file the server would refuse: the page says why and does not send it",
           bool(text) and text.startswith("Not sent: ") and "first bytes" in text, repr(text))
        time.sleep(1)
        ok("... no request to /upload was made for it", js(uploads) == sent_before,
           "%r requests before, %r after" % (sent_before, js(uploads)))
        ok("... its bar is red, not the blue of a success", js(bar_colour) == red, repr(js(bar_colour)))
    if too_big:
        call("DOM.setFileInputFiles", files=[os.path.abspath(too_big)], nodeId=node["nodeId"])
        text = wait_for("(r => r.startsWith('Failed') ? r : '')"
                        "(document.querySelector('.result').textContent)", 60)
        ok("a file the server refuses (over --max-size): the server's reason on the page",
           bool(text) and text.startswith("Failed (HTTP 413): ") and "larger than the limit" in text,
           repr(text))
        ok("... its bar is red", js(bar_colour) == red, repr(js(bar_colour)))
    ws.close()
finally:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
