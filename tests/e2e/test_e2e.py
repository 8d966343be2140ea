#!/usr/bin/env python3
"""Scripted end-to-end tests of identity-host with the reauthenticate plugin.

Each test class starts its own host process in a fresh temporary directory (SQLite database,
generated secrets, maildir and SMS log of its own) and talks HTTP to it, the way an application
or the official CloudBase client (@cloudbase/oauth) would.

    python3 test_e2e.py --host-binary build/bin/identity-host \
        --manifest build/plugins/reauthenticate/plugin.json \
        --config config/dev.json --log-dir build/e2e-logs [unittest options, e.g. -k Seed]

Server logs go to <log-dir>/<name>.log (JSON lines); every secret a test saw (passwords,
tokens, codes, email addresses, phone numbers) is appended to <log-dir>/secrets.txt for
check_log_hygiene.py. Only the Python 3 standard library is used.
"""

import argparse
import base64
import email
import email.header
import email.utils
import hashlib
import hmac
import http.client
import io
import json
import mailbox
import os
import re
import secrets as secrets_module
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

OPTIONS = None  # the parsed command line, set by main()

START_DEADLINE = 20.0      # seconds for the host to write its port file
DELIVERY_DEADLINE = 15.0   # seconds for a queued message to reach the maildir / sms.log
TIME_SCALE = float(os.environ.get("IDENTITY_TEST_TIME_SCALE", "1"))  # scripts/sanitize stretches waits
STOP_DEADLINE = 5.0        # seconds for the host to exit after SIGTERM
CODE_PATTERN = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")

SEED_4001 = {
    "error": "invalid_argument",
    "error_code": 4001,
    "error_description": "Invalid verification method, please use phone_code or email_code",
}
SEED_4001_ZH = "验证方式错误,请使用 phone_code 或 email_code"

# Limits off where a class sends several codes to one user (0 means "no limit", SPEC 6a).
NO_SEND_LIMITS = {
    "plugins.reauthenticate.config.limits.cooldown_seconds": "0",
    "plugins.reauthenticate.config.limits.per_user_per_hour": "0",
    "plugins.reauthenticate.config.limits.per_ip_per_hour": "0",
    "plugins.reauthenticate.config.limits.per_destination_per_hour": "0",
}


# ---------------------------------------------------------------------------------------------
# Secrets seen by the tests, for the log hygiene check.

def record_secret(*values):
    """Appends each secret (one per line) to <log-dir>/secrets.txt."""
    os.makedirs(OPTIONS.log_dir, exist_ok=True)
    with open(os.path.join(OPTIONS.log_dir, "secrets.txt"), "a", encoding="utf-8") as out:
        for value in values:
            if value is None:
                continue
            value = str(value)
            if value and "\n" not in value:
                out.write(value + "\n")


def record_credentials(body):
    """Records the tokens of a signin/token/sudo response body and returns it."""
    if isinstance(body, dict):
        record_secret(*(body.get(key) for key in ("access_token", "refresh_token", "sudo_token")))
    return body


# ---------------------------------------------------------------------------------------------
# HTTP

class Reply:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.raw[:300])


# ---------------------------------------------------------------------------------------------
# The host process

