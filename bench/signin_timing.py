#!/usr/bin/env python3
"""Sign-in timing as an attacker sees it: does a wrong password take as long for an account with an
Argon2id hash, for one with a PBKDF2 hash left from before Argon2id, and for a name with no account?

Starts the Release host (build/bin/identity-host) on the development configuration in a temporary
folder, on loopback, creates the two accounts (the PBKDF2 hash written as an older host wrote it), and
sends the three kinds of sign-in interleaved, printing each kind's median, 10th and 90th percentile.

    python3 bench/signin_timing.py [--samples=40] [--build=build]
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Correct-Horse-9"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="signin-timing-") as folder:
        port = free_port()
        command = [os.path.join(options.build, "bin", "identity-host"), "--config=" + os.path.join(ROOT, "config", "dev.json"),
                   "--define=server.port=%d" % port,
                   "--define=plugins.reauthenticate.manifest=" + os.path.join(options.build, "plugins", "reauthenticate", "plugin.json"),
                   # Every sample is a wrong password: no lock may answer before the hash.
                   "--define=passwords.failures_before_lock=100"]
        for name in ("argon", "legacy"):
            subprocess.run(command + ["user", "create", "--username=" + name, "--email=%s@example.com" % name,
                                      "--password=" + PASSWORD], cwd=folder, check=True, stdout=subprocess.DEVNULL)
        salt = os.urandom(16)
        b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        legacy = "pbkdf2-sha256$600000$%s$%s" % (b64(salt), b64(hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 600000)))
        with sqlite3.connect(os.path.join(folder, "var", "identity.db")) as db:
            db.execute("UPDATE users SET password_hash = ? WHERE username = 'legacy'", (legacy,))
        with open(os.path.join(folder, "host.log"), "wb") as log:
            host = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/readyz")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or host.poll() is not None:
                    sys.exit("the host did not become ready")
                time.sleep(0.1)
            samples = {"no account": [], "Argon2id account": [], "PBKDF2 account": []}
            for i in range(options.samples):
                for kind, body in (("no account", {"username": "nobody%d" % i}),
                                   ("Argon2id account", {"username": "argon"}),
                                   ("PBKDF2 account", {"username": "legacy"})):
                    body["password"] = "Wrong-Horse-9"
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    start = time.perf_counter()
                    connection.request("POST", "/auth/v1/signin", json.dumps(body), {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    response.read()
                    samples[kind].append((time.perf_counter() - start) * 1000)
                    if response.status != 401:
                        sys.exit("%s: %d instead of 401" % (kind, response.status))
            for kind, values in samples.items():
                values.sort()
                print("%-17s n=%d  median %6.1f ms  p10 %6.1f  p90 %6.1f" % (
                    kind, len(values), statistics.median(values), values[len(values) // 10], values[len(values) * 9 // 10]))
        finally:
            host.terminate()
            host.wait(timeout=30)


if __name__ == "__main__":
    main()
