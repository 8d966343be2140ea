#!/usr/bin/python3
"""Decode what Kannel's fakesmsc (/usr/lib/kannel/test/fakesmsc) prints.

fakesmsc logs every MT message that bearerbox's "smsc = fake" connection
hands it as one log line (stderr; kannel.py sends stdout+stderr to
--fakesmsc-log):

    2026-11-25 18:49:24 [31631] [0] DEBUG: Got message 5: <123 456 ucs-2 O%60Y%7D>

The part between "<" and the final ">" is the fake-SMSC protocol line
"<sender> <receiver> <type> <payload>", written by Kannel 1.4.5
gw/smsc/smsc_fake.c (sms_to_client):

    type "text"   coding 0 (GSM 7-bit): payload = the text, raw, as UTF-8
                  (characters outside the GSM alphabet were already
                  replaced by "?" by Kannel).  A newline in the text ends
                  the protocol line, so the rest of the text arrives as an
                  extra "Got message" record with no sender/receiver/type
                  (handled by parse_log: merged back with "\\n").
    type "data"   coding 1 (8-bit): payload url-encoded bytes ("+" = space).
    type "ucs-2"  coding 2 (UCS-2):  payload url-encoded UTF-16BE bytes.
    type "udh"    any message with a UDH (Kannel splits long messages into
                  concatenated parts itself):
                  "<from> <to> udh <url-encoded UDH> data <url-encoded part>"
                  -- the coding is NOT printed; 7-bit parts are UTF-8 bytes,
                  UCS-2 parts UTF-16BE bytes.  See _guess_udh_coding; pass
                  coding="ucs2"/"7bit"/"8bit" to force.

Public API:
    decode_fakesmsc_line(line, coding=None) -> (to, text)
    parse_log(text_or_lines) -> [FakeSmscRecord, ...]   (one per log record)
    read_messages(path, coding=None) -> [(sender, to, text), ...]
        concatenated parts joined, continuation lines merged, in order of
        the first part's arrival.
    wait_for_messages(path, count, timeout=10, coding=None, until=None) ->
        same list, polls the file until at least `count` complete messages
        are there (and until(messages) holds).

Command line: /usr/bin/python3 fakesmsc_output.py LOGFILE  -> prints JSON
lines {"from", "to", "text"} for each assembled message.
"""

import json
import re
import sys
import time
import urllib.parse

TYPES = ("text", "data", "ucs-2", "udh")
_LOG_RE = re.compile(r"Got message \d+: <(.*)>\s*$", re.S)
_NUMBER_RE = re.compile(r"^[+0-9][0-9 +\-]*$")

# GSM 03.38 default alphabet + extension table, as Unicode.
_GSM_CHARS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€\x0c")


def _urldecode(s):
    return urllib.parse.unquote_to_bytes(s.replace("+", " "))


class FakeSmscRecord:
    """One "Got message" record.  kind: text/data/ucs-2/udh, or "cont" for
    a continuation line of a preceding text message (sender/to None)."""

    __slots__ = ("sender", "to", "kind", "udh", "payload", "raw")

    def __init__(self, sender, to, kind, udh, payload, raw):
        self.sender, self.to, self.kind = sender, to, kind
        self.udh, self.payload, self.raw = udh, payload, raw

    def __repr__(self):
        return "FakeSmscRecord(%r, %r, %r, udh=%r, payload=%r)" % (
            self.sender, self.to, self.kind, self.udh, self.payload)

    def concat_info(self):
        """(ref, total, seq) from a concatenation UDH IE, or None."""
        udh = self.udh
        if not udh:
            return None
        i, end = 1, min(len(udh), 1 + udh[0])
        while i + 1 < end:
            iei, ln = udh[i], udh[i + 1]
            val = udh[i + 2:i + 2 + ln]
            if iei == 0x00 and ln == 3:
                return val[0], val[1], val[2]
            if iei == 0x08 and ln == 4:
                return (val[0] << 8) | val[1], val[2], val[3]
            i += 2 + ln
        return None