class Host:
    """One identity-host process with its own temporary directory."""

    def __init__(self, name, defines=None):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="identity-e2e-%s-" % name)
        self.maildir = os.path.join(self.tmp, "mail")
        self.sms_log = os.path.join(self.tmp, "sms.log")
        self.port_file = os.path.join(self.tmp, "port")
        self.extra_defines = dict(defines or {})
        self.process = None
        self.port = None
        self.stderr_file = None
        os.makedirs(OPTIONS.log_dir, exist_ok=True)

    # -- configuration

    def define_args(self, log_name):
        defines = {
            "server.port": "0",
            "server.port_file": self.port_file,
            "logging.file": os.path.join(OPTIONS.log_dir, log_name + ".log"),
            "storage.url": "sqlite:" + os.path.join(self.tmp, "identity.db"),
            "secrets.file": os.path.join(self.tmp, "secrets.json"),
            "plugins.reauthenticate.manifest": OPTIONS.manifest,
            "plugins.reauthenticate.config.email.maildir.path": self.maildir,
            "plugins.reauthenticate.config.sms.log.path": self.sms_log,
            # The tests sign in from 127.0.0.1 far faster than a client would: the per-address sign-in
            # throttle is off unless a class turns it on (test_abuse.py's sign-in flood does).
            "passwords.signins_per_minute": "0",
        }
        defines.update(self.extra_defines)
        return ["--config=" + OPTIONS.config] + ["--define=%s=%s" % item for item in defines.items()]

    def command(self, log_name, *args):
        return [OPTIONS.host_binary] + self.define_args(log_name) + list(args)

    def environment(self, log_name):
        """The environment of the host's processes (None: this process's)."""
        return None

    # -- users

    def create_user(self, username, password, email_address=None, phone=None, locale=None):
        args = ["user", "create", "--username=" + username, "--password=" + password]
        if email_address:
            args.append("--email=" + email_address)
        if phone:
            args.append("--phone=" + phone)
        if locale:
            args.append("--locale=" + locale)
        record_secret(password, email_address, phone)
        done = subprocess.run(self.command(self.name + "-cli", *args), cwd=self.tmp, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60, env=self.environment(self.name + "-cli"))
        if done.returncode != 0:
            raise RuntimeError("user create %s failed (%d): %s" % (username, done.returncode,
                                                                  done.stderr.decode("utf-8", "replace")[-2000:]))
        return json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])["sub"]

    # -- process

    def start(self):
        if os.path.exists(self.port_file):
            os.remove(self.port_file)
        self.stderr_file = open(os.path.join(OPTIONS.log_dir, self.name + ".stderr.log"), "ab")
        self.process = subprocess.Popen(self.command(self.name), cwd=self.tmp, stdin=subprocess.DEVNULL,
                                        stdout=self.stderr_file, stderr=self.stderr_file,
                                        env=self.environment(self.name))
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("%s: identity-host exited with %d before listening; see %s" %
                                   (self.name, self.process.returncode, self.stderr_file.name))
            try:
                with open(self.port_file, encoding="ascii") as f:
                    text = f.read()
                if text.endswith("\n") and text.strip().isdigit():
                    self.port = int(text.strip())
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("%s: no port file after %.0f s" % (self.name, START_DEADLINE))

    def terminate(self, deadline=STOP_DEADLINE):
        """SIGTERM; returns (exit code or None when still running at the deadline, seconds taken)."""
        if self.process is None or self.process.poll() is not None:
            return (self.process.returncode if self.process else None), 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - started

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cleanup(self):
        self.kill()
        if self.stderr_file:
            self.stderr_file.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP

    def request(self, method, path, body=None, token=None, headers=None, content_type="application/json",
                raw_body=None, timeout=30):
        """Sends one request on a fresh connection. body: dict (sent as JSON) or None; raw_body: bytes."""
        all_headers = {}
        data = raw_body
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if data is not None and content_type:
            all_headers["Content-Type"] = content_type
        if token is not None:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def raw_exchange(self, head, pieces, timeout=10):
        """Writes a request head and body pieces on a raw socket, as a client that keeps sending
        while the server answers early would; a failed send does not stop it from reading the
        response, as a browser would. Returns the Reply, or raises with what the socket did."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        send_error = None
        received = b""
        try:
            try:
                sock.sendall(head)
                for piece in pieces:
                    sock.sendall(piece)
            except OSError as error:
                send_error = error
            try:
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    received += data
                    if b"\r\n\r\n" in received:
                        head_part, _, rest = received.partition(b"\r\n\r\n")
                        match = re.search(rb"(?im)^content-length:\s*([0-9]+)", head_part)
                        if match and len(rest) >= int(match.group(1)):
                            break
            except OSError as error:
                if not received:
                    raise ConnectionError("no response: sending stopped with %r, reading with %r"
                                          % (send_error, error)) from error
        finally:
            sock.close()

        class Replay:
            def makefile(self, *args, **kwargs):
                return io.BytesIO(received)

        response = http.client.HTTPResponse(Replay())
        response.begin()
        return Reply(response.status, response.headers, response.read())

    def signin(self, password, **login):
        body = dict(login)
        body["password"] = password
        return self.request("POST", "/auth/v1/signin", body)

    # -- delivered messages

    def mail_files(self):
        try:
            return set(os.listdir(os.path.join(self.maildir, "new")))
        except FileNotFoundError:
            return set()

    def wait_for_mail(self, before):
        """Waits for one message in the Maildir's new/ that was not in `before`; returns its bytes."""
        deadline = time.monotonic() + DELIVERY_DEADLINE
        while time.monotonic() < deadline:
            new = sorted(self.mail_files() - before)
            if new:
                with open(os.path.join(self.maildir, "new", new[0]), "rb") as f:
                    return f.read()
            time.sleep(0.05)
        raise AssertionError("no message in %s within %.0f s" % (self.maildir, DELIVERY_DEADLINE))

    def sms_lines(self):
        try:
            with open(self.sms_log, "rb") as f:
                return f.read().split(b"\n")[:-1]  # complete lines only
        except FileNotFoundError:
            return []

    def wait_for_sms(self, before_count):
        deadline = time.monotonic() + DELIVERY_DEADLINE
        while time.monotonic() < deadline:
            lines = self.sms_lines()
            if len(lines) > before_count:
                return json.loads(lines[before_count].decode("utf-8"))
            time.sleep(0.05)
        raise AssertionError("no line added to %s within %.0f s" % (self.sms_log, DELIVERY_DEADLINE))


def wait_for(predicate, timeout, what, interval=0.05):
    """Waits until predicate() is true; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def single_code(text):
    codes = set(CODE_PATTERN.findall(text))
    if len(codes) != 1:
        raise AssertionError("expected exactly one 6-digit code in the message, found %r in %r" % (codes, text))
    code = codes.pop()
    record_secret(code)
    return code


def parse_mail(raw):
    """Returns (message, text part as str, decoded subject)."""
    message = email.message_from_bytes(raw)
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"] or "")))
    text = None
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            charset = part.get_content_charset() or "us-ascii"
            text = part.get_payload(decode=True).decode(charset)
            break
    return message, text, subject


def none_token(real_token, alg="none", keep_signature=False):
    """An unsigned token (alg none) carrying a real token's payload."""
    header, payload, signature = real_token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"alg": alg, "typ": "JWT"}).encode()).rstrip(b"=").decode()
    return forged + "." + payload + "." + (signature if keep_signature else "")


class EnvironmentHost(Host):
    """A host configured as a container or a systemd unit would be: a configuration file of `{}`, every
    setting from IDENTITY_* variables, every secret from a file (file:PATH)."""

    def __init__(self, name, defines=None):
        super().__init__(name, defines)
        self.config_file = os.path.join(self.tmp, "empty.json")
        with open(self.config_file, "w", encoding="utf-8") as f:
            f.write("{}\n")
        self.credentials = os.path.join(self.tmp, "credentials")  # as systemd's LoadCredential= lays them out
        os.makedirs(self.credentials, mode=0o700)
        self.secrets = {}
        for key, name in (("tokens.secret", "token-key"), ("admin.token", "admin-token"),
                          ("passwords.record_key", "record-key"),
                          ("plugins.reauthenticate.config.pepper", "pepper"),
                          ("plugins.reauthenticate.config.outbox_key", "outbox-key")):
            value = secrets_module.token_hex(32)
            record_secret(value)
            path = os.path.join(self.credentials, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400), "w", encoding="ascii") as f:
                f.write(value + "\n")
            self.secrets[key] = (path, value)

    @staticmethod
    def variable(key):
        name = key.replace(".", "__")
        name = re.sub(r"\[(\d+)\]", r"__\1", name)
        return "IDENTITY_" + name.upper()

    def command(self, log_name, *args):
        return [OPTIONS.host_binary, "--config=" + self.config_file] + list(args)

    def environment(self, log_name):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
        defines = dict(arg[len("--define="):].split("=", 1) for arg in self.define_args(log_name)
                       if arg.startswith("--define="))
        for key, value in defines.items():
            environment[self.variable(key)] = value
        for key, (path, _) in self.secrets.items():
            environment[self.variable(key)] = "file:" + path
        return environment


# ---------------------------------------------------------------------------------------------
# Test bases

