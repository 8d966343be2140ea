#!/usr/bin/env python3
"""End-to-end delivery tests of identity-host with the reauthenticate plugin and real peers.

The codes travel through real servers on loopback, started and stopped by these tests by PID:
the aiosmtpd SMTP server of tests/peers/smtp_server.py (STARTTLS and AUTH required, or no TLS at
all), the real Kannel gateway (bearerbox, smsbox and its fake SMSC, tests/peers/kannel.py) and
the HTTPS webhook receiver of tests/peers/webhook_receiver.py. Failures of those peers, and how
the host retries, gives up or refuses, are read from the peers' own records (stored messages,
statistics, request logs) and from the host's outbox table (SQLite, opened read-only).

    python3 test_delivery.py --host-binary build/bin/identity-host \
        --manifest build/plugins/reauthenticate/plugin.json \
        --config config/dev.json --log-dir build/e2e-logs [unittest options, e.g. -k Webhook]

Host logs go to <log-dir>/<name>.log like test_e2e.py's; every secret seen (user passwords,
tokens, codes, addresses, numbers, the SMTP and Kannel passwords, the webhook secret) is appended
to <log-dir>/secrets.txt for check_log_hygiene.py. The peers' own output stays in temporary
directories (it holds codes and passwords by design) and is removed at the end. Only the Python 3
standard library is used here; the SMTP peer needs aiosmtpd (python3-aiosmtpd) in the system
Python.
"""

import atexit
import base64
import email.utils
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "peers")
PEERS = os.path.normpath(PEERS)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
sys.path.insert(0, PEERS)

# The peers need the distribution's Python (aiosmtpd is packaged as python3-aiosmtpd).
PEER_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

P = "plugins.reauthenticate.config."
PEER_START_DEADLINE = 20.0      # seconds for an SMTP or webhook peer to write its port file
KANNEL_START_DEADLINE = 60.0    # bearerbox + smsbox + fakesmsc, with kannel.py's own retries
DELIVERY_DEADLINE = 20.0        # seconds for a due message to reach a peer
QUIET_PERIOD = 3.0              # seconds to watch for a message that must not come (> max backoff + poll)
MAX_BACKOFF = 2                 # delivery.max_backoff_seconds for every host here
FROM_ADDRESS = "no-reply@example.com"

# Secrets of the peers: fresh per run, recorded for the log hygiene check.
SMTP_USER = "mailer"
SMTP_PASSWORD = "Smtp-" + secrets.token_urlsafe(18)
KANNEL_USER = "identity"
KANNEL_PASSWORD = "Kannel-" + secrets.token_urlsafe(18)

COMMON_DEFINES = dict(e2e.NO_SEND_LIMITS)
COMMON_DEFINES.update({
    P + "limits.sms_per_minute": "0",
    P + "delivery.poll_ms": "100",
    P + "delivery.max_backoff_seconds": str(MAX_BACKOFF),
    P + "product_name": "Identity",
})


# ---------------------------------------------------------------------------------------------
# Small helpers

