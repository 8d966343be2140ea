#!/usr/bin/env python3
"""Checks that no secret the end-to-end tests saw appears in a server log.

    python3 check_log_hygiene.py --log-dir DIR

Reads DIR/secrets.txt (one secret per line, appended by test_e2e.py: passwords, access,
refresh and sudo tokens, verification codes, full email addresses and phone numbers) and scans
every *.log file under DIR, recursively (the server's JSON-lines logs). A line containing a
secret is reported as file:line with the kind and length of the secret, never the secret itself.
One check per distinct secret; prints "N passed, M failed" and exits non-zero on any failure,
and also when there is nothing to check (no secrets or no log files).

One more check: every line of the host's own logs (every *.log but the *.stderr.log captures) is a
JSON object in strict UTF-8, whatever bytes the tests sent (test_abuse.py sends paths that decode to
bytes that are not UTF-8, and ones that spell a log line of their own).
"""

import argparse
import json
import os
import re
import sys
import urllib.parse

JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
DIGITS = re.compile(r"^[0-9]+$")
PHONE = re.compile(r"^\+[0-9]{6,15}$")


def kind_of(secret):
    if DIGITS.match(secret) and len(secret) == 6:
        return "verification code"
    if PHONE.match(secret):
        return "phone number"
    if "@" in secret and "." in secret.split("@")[-1] and " " not in secret:
        return "email address"
    if JWT.match(secret):
        return "token (JWT)"
    if len(secret) >= 20 and re.match(r"^[A-Za-z0-9_.~+/=-]+$", secret):
        return "token"
    return "password"


def variants(secret):
    """The secret as written raw, JSON-escaped (Poco also escapes '/') and percent-encoded."""
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, escaped.replace("/", "\\/"), json.dumps(secret, ensure_ascii=False)[1:-1],
             urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe="")}
    return sorted(form for form in forms if form)


def matcher(secret):
    """A short all-digit secret counts only as a whole number, not as part of a longer one
    (a timestamp, a latency or a hexadecimal id); everything else counts anywhere, in any of
    its written forms."""
    if DIGITS.match(secret):
        return re.compile(r"(?<![0-9A-Za-z])" + re.escape(secret) + r"(?![0-9A-Za-z])").search
    forms = variants(secret)
    return lambda line: any(form in line for form in forms)


def read_secrets(path):
    secrets = []
    seen = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            value = line.rstrip("\r\n")
            if value.strip() and value not in seen:
                seen.add(value)
                secrets.append(value)
    return secrets


def log_files(directory):
    found = []
    for root, _, names in os.walk(directory):
        for name in names:
            if name.endswith(".log"):
                found.append(os.path.join(root, name))
    return sorted(found)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-dir", required=True)
    options = parser.parse_args(argv[1:])

    secrets_path = os.path.join(options.log_dir, "secrets.txt")
    if not os.path.isfile(secrets_path):
        print("FAIL: %s does not exist: nothing was checked" % secrets_path)
        print("0 passed, 1 failed")
        return 1
    secrets = read_secrets(secrets_path)
    if not secrets:
        print("FAIL: %s is empty: nothing was checked" % secrets_path)
        print("0 passed, 1 failed")
        return 1
    files = log_files(options.log_dir)
    if not files:
        print("FAIL: no *.log file under %s: nothing was checked" % options.log_dir)
        print("0 passed, 1 failed")
        return 1

    checks = [(secret, kind_of(secret), matcher(secret), []) for secret in secrets]
    lines_scanned = 0
    not_json = []
    for path in files:
        shown = os.path.relpath(path, options.log_dir)
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                lines_scanned += 1
                for _, _, found, hits in checks:
                    if found(line):
                        hits.append("%s:%d" % (shown, number))
        if not path.endswith(".stderr.log"):
            with open(path, "rb") as f:
                for number, raw in enumerate(f, 1):
                    try:
                        if not isinstance(json.loads(raw.decode("utf-8")), dict):
                            raise ValueError("not an object")
                    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                        not_json.append("%s:%d" % (shown, number))

    passed = failed = 0
    if not_json:
        failed += 1
        print("FAIL: %d log lines are not JSON objects in UTF-8: %s" % (len(not_json), ", ".join(not_json[:20])))
    else:
        passed += 1
    for index, (secret, kind, _, hits) in enumerate(checks, 1):
        if hits:
            failed += 1
            more = " (+%d more)" % (len(hits) - 20) if len(hits) > 20 else ""
            print("FAIL: secret #%d (%s, %d chars) appears in %s%s" % (index, kind, len(secret), ", ".join(hits[:20]),
                                                                     more))
        else:
            passed += 1
    print("scanned %d lines in %d log files for %d secrets" % (lines_scanned, len(files), len(checks)))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