class HostTestCase(unittest.TestCase):
    """One host per class: started in setUpClass, stopped by SIGTERM in tearDownClass (exit 0)."""

    host_name = None
    host_class = Host
    defines = {}
    host = None

    @classmethod
    def setUpClass(cls):
        cls.host = cls.host_class(cls.host_name or cls.__name__, cls.defines)
        try:
            cls.create_users()
            cls.host.start()
        except BaseException:
            cls.host.cleanup()
            raise

    @classmethod
    def create_users(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        try:
            code, _ = cls.host.terminate()
        finally:
            cls.host.cleanup()
        if code != 0:
            raise AssertionError("%s: identity-host exited with %r after SIGTERM (expected 0 within %.0f s)"
                                 % (cls.host.name, code, STOP_DEADLINE))

    # -- helpers

    def call(self, method, path, **kwargs):
        reply = self.host.request(method, path, **kwargs)
        self.assertCommonHeaders(reply, kwargs.get("headers"))
        return reply

    def assertCommonHeaders(self, reply, sent_headers=None):
        self.assertEqual(reply.header("Cache-Control"), "no-store", "Cache-Control of %r" % reply)
        request_id = reply.header("X-Request-Id")
        self.assertTrue(request_id, "X-Request-Id missing from %r" % reply)
        for name, value in (sent_headers or {}).items():
            if name.lower() == "x-request-id":
                self.assertEqual(request_id, value)

    def assertOk(self, reply, status=200):
        self.assertEqual(reply.status, status, "unexpected reply %r" % reply)
        self.assertTrue((reply.header("Content-Type") or "").startswith("application/json"), reply.header("Content-Type"))
        self.assertIsInstance(reply.json, dict, "body %r" % reply.raw)
        return reply.json

    def assertError(self, reply, status, error_code, error=None):
        self.assertEqual(reply.status, status, "unexpected reply %r" % reply)
        self.assertIsInstance(reply.json, dict, "error body is not JSON: %r" % reply.raw)
        self.assertEqual(set(reply.json), {"error", "error_code", "error_description"}, reply.json)
        self.assertEqual(reply.json["error_code"], error_code, reply.json)
        if error is not None:
            self.assertEqual(reply.json["error"], error, reply.json)
        self.assertIsInstance(reply.json["error_description"], str)
        self.assertTrue(reply.json["error_description"])
        return reply.json

    def signin(self, password, **login):
        reply = self.call("POST", "/auth/v1/signin", body=dict(login, password=password))
        body = record_credentials(self.assertOk(reply))
        self.assertEqual(body.get("token_type"), "Bearer", body)
        for key in ("access_token", "refresh_token", "sub"):
            self.assertIsInstance(body.get(key), str, body)
            self.assertTrue(body[key], body)
        self.assertIsInstance(body.get("expires_in"), int, body)
        self.assertGreater(body["expires_in"], 0)
        return body

    def request_email_code(self, token, address, headers=None):
        """POST reauthenticate email_code, wait for the mail; returns (code, message, text, subject)."""
        before = self.host.mail_files()
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "email_code"}, token=token,
                          headers=headers)
        self.assertEqual(self.assertOk(reply), {})
        raw = self.host.wait_for_mail(before)
        message, text, subject = parse_mail(raw)
        self.assertIsNotNone(text, "no text/plain part in %r" % raw[:2000])
        addresses = [addr for _, addr in email.utils.getaddresses(message.get_all("To", []))]
        self.assertEqual(addresses, [address])
        return single_code(text), message, text, subject, raw


# ---------------------------------------------------------------------------------------------
# 1. The seed's requests give the seed's responses

class SeedExamplesTest(HostTestCase):
    host_name = "seed"
    defines = NO_SEND_LIMITS
    PASSWORD = "Seed-Passw0rd!"
    EMAIL = "alice@example.com"
    PHONE = "+8613800138000"

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("alice", cls.PASSWORD, cls.EMAIL, cls.PHONE)

    def setUp(self):
        if not hasattr(type(self), "token"):
            type(self).token = self.signin(self.PASSWORD, username="alice")["access_token"]

    def test_email_code_answers_empty_object_and_mails_a_six_digit_code(self):
        code, message, text, subject, raw = self.request_email_code(self.token, self.EMAIL)
        for header in ("From", "To", "Subject", "Date", "Message-ID"):
            self.assertTrue(message[header], "header %s missing in %r" % (header, raw[:2000]))
        self.assertIsNotNone(email.utils.parsedate_to_datetime(message["Date"]))
        self.assertEqual(message.get_content_type(), "multipart/alternative")
        text_part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        self.assertEqual(text_part["Content-Transfer-Encoding"].lower(), "quoted-printable")
        self.assertEqual(text_part.get_content_charset(), "utf-8")
        self.assertTrue(subject.strip())
        self.assertRegex(code, r"^[0-9]{6}$")

    def test_development_mailbox_is_a_maildir_that_python_reads(self):
        code, message, _, _, _ = self.request_email_code(self.token, self.EMAIL)
        # Nothing half-written is left in tmp/; Python's own Maildir reader finds the message and its code.
        self.assertEqual(os.listdir(os.path.join(self.host.maildir, "tmp")), [])
        box = mailbox.Maildir(self.host.maildir, create=False)
        found = [m for m in box if m["Message-ID"] == message["Message-ID"]]
        self.assertEqual(len(found), 1)
        text = next(p for p in found[0].walk() if p.get_content_type() == "text/plain")
        self.assertEqual(single_code(text.get_payload(decode=True).decode("utf-8")), code)
        self.assertEqual(found[0].get_subdir(), "new")
        path = os.path.join(self.host.maildir, "new", next(k for k in box.keys() if box[k]["Message-ID"] == message["Message-ID"]))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_phone_code_answers_empty_object_and_texts_a_six_digit_code(self):
        before = len(self.host.sms_lines())
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "phone_code"}, token=self.token)
        self.assertEqual(self.assertOk(reply), {})
        line = self.host.wait_for_sms(before)
        for key in ("time", "id", "channel", "to", "text"):
            self.assertIn(key, line)
        self.assertEqual(line["to"], self.PHONE)
        self.assertEqual(line["channel"], "sms")
        self.assertRegex(single_code(line["text"]), r"^[0-9]{6}$")

    def test_a_code_succeeds_exactly_once_under_twenty_parallel_sudo_requests(self):
        code = self.request_email_code(self.token, self.EMAIL)[0]
        barrier = threading.Barrier(20)
        replies = [None] * 20

        def use(index):
            barrier.wait(timeout=10)
            replies[index] = self.host.request("POST", "/auth/v1/user/sudo", body={"verification_code": code},
                                               token=self.token)

        threads = [threading.Thread(target=use, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertTrue(all(reply is not None for reply in replies), "a parallel request did not finish")
        ok = [reply for reply in replies if reply.status == 200]
        for reply in ok:
            record_credentials(reply.json)
        self.assertEqual(len(ok), 1, "statuses %r" % sorted(reply.status for reply in replies))
        for reply in replies:
            if reply.status != 200:
                self.assertError(reply, 400, 4002, "invalid_verification_code")

    def test_unknown_verify_opt_answers_the_seed_error_exactly(self):
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "sms"}, token=self.token)
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json, SEED_4001)

    def test_unknown_verify_opt_answers_in_chinese_when_asked(self):
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "sms"}, token=self.token,
                          headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json, {"error": "invalid_argument", "error_code": 4001,
                                      "error_description": SEED_4001_ZH})


