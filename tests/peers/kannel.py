#!/usr/bin/python3
"""Run the real Kannel SMS gateway (Debian kannel 1.4.5) for tests.

    /usr/bin/python3 kannel.py --user U --password P --fakesmsc-log F
        --port-file F [--dir D] [--admin-password X] [--reject-prefix 999]
        [--timeout 30]

Starts /usr/sbin/bearerbox, /usr/sbin/smsbox and, as the phone network,
/usr/lib/kannel/test/fakesmsc connected to bearerbox's "smsc = fake" port.
Everything listens on 127.0.0.1 only, on ports that were free (the OS picks
them; Kannel can't bind port 0 itself, so we bind :0, close, hand the port to
Kannel and retry with new ports if a bind lost the race).  When smsbox's
sendsms port answers HTTP, smsbox is connected to bearerbox and the fake
SMSC shows "online" in bearerbox's /status.xml, the port file is written
atomically as JSON:
  {"sendsms_port": n, "admin_port": n, "smsbox_port": n, "smsc_port": n,
   "admin_password": "...", "dir": "...", "pids": {...}}
Runs until SIGTERM/SIGINT, then stops smsbox, bearerbox, fakesmsc (by PID,
SIGTERM, SIGKILL after 10 s) and exits 0.  Children get PR_SET_PDEATHSIG so
they die with this process even if it is SIGKILLed.
Extra signals: SIGUSR1 disconnects the phone network (stops fakesmsc; the
SMSC goes "re-connecting", sendsms answers "3: Queued for later delivery"),
SIGUSR2 reconnects it (new fakesmsc appending to the same log; queued
messages are then delivered).
--dir D holds kannel.conf, bearerbox.log, smsbox.log, access logs; it is
kept.  Without --dir a temp dir is used and removed at exit.
--reject-prefix adds `denied-prefix` to the SMSC: sendsms to such numbers is
refused (HTTP 403 "Not routable. Do not try again.") and a dlr-mask with 16
yields a DLR with %d=16 ("NACK/no SMSC").

FINDINGS (by experiment with Debian kannel 1.4.5-12, fakesmsc from
kannel-extras; see README.md):

(a) UTF-8 / Chinese text.  The URL that delivers Chinese intact is

      /cgi-bin/sendsms?username=U&password=P&from=123&to=456
          &charset=UTF-8&coding=2&text=<UTF-8, percent-encoded>

    e.g. text=%E4%BD%A0%E5%A5%BD (你好).  Kannel converts UTF-8 -> UCS-2
    (UTF-16BE) and fakesmsc prints
      "Got message N: <123 456 ucs-2 O%60Y%7D>"
    i.e. type "ucs-2" and the UTF-16BE bytes url-encoded ("+" = 0x20).
    Decode: urllib.parse.unquote_to_bytes(s.replace("+", " ")).decode(
    "utf-16-be") -- fakesmsc_output.decode_fakesmsc_line(line) -> (to, text).
    Pitfalls seen:
      * coding=2 WITHOUT charset: Kannel takes text as already UTF-16BE and
        does not convert; UTF-8 bytes are sent as "UCS-2" = mojibake.
        (Sending UTF-16BE bytes percent-encoded with coding=2 and no charset
        works.)  charset=UTF-16BE with UTF-8 text: same mojibake.
      * no coding (or coding=0), with or without charset=UTF-8: GSM 7-bit;
        Chinese/emoji become "?" ("text ??, world é €"); é and € survive.
      * coding=1 + charset=UTF-8: 8-bit "data" with the UTF-8 bytes (not a
        text SMS on a real phone).
      * POST works too: body = text, Content-Type "text/plain; charset=UTF-8",
        headers X-Kannel-Username/-Password/-From/-To and X-Kannel-Coding: 2.
        Credentials in the query string of a POST are NOT accepted (403).
      * Emoji are sent as a surrogate pair (UCS-2 part of the UTF-16).
      * Long texts are split by Kannel (concatenation=true): 153 chars/part
        for 7-bit, 67 for UCS-2; fakesmsc prints each part as
        "<from> <to> udh %05%00%03<ref><total><seq> data <url-encoded part>"
        WITHOUT the coding (7-bit parts are UTF-8 bytes, UCS-2 parts UTF-16BE);
        fakesmsc_output.read_messages() reassembles and guesses the coding.
      * A "\\n" in a 7-bit text ends fakesmsc's line: the rest comes as a
        separate "Got message" record (read_messages() merges it back).

(b) Delivery reports.  With dlr-mask=31&dlr-url=<url-encoded
    http://127.0.0.1:PORT/dlr?id=X&status=%d> on sendsms, smsbox GETs the
    dlr-url twice per message, for every message delivered to fakesmsc:
      %d=8  (delivered to SMSC; %A = "ACK/", %F empty) and
      %d=1  (delivered to phone; %A empty, %F = Kannel's message UUID).
    smsc_fake.c itself generates the final DLR_SUCCESS right after writing
    the message to fakesmsc whenever the mask contains 1 or 2 -- fakesmsc
    cannot send a DLR back (its "dlr-mask" message type only sets the mask
    of an MO message), so %d=2 (non-delivered) never happens with it, and
    neither did %d=4 (buffered): while fakesmsc is disconnected sendsms
    answers 202 "3: Queued for later delivery" and no DLR is sent until the
    message is delivered after reconnect (then 8 and 1).  dlr-mask=3 -> only
    1; dlr-mask=24 -> only 8.  Order: 8 then 1 for single-part messages, but
    for a concatenated message (one DLR pair for the whole message) 1 came
    before 8 -- don't assert the order.  %d=16 (non-delivered to SMSC) is
    produced with --reject-prefix: sendsms to that prefix -> 403 "Not
    routable. Do not try again." and a DLR 16 with %A = "NACK/no SMSC".
    Other sendsms answers: 202 "0: Accepted for delivery"; 403
    "Authorization failed for sendsms"; 400 "Number(s) has/have been denied
    by white- and/or black-lists." (non-numeric to).
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
HOST = "127.0.0.1"

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def _child_setup():
    # signals are blocked in the parent (sigtimedwait loop); unblock them
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def log(msg):
    print("kannel.py: " + msg, file=sys.stderr, flush=True)


def free_ports(n):
    """n distinct ports that were free on 127.0.0.1 a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def listen_inodes(port):
    """Socket inodes in TCP LISTEN state on 127.0.0.1:port or *:port."""
    wanted = {"%08X:%04X" % (int.from_bytes(socket.inet_aton(a), "little"), port)
              for a in (HOST, "0.0.0.0")}
    inodes = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] in wanted and fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def listener_state(port, pid):
    """"own" if process pid listens on port, "other" if someone else does,
    None if nobody does (yet)."""
    inodes = listen_inodes(port)
    if not inodes:
        return None
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return "other"
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return "own"
    return "other"


