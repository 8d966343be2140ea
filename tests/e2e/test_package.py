#!/usr/bin/env python3
"""The Debian package as an operator meets it: `cpack -G DEB` from the build, unpacked into a scratch
root with `dpkg -x` (nothing is installed on this machine), its systemd unit checked with
`systemd-analyze verify` and `systemd-analyze security`, and the installed host started from the scratch
root with the installed sample configuration, its secrets as files (as the unit's LoadCredential= hands
them over) and the seed flow run against it.

    python3 test_package.py --build-dir build --host-binary build/bin/identity-host \\
        --manifest build/plugins/reauthenticate/plugin.json --config config/dev.json --log-dir build/test-logs
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402

BUILD_DIR = None  # set by main()
PREFIX = "usr"


def run(argv, **kwargs):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=600, **kwargs)
    if done.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(argv), done.returncode,
                                                      done.stdout.decode("utf-8", "replace")[-4000:]))
    return done.stdout.decode("utf-8", "replace")


class Package:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="identity-package-")
        run(["cpack", "-G", "DEB", "-B", os.path.join(self.work, "out"),
             "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake")])
        out = os.path.join(self.work, "out")
        debs = [name for name in os.listdir(out) if name.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("expected one .deb in %s, found %r" % (out, debs))
        self.deb = os.path.join(out, debs[0])
        self.root = os.path.join(self.work, "root")
        run(["dpkg-deb", "-x", self.deb, self.root])

    def path(self, *parts):
        return os.path.join(self.root, PREFIX, *parts)

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


class PackagedHost(e2e.EnvironmentHost):
    """The host installed in the scratch root, on the installed sample configuration (its paths under
    /usr and /var/lib moved into the scratch root and a temporary folder), its secrets as files."""

    package = None

    def __init__(self, name, defines=None):
        defines = dict(defines or {})
        defines["plugins.reauthenticate.manifest"] = self.package.path("lib", "identity", "plugins", "reauthenticate",
                                                                       "plugin.json")
        super().__init__(name, defines)
        self.config_file = self.package.path("share", "identity", "identity.sample.json")

    def command(self, log_name, *args):
        return [self.package.path("bin", "identity-host"), "--config=" + self.config_file] + list(args)


class PackageTest(e2e.HostTestCase):
    host_class = PackagedHost
    defines = e2e.NO_SEND_LIMITS
    PASSWORD = "Pkg-Passw0rd!"
    EMAIL = "judy@example.com"

    @classmethod
    def setUpClass(cls):
        cls.package = Package()
        PackagedHost.package = cls.package
        try:
            super().setUpClass()
        except BaseException:
            cls.package.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.package.cleanup()

    @classmethod
    def create_users(cls):
        cls.sub = cls.host.create_user("judy", cls.PASSWORD, cls.EMAIL)

    def test_package_holds_the_host_the_plugin_schemas_sample_configuration_sdk_and_unit(self):
        for part in (("bin", "identity-host"),
                     ("lib", "identity", "plugins", "reauthenticate", "libreauthenticate.so"),
                     ("lib", "identity", "plugins", "reauthenticate", "plugin.json"),
                     ("lib", "identity", "plugins", "reauthenticate", "schema", "reauthenticate.config.schema.json"),
                     ("lib", "identity", "plugins", "reauthenticate", "schema", "sqlite", "0001_codes.sql"),
                     ("lib", "identity", "plugins", "reauthenticate", "schema", "postgresql", "0001_codes.sql"),
                     ("share", "identity", "schema", "config.schema.json"),
                     ("share", "identity", "schema", "openapi.yaml"),
                     ("share", "identity", "identity.sample.json"),
                     ("include", "identity", "sdk", "Plugin.h"),
                     ("lib", "cmake", "IdentitySDK", "IdentitySDKConfig.cmake"),
                     ("lib", "systemd", "system", "identity-host.service")):
            self.assertTrue(os.path.isfile(self.package.path(*part)), "missing: /usr/" + "/".join(part))
        info = run(["dpkg-deb", "-I", self.package.deb])
        for dependency in ("libpocofoundation80", "libsodium23", "libpq5", "openssl"):
            self.assertIn(dependency, info)
        control = os.path.join(self.package.work, "control")
        run(["dpkg-deb", "-e", self.package.deb, control])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(control, script), os.X_OK), script)
            run(["sh", "-n", os.path.join(control, script)])
        # The installed binary runs from the scratch root: its library is found beside it.
        version = run([self.package.path("bin", "identity-host"), "--version"])
        self.assertRegex(version, r"^identity-host [0-9.]+ \(plugin SDK [0-9]+\.[0-9]+\)")

    def test_unit_verifies_and_is_hardened(self):
        unit = self.package.path("lib", "systemd", "system", "identity-host.service")
        with open(unit, encoding="utf-8") as f:
            text = f.read()
        for directive in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=identity",
                          "LoadCredential=token-key:/etc/identity/token-key", "NoNewPrivileges=yes",
                          "ExecStart=/usr/bin/identity-host --config=/etc/identity/identity.json"):
            self.assertIn(directive, text)
        # Checked as the machine would load it, the binary's path moved into the scratch root.
        checked = os.path.join(self.package.work, "identity-host.service")
        with open(checked, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/identity-host", self.package.path("bin", "identity-host")))
        done = subprocess.run(["systemd-analyze", "verify", checked], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout.decode("utf-8", "replace"))
        security = run(["systemd-analyze", "security", "--offline=yes", checked])
        exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", security).group(1))
        self.assertLessEqual(exposure, 2.0, security[-3000:])

    def test_installed_host_serves_the_seed_flow_on_the_sample_configuration(self):
        with open(self.host.config_file, encoding="utf-8") as f:
            sample = json.load(f)
        self.assertEqual(sample["plugins"]["reauthenticate"]["manifest"],
                         "/usr/lib/identity/plugins/reauthenticate/plugin.json")
        self.assertFalse(sample["secrets"]["generate"])
        token = e2e.record_credentials(self.assertOk(self.call(
            "POST", "/auth/v1/signin", body={"username": "judy", "password": self.PASSWORD})))["access_token"]
        before = self.host.mail_files()
        self.assertEqual(self.assertOk(self.call("POST", "/auth/v1/user/reauthenticate",
                                                 body={"verify_opt": "email_code"}, token=token)), {})
        code = e2e.single_code(e2e.parse_mail(self.host.wait_for_mail(before))[1])
        sudo = self.assertOk(self.call("POST", "/auth/v1/user/sudo", body={"verification_code": code}, token=token))
        e2e.record_secret(sudo["sudo_token"])
        health = self.host.request("GET", "/readyz")
        self.assertEqual(health.status, 200, health)


def main(argv):
    global BUILD_DIR
    arguments = list(argv[1:])
    if "--build-dir" not in arguments:
        raise SystemExit("--build-dir is required")
    index = arguments.index("--build-dir")
    BUILD_DIR = os.path.abspath(arguments[index + 1])
    del arguments[index:index + 2]
    options, rest = e2e.parse_arguments(arguments)
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    return e2e.run_module(sys.modules[__name__], argv, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