# ---------------------------------------------------------------------------------------------
# 2. The README walkthrough

class ReadmeWalkthroughTest(HostTestCase):
    host_name = "walkthrough"
    OLD_PASSWORD = "Walk-Thr0ugh!"
    NEW_PASSWORD = "N3w-Walk-Thr0ugh?"
    EMAIL = "walker@example.com"
    PHONE = "+8613900139000"

    @classmethod
    def create_users(cls):
        record_secret(cls.NEW_PASSWORD)
        cls.sub = cls.host.create_user("walker", cls.OLD_PASSWORD, cls.EMAIL, cls.PHONE)

    def test_code_by_email_then_sudo_then_password_change(self):
        session = self.signin(self.OLD_PASSWORD, username="walker")
        self.assertEqual(session["sub"], self.sub)
        other = self.signin(self.OLD_PASSWORD, email=self.EMAIL)
        token = session["access_token"]

        me = self.assertOk(self.call("GET", "/auth/v1/user/me", token=token))
        self.assertEqual(me.get("sub"), self.sub)
        self.assertEqual(me.get("username"), "walker")

        code, _, _, _, _ = self.request_email_code(token, self.EMAIL)

        sudo = record_credentials(self.assertOk(
            self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token)))
        self.assertIsInstance(sudo.get("sudo_token"), str)
        self.assertEqual(sudo.get("expires_in"), 900)

        # The code is good for one use only.
        self.assertError(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token),
                         400, 4002, "invalid_verification_code")

        changed = self.call("PATCH", "/auth/v1/user/password",
                            body={"new_password": self.NEW_PASSWORD, "sudo_token": sudo["sudo_token"]}, token=token)
        self.assertEqual(self.assertOk(changed), {})

        self.assertError(self.call("POST", "/auth/v1/signin", body={"username": "walker", "password": self.OLD_PASSWORD}),
                         401, 4003, "invalid_password")
        fresh = self.signin(self.NEW_PASSWORD, username="walker")
        self.assertEqual(fresh["sub"], self.sub)

        # Every other session of the user is revoked; the one that changed the password goes on.
        self.assertError(self.call("GET", "/auth/v1/user/me", token=other["access_token"]), 401, 4010, "unauthenticated")
        self.assertOk(self.call("GET", "/auth/v1/user/me", token=token))
        self.assertOk(self.call("GET", "/auth/v1/user/me", token=fresh["access_token"]))


# ---------------------------------------------------------------------------------------------
# 3. Requests shaped like the official CloudBase client, and hostile ones

