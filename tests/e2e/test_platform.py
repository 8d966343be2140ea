#!/usr/bin/env python3
"""End-to-end tests of the plugin platform: hot reload of plugin builds under load, configuration
reload (a file edit in development mode, SIGHUP), validation at start, and a busy port.

    python3 test_platform.py --host-binary build/bin/identity-host \
        --manifest build/plugins/reauthenticate/plugin.json \
        --config config/dev.json --log-dir build/e2e-logs [unittest options]

Each test class runs its own host process with its own configuration file in a temporary folder,
and its own copy of the reauthenticate plugin's folder (manifest, schema, library), so that the test
can install new builds into it the way a developer's build or an installer does. Load comes from
tests/e2e/loadgen.py, a process of its own. Only the Python 3 standard library (and the real SMTP
peer of tests/peers) is used.
"""

import copy
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402
import test_delivery as delivery  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LOADGEN = os.path.join(HERE, "loadgen.py")
ADMIN_TOKEN = "platform-admin-" + secrets.token_hex(16)
RELOAD_DEADLINE = 0.5        # seconds from a build landing to the new generation serving (the bar)
# Set by scripts/sanitize, whose instrumented host runs several times slower: every wait on a condition
# (and the load that must last through them) stretches by IDENTITY_TEST_TIME_SCALE, and the request rate
# bar is the uninstrumented run's to check.
TIME_SCALE = float(os.environ.get("IDENTITY_TEST_TIME_SCALE", "1"))
PERFORMANCE_BARS = not os.environ.get("IDENTITY_TEST_SANITIZER")
CHANGE_DEADLINE = 10.0       # seconds for a configuration change or a log line to show
# The reload bar is a performance bar like the rate: an instrumented host under load (TSan's is 5-15 times
# slower) must still serve the new build and fail no request, within the functional deadline instead.
RELOAD_WAIT = RELOAD_DEADLINE if PERFORMANCE_BARS else CHANGE_DEADLINE
PASSWORD = "Platform-Pass-7"


def wait_for(condition, timeout, what, interval=0.01):
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(interval)


def write_atomically(path, data):
    temporary = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".new")
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


