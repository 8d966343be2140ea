#!/usr/bin/env python3
"""The SDK as someone outside this tree uses it: installed with `cmake --install`, the examples under
examples/ built against the installed SDK alone (find_package(IdentitySDK) + identity_add_plugin),
loaded by a real host, and the notifier type of one plugin selected by another's configuration.
Also: every code block of docs/plugin-development.md is a file of examples/, byte for byte, so what
the guide shows is what this test compiles.

    python3 test_sdk.py --build-dir build --source-dir . --host-binary build/bin/identity-host \
        --manifest build/plugins/reauthenticate/plugin.json --config config/dev.json --log-dir build/e2e-logs
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402

SDK = None  # set by main(): build_dir, source_dir
EXAMPLES = ("route-plugin", "notifier-plugin")
PASSWORD = "Sdk-Example-Pass-3"


def run(argv, **kwargs):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=600, **kwargs)
    if done.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(argv), done.returncode,
                                                      done.stdout.decode("utf-8", "replace")[-4000:]))
    return done.stdout.decode("utf-8", "replace")


class InstalledSdk:
    """`cmake --install` of the build into a fresh prefix, and the examples built against it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="identity-sdk-")
        self.prefix = os.path.join(self.root, "prefix")
        run(["cmake", "--install", SDK.build_dir, "--prefix", self.prefix])
        self.plugins = {}
        for example in EXAMPLES:
            # Copied out of the source tree first: nothing of this tree but the installed SDK is in reach.
            source = os.path.join(self.root, "src", example)
            shutil.copytree(os.path.join(SDK.source_dir, "examples", example), source)
            build = os.path.join(self.root, "build", example)
            run(["cmake", "-S", source, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                 "-DCMAKE_PREFIX_PATH=" + self.prefix, "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"])
            run(["cmake", "--build", build])
            for name in os.listdir(os.path.join(build, "plugins")):
                self.plugins[name] = os.path.join(build, "plugins", name, "plugin.json")

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


class InstalledSdkTest(unittest.TestCase):
    sdk = None

    @classmethod
    def setUpClass(cls):
        cls.sdk = InstalledSdk()

    @classmethod
    def tearDownClass(cls):
        cls.sdk.cleanup()

    def test_installed_package_has_the_headers_library_and_cmake_files(self):
        package = os.path.join(self.sdk.prefix, "lib", "cmake", "IdentitySDK")
        for name in ("IdentitySDKConfig.cmake", "IdentitySDKConfigVersion.cmake", "IdentitySDKTargets.cmake",
                     "IdentityPlugin.cmake", "plugin-exports.map"):
            self.assertTrue(os.path.isfile(os.path.join(package, name)), name)
        with open(os.path.join(self.sdk.prefix, "include", "identity", "sdk", "Version.h"), encoding="utf-8") as f:
            version = f.read()
        self.assertRegex(version, r"#define IDENTITY_SDK_VERSION_MAJOR [0-9]+")
        self.assertNotIn("@", version)  # configured, not the template
        self.assertTrue(any(n.startswith("libidentity-sdk.so") for n in os.listdir(os.path.join(self.sdk.prefix, "lib"))))

    def test_examples_are_small_and_build_against_the_installed_sdk(self):
        self.assertEqual(set(self.sdk.plugins), {"hello", "file-notifier"})
        for example in EXAMPLES:
            folder = os.path.join(SDK.source_dir, "examples", example)
            for name in os.listdir(folder):
                if name.endswith(".cpp"):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        self.assertLess(len(f.read().splitlines()), 100, name)
        for name, manifest in self.sdk.plugins.items():
            with open(manifest, encoding="utf-8") as f:
                library = json.load(f)["library"]
            self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(manifest), library)), name)

    def test_route_plugin_and_shared_notifier_serve_in_a_real_host(self):
        host = e2e.Host("sdk-examples", {
            "plugins.hello.manifest": self.sdk.plugins["hello"],
            "plugins.hello.config.greeting": "Ni hao",
            "plugins.file-notifier.manifest": self.sdk.plugins["file-notifier"],
            "plugins.reauthenticate.config.sms.notifier": "file",
        })
        sms_file = os.path.join(host.tmp, "sms.jsonl")
        host.extra_defines["plugins.reauthenticate.config.sms.file.path"] = sms_file
        try:
            phone = "+8613800138123"
            host.create_user("sdkuser", PASSWORD, phone=phone)
            host.start()
            reply = host.request("GET", "/hello/v1/greeting?name=Ada")
            self.assertEqual(reply.status, 200, reply)
            self.assertEqual(reply.json, {"message": "Ni hao, Ada"})
            self.assertEqual(host.request("GET", "/hello/v1/me").status, 401)

            token = e2e.record_credentials(host.signin(PASSWORD, username="sdkuser").json)["access_token"]
            reply = host.request("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "phone_code"}, token=token)
            self.assertEqual(reply.status, 200, reply)
            lines = e2e_wait_for_lines(sms_file)
            message = json.loads(lines[0])
            self.assertEqual(message["channel"], "sms")
            self.assertEqual(message["to"], phone)
            code = e2e.single_code(message["text"])
            reply = host.request("POST", "/auth/v1/user/sudo", {"verification_code": code}, token=token)
            self.assertEqual(reply.status, 200, reply)
            e2e.record_credentials(reply.json)
            self.assertEqual(host.terminate()[0], 0)
        finally:
            host.cleanup()


def e2e_wait_for_lines(path, deadline=15.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with open(path, encoding="utf-8") as f:
                lines = [line for line in f.read().split("\n") if line]
            if lines:
                return lines
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise AssertionError("nothing written to %s within %.0f s" % (path, deadline))


class GuideTest(unittest.TestCase):
    """docs/plugin-development.md: each C++ and CMake block (and each JSON block it names so) follows a
    line naming its file under examples/ and is that file exactly, so the blocks are what
    InstalledSdkTest compiles."""

    def test_every_code_block_of_the_guide_is_an_example_file(self):
        guide = os.path.join(SDK.source_dir, "docs", "plugin-development.md")
        with open(guide, encoding="utf-8") as f:
            text = f.read()
        blocks = list(re.finditer(r"(?m)^```(\w*)\n(.*?)^```$", text, re.S))
        compiled = 0
        for block in blocks:
            language, body = block.group(1), block.group(2)
            before = text[:block.start()].rstrip("\n").split("\n")[-1]
            named = re.fullmatch(r"`(examples/[^`]+)`:", before.strip())
            if language not in ("cpp", "cmake") and not named:
                continue  # shell commands and configuration snippets
            self.assertIsNotNone(named, "a %s block of the guide names no examples/ file (line before: %r)"
                                 % (language, before))
            with open(os.path.join(SDK.source_dir, named.group(1)), encoding="utf-8") as f:
                self.assertEqual(body, f.read(), "the guide's %s differs from the file" % named.group(1))
            compiled += 1
        self.assertGreaterEqual(compiled, 6)


def main(argv):
    global SDK
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    SDK, rest = parser.parse_known_args(argv[1:])
    SDK.build_dir = os.path.abspath(SDK.build_dir)
    SDK.source_dir = os.path.abspath(SDK.source_dir)
    options, rest = e2e.parse_arguments(rest)
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    return e2e.run_module(sys.modules[__name__], argv, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