class ClientCompatibilityTest(HostTestCase):
    host_name = "client"
    defines = NO_SEND_LIMITS
    PASSWORD = "Cl1ent-Passw0rd#"
    EMAIL = "carol@example.com"
    PHONE = "+8613700137000"
    NOPHONE_PASSWORD = "N0-Phone-Passw0rd%"
    NOPHONE_EMAIL = "dave@example.com"
    NOMAIL_PASSWORD = 'N0-Mail/"Quote\\d'  # characters that JSON escapes, for the log hygiene check
    NOMAIL_PHONE = "+8613600136000"
    ZH_PASSWORD = "Zh-Passw0rd^"
    ZH_EMAIL = "wang@example.com"
    LEAVER_PASSWORD = "Le4ver-Passw0rd&"
    LEAVER_EMAIL = "erin@example.com"

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("carol", cls.PASSWORD, cls.EMAIL, cls.PHONE)
        cls.nophone_sub = cls.host.create_user("dave", cls.NOPHONE_PASSWORD, cls.NOPHONE_EMAIL)
        cls.nomail_sub = cls.host.create_user("frank", cls.NOMAIL_PASSWORD, phone=cls.NOMAIL_PHONE)
        cls.zh_sub = cls.host.create_user("wang", cls.ZH_PASSWORD, cls.ZH_EMAIL)
        cls.leaver_sub = cls.host.create_user("erin", cls.LEAVER_PASSWORD, cls.LEAVER_EMAIL)

    def setUp(self):
        if not hasattr(type(self), "token"):
            type(self).token = self.signin(self.PASSWORD, username="carol")["access_token"]

    @staticmethod
    def cloudbase_headers(request_id=None):
        return {
            "Content-Type": "text/plain;charset=UTF-8",
            "Accept": "application/json",
            "Accept-Language": "*",
            "undefined": "undefined",
            "x-device-id": "dev-" + uuid.uuid4().hex,
            "x-request-id": request_id or uuid.uuid4().hex,
            "x-sdk-version": "@cloudbase/oauth/2.0.0",
        }

    def cloudbase_call(self, method, path, body=None, token=None, request_id=None):
        headers = self.cloudbase_headers(request_id)
        data = None if body is None else json.dumps(body).encode("utf-8")
        reply = self.call(method, path + "?client_id=dev", raw_body=data, content_type=None, token=token,
                          headers=headers)
        self.assertEqual(reply.header("X-Request-Id"), headers["x-request-id"])
        return reply

    def test_cloudbase_shaped_requests_are_served(self):
        signin = self.cloudbase_call("POST", "/auth/v1/signin", {"username": "carol", "password": self.PASSWORD},
                                     request_id="req-signin-1")
        body = record_credentials(self.assertOk(signin))
        self.assertEqual(body.get("sub"), self.sub)
        token = body["access_token"]

        before = self.host.mail_files()
        reply = self.cloudbase_call("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "email_code"}, token,
                                    request_id="c0ffee-reauth-2")
        self.assertEqual(self.assertOk(reply), {})
        _, text, _ = parse_mail(self.host.wait_for_mail(before))
        single_code(text)

        # Accept-Language: * states no preference: carol's locale (English) decides.
        bad = self.cloudbase_call("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "sms"}, token)
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.json, SEED_4001)

        me = self.assertOk(self.cloudbase_call("GET", "/auth/v1/user/me", None, token))
        self.assertEqual(me.get("sub"), self.sub)
        self.assertEqual(me.get("email"), self.EMAIL)
        self.assertEqual(me.get("phone_number"), self.PHONE)

        refreshed = record_credentials(self.assertOk(self.cloudbase_call(
            "POST", "/auth/v1/token", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})))
        self.assertIsInstance(refreshed.get("access_token"), str)
        self.assertError(self.cloudbase_call("POST", "/auth/v1/token",
                                             {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}),
                         401, 4010)

        # signOut() of the official client revokes the token.
        self.assertEqual(self.assertOk(self.cloudbase_call("POST", "/auth/v1/revoke",
                                                           {"token": refreshed["access_token"]})), {})
        self.assertError(self.cloudbase_call("GET", "/auth/v1/user/me", None, refreshed["access_token"]), 401, 4010)

    def test_request_id_is_generated_when_absent(self):
        reply = self.call("GET", "/healthz")
        self.assertOk(reply)
        self.assertTrue(reply.header("X-Request-Id"))

    def test_unknown_client_id_is_invalid_argument(self):
        reply = self.call("POST", "/auth/v1/user/reauthenticate?client_id=not-a-client",
                          body={"verify_opt": "email_code"}, token=self.token)
        self.assertError(reply, 400, 4001, "invalid_argument")

    def test_xml_body_is_unsupported_media_type(self):
        reply = self.call("POST", "/auth/v1/user/reauthenticate", token=self.token, content_type="application/xml",
                          raw_body=b"<verify_opt>email_code</verify_opt>")
        self.assertError(reply, 415, 4150, "invalid_argument")

    def test_twenty_kib_body_is_too_large(self):
        body = json.dumps({"verify_opt": "email_code", "padding": "x" * (20 * 1024)}).encode()
        self.assertGreater(len(body), 20 * 1024)
        head = ("POST /auth/v1/user/reauthenticate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (self.host.port, self.token, len(body))).encode()
        # Sent in pieces: the host may answer before the body is in, and the client reads that answer.
        reply = self.host.raw_exchange(head, [body[i:i + 4096] for i in range(0, len(body), 4096)])
        self.assertCommonHeaders(reply)
        self.assertError(reply, 413, 4130, "invalid_argument")

    def test_twenty_kib_chunked_body_is_too_large(self):
        body = json.dumps({"verify_opt": "email_code", "padding": "x" * (20 * 1024)}).encode()
        head = ("POST /auth/v1/user/reauthenticate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (self.host.port, self.token)).encode()
        chunks = [b"%x\r\n%s\r\n" % (len(body[i:i + 1024]), body[i:i + 1024]) for i in range(0, len(body), 1024)]
        reply = self.host.raw_exchange(head, chunks + [b"0\r\n\r\n"])
        self.assertCommonHeaders(reply)
        self.assertError(reply, 413, 4130, "invalid_argument")

    def test_malformed_json_is_invalid_argument(self):
        for raw in (b'{"verify_opt":', b"not json", b'["email_code"]', b'{"verify_opt": 1}'):
            with self.subTest(body=raw):
                reply = self.call("POST", "/auth/v1/user/reauthenticate", token=self.token, raw_body=raw)
                self.assertError(reply, 400, 4001, "invalid_argument")

    def test_unknown_path_is_not_found(self):
        self.assertError(self.call("GET", "/auth/v1/no/such/path"), 404, 4040, "not_found")
        self.assertError(self.call("POST", "/auth/v1/user/reauthenticate2", body={"verify_opt": "email_code"},
                                   token=self.token), 404, 4040, "not_found")

    def test_get_on_reauthenticate_is_method_not_allowed(self):
        reply = self.call("GET", "/auth/v1/user/reauthenticate", token=self.token)
        self.assertError(reply, 405, 4050, "invalid_argument")
        allow = [m.strip().upper() for m in (reply.header("Allow") or "").split(",")]
        self.assertIn("POST", allow)

    def test_missing_garbage_or_unsigned_bearer_is_unauthenticated(self):
        path = "/auth/v1/user/reauthenticate"
        body = {"verify_opt": "email_code"}
        cases = {
            "missing": {},
            "empty bearer": {"Authorization": "Bearer "},
            "garbage": {"Authorization": "Bearer garbage.garbage.garbage"},
            "not a jwt": {"Authorization": "Bearer " + uuid.uuid4().hex},
            "basic scheme": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
            "alg none": {"Authorization": "Bearer " + none_token(self.token)},
            "alg None": {"Authorization": "Bearer " + none_token(self.token, "None")},
            "alg NONE with signature": {"Authorization": "Bearer " + none_token(self.token, "NONE", True)},
            "tampered payload": {"Authorization": "Bearer " + self.token[:-2] + ("AA" if not self.token.endswith("AA") else "BB")},
        }
        before = self.host.mail_files()
        for name, headers in cases.items():
            with self.subTest(case=name):
                reply = self.call("POST", path, body=body, headers=headers)
                self.assertError(reply, 401, 4010, "unauthenticated")
        self.assertEqual(self.host.mail_files() - before, set())

    def test_user_without_phone_gets_failed_precondition(self):
        token = self.signin(self.NOPHONE_PASSWORD, username="dave")["access_token"]
        before = len(self.host.sms_lines())
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "phone_code"}, token=token)
        self.assertError(reply, 412, 4120, "failed_precondition")
        self.assertEqual(len(self.host.sms_lines()), before)

    def test_user_without_email_gets_failed_precondition(self):
        token = self.signin(self.NOMAIL_PASSWORD, phone_number=self.NOMAIL_PHONE)["access_token"]
        before = self.host.mail_files()
        reply = self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "email_code"}, token=token)
        self.assertError(reply, 412, 4120, "failed_precondition")
        self.assertEqual(self.host.mail_files(), before)

    def test_sudo_and_access_tokens_are_not_interchangeable(self):
        token = self.signin(self.PASSWORD, username="carol")["access_token"]
        sudo = record_credentials(self.assertOk(
            self.call("POST", "/auth/v1/user/sudo", body={"password": self.PASSWORD}, token=token)))
        self.assertEqual(sudo.get("expires_in"), 900)
        # A sudo token is no access token ...
        self.assertError(self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "email_code"},
                                   token=sudo["sudo_token"]), 401, 4010, "unauthenticated")
        self.assertError(self.call("GET", "/auth/v1/user/me", token=sudo["sudo_token"]), 401, 4010)
        # ... and an access token is no sudo token.
        self.assertError(self.call("PATCH", "/auth/v1/user/password",
                                   body={"new_password": "Never-Us3d-Passw0rd!", "sudo_token": token}, token=token),
                         403, 4030, "permission_denied")
        # The password did not change.
        self.signin(self.PASSWORD, username="carol")

    def test_cloudbase_shaped_account_deletion(self):
        session = record_credentials(self.assertOk(self.cloudbase_call(
            "POST", "/auth/v1/signin", {"email": self.LEAVER_EMAIL, "password": self.LEAVER_PASSWORD})))
        token = session["access_token"]
        sudo = record_credentials(self.assertOk(self.cloudbase_call(
            "POST", "/auth/v1/user/sudo", {"password": self.LEAVER_PASSWORD}, token)))
        path = "/auth/v1/user/me?sudo_token=" + urllib.parse.quote(sudo["sudo_token"], safe="")
        headers = self.cloudbase_headers()
        reply = self.call("DELETE", path + "&client_id=dev", token=token, headers=headers, content_type=None)
        self.assertEqual(self.assertOk(reply), {})
        self.assertEqual(reply.header("X-Request-Id"), headers["x-request-id"])
        self.assertError(self.call("GET", "/auth/v1/user/me", token=token), 401, 4010)
        self.assertError(self.call("POST", "/auth/v1/signin",
                                   body={"email": self.LEAVER_EMAIL, "password": self.LEAVER_PASSWORD}), 401, 4003)

    def test_chinese_email_subject_is_rfc2047_and_says_verification_code(self):
        token = self.signin(self.ZH_PASSWORD, username="wang")["access_token"]
        code, message, text, subject, raw = self.request_email_code(
            token, self.ZH_EMAIL, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        self.assertIn("验证码", subject)
        self.assertIn(code, text)
        header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        self.assertTrue(all(b < 128 for b in header_block), "raw 8-bit bytes in the mail headers")
        self.assertRegex(message["Subject"], r"=\?(?i:utf-8)\?[BbQq]\?")


# ---------------------------------------------------------------------------------------------
# 4. Shutdown

class EnvironmentConfiguredHostTest(HostTestCase):
    """Every setting from IDENTITY_* variables, every secret from a file, a configuration file of {}."""
    host_class = EnvironmentHost
    defines = NO_SEND_LIMITS  # these too from the environment: integers typed by the plugin's schema
    PASSWORD = "Env-Passw0rd!"
    EMAIL = "erin@example.com"
    PHONE = "+8613800138077"

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("erin", cls.PASSWORD, cls.EMAIL, cls.PHONE)

    def test_seed_flow_runs_on_settings_from_the_environment_and_secrets_from_files(self):
        with open(self.host.config_file, encoding="utf-8") as f:
            self.assertEqual(json.loads(f.read()), {})
        body = record_credentials(self.assertOk(self.call("POST", "/auth/v1/signin",
                                                          body={"username": "erin", "password": self.PASSWORD})))
        token = body["access_token"]
        # Signed with the key from its file.
        header, payload, signature = token.split(".")
        key = self.host.secrets["tokens.secret"][1].encode("ascii")
        expected = base64.urlsafe_b64encode(hmac.new(key, (header + "." + payload).encode("ascii"),
                                                     hashlib.sha256).digest()).rstrip(b"=").decode("ascii")
        self.assertEqual(signature, expected)
        # The seed's two requests, and the code spent for sudo.
        before = self.host.mail_files()
        self.assertEqual(self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate",
                                                 body={"verify_opt": "email_code"}, token=token)), {})
        code = single_code(parse_mail(self.host.wait_for_mail(before))[1])
        sudo = self.assertOk(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token))
        record_secret(sudo["sudo_token"])
        sms_before = len(self.host.sms_lines())
        self.assertEqual(self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate",
                                                 body={"verify_opt": "phone_code"}, token=token)), {})
        self.assertEqual(self.host.wait_for_sms(sms_before)["to"], self.PHONE)
        # The admin token came from its file too.
        admin = self.host.request("GET", "/admin/plugins",
                                  headers={"Authorization": "Bearer " + self.host.secrets["admin.token"][1]})
        self.assertEqual(admin.status, 200, admin)
        self.assertEqual([p["state"] for p in admin.json["plugins"] if p["name"] == "reauthenticate"], ["running"])
        self.assertEqual(self.host.request("GET", "/admin/plugins",
                                           headers={"Authorization": "Bearer file:" + self.host.secrets["admin.token"][0]}).status,
                         401)


