#!/usr/bin/env python3
"""Access tokens signed with key files verify with a standard JOSE library and the published key set.

A real identity-host signs with RS256, then ES256, then EdDSA, each with keys made by `openssl
genpkey` in a temporary folder. A user signs in, and the access token is verified by PyJWT (Debian's
python3-jwt, with python3-cryptography) alone: `jwt.PyJWKClient(<host>/auth/v1/.well-known/jwks.json)`
finds the key by the token's `kid`, and `jwt.decode` checks signature, algorithm, `aud`, `iss` and
the times. Then rotation: the new key first and the old one's public key after it, applied by SIGHUP
and by a restart; a token of the old key still verifies, new tokens carry the new kid; once the old
key is no longer listed its tokens stop verifying. A key that cannot be used stops start-up with a
message naming it, or is refused by a reload, and no key material reaches a log.

    python3 test_jwks.py --host-binary build/bin/identity-host \\
        --manifest build/plugins/reauthenticate/plugin.json --config config/dev.json --log-dir DIR
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

import jwt  # python3-jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as e2e  # noqa: E402

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
ISSUER = "http://127.0.0.1:8080"   # tokens.issuer of config/dev.json
AUDIENCE = "dev"                   # tokens.audience of config/dev.json
PASSWORD = "Jwks-Pass-42"
CHANGE_DEADLINE = 10.0             # seconds for a reload to show
GENPKEY = {
    "RS256": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ES256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "EdDSA": ["-algorithm", "ED25519"],
    "RS256-1024": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
}


def wait_for(condition, what, timeout=CHANGE_DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(0.02)


class KeyHost(e2e.Host):
    """A host whose configuration is a file of its own (config/dev.json with the tokens section the
    test writes), so that a SIGHUP reloads what the test changed; its keys live in its folder."""

    def __init__(self, name):
        super().__init__(name)
        self.config_path = os.path.join(self.tmp, "config.json")
        self.keys_dir = os.path.join(self.tmp, "keys")
        os.makedirs(self.keys_dir)
        with open(e2e.OPTIONS.config, encoding="utf-8") as f:
            self.settings = json.load(f)

    def make_key(self, name, kind):
        """Generates a key pair with openssl genpkey; returns (private file, public file)."""
        private = os.path.join(self.keys_dir, name + ".pem")
        public = os.path.join(self.keys_dir, name + ".pub.pem")
        subprocess.run(["openssl", "genpkey"] + GENPKEY[kind] + ["-out", private], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The private key's base64 lines are secrets: the log hygiene check looks for each in every log.
        with open(private, encoding="ascii") as f:
            e2e.record_secret(*(line.strip() for line in f if line.strip() and not line.startswith("-----")))
        return private, public

    def use_keys(self, algorithm, keys):
        """Writes tokens.algorithm and tokens.keys (kid, algorithm, private or public file) into the file."""
        tokens = self.settings["tokens"]
        tokens["algorithm"] = algorithm
        tokens["keys"] = [dict(kid=kid, algorithm=alg, **({"private_key_file": path} if private else
                                                           {"public_key_file": path}))
                          for kid, alg, path, private in keys]
        temporary = self.config_path + ".new"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(self.settings, out, indent=2)
        os.replace(temporary, self.config_path)

    def define_args(self, log_name):
        args = super().define_args(log_name)
        return ["--config=" + self.config_path] + args[1:]

    def log_path(self):
        return os.path.join(e2e.OPTIONS.log_dir, self.name + ".log")

    def log_messages(self):
        try:
            with open(self.log_path(), encoding="utf-8") as f:
                return [json.loads(line).get("message", "") for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def reload(self, *fragments):
        """SIGHUP, then waits for the log line of this reload (it holds every fragment)."""
        seen = len(self.log_messages())
        self.process.send_signal(signal.SIGHUP)
        return wait_for(lambda: next((m for m in self.log_messages()[seen:]
                                      if all(fragment in m for fragment in fragments)), None),
                        "a log line with %r after SIGHUP" % (fragments,))

    def restart(self):
        code, _ = self.terminate()
        if code != 0:
            raise AssertionError("%s: identity-host exited with %r after SIGTERM" % (self.name, code))
        self.start()

    # -- tokens

    def jwks_url(self):
        return "http://127.0.0.1:%d%s" % (self.port, JWKS_PATH)

    def access_token(self, username):
        reply = self.signin(PASSWORD, username=username)
        if reply.status != 200:
            raise AssertionError("signin %s: %r" % (username, reply))
        return e2e.record_credentials(reply.json)["access_token"]

    def accepts(self, token):
        return self.request("GET", "/auth/v1/user/me", token=token).status == 200


def decode_with_jwks(host, token, algorithm):
    """PyJWT with the key the JWKS publishes under the token's kid, accepting only `algorithm`."""
    key = jwt.PyJWKClient(host.jwks_url(), cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=[algorithm], audience=AUDIENCE, issuer=ISSUER,
                      options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]})


class KeyHostTestCase(unittest.TestCase):
    def setUp(self):
        self.host = KeyHost(self.id().split(".")[-1])

    def tearDown(self):
        try:
            code, _ = self.host.terminate()
        finally:
            self.host.cleanup()
        if code not in (0, None):
            raise AssertionError("identity-host exited with %r after SIGTERM" % code)