def free_port():
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, what, describe=None, interval=0.05):
    """Polls predicate() until it returns something truthy (which is returned) or the deadline
    passes (AssertionError naming `what`, with describe() for context)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            context = ""
            if describe is not None:
                try:
                    context = "; " + str(describe())
                except Exception as error:  # noqa: BLE001 - context only
                    context = "; (no context: %r)" % error
            raise AssertionError("%s: not within %.0f s%s" % (what, timeout, context))
        time.sleep(interval)


def read_port_file(path):
    try:
        with open(path, encoding="ascii") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if text.endswith("\n") and text.strip().isdigit():
        return int(text.strip())
    return None


def tail(path, size=3000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------
# Test certificates (a throwaway CA and a 127.0.0.1 server certificate), made once per run

_CERTS = {}


def certificates():
    if not _CERTS:
        directory = tempfile.mkdtemp(prefix="identity-delivery-certs-")
        _CERTS["dir"] = directory
        subprocess.run(["sh", os.path.join(PEERS, "make_cert.sh"), directory], check=True, timeout=60,
                       stdin=subprocess.DEVNULL)
        _CERTS.update(ca=os.path.join(directory, "ca.pem"), cert=os.path.join(directory, "server.pem"),
                      key=os.path.join(directory, "server.key"))
    return _CERTS


def remove_certificates():
    if _CERTS.get("dir"):
        shutil.rmtree(_CERTS["dir"], ignore_errors=True)
        _CERTS.clear()


# ---------------------------------------------------------------------------------------------
# Peers: processes started here, stopped by their PID

RUNNING_PEERS = []


def stop_all_peers():
    for peer in list(RUNNING_PEERS):
        peer.stop()


atexit.register(stop_all_peers)
atexit.register(remove_certificates)


class Peer:
    """One peer process with a directory of its own; its stdout and stderr go to <workdir>/<name>/output.txt."""

    def __init__(self, name, workdir):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.output = os.path.join(self.dir, "output.txt")
        self.process = None

    def spawn(self, argv, ready, deadline):
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)
        RUNNING_PEERS.append(self)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError("%s exited with %d before it was ready: %s"
                                   % (self.name, self.process.returncode, tail(self.output)))
            value = ready()
            if value:
                return value
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s not ready within %.0f s: %s" % (self.name, deadline, tail(self.output)))

    def stop(self):
        """SIGTERM to our own child by PID; SIGKILL if it has not gone within 10 s."""
        if self in RUNNING_PEERS:
            RUNNING_PEERS.remove(self)
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SmtpPeer(Peer):
    """tests/peers/smtp_server.py: --mode starttls|implicit|plain, AUTH required with a user."""

    def __init__(self, workdir, mode="starttls", user=SMTP_USER, password=SMTP_PASSWORD, port=None,
                 name="smtp"):
        super().__init__(name, workdir)
        self.mode = mode
        self.port_file = os.path.join(self.dir, "port")
        self.out = os.path.join(self.dir, "messages")
        self.stats_file = os.path.join(self.dir, "stats.json")
        script = os.path.join(PEERS, "smtp_server.py")
        args = ["--port-file", self.port_file, "--mode", mode, "--out", self.out, "--stats", self.stats_file]
        if mode != "plain":
            certs = certificates()
            args += ["--cert", certs["cert"], "--key", certs["key"]]
        if user is not None:
            e2e.record_secret(password)
            args += ["--user", user, "--password", password]
        if port is not None:
            # A port fixed in advance: the host was configured before this server existed.
            args += ["--port", str(port)]
        self.argv = [PEER_PYTHON, script] + args
        self.port = None

    def start(self):
        self.port = self.spawn(self.argv, lambda: read_port_file(self.port_file), PEER_START_DEADLINE)
        return self

    def stats(self):
        with open(self.stats_file, encoding="utf-8") as f:
            return json.load(f)

    def messages(self):
        """Numbers of the stored messages (<n>.eml), in order."""
        try:
            names = os.listdir(self.out)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-4]) for n in names if n.endswith(".eml") and n[:-4].isdigit())

    def message(self, number):
        with open(os.path.join(self.out, "%d.eml" % number), "rb") as f:
            raw = f.read()
        with open(os.path.join(self.out, "%d.json" % number), encoding="utf-8") as f:
            envelope = json.load(f)
        return raw, envelope


class WebhookPeer(Peer):
    """tests/peers/webhook_receiver.py over HTTPS, answering by --script."""

    def __init__(self, workdir, script="200", retry_after="1"):
        super().__init__("webhook", workdir)
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "requests.jsonl")
        certs = certificates()
        self.argv = [PEER_PYTHON, os.path.join(PEERS, "webhook_receiver.py"), "--port-file", self.port_file,
                     "--cert", certs["cert"], "--key", certs["key"], "--script", script,
                     "--retry-after", str(retry_after), "--log", self.log]
        self.port = None

    def start(self):
        self.port = self.spawn(self.argv, lambda: read_port_file(self.port_file), PEER_START_DEADLINE)
        return self

    def requests(self):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().split(b"\n")[:-1]  # complete lines only
        except FileNotFoundError:
            return []
        return [json.loads(line.decode("utf-8")) for line in lines if line.strip()]


class KannelPeer(Peer):
    """tests/peers/kannel.py: the real bearerbox, smsbox and fakesmsc, on loopback."""

    def __init__(self, workdir, user=KANNEL_USER, password=KANNEL_PASSWORD):
        super().__init__("kannel", workdir)
        e2e.record_secret(password)
        self.port_file = os.path.join(self.dir, "ports.json")
        self.fakesmsc_log = os.path.join(self.dir, "fakesmsc.txt")
        self.argv = [PEER_PYTHON, os.path.join(PEERS, "kannel.py"), "--user", user, "--password", password,
                     "--fakesmsc-log", self.fakesmsc_log, "--port-file", self.port_file,
                     "--dir", os.path.join(self.dir, "kannel"), "--timeout", str(KANNEL_START_DEADLINE - 5)]
        self.ports = None

    def _ports(self):
        try:
            with open(self.port_file, encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def start(self):
        self.ports = self.spawn(self.argv, self._ports, KANNEL_START_DEADLINE)
        return self

    @property
    def sendsms_url(self):
        return "http://127.0.0.1:%d/cgi-bin/sendsms" % self.ports["sendsms_port"]

    def messages(self):
        """[(sender, to, text)] that reached the fake SMSC (the phone network), in order."""
        import fakesmsc_output
        try:
            return fakesmsc_output.read_messages(self.fakesmsc_log)
        except FileNotFoundError:
            return []

    def describe(self):
        kannel_dir = os.path.join(self.dir, "kannel")
        return "kannel.py: %s | smsbox access: %s" % (tail(self.output, 1500),
                                                      tail(os.path.join(kannel_dir, "smsbox-access.log"), 1500))


# ---------------------------------------------------------------------------------------------
# The host, with its outbox readable

class DeliveryHost(e2e.Host):
    @property
    def database(self):
        return os.path.join(self.tmp, "identity.db")

    def outbox(self):
        """Every outbox row, as dicts, oldest first (read-only connection)."""
        uri = "file:%s?mode=ro" % urllib.parse.quote(self.database)
        connection = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute("SELECT * FROM outbox ORDER BY created_at, rowid")]
        finally:
            connection.close()

    def outbox_row(self, message_id):
        for row in self.outbox():
            if row["id"] == message_id:
                return row
        return None


def smtp_defines(port, tls="starttls"):
    return {
        P + "email.notifier": "smtp",
        P + "email.smtp.host": "127.0.0.1",
        P + "email.smtp.port": str(port),
        P + "email.smtp.tls": tls,
        P + "email.smtp.username": SMTP_USER,
        P + "email.smtp.password": SMTP_PASSWORD,
        P + "email.smtp.ca_file": certificates()["ca"],
        P + "email.smtp.from": FROM_ADDRESS,
        P + "email.smtp.timeout_seconds": "5",
        P + "email.smtp.idle_seconds": "30",
    }


# ---------------------------------------------------------------------------------------------
# Test base: peers and one host per class

class DeliveryTestCase(e2e.HostTestCase):
    host_name = None
    fixed_host_port = False   # True when a peer must call the host back (Kannel's delivery reports)
    peers = ()
    work = None

    # -- class set-up

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="identity-delivery-%s-" % cls.host_name)
        cls.peers = []
        cls.host = None
        try:
            cls.start_peers()
            cls.host = DeliveryHost(cls.host_name, cls.defines_for(0))
            cls.create_users()
            cls.start_host()
        except BaseException:
            cls.cleanup_class()
            raise

    @classmethod
    def start_peers(cls):
        pass

    @classmethod
    def host_defines(cls, host_port):
        return {}

    @classmethod
    def defines_for(cls, host_port):
        defines = dict(COMMON_DEFINES)
        defines.update(cls.host_defines(host_port))
        if host_port:
            defines["server.port"] = str(host_port)
        return defines

    @classmethod
    def start_host(cls):
        attempts = 3 if cls.fixed_host_port else 1
        for attempt in range(1, attempts + 1):
            port = free_port() if cls.fixed_host_port else 0
            cls.host.extra_defines = cls.defines_for(port)
            try:
                cls.host.start()
            except RuntimeError:
                if attempt == attempts:
                    raise
                continue  # the port was taken meanwhile: another one
            if cls.fixed_host_port and cls.host.port != port:
                raise AssertionError("host listens on %d, not on the configured server.port %d"
                                     % (cls.host.port, port))
            return

    @classmethod
    def add_peer(cls, peer):
        cls.peers.append(peer)
        return peer.start()

    @classmethod
    def cleanup_class(cls):
        try:
            if cls.host is not None:
                cls.host.cleanup()
        finally:
            for peer in cls.peers:
                peer.stop()
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        code = None
        try:
            code, _ = cls.host.terminate()
        finally:
            cls.cleanup_class()
        if code != 0:
            raise AssertionError("%s: identity-host exited with %r after SIGTERM (expected 0 within %.0f s)"
                                 % (cls.host.name, code, e2e.STOP_DEADLINE))

    # -- helpers

    def host_log(self, size=3000):
        return tail(os.path.join(e2e.OPTIONS.log_dir, self.host.name + ".log"), size)

    def request_code(self, token, verify_opt, headers=None):
        """POST reauthenticate; asserts 200 {} and returns the id of the one outbox row it queued."""
        before = {row["id"] for row in self.host.outbox()}
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": verify_opt}, token=token,
                          headers=headers)
        self.assertEqual(self.assertOk(reply), {})
        new = [row for row in self.host.outbox() if row["id"] not in before]
        self.assertEqual(len(new), 1, "outbox rows queued by one request: %r" % new)
        return new[0]["id"]

    def wait_for_row(self, message_id, predicate, what, timeout=DELIVERY_DEADLINE):
        """Waits for the outbox row to satisfy predicate(row); returns the row."""
        state = {}

        def check():
            state["row"] = self.host.outbox_row(message_id)
            return state["row"] is not None and predicate(state["row"])

        wait_for(check, timeout, what, lambda: "row %r; host log: %s" % (
            {k: v for k, v in (state.get("row") or {}).items() if k not in ("payload",)}, self.host_log(1500)))
        return state["row"]

    def assertCodeWorksOnce(self, token, code):
        sudo = e2e.record_credentials(self.assertOk(
            self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token)))
        self.assertIsInstance(sudo.get("sudo_token"), str)
        self.assertError(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token),
                         400, 4002, "invalid_verification_code")


# ---------------------------------------------------------------------------------------------
# 1. Email through a real SMTP server that requires STARTTLS and AUTH

class SmtpStartTlsDeliveryTest(DeliveryTestCase):
    host_name = "delivery-smtp-starttls"
    PASSWORD = "Smtp-Us3r-Passw0rd!"
    EMAIL = "alice.smtp@example.com"

    @classmethod
    def start_peers(cls):
        cls.smtp = cls.add_peer(SmtpPeer(cls.work, mode="starttls"))

    @classmethod
    def host_defines(cls, host_port):
        return smtp_defines(cls.smtp.port, "starttls")

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("alice", cls.PASSWORD, cls.EMAIL)

    def setUp(self):
        if not hasattr(type(self), "token"):
            type(self).token = self.signin(self.PASSWORD, username="alice")["access_token"]

    def receive(self, token, headers=None):
        """Requests an email code; returns (message id, code, message, text, subject, raw, envelope)."""
        before = set(self.smtp.messages())
        message_id = self.request_code(token, "email_code", headers)
        new = wait_for(lambda: sorted(set(self.smtp.messages()) - before), DELIVERY_DEADLINE,
                       "a message stored by the SMTP server",
                       lambda: "stats %r; host log: %s" % (self.smtp.stats(), self.host_log(1500)))
        self.assertEqual(len(new), 1, "messages stored for one request: %r" % new)
        raw, envelope = self.smtp.message(new[0])
        message, text, subject = e2e.parse_mail(raw)
        self.assertIsNotNone(text, "no text/plain part in %r" % raw[:2000])
        return message_id, e2e.single_code(text), message, text, subject, raw, envelope

    def test_email_code_arrives_over_starttls_with_auth_and_works_once(self):
        message_id, code, message, text, subject, raw, envelope = self.receive(self.token)
        self.assertRegex(code, r"^[0-9]{6}$")

        # The SMTP transaction: after STARTTLS, authenticated, from the configured sender, to the user.
        self.assertTrue(envelope["tls"], "message not received under TLS: %r" % envelope)
        self.assertEqual(envelope["auth_login"], SMTP_USER)
        self.assertEqual(envelope["mail_from"], FROM_ADDRESS)
        self.assertEqual(envelope["rcpt_tos"], [self.EMAIL])
        stats = self.smtp.stats()
        self.assertGreaterEqual(stats["starttls"], 1, stats)
        self.assertGreaterEqual(stats["auth_successes"], 1, stats)
        self.assertEqual(stats["auth_failures"], 0, stats)

        # The message itself.
        for header in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
            self.assertTrue(message[header], "header %s missing in %r" % (header, raw[:2000]))
        self.assertEqual(email.utils.parseaddr(message["From"])[1], FROM_ADDRESS)
        self.assertEqual([address for _, address in email.utils.getaddresses(message.get_all("To", []))],
                         [self.EMAIL])
        self.assertIsNotNone(email.utils.parsedate_to_datetime(message["Date"]))
        self.assertRegex(message["Message-ID"].strip(), r"^<[^<>@\s]+@[^<>@\s]+>$")
        self.assertEqual(message.get_content_type(), "multipart/alternative")
        parts = [part for part in message.walk() if not part.is_multipart()]
        self.assertEqual(sorted(part.get_content_type() for part in parts), ["text/html", "text/plain"])
        text_part = next(part for part in parts if part.get_content_type() == "text/plain")
        self.assertEqual(text_part.get_content_charset(), "utf-8")
        self.assertIn(code, text)
        self.assertTrue(subject.strip())

        # Delivered, and scrubbed: no sealed code and no full address kept.
        row = self.wait_for_row(message_id, lambda r: r["status"] == "delivered", "outbox row delivered")
        self.assertIsNone(row["payload"])
        self.assertEqual(row["destination"], "")
        self.assertNotIn(self.EMAIL, row["destination_masked"])

        self.assertCodeWorksOnce(self.token, code)

    def test_chinese_subject_with_accept_language_zh(self):
        _, code, message, text, subject, raw, _ = self.receive(self.token, headers={"Accept-Language": "zh"})
        self.assertIn("验证码", subject)
        self.assertIn("验证码", text)
        self.assertIn(code, text)
        header_block = raw.split(b"\r\n\r\n", 1)[0]
        self.assertTrue(all(byte < 128 for byte in header_block), "raw 8-bit bytes in the mail headers")


# ---------------------------------------------------------------------------------------------
# 2. STARTTLS required, the server does not offer it: refused before AUTH, recorded as failed

class SmtpWithoutStartTlsTest(DeliveryTestCase):
    host_name = "delivery-smtp-no-starttls"
    PASSWORD = "N0-Tls-Passw0rd!"
    EMAIL = "bob.plain@example.com"

    @classmethod
    def start_peers(cls):
        cls.smtp = cls.add_peer(SmtpPeer(cls.work, mode="plain"))

    @classmethod
    def host_defines(cls, host_port):
        return smtp_defines(cls.smtp.port, "starttls")

    @classmethod
    def create_users(cls):
        cls.host.create_user("bob", cls.PASSWORD, cls.EMAIL)

    def test_server_without_starttls_is_refused_before_auth_and_recorded_failed(self):
        token = self.signin(self.PASSWORD, username="bob")["access_token"]
        message_id = self.request_code(token, "email_code")
        row = self.wait_for_row(message_id, lambda r: r["status"] not in ("pending", "sending"),
                                "outbox row final")
        self.assertEqual(row["status"], "failed", row["last_error"])
        self.assertIn("STARTTLS", row["last_error"].upper())
        self.assertEqual(row["attempts"], 1, "a permanent failure is not retried")
        self.assertIsNone(row["payload"])
        stats = self.smtp.stats()
        self.assertGreaterEqual(stats["connections"], 1, "the host never connected: %r" % stats)
        self.assertEqual(stats["auth_successes"] + stats["auth_failures"], 0,
                         "credentials were offered in clear text: %r" % stats)
        self.assertEqual(stats["messages"], 0, stats)
        self.assertEqual(self.smtp.messages(), [])


# ---------------------------------------------------------------------------------------------
# 3. SMS through the real Kannel gateway, with delivery reports back to the host

class KannelDeliveryTest(DeliveryTestCase):
    host_name = "delivery-kannel"
    fixed_host_port = True
    PASSWORD = "K4nnel-Us3r-Passw0rd!"
    PHONE = "+8613800138000"

    @classmethod
    def start_peers(cls):
        cls.kannel = cls.add_peer(KannelPeer(cls.work))

    @classmethod
    def host_defines(cls, host_port):
        return {
            P + "sms.notifier": "kannel",
            P + "sms.kannel.url": cls.kannel.sendsms_url,
            P + "sms.kannel.username": KANNEL_USER,
            P + "sms.kannel.password": KANNEL_PASSWORD,
            P + "sms.kannel.from": "Identity",
            P + "sms.kannel.dlr_url": "http://127.0.0.1:%d/hooks/kannel/dlr" % host_port,
            P + "sms.kannel.dlr_mask": "3",
        }

    @classmethod
    def create_users(cls):
        cls.host.create_user("carol", cls.PASSWORD, phone=cls.PHONE)

    def setUp(self):
        if not hasattr(type(self), "token"):
            type(self).token = self.signin(self.PASSWORD, username="carol")["access_token"]

    def receive(self, headers=None):
        """Requests a phone code; returns (message id, text as the phone network got it)."""
        before = len(self.kannel.messages())
        message_id = self.request_code(self.token, "phone_code", headers)
        messages = wait_for(lambda: self.kannel.messages()[before:], DELIVERY_DEADLINE,
                            "a message at the fake SMSC",
                            lambda: "%s; host log: %s" % (self.kannel.describe(), self.host_log(1500)))
        self.assertEqual(len(messages), 1, "messages for one request: %r" % messages)
        _, to, text = messages[0]
        self.assertEqual(to, self.PHONE)
        return message_id, text

    def test_phone_code_reaches_the_phone_and_the_delivery_report_says_delivered(self):
        message_id, text = self.receive()
        code = e2e.single_code(text)
        row = self.wait_for_row(message_id, lambda r: r["status"] == "delivered", "outbox row delivered")
        self.assertIsNone(row["payload"])
        # Kannel's report (dlr-mask 3; the fake SMSC reports "delivered to phone") calls the host back.
        row = self.wait_for_row(message_id, lambda r: r["report"] == "delivered",
                                "delivery report 'delivered' recorded")
        self.assertIsNotNone(row["reported_at"])
        self.assertCodeWorksOnce(self.token, code)

    def reported_urls(self, message_id):
        """The report URLs Kannel called for the message, as its smsbox logged them."""
        log = os.path.join(self.kannel.dir, "kannel", "smsbox.log")
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return re.findall(r"/hooks/kannel/dlr\?id=%s&[^\s'\"<>]*" % re.escape(message_id), text)

    def test_real_report_carries_a_nonce_and_a_replay_or_forged_status_changes_nothing(self):
        message_id, _ = self.receive()
        row = self.wait_for_row(message_id, lambda r: r["report"] == "delivered", "delivery report recorded")
        self.assertEqual(row["reports_seen"], 1)
        urls = wait_for(lambda: self.reported_urls(message_id), DELIVERY_DEADLINE, "the report URL in smsbox.log",
                        lambda: self.kannel.describe())
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(urls[0]).query, keep_blank_values=True))
        self.assertEqual(set(query), {"id", "nonce", "sig", "status"}, urls[0])
        self.assertEqual(query["status"], "1", urls[0])
        self.assertRegex(query["nonce"], r"^[0-9a-f]{32}$")
        # The row keeps the hash of the accepted report's nonce, not the nonce.
        self.assertEqual(row["report_nonce"], hashlib.sha256(query["nonce"].encode()).hexdigest())
        recorded = {key: row[key] for key in ("report", "reported_at", "report_nonce", "reports_seen")}

        # Someone who saw the URL sends it again, as it was and with a final status of their choosing:
        # answered like a report, recorded nowhere.
        for status in ("1", "2", "16", "4"):
            reply = self.call("GET", "/hooks/kannel/dlr?" + urllib.parse.urlencode(dict(query, status=status)))
            self.assertEqual(self.assertOk(reply), {})
        for status in ("-1", "0", "32", "1x"):
            reply = self.call("GET", "/hooks/kannel/dlr?" + urllib.parse.urlencode(dict(query, status=status)))
            self.assertError(reply, 400, 4001)
        forged = dict(query, sig=("0" if query["sig"][0] != "0" else "1") + query["sig"][1:], status="2")
        self.assertError(self.call("GET", "/hooks/kannel/dlr?" + urllib.parse.urlencode(forged)), 403, 4030)
        row = self.host.outbox_row(message_id)
        self.assertEqual({key: row[key] for key in recorded}, recorded)

    def test_chinese_sms_text_arrives_intact(self):
        message_id, text = self.receive(headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        code = e2e.single_code(text)
        self.assertIn("验证码", text)
        self.assertIn("分钟", text)
        self.assertIn("Identity", text)
        self.assertNotIn("?", text, "characters lost on the way: %r" % text)
        self.assertNotIn("\ufffd", text, "characters lost on the way: %r" % text)
        self.assertEqual(self.host.outbox_row(message_id)["locale"], "zh")
        self.wait_for_row(message_id, lambda r: r["report"] == "delivered", "delivery report recorded")
        self.assertCodeWorksOnce(self.token, code)


# ---------------------------------------------------------------------------------------------
# 4. SMTP down when the code is requested, back 5 s later: delivered once, in time

class SmtpBackAfterOutageTest(DeliveryTestCase):
    host_name = "delivery-smtp-outage"
    PASSWORD = "0utage-Passw0rd!"
    EMAIL = "dora.outage@example.com"
    CODE_TTL = 300

    @classmethod
    def start_peers(cls):
        cls.smtp_port = free_port()  # nothing listens there yet: connections are refused

    @classmethod
    def host_defines(cls, host_port):
        defines = smtp_defines(cls.smtp_port, "starttls")
        defines[P + "code_ttl"] = str(cls.CODE_TTL)
        return defines

    @classmethod
    def create_users(cls):
        cls.host.create_user("dora", cls.PASSWORD, cls.EMAIL)

    def test_message_queued_while_smtp_is_down_is_delivered_once_when_it_is_back(self):
        token = self.signin(self.PASSWORD, username="dora")["access_token"]
        requested = time.monotonic()
        message_id = self.request_code(token, "email_code")
        self.assertLess(time.monotonic() - requested, 5.0, "the request waited for the SMTP server")

        # The host tried, failed transiently and keeps the message.
        row = self.wait_for_row(message_id, lambda r: r["attempts"] >= 1 and r["last_error"], "a failed attempt")
        self.assertIn(row["status"], ("pending", "sending"), row["last_error"])

        # The server comes back 5 s after the request, on the configured port.
        time.sleep(max(0.0, requested + 5.0 - time.monotonic()))
        smtp = SmtpPeer(self.work, mode="starttls", port=self.smtp_port, name="smtp-late")
        self.peers.append(smtp)
        smtp.start()
        self.assertEqual(smtp.port, self.smtp_port)

        numbers = wait_for(smtp.messages, DELIVERY_DEADLINE, "the message after the outage",
                           lambda: "stats %r; host log: %s" % (smtp.stats(), self.host_log(1500)))
        arrived = time.monotonic()
        self.assertLess(arrived - requested, self.CODE_TTL, "delivered after the code's lifetime")
        row = self.wait_for_row(message_id, lambda r: r["status"] == "delivered", "outbox row delivered")
        self.assertGreaterEqual(row["attempts"], 2, "no retry recorded: %r" % row["attempts"])

        # Exactly once: nothing more comes in (watched for longer than the retry ceiling).
        time.sleep(QUIET_PERIOD)
        self.assertEqual(smtp.messages(), numbers[:1])
        self.assertEqual(len(numbers), 1)
        self.assertEqual(smtp.stats()["messages"], 1, smtp.stats())

        raw, envelope = smtp.message(numbers[0])
        self.assertEqual(envelope["rcpt_tos"], [self.EMAIL])
        self.assertTrue(envelope["tls"])
        _, text, _ = e2e.parse_mail(raw)
        self.assertCodeWorksOnce(token, e2e.single_code(text))
        smtp.stop()


# ---------------------------------------------------------------------------------------------
# 4b. The operator sees the message stuck behind a down SMTP server (`outbox list`), and once the
#     server is back sends it at once (`outbox retry`) instead of after its backoff

class OutboxCommandsTest(DeliveryTestCase):
    host_name = "delivery-outbox-commands"
    PASSWORD = "0utb0x-Passw0rd!"
    EMAIL = "olga.outbox@example.com"
    BACKOFF_LEFT = 10  # seconds the message must still have to wait when the server comes back

    @classmethod
    def start_peers(cls):
        cls.smtp_port = free_port()  # nothing listens there yet: connections are refused

    @classmethod
    def host_defines(cls, host_port):
        defines = smtp_defines(cls.smtp_port, "starttls")
        defines[P + "delivery.max_backoff_seconds"] = "3600"  # 1, 2, 4, 8, 16 s … between attempts
        return defines

    @classmethod
    def create_users(cls):
        cls.host.create_user("olga", cls.PASSWORD, cls.EMAIL)

    def command(self, *args):
        done = subprocess.run(self.host.command(self.host.name + "-cli", *args), cwd=self.host.tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")

    @staticmethod
    def epoch(iso):
        return time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone

    def listed(self, message_id):
        code, out, err = self.command("outbox", "list")
        self.assertEqual(code, 0, err)
        rows = [r for r in json.loads(out) if r["id"] == message_id]
        return rows[0] if rows else None

    def test_outbox_list_shows_the_stuck_message_and_retry_sends_it_once_the_server_is_back(self):
        token = self.signin(self.PASSWORD, username="olga")["access_token"]
        message_id = self.request_code(token, "email_code")
        # Failed attempts back off until the next one is far enough away to tell a retry from it.
        state = {}

        def backed_off():
            state["row"] = self.listed(message_id)
            return (state["row"] is not None and state["row"]["last_error"]
                    and self.epoch(state["row"]["next_attempt_at"]) - time.time() >= self.BACKOFF_LEFT)
        wait_for(backed_off, 60, "the message backed off for %d s" % self.BACKOFF_LEFT, lambda: repr(state),
                 interval=0.5)
        row = state["row"]
        self.assertEqual(row["status"], "pending")
        self.assertEqual(row["kind"], "code")
        self.assertEqual(row["channel"], "email")
        self.assertEqual(row["destination"], "o***@example.com")
        self.assertGreaterEqual(row["attempts"], 4)
        code, out, _ = self.command("outbox", "list", "--status=all")
        self.assertEqual(code, 0)
        self.assertNotIn(self.EMAIL, out)  # masked, and never the code: it is only in the sealed payload
        code, table, _ = self.command("outbox", "list", "--format=table")
        self.assertEqual(code, 0)
        self.assertEqual(table.splitlines()[0].split()[:3], ["ID", "KIND", "USER_ID"])
        self.assertIn(message_id, table)
        self.assertEqual(self.command("outbox", "list", "--status=nonsense")[0], 64)
        scheduled = self.epoch(row["next_attempt_at"])

        smtp = SmtpPeer(self.work, mode="starttls", port=self.smtp_port, name="smtp-retry")
        self.peers.append(smtp)
        smtp.start()
        code, out, err = self.command("outbox", "retry", "--id=" + message_id)
        self.assertEqual(code, 0, err)
        self.assertEqual([r["id"] for r in json.loads(out)], [message_id])
        wait_for(smtp.messages, scheduled - time.time() - 2, "the retried message before its backoff ended",
                 lambda: "stats %r; host log: %s" % (smtp.stats(), self.host_log(1500)))
        self.assertLess(time.time(), scheduled, "sent by its own backoff, not by the retry")
        self.wait_for_row(message_id, lambda r: r["status"] == "delivered", "outbox row delivered")
        raw, _ = smtp.message(smtp.messages()[0])
        self.assertCodeWorksOnce(token, e2e.single_code(e2e.parse_mail(raw)[1]))
        # Delivered: nothing left to retry, and the command says why.
        code, _, err = self.command("outbox", "retry", "--id=" + message_id)
        self.assertEqual(code, 65)  # EX_DATAERR: the command was right, the message is not pending
        self.assertIn("delivered", err)
        self.assertEqual(self.command("outbox", "retry", "--id=nothing-has-this-id")[0], 65)
        self.assertEqual(self.command("outbox", "retry", "--status=all")[0], 64)  # not an option of retry
        smtp.stop()


# ---------------------------------------------------------------------------------------------
# 5. SMTP down for longer than the code lives: never sent, recorded as expired (~65 s)

class SmtpDownPastLifetimeTest(DeliveryTestCase):
    host_name = "delivery-smtp-expired"
    PASSWORD = "Exp1red-Passw0rd!"
    EMAIL = "eve.expired@example.com"
    CODE_TTL = 60  # the smallest lifetime allowed

    @classmethod
    def start_peers(cls):
        cls.smtp_port = free_port()

    @classmethod
    def host_defines(cls, host_port):
        defines = smtp_defines(cls.smtp_port, "starttls")
        defines[P + "code_ttl"] = str(cls.CODE_TTL)
        return defines

    @classmethod
    def create_users(cls):
        cls.host.create_user("eve", cls.PASSWORD, cls.EMAIL)

    def test_message_whose_code_expired_is_never_sent(self):
        token = self.signin(self.PASSWORD, username="eve")["access_token"]
        requested = time.monotonic()
        message_id = self.request_code(token, "email_code")
        row = self.host.outbox_row(message_id)
        self.assertEqual(row["expires_at"] - row["created_at"], self.CODE_TTL)

        row = self.wait_for_row(message_id, lambda r: r["status"] not in ("pending", "sending"),
                                "outbox row final", timeout=self.CODE_TTL + 15)
        self.assertEqual(row["status"], "expired", row["last_error"])
        self.assertGreater(time.monotonic() - requested, self.CODE_TTL - 2, "given up before the code expired")
        self.assertGreaterEqual(row["attempts"], 3, "not retried while the code lived")
        self.assertIsNone(row["payload"])
        self.assertEqual(row["destination"], "")

        # The server comes up after the expiry: the host must not send the stale code.
        smtp = SmtpPeer(self.work, mode="starttls", port=self.smtp_port, name="smtp-after-expiry")
        self.peers.append(smtp)
        smtp.start()
        time.sleep(QUIET_PERIOD)
        stats = smtp.stats()
        self.assertEqual(stats["messages"], 0, stats)
        self.assertEqual(stats["connections"], 0, "the host still tries to deliver: %r" % stats)
        self.assertEqual(smtp.messages(), [])
        self.assertEqual(self.host.outbox_row(message_id)["status"], "expired")
        smtp.stop()


# ---------------------------------------------------------------------------------------------
# 6. Webhooks, signed as Standard Webhooks specify and verified with its reference library

def verify_webhooks(peer, secrets_known):
    """{request number: verified?} for the POSTs `peer` answered 200, by the `standardwebhooks` npm
    package (tests/webhooks) with the secrets a receiver knows."""
    argv = ["node", os.path.join(ROOT, "tests", "webhooks", "verify.mjs"), "--log", peer.log]
    for secret in secrets_known:
        argv += ["--secret", secret]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if done.returncode != 0:
        raise AssertionError("verify.mjs failed: %s" % done.stderr.decode("utf-8", "replace")[-2000:])
    return {r["n"]: r["verified"] for r in map(json.loads, done.stdout.decode("utf-8").splitlines())}


def new_whsec():
    """A new Standard Webhooks secret (recorded for the log hygiene check by the test that uses it)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookRetryTest(DeliveryTestCase):
    """SMS by webhook, the receiver answering 503, 503, then 200; the host mid-rotation (a secret and a
    previous one)."""
    host_name = "delivery-webhook"
    PASSWORD = "W3bhook-Passw0rd!"
    PHONE = "+8613500135000"
    SECRET = new_whsec()
    PREVIOUS = new_whsec()

    @classmethod
    def start_peers(cls):
        e2e.record_secret(cls.SECRET, cls.PREVIOUS)
        cls.webhook = cls.add_peer(WebhookPeer(cls.work, script="503,503,200", retry_after="1"))

    @classmethod
    def host_defines(cls, host_port):
        return {
            P + "sms.notifier": "webhook",
            P + "sms.webhook.url": "https://127.0.0.1:%d/sms" % cls.webhook.port,
            P + "sms.webhook.secret": cls.SECRET,
            P + "sms.webhook.previous_secrets[0]": cls.PREVIOUS,
            P + "sms.webhook.ca_file": certificates()["ca"],
        }

    @classmethod
    def create_users(cls):
        cls.host.create_user("frank", cls.PASSWORD, phone=cls.PHONE)

    def test_webhook_503_twice_then_200_delivers_once_verified_by_the_standard_webhooks_library(self):
        token = self.signin(self.PASSWORD, username="frank")["access_token"]
        message_id = self.request_code(token, "phone_code")
        wait_for(lambda: any(r["status_sent"] == 200 for r in self.webhook.requests()), DELIVERY_DEADLINE,
                 "a request answered 200 by the webhook receiver",
                 lambda: "requests %r; host log: %s" % ([r["status_sent"] for r in self.webhook.requests()],
                                                         self.host_log(1500)))
        row = self.wait_for_row(message_id, lambda r: r["status"] == "delivered", "outbox row delivered")
        self.assertEqual(row["attempts"], 3)

        time.sleep(QUIET_PERIOD)  # nothing more may come
        requests = self.webhook.requests()
        self.assertEqual([r["status_sent"] for r in requests], [503, 503, 200])
        for request in requests:
            self.assertEqual(request["method"], "POST")
            self.assertEqual(request["path"], "/sms")
            self.assertEqual(request["headers"].get("webhook-id"), message_id)  # the receiver de-duplicates by it
        delivered = requests[-1]
        headers = delivered["headers"]
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        self.assertLessEqual(abs(time.time() - int(headers["webhook-timestamp"])), 300)
        self.assertEqual(len(headers["webhook-signature"].split(" ")), 2)  # one per secret

        # A receiver that has moved to the new secret accepts it, one still on the previous one too; one
        # with any other secret refuses it.
        n = delivered["n"]
        self.assertEqual(verify_webhooks(self.webhook, [self.SECRET]), {n: True})
        self.assertEqual(verify_webhooks(self.webhook, [self.PREVIOUS]), {n: True})
        self.assertEqual(verify_webhooks(self.webhook, [new_whsec()]), {n: False})

        body = json.loads(base64.b64decode(delivered["body_b64"]).decode("utf-8"))
        self.assertEqual(set(body), {"type", "timestamp", "data"})
        self.assertEqual(body["type"], "sms.message")
        data = body["data"]
        self.assertEqual(set(data), {"id", "channel", "to", "text", "locale"})
        self.assertEqual((data["id"], data["channel"], data["to"], data["locale"]), (message_id, "sms", self.PHONE, "en"))
        self.assertCodeWorksOnce(token, e2e.single_code(data["text"]))