def _protocol_line(line):
    """Strip the log prefix; returns the fake-SMSC protocol line."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.rstrip("\r\n")
    m = _LOG_RE.search(line)
    return m.group(1) if m else line


def parse_record(line):
    """Parse one log line (or bare protocol line) into a FakeSmscRecord."""
    raw = _protocol_line(line)
    tokens = raw.split(" ")
    # sender may contain spaces (alphanumeric sender); receiver is a number
    for i in range(2, len(tokens)):
        if tokens[i] in TYPES and _NUMBER_RE.match(tokens[i - 1]):
            sender = " ".join(tokens[:i - 1])
            to = tokens[i - 1]
            kind = tokens[i]
            rest = " ".join(tokens[i + 1:])
            if kind == "text":
                return FakeSmscRecord(sender, to, kind, None, rest.encode("utf-8"), raw)
            if kind in ("data", "ucs-2"):
                return FakeSmscRecord(sender, to, kind, None, _urldecode(rest), raw)
            # udh <udh> data <payload>
            parts = rest.split(" ")
            if len(parts) == 3 and parts[1] == "data":
                return FakeSmscRecord(sender, to, kind, _urldecode(parts[0]),
                                      _urldecode(parts[2]), raw)
            if len(parts) == 2:  # older smsc_fake: "udh <udh> <payload>"
                return FakeSmscRecord(sender, to, kind, _urldecode(parts[0]),
                                      _urldecode(parts[1]), raw)
            break
    return FakeSmscRecord(None, None, "cont", None, raw.encode("utf-8"), raw)


def _guess_udh_coding(payload):
    """Guess the coding of UDH-part bytes (fakesmsc doesn't print it).

    7-bit parts are UTF-8 of GSM-alphabet characters, never contain NUL;
    UCS-2 of any text containing an ASCII character contains NUL bytes.
    Ambiguous only for pure-CJK UCS-2 whose bytes all happen to be GSM
    characters -- force coding= in that case.
    """
    if b"\x00" in payload:
        return "ucs2"
    try:
        as_utf8 = payload.decode("utf-8")
    except UnicodeDecodeError:
        return "ucs2" if len(payload) % 2 == 0 else "8bit"
    if all(c in _GSM_CHARS for c in as_utf8):
        return "7bit"
    return "ucs2" if len(payload) % 2 == 0 else "8bit"


def _norm_coding(coding):
    c = (coding or "auto").lower().replace("-", "").replace("_", "")
    return {"auto": "auto", "ucs2": "ucs2", "2": "ucs2", "utf16be": "ucs2",
            "7bit": "7bit", "text": "7bit", "0": "7bit", "gsm": "7bit",
            "8bit": "8bit", "data": "8bit", "1": "8bit", "binary": "8bit"}[c]


def _decode_bytes(payload, coding):
    if coding == "ucs2":
        return payload.decode("utf-16-be", "replace")
    return payload.decode("utf-8", "replace")


def _record_coding(rec, coding):
    coding = _norm_coding(coding)
    if rec.kind == "ucs-2":
        return "ucs2"
    if rec.kind == "data":
        return "8bit"
    if rec.kind in ("text", "cont"):
        return "7bit"
    return _guess_udh_coding(rec.payload) if coding == "auto" else coding


def decode_fakesmsc_line(line, coding=None):
    """(to, text) of one fakesmsc output line.

    `line` is a whole log line ("... Got message N: <from to type ...>") or
    just the protocol line.  text is the message text as Unicode: "text" as
    printed, "ucs-2" url-decoded from UTF-16BE, "data" url-decoded and read
    as UTF-8.  For "udh" (one part of a concatenated message) the part's own
    text; the coding is guessed unless coding= is given ("ucs2", "7bit",
    "8bit").  Continuation lines (the text after a newline of a 7-bit text)
    give (None, text).
    """
    rec = parse_record(line)
    return rec.to, _decode_bytes(rec.payload, _record_coding(rec, coding))


def parse_log(src):
    """Records of all "Got message" lines in src (str, bytes, or lines)."""
    if isinstance(src, bytes):
        src = src.decode("utf-8", "replace")
    lines = src.splitlines() if isinstance(src, str) else src
    return [parse_record(l) for l in lines if _LOG_RE.search(
        l.decode("utf-8", "replace") if isinstance(l, bytes) else l)]


def assemble(records, coding=None):
    """[(sender, to, text, complete)] from records: continuation lines merged
    into the preceding text message, concatenated parts joined by
    (sender, to, ref).  complete is False while parts are missing."""
    out = []          # list of dicts, in arrival order
    pending = {}      # (sender, to, ref) -> dict
    last_text = None
    for rec in records:
        if rec.kind == "cont":
            if last_text is not None:
                last_text["chunks"].append(b"\n" + rec.payload)
            else:
                out.append({"sender": None, "to": None, "coding": "7bit",
                            "chunks": [rec.payload], "parts": None})
            continue
        info = rec.concat_info() if rec.kind == "udh" else None
        if info is None:
            m = {"sender": rec.sender, "to": rec.to, "coding": _record_coding(rec, coding),
                 "chunks": [rec.payload], "parts": None}
            out.append(m)
            last_text = m if rec.kind == "text" else None
            continue
        last_text = None
        ref, total, seq = info
        key = (rec.sender, rec.to, ref)
        m = pending.get(key)
        if m is None or seq in m["parts"]:
            m = {"sender": rec.sender, "to": rec.to, "coding": None, "chunks": None,
                 "parts": {}, "total": total}
            pending[key] = m
            out.append(m)
        m["parts"][seq] = rec
        if len(m["parts"]) >= total:
            del pending[key]
    result = []
    for m in out:
        if m["parts"] is None:
            result.append((m["sender"], m["to"], _decode_bytes(b"".join(m["chunks"]), m["coding"]),
                           True))
            continue
        payload = b"".join(m["parts"][s].payload for s in sorted(m["parts"]))
        c = _norm_coding(coding)
        if c == "auto":
            c = _guess_udh_coding(payload)
        complete = len(m["parts"]) >= m["total"]
        result.append((m["sender"], m["to"], _decode_bytes(payload, c), complete))
    return result


def read_messages(path, coding=None):
    """[(sender, to, text)] of the complete messages in a fakesmsc log."""
    with open(path, "rb") as f:
        data = f.read()
    return [(s, t, x) for s, t, x, done in assemble(parse_log(data), coding) if done]


def wait_for_messages(path, count, timeout=10.0, coding=None, poll=0.05, until=None):
    """Poll `path` until it holds >= count complete messages (and, if given,
    until(messages) is true); return them.  Raises TimeoutError with what
    was seen.  A 7-bit text with a newline arrives as two log records: use
    until= (e.g. lambda m: m[-1][2] == expected) to not catch it half-way."""
    deadline = time.monotonic() + timeout
    msgs = []
    while True:
        try:
            msgs = read_messages(path, coding)
        except FileNotFoundError:
            msgs = []
        if len(msgs) >= count and (until is None or until(msgs)):
            return msgs
        if time.monotonic() >= deadline:
            raise TimeoutError("fakesmsc log %s: %d of %d messages: %r"
                               % (path, len(msgs), count, msgs))
        time.sleep(poll)


def main(argv):
    if len(argv) != 2:
        print("usage: fakesmsc_output.py FAKESMSC_LOG", file=sys.stderr)
        return 2
    for sender, to, text in read_messages(argv[1]):
        print(json.dumps({"from": sender, "to": to, "text": text}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
