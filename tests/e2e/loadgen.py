#!/usr/bin/env python3
"""A steady load on an identity host, from a process of its own, for the reload tests.

    loadgen.py --port P --seconds S --rate R [--token T] [--path /auth/v1/user/reauthenticate]
               [--threads N] --out summary.json

Each thread keeps one keep-alive connection and sends its share of R requests a second, paced by
the clock, for S seconds or until SIGTERM: POST {"verify_opt": "email_code"} with the bearer token to the path when a
token is given, else GET the path. Every answer that is not 200, and every connection error, is a
failure. The summary (written once, at the end) has the counts by status, the failures with their
time, the first and last request times, and the achieved rate. Only the standard library is used.
"""

import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time


STOP = threading.Event()


def worker(options, deadline, interval, offset, results, lock):
    connection = None
    next_at = time.monotonic() + offset
    body = json.dumps({"verify_opt": "email_code"}).encode() if options.token else None
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + options.token} if options.token else {}
    method = "POST" if options.token else "GET"
    while True:
        now = time.monotonic()
        if now >= deadline or STOP.is_set():
            break
        if now < next_at and STOP.wait(next_at - now):
            break
        next_at += interval
        started = time.time()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", options.port, timeout=10)
            connection.request(method, options.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            status = "error: %s" % type(error).__name__
            if connection is not None:
                connection.close()
            connection = None
        with lock:
            results["by_status"][str(status)] = results["by_status"].get(str(status), 0) + 1
            results["first"] = min(results["first"], started)
            results["last"] = max(results["last"], started)
            if status != 200:
                results["failures"].append({"at": started, "status": str(status)})
    if connection is not None:
        connection.close()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--token", default="")
    parser.add_argument("--path", default="/auth/v1/user/reauthenticate")
    parser.add_argument("--out", required=True)
    options = parser.parse_args(argv[1:])

    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    results = {"by_status": {}, "failures": [], "first": float("inf"), "last": 0.0}
    lock = threading.Lock()
    interval = options.threads / options.rate
    deadline = time.monotonic() + options.seconds
    threads = [threading.Thread(target=worker, args=(options, deadline, interval, interval * i / options.threads,
                                                     results, lock))
               for i in range(options.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(results["by_status"].values())
    span = max(results["last"] - results["first"], 1e-9)
    results.update(total=total, seconds=span, rate=total / span, failures=results["failures"][:50],
                   failed=len(results["failures"]))
    with open(options.out + ".tmp", "w", encoding="utf-8") as out:
        json.dump(results, out)

    os.replace(options.out + ".tmp", options.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