def q(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def write_conf(path, d, ports, args):
    admin, smsbox, smsc, sendsms = ports
    lines = [
        "group = core",
        "admin-port = %d" % admin,
        "admin-interface = %s" % q(HOST),
        "admin-password = %s" % q(args.admin_password),
        "admin-allow-ip = %s" % q(HOST),
        "smsbox-port = %d" % smsbox,
        "smsbox-interface = %s" % q(HOST),
        "box-allow-ip = %s" % q(HOST),
        "log-file = %s" % q(os.path.join(d, "bearerbox.log")),
        "log-level = %d" % args.log_level,
        "access-log = %s" % q(os.path.join(d, "bearerbox-access.log")),
        "dlr-storage = internal",
        "",
        "group = smsc",
        "smsc = fake",
        "smsc-id = fake",
        "port = %d" % smsc,
        "our-host = %s" % q(HOST),
        "connect-allow-ip = %s" % q(HOST),
    ]
    if args.reject_prefix:
        lines.append("denied-prefix = %s" % q(args.reject_prefix))
    lines += [
        "",
        "group = smsbox",
        "bearerbox-host = %s" % q(HOST),
        "sendsms-port = %d" % sendsms,
        "sendsms-interface = %s" % q(HOST),
        "log-file = %s" % q(os.path.join(d, "smsbox.log")),
        "log-level = %d" % args.log_level,
        "access-log = %s" % q(os.path.join(d, "smsbox-access.log")),
        "",
        "group = sendsms-user",
        "username = %s" % q(args.user),
        "password = %s" % q(args.password),
        "max-messages = 10",
        "concatenation = true",
        "",
        # MO messages from fakesmsc (if any) get a static reply instead of
        # an error about a missing service.
        "group = sms-service",
        "keyword = default",
        'text = "No service specified"',
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


class Kannel:
    def __init__(self, args, d):
        self.args = args
        self.dir = d
        self.conf = os.path.join(d, "kannel.conf")
        self.procs = {}   # name -> Popen
        self.ports = None
        self.fs_log = None

    # -- processes ------------------------------------------------------
    def _spawn(self, name, argv, out_path, append=False):
        out = open(out_path, "ab" if append else "wb")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=self.dir,
                                 preexec_fn=_child_setup, close_fds=True)
        finally:
            out.close()
        self.procs[name] = p
        return p

    def start_fakesmsc(self, append=False):
        # -m 0: send no MO messages, only print what arrives (immediately;
        # interactive mode would poll stdin once a second).
        argv = [FAKESMSC, "-H", HOST, "-r", str(self.ports[2]), "-m", "0",
                "0 0 text unused"]
        return self._spawn("fakesmsc", argv, self.args.fakesmsc_log, append)

    def stop_proc(self, name, sig=signal.SIGTERM, grace=10.0):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(grace)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM, killing" % (name, p.pid))
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass

    def stop_all(self):
        for name in ("smsbox", "bearerbox", "fakesmsc"):
            self.stop_proc(name)

    def dead_child(self):
        for name, p in self.procs.items():
            if p.poll() is not None:
                return name, p.returncode
        return None

    # -- readiness ------------------------------------------------------
    def _http(self, url, timeout=2.0):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return None, None

    def status_xml(self):
        return self._http("http://%s:%d/status.xml?password=%s"
                          % (HOST, self.ports[0], urllib.parse.quote(self.args.admin_password)))[1]

    def smsc_state(self):
        x = self.status_xml()
        if not x or "<smsc>" not in x:
            return None, False
        st = x.split("<smsc>", 1)[1].split("<status>", 1)[1].split("</status>", 1)[0]
        return st, "<type>smsbox</type>" in x

    def sendsms_answers(self):
        code, _ = self._http("http://%s:%d/cgi-bin/sendsms" % (HOST, self.ports[3]))
        return code is not None

    def wait_ready(self, attempt, deadline):
        """Bring bearerbox -> smsbox -> fakesmsc up in order.  True when
        ready, False if this start attempt failed (retry with new ports),
        None if a stop signal arrived."""
        smsbox_starts = 0
        stage = "bearerbox"
        while time.monotonic() < deadline:
            if signal.sigpending() & STOP_SIGNALS:
                log("stop signal during start-up")
                return None
            dead = self.dead_child()
            if dead and dead[0] == "smsbox" and smsbox_starts < 5:
                # smsbox panics "Couldn't connect to the bearerbox" if it
                # loses a race with bearerbox's listener: just start it again
                self.procs.pop("smsbox")
                dead = None
            if dead:
                log("%s exited (rc %s) during start-up (%s)" % (dead + (stage,)))
                return False
            bb_pid = self.procs["bearerbox"].pid
            if "smsbox" not in self.procs:
                # bearerbox's admin and smsbox ports must listen first
                # (checked in /proc: a probe connection would look like a box)
                st = [listener_state(self.ports[i], bb_pid) for i in (0, 1)]
                if "other" in st or listener_state(self.ports[3], bb_pid) is not None:
                    log("a port was taken by another process: %r" % (self.ports,))
                    return False
                if st == ["own", "own"]:
                    smsbox_starts += 1
                    self._spawn("smsbox", [SMSBOX, self.conf],
                                os.path.join(self.dir, "smsbox.out"), append=True)
                    stage = "smsbox"
                time.sleep(0.02)
                continue
            state, box = self.smsc_state()
            if state is not None:
                if state.startswith("dead"):
                    log("fake SMSC is dead (port %d taken?)" % self.ports[2])
                    return False
                if "fakesmsc" not in self.procs:
                    self.start_fakesmsc()
                stage = "smsc=%s smsbox-connected=%s" % (state, box)
                if state.startswith("online") and box and self.sendsms_answers():
                    return True
            time.sleep(0.05)
        log("not ready before deadline (%s)" % stage)
        return False

    def start(self):
        attempts = 5
        deadline_total = time.monotonic() + self.args.timeout
        for attempt in range(1, attempts + 1):
            self.ports = free_ports(4)
            write_conf(self.conf, self.dir, self.ports, self.args)
            for name in ("bearerbox", "smsbox"):
                with open(os.path.join(self.dir, name + ".out"), "a") as f:
                    f.write("=== kannel.py start attempt %d, ports %r\n" % (attempt, self.ports))
            self._spawn("bearerbox", [BEARERBOX, self.conf],
                        os.path.join(self.dir, "bearerbox.out"), append=True)
            deadline = min(deadline_total, time.monotonic() + self.args.timeout / 2)
            ok = self.wait_ready(attempt, deadline)
            if ok:
                return True
            self.stop_all()
            if ok is None:
                return False
            log("start attempt %d failed; see %s" % (attempt, self.dir))
            if time.monotonic() >= deadline_total:
                break
        return False

    def port_info(self):
        admin, smsbox, smsc, sendsms = self.ports
        return {
            "sendsms_port": sendsms,
            "admin_port": admin,
            "smsbox_port": smsbox,
            "smsc_port": smsc,
            "admin_password": self.args.admin_password,
            "dir": self.dir,
            "pid": os.getpid(),
            "pids": {n: p.pid for n, p in self.procs.items()},
        }


def atomic_write(path, text):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description="Run Kannel bearerbox+smsbox+fakesmsc for tests")
    p.add_argument("--dir", help="work dir (kept); default: temp dir, removed at exit")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--fakesmsc-log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--admin-password", default="kannel-admin")
    p.add_argument("--reject-prefix", help="denied-prefix for the fake SMSC (DLR 16 tests)")
    p.add_argument("--log-level", type=int, default=0, help="Kannel log-level (0=debug)")
    p.add_argument("--timeout", type=float, default=30.0, help="start-up deadline, seconds")
    args = p.parse_args()
    args.fakesmsc_log = os.path.abspath(args.fakesmsc_log)
    args.port_file = os.path.abspath(args.port_file)

    for exe in (BEARERBOX, SMSBOX, FAKESMSC):
        if not os.access(exe, os.X_OK):
            sys.exit("kannel.py: %s missing (install kannel, kannel-extras)" % exe)

    own_dir = args.dir is None
    d = tempfile.mkdtemp(prefix="kannel-test-") if own_dir else os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)

    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
            signal.SIGUSR2, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    # SIGCHLD is ignored by default: give it a handler so it is delivered
    # (stays pending while blocked) for sigtimedwait.
    signal.signal(signal.SIGCHLD, lambda *a: None)

    k = Kannel(args, d)
    rc = 0
    try:
        if not k.start():
            log("Kannel did not start")
            rc = 1
            return rc
        atomic_write(args.port_file, json.dumps(k.port_info()) + "\n")
        while True:
            info = signal.sigtimedwait(sigs, 5.0)
            signo = info.si_signo if info else None
            if signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                break
            if signo == signal.SIGUSR1:
                k.stop_proc("fakesmsc", signal.SIGINT)
                continue
            if signo == signal.SIGUSR2:
                if "fakesmsc" not in k.procs:
                    k.start_fakesmsc(append=True)
                continue
            dead = k.dead_child()
            if dead:
                name, code = dead
                k.procs.pop(name)
                log("%s exited unexpectedly (rc %s)" % (name, code))
                if name != "fakesmsc":
                    rc = 1
                    break
    finally:
        k.stop_all()
        if own_dir:
            shutil.rmtree(d, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