class EachAlgorithmTest(KeyHostTestCase):
    """RS256, ES256 and EdDSA: a signed-in user's access token verifies with PyJWT and the JWKS."""

    def check_algorithm(self, algorithm, kty):
        private, _ = self.host.make_key("signing", algorithm)
        self.host.use_keys(algorithm, [("k-" + algorithm.lower(), algorithm, private, True)])
        self.host.start()
        user_id = self.host.create_user("ada", PASSWORD)
        token = self.host.access_token("ada")

        header = jwt.get_unverified_header(token)
        self.assertEqual(header, {"alg": algorithm, "typ": "at+jwt", "kid": "k-" + algorithm.lower()})
        claims = decode_with_jwks(self.host, token, algorithm)
        self.assertEqual(claims["sub"], user_id)
        self.assertEqual(claims["aud"], AUDIENCE)
        self.assertEqual(claims["iss"], ISSUER)

        reply = self.host.request("GET", JWKS_PATH)
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.header("Cache-Control"), "public, max-age=300")
        [jwk] = reply.json["keys"]
        self.assertEqual((jwk["kty"], jwk["kid"], jwk["alg"], jwk["use"]), (kty, "k-" + algorithm.lower(), algorithm, "sig"))
        self.assertFalse({"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk), "a private member in %r" % sorted(jwk))

        # The token changed in one byte of its payload no longer verifies, for PyJWT either.
        head, body, signature = token.split(".")
        forged = "%s.%s.%s" % (head, body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1], signature)
        with self.assertRaises(jwt.InvalidTokenError):
            decode_with_jwks(self.host, forged, algorithm)
        self.assertFalse(self.host.accepts(forged))

    def test_rs256(self):
        self.check_algorithm("RS256", "RSA")

    def test_es256(self):
        self.check_algorithm("ES256", "EC")

    def test_eddsa(self):
        self.check_algorithm("EdDSA", "OKP")


class RotationTest(KeyHostTestCase):
    """The new key first, the old one's public key after it: by SIGHUP, then across a restart."""

    def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_retired(self):
        host = self.host
        old_private, old_public = host.make_key("old", "RS256")
        new_private, _ = host.make_key("new", "ES256")
        host.use_keys("RS256", [("old", "RS256", old_private, True)])
        host.start()
        host.create_user("ada", PASSWORD)
        old_token = host.access_token("ada")
        self.assertEqual(jwt.get_unverified_header(old_token)["kid"], "old")
        decode_with_jwks(host, old_token, "RS256")

        # SIGHUP with the new key first: no restart, both published, the old token still good.
        host.use_keys("ES256", [("new", "ES256", new_private, True), ("old", "RS256", old_public, False)])
        line = host.reload("configuration reloaded")
        self.assertNotIn("tokens.", line, "token keys take effect at once, without a restart")
        self.assertEqual([k["kid"] for k in host.request("GET", JWKS_PATH).json["keys"]], ["new", "old"])
        self.assertEqual(decode_with_jwks(host, old_token, "RS256")["sub"],
                         jwt.decode(old_token, options={"verify_signature": False})["sub"])
        self.assertTrue(host.accepts(old_token))
        new_token = host.access_token("ada")
        self.assertEqual(jwt.get_unverified_header(new_token), {"alg": "ES256", "typ": "at+jwt", "kid": "new"})
        decode_with_jwks(host, new_token, "ES256")
        # An ES256 library setting cannot be talked into taking the old RS256 token, nor the reverse.
        with self.assertRaises(jwt.InvalidAlgorithmError):
            decode_with_jwks(host, old_token, "ES256")

        # The same configuration across a restart.
        host.restart()
        decode_with_jwks(host, old_token, "RS256")
        decode_with_jwks(host, new_token, "ES256")
        self.assertTrue(host.accepts(old_token))
        self.assertEqual(jwt.get_unverified_header(host.access_token("ada"))["kid"], "new")

        # A reload with a key that cannot be used is refused; the running keys stay.
        small_private, _ = host.make_key("small", "RS256-1024")
        host.use_keys("ES256", [("new", "ES256", new_private, True), ("small", "RS256", small_private, True)])
        line = host.reload("configuration reload refused", "tokens.keys[1] (kid 'small')", "2048 bits")
        self.assertNotIn("PRIVATE KEY", line)
        self.assertEqual([k["kid"] for k in host.request("GET", JWKS_PATH).json["keys"]], ["new", "old"])
        self.assertTrue(host.accepts(old_token))

        # The old key retired: its tokens fail at the host and with the key set.
        host.use_keys("ES256", [("new", "ES256", new_private, True)])
        host.reload("configuration reloaded")
        self.assertEqual([k["kid"] for k in host.request("GET", JWKS_PATH).json["keys"]], ["new"])
        self.assertFalse(host.accepts(old_token))
        with self.assertRaises(jwt.PyJWKClientError):
            decode_with_jwks(host, old_token, "RS256")
        self.assertTrue(host.accepts(new_token))
        decode_with_jwks(host, new_token, "ES256")


class UnusableKeyTest(KeyHostTestCase):
    """A key that cannot be used stops start-up with exit status 78 and a message that names it."""

    def test_start_refuses_a_short_rsa_key_naming_it(self):
        private, _ = self.host.make_key("small", "RS256-1024")
        self.host.use_keys("RS256", [("small", "RS256", private, True)])
        done = subprocess.run(self.host.command(self.host.name), cwd=self.host.tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(done.returncode, 78, done.stderr)
        stderr = done.stderr.decode("utf-8", "replace")
        self.assertIn("tokens.keys[0] (kid 'small'): RS256 needs an RSA key of at least 2048 bits", stderr)
        with open(private, encoding="ascii") as f:
            material = [line.strip() for line in f if not line.startswith("-----")]
        self.assertFalse([line for line in material if line and line in stderr], "key material on stderr")


def main(argv):
    options, rest = e2e.parse_arguments(argv[1:])
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    # The hosts are on loopback: no proxy from the environment is to be asked for them.
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    return e2e.run_module(sys.modules[__name__], argv, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