class AdminCommandsTest(HostTestCase):
    """The operator's commands, on the host's own configuration, while it serves."""
    PASSWORD = "Adm1n-Passw0rd!"

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("heidi", cls.PASSWORD, "heidi@example.com", "+8613800138055")

    def run_command(self, *args):
        done = subprocess.run(self.host.command(self.host.name + "-cli", *args), cwd=self.host.tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")

    def test_version(self):
        code, out, _ = self.run_command("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^identity-host [0-9]+\.[0-9]+\.[0-9]+ \(plugin SDK [0-9]+\.[0-9]+\)\n$")

    def test_user_list_shows_masked_addresses_as_json_or_a_table(self):
        code, out, _ = self.run_command("user", "list")
        self.assertEqual(code, 0)
        users = {u["username"]: u for u in json.loads(out)}
        self.assertEqual(users["heidi"]["id"], self.sub)
        self.assertEqual(users["heidi"]["status"], "active")
        self.assertNotIn("heidi@example.com", out)
        self.assertNotIn("+8613800138055", out)
        self.assertEqual(users["heidi"]["email"], "h***@example.com")
        code, table, _ = self.run_command("user", "list", "--format=table")
        self.assertEqual(code, 0)
        self.assertEqual(table.splitlines()[0].split(), ["ID", "USERNAME", "EMAIL", "PHONE_NUMBER", "LOCALE",
                                                         "STATUS", "CREATED_AT"])
        self.assertIn(self.sub, table)
        self.assertEqual(self.run_command("user", "list", "--format=yaml")[0], 78)

    def test_user_disable_ends_the_sessions_and_refuses_sign_in(self):
        self.host.create_user("ivan", self.PASSWORD)
        token = record_credentials(self.assertOk(self.call("POST", "/auth/v1/signin",
                                                           body={"username": "ivan", "password": self.PASSWORD})))["access_token"]
        self.assertEqual(self.call("GET", "/auth/v1/user/me", token=token).status, 200)
        code, out, _ = self.run_command("user", "disable", "--username=ivan")
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out)["sessions_ended"], 1)
        # Within the second the session check may be cached for.
        wait_for(lambda: self.call("GET", "/auth/v1/user/me", token=token).status == 401, 5,
                 "the disabled user's access token refused")
        self.assertEqual(self.call("POST", "/auth/v1/signin", body={"username": "ivan", "password": self.PASSWORD}).status,
                         401)
        self.assertEqual(self.run_command("user", "disable", "--username=nobody")[0], 67)

    def test_user_delete_erases_the_account_and_the_serving_host_sends_its_notice(self):
        self.host.create_user("judith", self.PASSWORD, "judith@example.com")
        token = record_credentials(self.assertOk(self.call("POST", "/auth/v1/signin",
                                                           body={"username": "judith", "password": self.PASSWORD})))["access_token"]
        before = self.host.mail_files()
        code, out, err = self.run_command("user", "delete", "--username=judith")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)[0]["status"], "deleted")
        wait_for(lambda: self.call("GET", "/auth/v1/user/me", token=token).status == 401, 5,
                 "the deleted user's access token refused")
        self.assertEqual(self.call("POST", "/auth/v1/signin", body={"username": "judith", "password": self.PASSWORD}).status,
                         401)
        # The command loads the plugins without serving: the notice it queued goes out from the host.
        headers, text, _ = parse_mail(self.host.wait_for_mail(before))
        self.assertIn("judith@example.com", headers["To"])
        self.assertIn("was just deleted", text)
        self.assertEqual(self.run_command("user", "delete", "--username=judith")[0], 67)
        self.assertEqual(self.run_command("user", "delete")[0], 64)
        # Without one of its plugins a deletion would leave that plugin's data and send no notice.
        self.host.create_user("karl", self.PASSWORD, "karl@example.com")
        code, _, err = self.run_command("--define=plugins.reauthenticate.manifest=/nonexistent/plugin.json",
                                        "user", "delete", "--username=karl")
        self.assertEqual(code, 69, err)
        self.assertIn("reauthenticate", err)
        self.assertEqual(self.call("POST", "/auth/v1/signin", body={"username": "karl", "password": self.PASSWORD}).status,
                         200)

    def test_migrate_status_and_up_on_a_new_database(self):
        database = os.path.join(self.host.tmp, "new.db")
        define = "--define=storage.url=sqlite:" + database
        code, out, _ = self.run_command(define, "migrate", "status")
        self.assertEqual(code, 0)
        rows = json.loads(out)
        self.assertEqual({r["owner"] for r in rows}, {"host", "reauthenticate"})
        self.assertEqual({r["state"] for r in rows}, {"pending"})
        code, out, progress = self.run_command(define, "migrate", "up")
        self.assertEqual(code, 0, progress)
        self.assertEqual({r["owner"]: r["applied"] for r in json.loads(out)},
                         {owner: sum(1 for r in rows if r["owner"] == owner) for owner in ("host", "reauthenticate")})
        self.assertRegex(progress, r"\[%d/%d\] reauthenticate: " % (len(rows), len(rows)))
        code, out, _ = self.run_command(define, "migrate", "status")
        self.assertEqual({r["state"] for r in json.loads(out)}, {"applied"})
        self.assertEqual({r["applied"] for r in json.loads(self.run_command(define, "migrate", "up")[1])}, {0})


