#!/usr/bin/python3
"""Self-test of the peers in this folder: starts each one for real, talks to
it with the Python stdlib (smtplib, urllib), checks what it wrote, stops it.

    /usr/bin/python3 tests/peers/selftest.py [-v] [smtp] [webhook] [kannel]

Exit 0 when everything passed.  Uses a temp dir (removed at the end), binds
127.0.0.1 only, stops every process it started by PID.
"""

import http.server
import json
import os
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
sys.path.insert(0, HERE)
import fakesmsc_output  # noqa: E402

VERBOSE = "-v" in sys.argv
FAILURES = []


def check(cond, what):
    if VERBOSE or not cond:
        print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


class Proc:
    def __init__(self, argv, port_file, timeout=20):
        self.p = subprocess.Popen(argv)
        self.port_file = port_file

        def ready():
            if self.p.poll() is not None:
                raise RuntimeError("%s exited with %s" % (argv[1], self.p.returncode))
            try:
                with open(port_file) as f:
                    return f.read()
            except FileNotFoundError:
                return None
        self.port_text = wait_until(ready, timeout, "port file " + port_file)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def read_json(path):
    with open(path) as f:
        return json.load(f)


def test_smtp(tmp, certs):
    ctx = ssl.create_default_context(cafile=certs + "/ca.pem")
    msg = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\n\xe4\xbd\xa0\r\n.dot\r\n"
    for mode in ("starttls", "implicit", "plain"):
        d = os.path.join(tmp, "smtp-" + mode)
        os.makedirs(d)
        srv = Proc([PY, os.path.join(HERE, "smtp_server.py"), "--port-file", d + "/port",
                    "--mode", mode, "--cert", certs + "/server.pem", "--key", certs + "/server.key",
                    "--user", "u", "--password", "p w", "--out", d + "/out",
                    "--stats", d + "/stats.json"], d + "/port")
        port = int(srv.port_text)
        try:
            def connect():
                if mode == "implicit":
                    s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=10)
                else:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
                s.ehlo()
                return s
            s = connect()
            if mode == "starttls":
                check(not s.has_extn("auth"), "starttls: no AUTH before STARTTLS")
                check(s.docmd("MAIL FROM:<a@example.org>")[0] == 530, "starttls: MAIL before STARTTLS -> 530")
                s.starttls(context=ctx)
                s.ehlo()
            check(s.has_extn("auth"), mode + ": AUTH offered")
            check(s.docmd("MAIL FROM:<a@example.org>")[0] == 530, mode + ": MAIL before AUTH -> 530")
            try:
                s.user, s.password = "u", "wrong"
                s.auth("PLAIN", s.auth_plain)
                check(False, mode + ": wrong password rejected")
            except smtplib.SMTPAuthenticationError as e:
                check(e.smtp_code == 535, mode + ": wrong password -> 535")
            s.login("u", "p w")
            for _ in range(3):
                s.sendmail("a@example.org", ["b@example.org"], msg)
            s.quit()
            s = connect()
            if mode == "starttls":
                s.starttls(context=ctx)
                s.ehlo()
            s.user, s.password = "u", "p w"
            s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            s.sendmail("a@example.org", ["c@example.org"], msg)
            s.quit()
            st = read_json(d + "/stats.json")
            want = {"connections": 2, "messages": 4, "auth_successes": 2, "auth_failures": 1,
                    "starttls": 2 if mode == "starttls" else 0}
            check(all(st[k] == v for k, v in want.items()), "%s: stats %r" % (mode, st))
            with open(d + "/out/1.eml", "rb") as f:
                check(f.read() == msg, mode + ": 1.eml is the message as sent")
            env = read_json(d + "/out/4.json")
            check(env["rcpt_tos"] == ["c@example.org"] and env["tls"] == (mode != "plain"),
                  mode + ": envelope %r" % env)
        finally:
            check(srv.stop() == 0, mode + ": clean exit on SIGTERM")

    d = os.path.join(tmp, "smtp-fail")
    os.makedirs(d)
    srv = Proc([PY, os.path.join(HERE, "smtp_server.py"), "--port-file", d + "/port", "--mode", "plain",
                "--fail-first", "2", "--out", d + "/out", "--stats", d + "/stats.json"], d + "/port")
    try:
        s = smtplib.SMTP("127.0.0.1", int(srv.port_text), timeout=10)
        codes = []
        for _ in range(3):
            try:
                s.sendmail("a@example.org", ["b@example.org"], msg)
                codes.append(250)
            except smtplib.SMTPDataError as e:
                codes.append(e.smtp_code)
        s.quit()
        check(codes == [451, 451, 250], "--fail-first 2: %r" % codes)
        st = read_json(d + "/stats.json")
        check(st["messages"] == 1 and st["temp_failures"] == 2 and st["connections"] == 1,
              "--fail-first stats %r" % st)
    finally:
        check(srv.stop() == 0, "fail-first: clean exit")


