#!/usr/bin/python3
"""HTTPS webhook receiver for tests (http.server + ssl, threaded).

Usage:
  /usr/bin/python3 webhook_receiver.py --port-file F [--port N] --cert C --key K
        [--script "503,503,200"] [--retry-after 1] [--log F] [--plain]

Binds 127.0.0.1 on a port chosen by the OS; writes the port (decimal,
newline-terminated) to --port-file once listening.  Each POST (any path) is
answered with the next status of --script (comma-separated; the last one
repeats forever; default "200").  429 and 503 answers carry
"Retry-After: <--retry-after>".  Every POST appends one JSON line to --log:
  {"n": 1, "status_sent": 503, "method": "POST", "path": "/hook?x=1",
   "headers": {"content-type": "...", ...},   # names lowercased
   "body": "<raw body decoded as UTF-8, undecodable bytes as U+FFFD>",
   "body_b64": "<raw body, base64>"}
The line is written (and flushed) before the response is sent, so a client
that got its answer can read its request in the log.  GET/PUT/... are
answered 405 and logged the same way (status_sent 405) without consuming the
script.  --plain serves plain HTTP (no TLS) instead.  SIGTERM/SIGINT: clean
exit 0.
"""

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def atomic_write(path, text):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, args):
        super().__init__(addr, handler)
        self.args = args
        self.script = [int(s) for s in args.script.split(",") if s.strip()] or [200]
        self.lock = threading.Lock()
        self.count = 0
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def handle_error(self, request, client_address):
        if self.args.verbose:
            super().handle_error(request, client_address)

    def next_status(self):
        with self.lock:
            i = min(self.count, len(self.script) - 1)
            self.count += 1
            return self.count, self.script[i]

    def log_request_line(self, rec):
        if self.log_file is None:
            return
        line = json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"
        with self.lock:
            self.log_file.write(line)
            self.log_file.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webhook-receiver/1"

    timeout = 30  # seconds of client inactivity before the connection is dropped

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *a):  # keep stderr quiet
        if self.server.args.verbose:
            sys.stderr.write("webhook_receiver: " + (fmt % a) + "\n")

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self, scripted):
        body = self._read_body()
        if scripted:
            n, status = self.server.next_status()
        else:
            n, status = None, 405
        rec = {
            "n": n,
            "status_sent": status,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "body_b64": base64.b64encode(body).decode("ascii"),
        }
        self.server.log_request_line(rec)
        payload = json.dumps({"status": status}).encode() + b"\n"
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", str(self.server.args.retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def do_POST(self):
        self._handle(True)

    def do_GET(self):
        self._handle(False)

    do_PUT = do_DELETE = do_PATCH = do_GET


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0,
                   help="fixed port to bind (default 0: the OS picks a free one)")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--plain", action="store_true", help="serve plain HTTP (no TLS)")
    p.add_argument("--script", default="200")
    p.add_argument("--retry-after", default="1")
    p.add_argument("--log")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if not args.plain and not (args.cert and args.key):
        p.error("--cert and --key are required (or --plain)")

    httpd = Receiver(("127.0.0.1", args.port), Handler, args)
    if not args.plain:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        # Handshake happens in the per-request thread (do_handshake_on_connect
        # would otherwise block the accept loop on a slow client); see
        # Handler.setup.
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)

    port = httpd.server_address[1]

    def on_term(signum, frame):
        # shutdown() blocks until serve_forever returns: run it elsewhere.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    # listen() already happened in the constructor: connections are accepted
    # (queued) from now on.
    atomic_write(args.port_file, "%d\n" % port)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        if httpd.log_file:
            httpd.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