class MetricsTest(HostTestCase):
    """After a known sequence of requests, /metrics holds the counts it should, in a page that promtool
    (Prometheus' own checker) accepts."""

    host_name = "metrics"
    PASSWORD = "Metrics-Pass-7"

    @classmethod
    def create_users(cls):
        cls.host.create_user("mia", cls.PASSWORD, "mia@example.com")

    @staticmethod
    def samples(text):
        """{series text: value} of a Prometheus text page."""
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                values[series] = float(value)
        return values

    def test_metrics_count_a_known_sequence_and_promtool_accepts_the_page(self):
        token = self.signin(self.PASSWORD, username="mia")["access_token"]
        self.assertError(self.call("POST", "/auth/v1/signin", body={"username": "mia", "password": "Wrong-Pass-7"}),
                         401, 4003)
        before = self.host.mail_files()
        self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "email_code"}, token=token))
        code = single_code(parse_mail(self.host.wait_for_mail(before))[1])
        wrong = "%06d" % ((int(code) + 1) % 1000000)
        self.assertError(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": wrong}, token=token),
                         400, 4002)
        record_credentials(self.assertOk(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code},
                                                   token=token)))
        self.assertError(self.call("GET", "/no/such/path"), 404, 4040)

        reply = self.host.request("GET", "/metrics")
        self.assertEqual(reply.status, 200)
        self.assertTrue(reply.header("Content-Type").startswith("text/plain; version=0.0.4"))
        text = reply.raw.decode("utf-8")
        values = self.samples(text)
        expected = {
            'identity_codes_total{event="issued"}': 1,
            'identity_codes_total{event="failed"}': 1,
            'identity_codes_total{event="verified"}': 1,
            'identity_delivery_attempts_total{channel="email",outcome="delivered"}': 1,
            'identity_outbox_messages{state="pending"}': 0,
            'identity_outbox_oldest_pending_seconds': 0,
            'identity_http_request_duration_seconds_count{route="/auth/v1/signin",class="2xx"}': 1,
            'identity_http_request_duration_seconds_count{route="/auth/v1/signin",class="4xx"}': 1,
            'identity_http_request_duration_seconds_count{route="/auth/v1/user/sudo",class="4xx"}': 1,
            'identity_http_request_duration_seconds_count{route="none",class="4xx"}': 1,
            'identity_plugin_generation{plugin="reauthenticate"}': 1,
            'identity_password_hashes_total{algorithm="argon2id"}': 2,
            'identity_limits_hit_total{limit="password_lock"}': 0,
        }
        for series, value in expected.items():
            with self.subTest(series=series):
                self.assertEqual(values.get(series), value, series)
        # A request's latency is in its buckets: the +Inf bucket is its count.
        self.assertEqual(values['identity_http_request_duration_seconds_bucket{route="/auth/v1/signin",class="2xx",le="+Inf"}'], 1)
        self.assertRegex(text, r'(?m)^identity_build_info\{version="[^"]+",sdk_version="3\.\d+"\} 1$')
        for series in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                       "process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes"):
            self.assertGreater(values.get(series, 0), 0, series)

        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is not installed (scripts/install-deps installs prometheus)")
        checked = subprocess.run([promtool, "check", "metrics"], input=reply.raw, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout.decode("utf-8", "replace"))