class PlatformHost(e2e.Host):
    """A host whose configuration is a file of its own (edited by the tests), with its own copy of
    the reauthenticate plugin folder."""

    def __init__(self, name, development):
        super().__init__(name)
        e2e.record_secret(ADMIN_TOKEN)
        self.config_path = os.path.join(self.tmp, "config.json")
        self.plugin_dir = os.path.join(self.tmp, "plugin")
        shutil.copytree(os.path.dirname(OPTIONS_MANIFEST()), self.plugin_dir)
        self.library = os.path.join(self.plugin_dir, "libreauthenticate.so")
        with open(e2e.OPTIONS.config, encoding="utf-8") as f:
            settings = json.load(f)
        settings["storage"]["url"] = "sqlite:" + os.path.join(self.tmp, "identity.db")
        settings["secrets"] = {"file": os.path.join(self.tmp, "secrets.json"), "generate": True}
        settings["development"] = {"enabled": development}
        settings["admin"] = {"token": ADMIN_TOKEN}
        plugin = settings["plugins"]["reauthenticate"]
        plugin["manifest"] = os.path.join(self.plugin_dir, "plugin.json")
        plugin["config"]["email"]["maildir"]["path"] = self.maildir
        plugin["config"]["sms"]["log"]["path"] = self.sms_log
        plugin["config"]["delivery"] = {"poll_ms": 50, "max_backoff_seconds": 2}
        self.settings = settings

    def plugin_config(self):
        return self.settings["plugins"]["reauthenticate"]["config"]

    def write_config(self, settings=None, raw=None):
        data = raw if raw is not None else json.dumps(settings or self.settings, indent=2).encode("utf-8")
        write_atomically(self.config_path, data)

    def define_args(self, log_name):
        # Only what differs per process: everything else is in the file the tests edit.
        return ["--config=" + self.config_path,
                "--define=server.port=0",
                "--define=server.port_file=" + self.port_file,
                "--define=logging.file=" + self.log_path(log_name)]

    def log_path(self, log_name=None):
        return os.path.join(e2e.OPTIONS.log_dir, (log_name or self.name) + ".log")

    def start(self):
        if not os.path.exists(self.config_path):
            self.write_config()
        super().start()

    # -- what the host says about itself

    def plugins(self):
        reply = self.request("GET", "/admin/plugins", headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        if reply.status != 200:
            raise AssertionError("GET /admin/plugins: %r" % reply)
        return {entry["name"]: entry for entry in reply.json["plugins"]}

    def generation(self, name="reauthenticate"):
        return self.plugins()[name]["generation"]

    def log_lines(self):
        try:
            with open(self.log_path(), encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_for_log(self, *fragments):
        def found():
            for line in self.log_lines():
                message = line.get("message", "")
                if all(fragment in message for fragment in fragments):
                    return line
            return None
        return wait_for(found, CHANGE_DEADLINE, "a log line with %r" % (fragments,), interval=0.05)

    def mapped_plugin_copies(self):
        """The private copies of the plugin library this process has mapped."""
        with open("/proc/%d/maps" % self.process.pid, encoding="utf-8") as f:
            return {line.split(None, 5)[5].strip() for line in f
                    if "-libreauthenticate.so" in line and len(line.split(None, 5)) == 6}

    # -- a signed-in user

    def sign_in_new_user(self, username, email_address):
        self.create_user(username, PASSWORD, email_address=email_address)
        reply = e2e.record_credentials(self.signin(PASSWORD, username=username).json)
        return reply["access_token"]

    def reauthenticate(self, token):
        return self.request("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "email_code"}, token=token)


def OPTIONS_MANIFEST():
    return e2e.OPTIONS.manifest


class LoadGenerator:
    """tests/e2e/loadgen.py as a process of its own."""

    def __init__(self, host, seconds, rate, token=None, path=None, threads=8):
        self.out = os.path.join(host.tmp, "load-%s.json" % secrets.token_hex(4))
        argv = [sys.executable, LOADGEN, "--port", str(host.port), "--seconds", str(seconds), "--rate", str(rate),
                "--threads", str(threads), "--out", self.out]
        if token:
            argv += ["--token", token]
        if path:
            argv += ["--path", path]
        self.seconds = seconds
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def summary(self):
        self.process.wait(timeout=self.seconds + 30)
        with open(self.out, encoding="utf-8") as f:
            return json.load(f)


class PlatformTestCase(unittest.TestCase):
    development = True
    host = None

    @classmethod
    def setUpClass(cls):
        cls.host = PlatformHost(cls.__name__, cls.development)

    @classmethod
    def tearDownClass(cls):
        try:
            code, _ = cls.host.terminate()
        finally:
            cls.host.cleanup()
        if code not in (0, None) and cls.host.process is not None:
            raise AssertionError("%s: identity-host exited with %r after SIGTERM" % (cls.host.name, code))


# ---------------------------------------------------------------------------------------------

class HotReloadUnderLoadTest(PlatformTestCase):
    """The reauthenticate build is replaced twice while another process keeps 200+ requests/s on its
    route: no request fails, each new build serves within 500 ms, the old images leave the process."""

    SECONDS = 12
    RATE = 250

    def test_builds_replaced_twice_under_load_fail_no_request(self):
        host = self.host
        limits = host.plugin_config()["limits"]
        for key in ("cooldown_seconds", "per_user_per_hour", "per_ip_per_hour", "per_destination_per_hour"):
            limits[key] = 0
        host.start()
        token = host.sign_in_new_user("loaded", "loaded@example.com")
        self.assertEqual(host.reauthenticate(token).status, 200)
        self.assertEqual(host.generation(), 1)
        first_copies = host.mapped_plugin_copies()
        self.assertEqual(len(first_copies), 1, first_copies)

        # The load lasts as long as the (stretched) waits that must happen under it.
        load = LoadGenerator(host, self.SECONDS * TIME_SCALE, self.RATE, token=token)
        try:
            wait_for(lambda: len(host.mail_files()) >= 100, 10, "the load under way", interval=0.05)

            # 1. An installer's atomic rename.
            shutil.copyfile(os.path.join(os.path.dirname(e2e.OPTIONS.manifest), "libreauthenticate.so"),
                            host.library + ".new")
            os.replace(host.library + ".new", host.library)
            landed = time.monotonic()
            wait_for(lambda: host.generation() == 2, RELOAD_WAIT, "generation 2 serving after the rename")
            first_latency = time.monotonic() - landed

            before = len(host.mail_files())
            wait_for(lambda: len(host.mail_files()) >= before + 300, 10, "generation 2 under load", interval=0.05)

            # 2. A linker writing the same file in place, piece by piece.
            with open(os.path.join(os.path.dirname(e2e.OPTIONS.manifest), "libreauthenticate.so"), "rb") as f:
                image = f.read()
            with open(host.library, "r+b") as out:
                out.truncate(0)
                for at in range(0, len(image), 65536):
                    out.write(image[at:at + 65536])
                    out.flush()
            landed = time.monotonic()
            wait_for(lambda: host.generation() == 3, RELOAD_WAIT, "generation 3 serving after the rewrite")
            second_latency = time.monotonic() - landed
        finally:
            summary = load.summary()

        print("\nhot reload under load: %d requests in %.1f s (%.0f/s), %d failed; new build serving %.0f ms "
              "and %.0f ms after it landed" % (summary["total"], summary["seconds"], summary["rate"],
                                                summary["failed"], first_latency * 1000, second_latency * 1000))
        self.assertEqual(summary["failed"], 0, summary["failures"][:10])
        self.assertGreaterEqual(summary["seconds"], 10.0)
        if PERFORMANCE_BARS:
            self.assertGreaterEqual(summary["rate"], 200.0)
        self.assertEqual(summary["by_status"], {"200": summary["total"]})

        # The old copies are unloaded: only generation 3's image is mapped.
        wait_for(lambda: len(host.mapped_plugin_copies()) == 1, 5, "the old images unmapped", interval=0.05)
        self.assertTrue(host.mapped_plugin_copies().isdisjoint(first_copies))
        self.assertEqual(host.plugins()["reauthenticate"]["state"], "running")
        self.assertEqual(host.reauthenticate(token).status, 200)


class ConfigurationFileEditTest(PlatformTestCase):
    """Development mode: editing the configuration file switches the email notifier from maildir to a
    real SMTP server (STARTTLS, AUTH) and back, and changes the cooldown, with no restart and no failed
    request."""

    def test_edits_switch_the_notifier_and_the_cooldown(self):
        host = self.host
        smtp = delivery.SmtpPeer(host.tmp).start()
        try:
            host.plugin_config()["limits"]["cooldown_seconds"] = 60
            host.start()
            pid = host.process.pid
            token = host.sign_in_new_user("edith", "edith@example.com")
            load = LoadGenerator(host, 60, 100, path="/healthz", threads=4)
            try:
                before = host.mail_files()
                self.assertEqual(host.reauthenticate(token).status, 200)
                e2e.single_code(e2e.parse_mail(host.wait_for_mail(before))[1])
                self.assertEqual(host.reauthenticate(token).status, 429)  # the 60 s cooldown

                email = host.plugin_config()["email"]
                email["notifier"] = "smtp"
                email["smtp"] = {"host": "127.0.0.1", "port": smtp.port, "tls": "starttls",
                                 "username": delivery.SMTP_USER, "password": delivery.SMTP_PASSWORD,
                                 "ca_file": delivery.certificates()["ca"], "from": delivery.FROM_ADDRESS,
                                 "timeout_seconds": 5}
                host.plugin_config()["limits"]["cooldown_seconds"] = 0
                host.write_config()
                wait_for(lambda: host.generation() == 2, CHANGE_DEADLINE, "generation 2 after the edit")

                mails = host.mail_files()
                self.assertEqual(host.reauthenticate(token).status, 200)  # no cooldown any more
                wait_for(lambda: smtp.messages(), delivery.DELIVERY_DEADLINE, "the code over SMTP", interval=0.05)
                raw, envelope = smtp.message(smtp.messages()[0])
                self.assertEqual(envelope["rcpt_tos"], ["edith@example.com"])
                e2e.single_code(e2e.parse_mail(raw)[1])
                self.assertEqual(host.mail_files(), mails)

                email["notifier"] = "maildir"
                host.write_config()
                wait_for(lambda: host.generation() == 3, CHANGE_DEADLINE, "generation 3 after the edit back")
                self.assertEqual(host.reauthenticate(token).status, 200)
                e2e.single_code(e2e.parse_mail(host.wait_for_mail(mails))[1])
                self.assertEqual(len(smtp.messages()), 1)
            finally:
                load.stop()
                summary = load.summary()
            self.assertEqual(host.process.pid, pid)
            self.assertIsNone(host.process.poll(), "no restart")
            self.assertEqual(summary["failed"], 0, summary["failures"][:10])
            self.assertGreater(summary["total"], 0)
        finally:
            smtp.stop()


class SighupTest(PlatformTestCase):
    """SIGHUP reloads the configuration file (not in development mode: no watcher)."""

    development = False

    def test_sighup_refuses_an_invalid_configuration_and_applies_a_valid_one(self):
        host = self.host
        host.start()
        token = host.sign_in_new_user("hugo", "hugo@example.com")
        self.assertEqual(host.generation(), 1)

        broken = copy.deepcopy(host.settings)
        broken["plugins"]["reauthenticate"]["config"]["email"]["notifer"] = "smtp"
        host.write_config(broken)
        host.process.send_signal(signal.SIGHUP)
        line = host.wait_for_log("configuration reload refused", "plugins.reauthenticate.config.email.notifer")
        self.assertIn("did you mean 'notifier'?", line["message"])
        self.assertIsNone(host.process.poll(), "SIGHUP does not end the process")
        self.assertEqual(host.generation(), 1)
        before = host.mail_files()
        self.assertEqual(host.reauthenticate(token).status, 200)
        host.wait_for_mail(before)

        host.write_config(raw=b"{ not json")
        host.process.send_signal(signal.SIGHUP)
        host.wait_for_log("configuration reload refused", "not valid JSON")
        self.assertEqual(host.generation(), 1)

        host.settings["plugins"]["reauthenticate"]["config"]["limits"]["cooldown_seconds"] = 0
        host.settings["server"]["threads"] = 16
        host.write_config()
        host.process.send_signal(signal.SIGHUP)
        wait_for(lambda: host.generation() == 2, CHANGE_DEADLINE, "generation 2 after SIGHUP")
        host.wait_for_log("take effect only after a restart", "server.threads")
        self.assertEqual(host.reauthenticate(token).status, 200)  # the cooldown is gone


class StartupValidationTest(unittest.TestCase):
    """The configuration is validated before anything starts."""

    def setUp(self):
        self.host = PlatformHost(self.id().split(".")[-1], development=False)
        self.host.write_config()

    def tearDown(self):
        self.host.cleanup()

    def run_host(self, *args, timeout=30):
        return subprocess.run(self.host.command(self.host.name, *args), cwd=self.host.tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)

    def test_misspelt_plugin_key_refuses_to_start_naming_the_key(self):
        done = self.run_host("--define=plugins.reauthenticate.config.email.notifer=smtp")
        self.assertEqual(done.returncode, 78, done.stderr)
        stderr = done.stderr.decode("utf-8", "replace")
        self.assertIn("plugins.reauthenticate.config.email.notifer", stderr)
        self.assertIn("did you mean 'notifier'?", stderr)

    def test_config_check_exits_0_or_78_with_every_problem(self):
        done = self.run_host("config", "check")
        self.assertEqual(done.returncode, 0, done.stderr)
        done = self.run_host("--define=server.threadz=8", "--define=plugins.reauthenticate.config.code_ttl=59",
                             "config", "check")
        self.assertEqual(done.returncode, 78)
        stderr = done.stderr.decode("utf-8", "replace")
        self.assertIn("server.threadz: unknown key; did you mean 'threads'?", stderr)
        self.assertIn("plugins.reauthenticate.config.code_ttl", stderr)
        # The host's secrets as start-up resolves them: unset, with nothing to generate them, stops it.
        done = self.run_host("--define=secrets.generate=false", "--define=tokens.secret=" + "t" * 32,
                             "--define=passwords.record_key=", "config", "check")
        self.assertEqual(done.returncode, 78, done.stdout)
        self.assertIn("passwords.record_key", done.stderr.decode("utf-8", "replace"))
        done = self.run_host("--define=secrets.generate=false", "--define=tokens.secret=short",
                             "--define=passwords.record_key=" + "r" * 32, "config", "check")
        self.assertEqual(done.returncode, 78, done.stdout)
        self.assertNotIn("short", done.stderr.decode("utf-8", "replace").replace("shorter", ""))

    def test_second_host_on_a_busy_port_exits_with_a_clear_message(self):
        first = self.host
        first.start()
        try:
            done = self.run_host("--define=server.port=%d" % first.port)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("cannot listen on 127.0.0.1:%d" % first.port, done.stderr.decode("utf-8", "replace"))
            self.assertEqual(first.request("GET", "/healthz").status, 200)
        finally:
            first.terminate()


def main(argv):
    def stop_peers():
        delivery.stop_all_peers()
        delivery.remove_certificates()

    options, rest = e2e.parse_arguments(argv[1:])
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    return e2e.run_module(sys.modules[__name__], argv, rest, cleanup=stop_peers)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