def test_webhook(tmp, certs):
    d = os.path.join(tmp, "webhook")
    os.makedirs(d)
    srv = Proc([PY, os.path.join(HERE, "webhook_receiver.py"), "--port-file", d + "/port",
                "--cert", certs + "/server.pem", "--key", certs + "/server.key",
                "--script", "503,429,200", "--retry-after", "3", "--log", d + "/log.jsonl"],
               d + "/port")
    try:
        ctx = ssl.create_default_context(cafile=certs + "/ca.pem")
        port = int(srv.port_text)
        got = []
        for host in ("127.0.0.1", "localhost", "127.0.0.1", "127.0.0.1"):
            req = urllib.request.Request("https://%s:%d/hook?x=1" % (host, port),
                                         data='{"t":"你好"}'.encode(), method="POST",
                                         headers={"Content-Type": "application/json", "X-Sig": "s"})
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                    got.append((r.status, r.headers.get("Retry-After")))
            except urllib.error.HTTPError as e:
                got.append((e.code, e.headers.get("Retry-After")))
        check(got == [(503, "3"), (429, "3"), (200, None), (200, None)], "webhook answers %r" % got)
        with open(d + "/log.jsonl", encoding="utf-8") as f:
            recs = [json.loads(l) for l in f]
        check([r["status_sent"] for r in recs] == [503, 429, 200, 200], "webhook log statuses")
        check(recs[0]["body"] == '{"t":"你好"}' and recs[0]["headers"]["x-sig"] == "s"
              and recs[0]["path"] == "/hook?x=1", "webhook log record %r" % recs[0])
    finally:
        check(srv.stop() == 0, "webhook: clean exit")


def test_kannel(tmp):
    d = os.path.join(tmp, "kannel")
    os.makedirs(d)
    dlrs = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            dlrs.append(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    dsrv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=dsrv.serve_forever, daemon=True).start()
    dport = dsrv.server_address[1]
    log = os.path.join(d, "fakesmsc.log")
    k = Proc([PY, os.path.join(HERE, "kannel.py"), "--dir", d + "/work", "--user", "u",
              "--password", "p&w", "--fakesmsc-log", log, "--port-file", d + "/ports.json",
              "--reject-prefix", "999"], d + "/ports.json", timeout=60)
    info = {}
    try:
        info = json.loads(k.port_text)

        def send(to, text, **kw):
            q = {"username": "u", "password": "p&w", "from": "12345", "to": to, "text": text}
            q.update(kw)
            url = "http://127.0.0.1:%d/cgi-bin/sendsms?%s" % (info["sendsms_port"],
                                                              urllib.parse.urlencode(q))
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        cases = [
            ("+8613800138000", "您的验证码是 123456。", {"charset": "UTF-8", "coding": "2"}),
            ("456", "ASCII code 42 <ok> & 100%", {}),
            ("456", "长" * 100, {"charset": "UTF-8", "coding": "2"}),
            ("456", "y" * 170, {}),
            ("456", "two\nlines", {}),
        ]
        for to, text, kw in cases:
            r = send(to, text, **kw)
            check(r[0] == 202, "sendsms %r -> %r" % (text[:20], r))
        msgs = fakesmsc_output.wait_for_messages(log, len(cases), timeout=15)
        for (to, text, _), (_, got_to, got_text) in zip(cases, msgs):
            check(got_to == to and got_text == text, "fakesmsc got %r %r" % (got_to, got_text[:30]))
        dlr_url = "http://127.0.0.1:%d/dlr?id=%%s&status=%%%%d" % dport
        check(send("456", "dlr", **{"dlr-mask": "31", "dlr-url": dlr_url % "ok"})[0] == 202,
              "sendsms with dlr-mask")
        r = send("999123", "rejected", **{"dlr-mask": "31", "dlr-url": dlr_url % "rej"})
        check(r == (403, "Not routable. Do not try again."), "reject-prefix -> %r" % (r,))
        wait_until(lambda: len(dlrs) >= 3, 15, "3 DLRs")
        got = sorted((x["id"][0], x["status"][0]) for x in dlrs)
        check(got == [("ok", "1"), ("ok", "8"), ("rej", "16")], "DLRs %r" % got)
    finally:
        check(k.stop() == 0, "kannel.py: clean exit")
        dsrv.shutdown()
        for name, pid in info.get("pids", {}).items():
            try:
                os.kill(pid, 0)
                check(False, "kannel child %s (%d) gone" % (name, pid))
            except ProcessLookupError:
                pass


def main():
    which = [a for a in sys.argv[1:] if not a.startswith("-")] or ["smtp", "webhook", "kannel"]
    with tempfile.TemporaryDirectory(prefix="peers-selftest-") as tmp:
        certs = os.path.join(tmp, "certs")
        subprocess.run([os.path.join(HERE, "make_cert.sh"), certs], check=True)
        subprocess.run([os.path.join(HERE, "make_cert.sh"), certs], check=True)  # idempotent
        if "smtp" in which:
            test_smtp(tmp, certs)
        if "webhook" in which:
            test_webhook(tmp, certs)
        if "kannel" in which:
            test_kannel(tmp)
    print("selftest: %s" % ("FAILED: %d" % len(FAILURES) if FAILURES else "all passed"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