class HungSmtpTest(HostTestCase):
    """An SMTP server that accepts connections and never says a word: the email channel's worker waits
    on it (10 s a try), and SMS codes, which have a worker of their own, still go out at once."""

    host_name = "hung-smtp"
    PASSWORD = "Hung-Smtp-Pass-7"
    SMS_DEADLINE = 2.0

    @classmethod
    def setUpClass(cls):
        # A listening socket that is never accepted from: the kernel completes the TCP handshake, and the
        # client then waits for a greeting that never comes.
        cls.hung = socket.socket()
        cls.hung.bind(("127.0.0.1", 0))
        cls.hung.listen(16)
        cls.defines = dict(NO_SEND_LIMITS, **{
            "plugins.reauthenticate.config.email.notifier": "smtp",
            "plugins.reauthenticate.config.email.smtp.host": "127.0.0.1",
            "plugins.reauthenticate.config.email.smtp.port": str(cls.hung.getsockname()[1]),
            "plugins.reauthenticate.config.email.smtp.tls": "none",
            "plugins.reauthenticate.config.email.smtp.from": "no-reply@example.com",
        })
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.hung.close()

    @classmethod
    def create_users(cls):
        cls.host.create_user("hana", cls.PASSWORD, "hana@example.com", "+8613800138009")

    def test_sms_codes_go_out_while_the_smtp_server_hangs(self):
        token = self.signin(self.PASSWORD, username="hana")["access_token"]
        # Two emails first: the email worker is stuck on the first one for its 10 s timeout.
        for _ in range(2):
            self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "email_code"},
                                    token=token))
        for _ in range(3):
            before = len(self.host.sms_lines())
            asked = time.monotonic()
            self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate", body={"verify_opt": "phone_code"},
                                    token=token))
            wait_for(lambda: len(self.host.sms_lines()) > before, self.SMS_DEADLINE * TIME_SCALE,
                     "the SMS code, %.0f s after it was asked for, with the SMTP server hung" % self.SMS_DEADLINE,
                     interval=0.01)
            print("\nSMS delivered %.0f ms after it was asked for, SMTP hung" % ((time.monotonic() - asked) * 1000))
            single_code(json.loads(self.host.sms_lines()[before].decode("utf-8"))["text"])


class SigtermTest(HostTestCase):
    host_name = "sigterm"

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def test_sigterm_exits_zero_within_a_few_seconds(self):
        self.assertOk(self.call("GET", "/healthz"))
        code, seconds = self.host.terminate()
        self.assertIsNotNone(code, "identity-host still running %.0f s after SIGTERM" % STOP_DEADLINE)
        self.assertEqual(code, 0)
        self.assertLess(seconds, STOP_DEADLINE)


class SigtermWithIdleClientTest(HostTestCase):
    host_name = "sigterm-idle"

    @classmethod
    def tearDownClass(cls):
        cls.host.cleanup()

    def test_sigterm_exits_zero_within_a_few_seconds_with_an_idle_keepalive_client(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.host.port, timeout=30)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
            if response.will_close:
                self.skipTest("the host closed the connection: no idle keep-alive client to test with")
            # The connection stays open (keep-alive) and idle while the host stops.
            code, seconds = self.host.terminate()
        finally:
            connection.close()
        self.assertIsNotNone(code, "identity-host still running %.0f s after SIGTERM with an idle client"
                             % STOP_DEADLINE)
        self.assertEqual(code, 0)


# ---------------------------------------------------------------------------------------------

class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0
        self._failed_ids = set()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addSubTest(self, test, subtest, outcome):
        super().addSubTest(test, subtest, outcome)
        if outcome is not None:
            self._failed_ids.add(test.id())

    def failed_count(self):
        ids = {getattr(test, "test_case", test).id() for test, _ in self.failures + self.errors}
        return len(ids | self._failed_ids) + len(self.unexpectedSuccesses)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host-binary", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--log-dir", required=True)
    options, rest = parser.parse_known_args(argv)
    for name in ("host_binary", "manifest", "config", "log_dir"):
        setattr(options, name, os.path.abspath(getattr(options, name)))
    for name in ("host_binary", "manifest", "config"):
        if not os.path.isfile(getattr(options, name)):
            parser.error("--%s: no such file: %s" % (name.replace("_", "-"), getattr(options, name)))
    return options, rest


def run_module(module, argv, rest, cleanup=None):
    """Runs a test module's cases with unittest and prints the closing 'N passed, N failed' line."""
    try:
        program = unittest.main(module=module, argv=[argv[0]] + rest, exit=False,
                                testRunner=unittest.TextTestRunner(resultclass=CountingResult, verbosity=2))
    finally:
        if cleanup:
            cleanup()
    result = program.result
    failed = result.failed_count()
    print("%d passed, %d failed" % (result.passed, failed))
    return 0 if failed == 0 and result.wasSuccessful() else 1


def main(argv):
    global OPTIONS
    OPTIONS, rest = parse_arguments(argv[1:])
    os.makedirs(OPTIONS.log_dir, exist_ok=True)
    return run_module(sys.modules[__name__], argv, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