class WebhookEmailTest(DeliveryTestCase):
    """Email by webhook, after a rotation has ended: the previous secret is gone from the host."""
    host_name = "delivery-webhook-email"
    PASSWORD = "W3bhook-Passw0rd!"
    EMAIL = "grace@example.com"
    SECRET = new_whsec()
    ROTATED_AWAY = new_whsec()

    @classmethod
    def start_peers(cls):
        e2e.record_secret(cls.SECRET, cls.ROTATED_AWAY)
        cls.webhook = cls.add_peer(WebhookPeer(cls.work))

    @classmethod
    def host_defines(cls, host_port):
        return {
            P + "email.notifier": "webhook",
            P + "email.webhook.url": "https://127.0.0.1:%d/email" % cls.webhook.port,
            P + "email.webhook.secret": cls.SECRET,
            P + "email.webhook.ca_file": certificates()["ca"],
        }

    @classmethod
    def create_users(cls):
        cls.host.create_user("grace", cls.PASSWORD, email_address=cls.EMAIL)

    def test_email_webhook_verifies_with_the_secret_and_not_with_one_rotated_away(self):
        token = self.signin(self.PASSWORD, username="grace")["access_token"]
        message_id = self.request_code(token, "email_code")
        wait_for(lambda: any(r["status_sent"] == 200 for r in self.webhook.requests()), DELIVERY_DEADLINE,
                 "the email webhook", lambda: "host log: %s" % self.host_log(1500))
        delivered = self.webhook.requests()[-1]
        self.assertEqual(delivered["path"], "/email")
        n = delivered["n"]
        self.assertEqual(verify_webhooks(self.webhook, [self.SECRET]), {n: True})
        self.assertEqual(verify_webhooks(self.webhook, [self.ROTATED_AWAY]), {n: False})
        # Tampered: the same signature over another body is refused.
        tampered = os.path.join(self.work, "tampered.jsonl")
        with open(self.webhook.log, encoding="utf-8") as f:
            request = json.loads(f.read().splitlines()[-1])
        request["body_b64"] = base64.b64encode(base64.b64decode(request["body_b64"]).replace(b"email", b"emai1")).decode()
        with open(tampered, "w", encoding="utf-8") as f:
            f.write(json.dumps(request) + "\n")
        self.assertEqual(verify_webhooks(type("Log", (), {"log": tampered}), [self.SECRET]), {n: False})

        body = json.loads(base64.b64decode(delivered["body_b64"]).decode("utf-8"))
        self.assertEqual(body["type"], "email.message")
        data = body["data"]
        self.assertEqual(set(data), {"id", "channel", "to", "subject", "text", "html", "locale"})
        self.assertEqual((data["id"], data["channel"], data["to"]), (message_id, "email", self.EMAIL))
        self.assertTrue(data["subject"])
        code = e2e.single_code(data["text"])
        self.assertIn(code, data["html"])
        self.assertCodeWorksOnce(token, code)


# ---------------------------------------------------------------------------------------------

def main(argv):
    options, rest = e2e.parse_arguments(argv[1:])
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    def stop_peers():
        stop_all_peers()
        remove_certificates()

    return e2e.run_module(sys.modules[__name__], argv, rest, cleanup=stop_peers)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
