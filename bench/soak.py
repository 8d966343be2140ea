#!/usr/bin/env python3
"""Soak: the reauthenticate route at half of its peak rate for minutes, with the host's memory watched.

    python3 bench/soak.py [--build build] [--seconds 300] [--fraction 0.5] [--verify-opt phone_code]

Starts a Release identity-host from the build tree on a free port in a temporary folder (SQLite, the
`log` SMS notifier, every send limit off), creates a user and signs in. Then:

1. peak: wrk, 2 threads, 32 connections, 10 s, POST /auth/v1/user/reauthenticate as fast as answered;
2. soak: wrk, 2 threads, 16 connections, each pausing between requests so that together they send
   about `fraction` of the peak rate, for `seconds`, while the host's resident memory (VmRSS) is read
   every 10 s.

Prints the peak, the achieved soak rate, wrk's latency distribution, every non-2xx answer and socket
error, and RSS at the start, middle and end of the soak (and its highest). Exits 1 if the soak saw any
error. Needs wrk (scripts/install-deps installs it).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Soak-Pass-7"

LUA = r"""
local token = os.getenv("SOAK_TOKEN")
local pause = tonumber(os.getenv("SOAK_PAUSE_MS") or "0")
local body = '{"verify_opt":"%s"}'
request = function()
  return wrk.format("POST", "/auth/v1/user/reauthenticate",
                    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
if pause > 0 then
  delay = function() return pause end
end
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wrk(port, threads, connections, seconds, script, environment):
    done = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency",
                           "-s", script, "http://127.0.0.1:%d/" % port],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, check=False)
    output = done.stdout.decode("utf-8", "replace")
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, total, socket_errors, int(non2xx.group(1)) if non2xx else 0, output


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--verify-opt", default="phone_code", choices=("phone_code", "email_code"))
    options = parser.parse_args(argv[1:])
    if shutil.which("wrk") is None:
        print("wrk is not installed (scripts/install-deps installs it)", file=sys.stderr)
        return 2

    folder = tempfile.mkdtemp(prefix="identity-soak-")
    port = free_port()
    binary = os.path.join(options.build, "bin", "identity-host")
    defines = {
        "server.port": str(port), "storage.url": "sqlite:" + os.path.join(folder, "identity.db"),
        "secrets.file": os.path.join(folder, "secrets.json"), "logging.file": os.path.join(folder, "host.log"),
        "logging.level": "warning",
        "plugins.reauthenticate.manifest": os.path.join(options.build, "plugins", "reauthenticate", "plugin.json"),
        "plugins.reauthenticate.config.email.maildir.path": os.path.join(folder, "mail"),
        "plugins.reauthenticate.config.sms.log.path": os.path.join(folder, "sms.log"),
    }
    for key in ("cooldown_seconds", "per_user_per_hour", "per_ip_per_hour", "per_destination_per_hour",
                "sms_per_minute"):
        defines["plugins.reauthenticate.config.limits." + key] = "0"
    command = [binary, "--config=" + os.path.join(ROOT, "config", "dev.json")] + \
              ["--define=%s=%s" % item for item in defines.items()]
    subprocess.run(command + ["user", "create", "--username=soak", "--email=soak@example.com",
                              "--phone=+8613800138077", "--password=" + PASSWORD],
                   check=True, stdout=subprocess.DEVNULL, cwd=folder)
    host = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        token = None
        while token is None:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("POST", "/auth/v1/signin", body=json.dumps({"username": "soak", "password": PASSWORD}),
                                   headers={"Content-Type": "application/json"})
                token = json.loads(connection.getresponse().read())["access_token"]
            except (OSError, KeyError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        script = os.path.join(folder, "soak.lua")
        with open(script, "w", encoding="utf-8") as out:
            out.write(LUA.replace("%s", options.verify_opt))
        environment = dict(os.environ, SOAK_TOKEN=token, SOAK_PAUSE_MS="0")

        peak, _, _, _, peak_output = wrk(port, 2, 32, 10, script, environment)
        print("peak: %.0f requests/s (2 threads, 32 connections, 10 s)" % peak)
        # 16 connections, each one request per (pause + latency): the pause that makes them `fraction` of
        # the peak, leaving about 2.5 ms for the answer itself (the median at half load on this machine).
        target = peak * options.fraction
        pause = max(1, int(round(16 * 1000.0 / target - 2.5)))
        environment["SOAK_PAUSE_MS"] = str(pause)

        samples = []
        soak = subprocess.Popen(["wrk", "-t2", "-c16", "-d%ds" % options.seconds, "--latency", "-s", script,
                                 "http://127.0.0.1:%d/" % port],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment)
        started = time.monotonic()
        while soak.poll() is None:
            samples.append((time.monotonic() - started, rss_kib(host.pid)))
            try:
                soak.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        output = soak.stdout.read().decode("utf-8", "replace")
        rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
        total = int(re.search(r"(\d+) requests in", output).group(1))
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        bad = (int(non2xx.group(1)) if non2xx else 0) + socket_errors

        print("soak: %d s at %.0f requests/s (target %.0f, %d ms pause on 16 connections): %d requests, %d errors"
              % (options.seconds, rate, target, pause, total, bad))
        latency = re.search(r"Latency Distribution\n((?:\s+\d+%.*\n)+)", output)
        if latency:
            print("latency: " + ", ".join(line.strip() for line in latency.group(1).strip().splitlines()))
        # "start" once the load is on (the first sample is taken before it begins).
        start, middle, end = samples[min(1, len(samples) - 1)], samples[len(samples) // 2], samples[-1]
        print("RSS every minute: " + ", ".join("%.0f s %.1f MiB" % (t, kib / 1024) for t, kib in samples[::6]))
        print("RSS: start %.1f MiB (%.0f s), middle %.1f MiB (%.0f s), end %.1f MiB (%.0f s), highest %.1f MiB"
              % (start[1] / 1024, start[0], middle[1] / 1024, middle[0], end[1] / 1024, end[0],
                 max(kib for _, kib in samples) / 1024))
        if bad:
            print(output)
        return 1 if bad else 0
    finally:
        host.send_signal(signal.SIGTERM)
        try:
            host.wait(timeout=30)
        except subprocess.TimeoutExpired:
            host.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
