#!/usr/bin/env python3
"""Checks the machine-readable contract documents in schema/.

Usage: validate_schemas.py [PROJECT_ROOT]   (default: two folders above this script)

- every schema/*.schema.json parses, is a valid JSON Schema (draft 2020-12), and every `$ref` in it
  resolves (relative file references through a registry built from the files in schema/);
- config.schema.json and plugin.schema.json accept the documented shapes and reject malformed ones
  (fixtures below);
- config/dev.json is validated against config.schema.json and plugin.json against
  plugin.schema.json, when those files exist (skipped with a note otherwise);
- schema/openapi.yaml is OpenAPI 3.0.3 with every endpoint of the product and the right methods,
  every `$ref` in it resolves, and it keeps the API conventions (parameters, headers, error
  envelope, status codes per endpoint, examples that match their schemas).

Needs only Debian's python3-jsonschema (4.10.3 in Debian 12; newer versions work too) and
python3-yaml. Prints one line per check and "N passed, M failed" at the end; exits 1 when a check
failed and 2 when it cannot run at all.
"""

import copy
import json
import pathlib
import sys
import urllib.parse

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    sys.stderr.write("validate_schemas.py needs jsonschema: apt-get install -y python3-jsonschema\n")
    sys.exit(2)
try:
    import yaml
except ImportError:
    sys.stderr.write("validate_schemas.py needs PyYAML: apt-get install -y python3-yaml\n")
    sys.exit(2)

try:  # jsonschema >= 4.18 resolves references through a `referencing` registry.
    import referencing
    import referencing.jsonschema
    from jsonschema_specifications import REGISTRY as SPECIFICATIONS

    Draft202012Validator({}, registry=referencing.Registry())
    HAVE_REGISTRY = True
except (ImportError, TypeError):
    HAVE_REGISTRY = False  # jsonschema 4.10.3 (Debian 12): RefResolver with a store.

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Every endpoint of the product (SPEC section 2, the admin API and the reauthenticate plugin's delivery
# report hook), its methods, and per operation the HTTP statuses its responses document. The host checks
# the body framing of every request (400 4001) and reads and checks the body of every request to a known
# route (400, 413, 415), whether or not the operation takes a body.
EXPECTED_OPERATIONS = {
    ("/auth/v1/signin", "post"): {200, 400, 401, 405, 413, 415, 429, 500, 503},
    ("/auth/v1/token", "post"): {200, 400, 401, 405, 413, 415, 500},
    ("/auth/v1/user/me", "get"): {200, 400, 401, 405, 413, 415, 500},
    ("/auth/v1/user/me", "delete"): {200, 400, 401, 403, 405, 413, 415, 500},
    ("/auth/v1/user/signout", "post"): {200, 400, 401, 405, 413, 415, 500},
    ("/auth/v1/revoke", "post"): {200, 400, 405, 413, 415, 500},
    ("/auth/v1/.well-known/jwks.json", "get"): {200, 400, 405, 413, 415, 500},
    ("/auth/v1/user/reauthenticate", "post"): {200, 400, 401, 404, 405, 412, 413, 415, 429, 500, 503},
    ("/auth/v1/user/sudo", "post"): {200, 400, 401, 405, 413, 415, 429, 500, 503},
    ("/auth/v1/user/password", "patch"): {200, 400, 401, 403, 405, 413, 415, 429, 500, 503},
    ("/healthz", "get"): {200, 400, 405, 413, 415, 500},
    ("/readyz", "get"): {200, 400, 405, 413, 415, 500, 503},
    ("/metrics", "get"): {200, 400, 405, 413, 415, 500},
    ("/admin/plugins", "get"): {200, 400, 401, 404, 405, 413, 415, 500},
    ("/admin/plugins/{name}/reload", "post"): {200, 400, 401, 404, 405, 412, 413, 415, 500},
    ("/hooks/kannel/dlr", "get"): {200, 400, 403, 404, 405, 413, 415, 500},
}

# The one auth answer that may be cached (Cache-Control: public, max-age=300): the public key set.
PUBLIC_CACHE = ("/auth/v1/.well-known/jwks.json", "get", "200")

# The error table: HTTP status -> the error_code values (and error names) allowed with it.
ERROR_TABLE = {
    400: {4001: "invalid_argument", 4002: "invalid_verification_code", 4005: "weak_password"},
    401: {4010: "unauthenticated", 4003: "invalid_password"},
    403: {4030: "permission_denied"},
    404: {4040: "not_found"},
    405: {4050: "invalid_argument"},
    412: {4120: "failed_precondition"},
    413: {4130: "invalid_argument"},
    415: {4150: "invalid_argument"},
    429: {4290: "resource_exhausted"},
    500: {5000: "internal"},
    503: {5030: "unavailable"},
}

SEED_4001 = {
    "error": "invalid_argument",
    "error_code": 4001,
    "error_description": "Invalid verification method, please use phone_code or email_code",
}

# The configuration example of SPEC section 6a, verbatim.
SPEC_CONFIG = {
    "server": {"host": "127.0.0.1", "port": 8080, "threads": 32, "max_body_bytes": 16384,
               "tls": {"certificate": "", "private_key": ""}},
    "environment": {"id": "dev", "clients": ["dev"]},
    "storage": {"url": "sqlite:var/identity.db"},
    "tokens": {"issuer": "http://127.0.0.1:8080", "audience": "dev", "algorithm": "HS256",
               "secret": "${system.env.IDP_TOKEN_SECRET}", "access_ttl": 7200, "refresh_ttl": 2592000,
               "keys": []},
    "development": {"enabled": False},
    "admin": {"token": "${system.env.IDP_ADMIN_TOKEN}"},
    "plugins": {
        "reauthenticate": {
            "manifest": "build/plugins/reauthenticate/plugin.json",
            "enabled": True,
            "config": {
                "code_ttl": 300,
                "limits": {"cooldown_seconds": 60, "per_user_per_hour": 10, "per_ip_per_hour": 50,
                           "per_destination_per_hour": 5, "sms_per_minute": 100,
                           "attempts_per_code": 5, "failures_before_lock": 20, "lock_seconds": 3600},
                "email": {"notifier": "maildir",
                          "maildir": {"path": "var/mail"},
                          "smtp": {"host": "", "port": 587, "tls": "starttls", "username": "", "password": "",
                                   "ca_file": "", "from": "no-reply@example.com"}},
                "sms": {"notifier": "log",
                        "log": {"path": "var/sms.log"},
                        "kannel": {"url": "http://127.0.0.1:13013/cgi-bin/sendsms", "username": "",
                                   "password": "", "from": ""},
                        "webhook": {"url": "", "secret": ""}},
            },
        }
    },
}


WHSEC = "whsec_" + "A" * 43 + "="       # a 32-byte key
WHSEC_OLD = "whsec_" + "B" * 32         # a 24-byte key

def full_config():
    """The SPEC example with every key the implementation adds."""
    config = copy.deepcopy(SPEC_CONFIG)
    config["server"].update({"port": 0, "port_file": "var/port", "max_queued": 256,
                             "trusted_proxies": ["10.0.0.1", "2001:db8::1", "::ffff:10.0.0.2"],
                             "tls": {"certificate": "etc/server.pem", "private_key": "etc/server.key"}})
    config["storage"]["url"] = "${system.env.IDP_STORAGE_URL}"
    config["tokens"]["sudo_ttl"] = 900
    config["logging"] = {"file": "", "level": "information"}
    config["secrets"] = {"file": "var/secrets.json", "generate": True}
    config["passwords"] = {"pbkdf2_iterations": 600000, "failures_before_lock": 10, "lock_seconds": 900}
    plugin = config["plugins"]["reauthenticate"]["config"]
    plugin.update({"product_name": "Example", "pepper": "", "outbox_key": "${system.env.IDP_OUTBOX_KEY}",
                   "delivery": {"poll_ms": 200, "batch": 50, "max_backoff_seconds": 60},
                   "templates": {"email": {"en": {"subject": "etc/subject.txt", "text": "etc/mail.txt",
                                                  "html": "etc/mail.html"}, "zh": {"text": ""}},
                                 "sms": {"en": "etc/sms.txt", "zh": "etc/sms.zh.txt"}}})
    plugin["email"]["log"] = {"path": "var/mail.log"}
    plugin["email"]["smtp"].update({"helo": "id.example.com", "timeout_seconds": 10, "idle_seconds": 30,
                                    "reuse_connection": True})
    plugin["sms"]["maildir"] = {"path": "var/sms-mail", "from": "sms@example.com"}
    plugin["sms"]["kannel"].update({"dlr_url": "https://id.example.com/hooks/kannel/dlr", "dlr_mask": 3,
                                    "ca_file": "", "timeout_seconds": 10})
    plugin["sms"]["webhook"].update({"ca_file": "etc/ca.pem", "timeout_seconds": 5})
    config["plugins"]["other"] = {"manifest": "build/plugins/other/plugin.json", "config": {"anything": [1, 2]}}
    config["plugins"]["dormant"] = {"enabled": False}
    return config


def with_changes(document, *changes):
    """`document` with several (path, value) changes applied."""
    for path, value in changes:
        document = with_change(document, path, value)
    return document


def sample_manifest(reauth_schema):
    return {
        "name": "reauthenticate",
        "version": "1.0.0",
        "sdk_version": "3.0",
        "library": "libreauthenticate.so",
        "class": "ReauthenticatePlugin",
        "description": "Sends one-time codes for reauthentication and verifies them.",
        "routes": [{"method": "POST", "path": "/auth/v1/user/reauthenticate", "auth": "access_token"}],
        "services": ["code-verifier", "user-data:reauthenticate"],
        "default_config": copy.deepcopy(SPEC_CONFIG["plugins"]["reauthenticate"]["config"]),
        "config_schema": reauth_schema,
    }


def with_change(document, path, value, delete=False):
    """A deep copy of `document` with the member at `path` (a list of keys) set or deleted."""
    result = copy.deepcopy(document)
    target = result
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, function, *args):
        try:
            function(*args)
        except CheckFailed as error:
            self.failed += 1
            print("FAIL  %s\n      %s" % (name, str(error).replace("\n", "\n      ")))
            return False
        except Exception as error:  # a check that crashes is a failed check, with the reason
            self.failed += 1
            print("FAIL  %s\n      %s: %s" % (name, type(error).__name__, error))
            return False
        self.passed += 1
        print("ok    %s" % name)
        return True

    @staticmethod
    def note(text):
        print("skip  %s" % text)


# --- loading -----------------------------------------------------------------------------------------

def _unique_pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key %r" % key)
        result[key] = value
    return result


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle, object_pairs_hook=_unique_pairs)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "duplicate key %r" % (key,), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_UniqueKeyLoader)


def walk(node, pointer=""):
    """Yields (JSON pointer, dict) for every object in a JSON document."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk(value, pointer + "/" + str(key).replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, "%s/%d" % (pointer, index))


def resolve_pointer(document, fragment):
    """The value at a URI fragment (`/a/b`, percent-encoded JSON pointer) of a document."""
    fragment = urllib.parse.unquote(fragment)
    if fragment == "":
        return document
    require(fragment.startswith("/"), "not a JSON pointer: #%s" % fragment)
    node = document
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            require(token.isdigit() and int(token) < len(node), "no element %s in #%s" % (token, fragment))
            node = node[int(token)]
        else:
            require(isinstance(node, dict) and token in node, "no member %r in #%s" % (token, fragment))
            node = node[token]
    return node


def error_lines(errors):
    lines = []
    for error in errors:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        lines.append("at %s: %s" % (where, error.message))
    return "\n".join(lines)


def all_errors(errors):
    """The errors and, recursively, the errors inside them (oneOf, anyOf)."""
    for error in errors:
        yield error
        yield from all_errors(error.context or [])


# --- the JSON Schemas ---------------------------------------------------------------------------------

class SchemaSet:
    """The JSON Schemas of schema/, each under its file URI, so that relative `$ref`s resolve."""

    def __init__(self, folder):
        self.folder = folder
        self.schemas = {}  # file name -> schema, with "$id" set to its file URI when it had none
        self.uris = {}     # file name -> URI
        self.broken = set()  # file names that do not parse, are not valid schemas or have dangling $refs

    def add(self, name, schema):
        uri = (self.folder / name).resolve().as_uri()
        schema = copy.deepcopy(schema)
        if isinstance(schema, dict):
            schema.setdefault("$id", uri)
        self.schemas[name] = schema
        self.uris[name] = schema.get("$id", uri) if isinstance(schema, dict) else uri

    def _registry(self):
        resources = [(self.uris[name], referencing.Resource.from_contents(
            schema, default_specification=referencing.jsonschema.DRAFT202012))
            for name, schema in self.schemas.items()]
        return referencing.Registry().with_resources(resources)

    def _resolver(self, name):
        store = {self.uris[other]: schema for other, schema in self.schemas.items()}
        return jsonschema.RefResolver(base_uri=self.uris[name], referrer=self.schemas[name], store=store)

    def validator(self, name):
        if HAVE_REGISTRY:
            return Draft202012Validator(self.schemas[name], registry=self._registry())
        return Draft202012Validator(self.schemas[name], resolver=self._resolver(name))

    def resolve(self, name, ref):
        """The target of `ref` written in schema `name` (raises when it does not resolve)."""
        if HAVE_REGISTRY:
            resolver = SPECIFICATIONS.combine(self._registry()).resolver(base_uri=self.uris[name])
            return resolver.lookup(ref).contents
        return self._resolver(name).resolve(ref)[1]


def schema_refs(schema):
    """Every `$ref` in a schema, skipping data keywords whose values are instances, not schemas."""
    found = []

    def visit(node, pointer):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("enum", "const", "default", "examples"):
                    continue
                if key == "$ref" and isinstance(value, str):
                    found.append((pointer, value))
                else:
                    visit(value, pointer + "/" + key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(value, "%s/%d" % (pointer, index))

    visit(schema, "")
    return found


def expect_valid(schemas, name, instance):
    errors = sorted(schemas.validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    require(not errors, "%s rejects it:\n%s" % (name, error_lines(errors)))


def expect_invalid(schemas, name, instance, at):
    """`instance` must be rejected, by an error reported at the member path `at`."""
    errors = list(schemas.validator(name).iter_errors(instance))
    require(errors, "%s accepts it" % name)
    paths = {"/".join(str(part) for part in error.absolute_path) for error in all_errors(errors)}
    require(at in paths, "%s rejects it, but not at %s:\n%s" % (name, at or "(root)", error_lines(errors)))


def check_schema_files(report, root):
    folder = root / "schema"
    schemas = SchemaSet(folder)
    files = sorted(path.name for path in folder.glob("*.schema.json"))
    for required_file in ("config.schema.json", "plugin.schema.json", "reauthenticate.config.schema.json"):
        report.check("schema/%s exists" % required_file,
                     lambda f=required_file: require(f in files, "missing: %s" % (folder / f)))

    loaded = []
    for name in files:
        def parse(name=name):
            schemas.add(name, load_json(folder / name))
        if report.check("schema/%s parses as JSON" % name, parse):
            loaded.append(name)
        else:
            schemas.broken.add(name)

    for name in loaded:
        def is_schema(name=name):
            schema = schemas.schemas[name]
            require(isinstance(schema, dict), "the document is not an object")
            require(schema.get("$schema") == DRAFT_2020_12,
                    "$schema must be %s, is %r" % (DRAFT_2020_12, schema.get("$schema")))
            try:
                Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                raise CheckFailed("not a valid schema: at %s: %s" % (
                    "/".join(str(p) for p in error.absolute_path) or "(root)", error.message))
        if not report.check("schema/%s is a valid draft 2020-12 schema" % name, is_schema):
            schemas.broken.add(name)
            continue

        def refs_resolve(name=name):
            problems = []
            for pointer, ref in schema_refs(schemas.schemas[name]):
                try:
                    schemas.resolve(name, ref)
                except Exception as error:  # the resolvers raise different types across versions
                    problems.append("%s: $ref %r does not resolve (%s)" % (pointer or "(root)", ref, error))
            require(not problems, "\n".join(problems))
        if not report.check("schema/%s: every $ref resolves" % name, refs_resolve):
            schemas.broken.add(name)
    grown = True
    while grown:  # a schema that refers to an unusable one is unusable too
        grown = False
        for other in loaded:
            refers = {ref.partition("#")[0] for _, ref in schema_refs(schemas.schemas[other])}
            if other not in schemas.broken and refers & schemas.broken:
                schemas.broken.add(other)
                grown = True
    for name in sorted(schemas.broken):
        report.note("schema/%s is not usable; the checks that validate with it are left out" % name)
        schemas.schemas.pop(name, None)
    return schemas


def check_fixtures(report, schemas):
    if "config.schema.json" in schemas.schemas:
        cfg = "config.schema.json"
        report.check("config: the SPEC 6a example is valid", expect_valid, schemas, cfg, SPEC_CONFIG)
        report.check("config: the example with every implementation key is valid",
                     expect_valid, schemas, cfg, full_config())
        report.check("config: an empty object is valid (every section is optional)", expect_valid, schemas, cfg, {})
        reauth = ["plugins", "reauthenticate", "config"]
        valid = [
            ("a 32-character admin token", [(["admin", "token"], "x" * 32)]),
            ("a file: secret", [(["tokens", "secret"], "file:/run/secrets/token")]),
            ("email notifier none", [(reauth + ["email", "notifier"], "none")]),
            ("sms notifier empty (channel off)", [(reauth + ["sms", "notifier"], "")]),
            ("the smtp notifier with host and from",
             [(reauth + ["email", "notifier"], "smtp"), (reauth + ["email", "smtp", "host"], "smtp.example.com")]),
            ("the kannel notifier on a loopback gateway with credentials",
             [(reauth + ["sms", "notifier"], "kannel"), (reauth + ["sms", "kannel", "username"], "identity"),
              (reauth + ["sms", "kannel", "password"], "${system.env.IDP_KANNEL_PASSWORD}")]),
            ("the webhook notifier over https with a Standard Webhooks secret",
             [(reauth + ["sms", "notifier"], "webhook"), (reauth + ["sms", "webhook", "url"], "https://sms.example.com/send"),
              (reauth + ["sms", "webhook", "secret"], WHSEC)]),
            ("email by webhook, with a secret being rotated away",
             [(reauth + ["email", "notifier"], "webhook"),
              (reauth + ["email", "webhook"], {"url": "https://mail.example.com/send", "secret": WHSEC,
                                                "previous_secrets": [WHSEC_OLD]})]),
            ("the limits at their bounds",
             [(reauth + ["limits"], {"cooldown_seconds": 86400, "per_user_per_hour": 0, "per_ip_per_hour": 1000000,
                                     "per_destination_per_hour": 0, "sms_per_minute": 0, "attempts_per_code": 10,
                                     "failures_before_lock": 100, "lock_seconds": 604800}),
              (reauth + ["delivery"], {"poll_ms": 10, "batch": 1000, "max_backoff_seconds": 3600,
                                       "lease_seconds": 5})]),
            ("PostgreSQL storage", [(["storage", "url"], "postgresql://identity:pw@db.internal:5432/identity")]),
            ("RS256 with a signing key and an older public key",
             [(["tokens", "algorithm"], "RS256"),
              (["tokens", "keys"], [{"kid": "2025-06", "algorithm": "RS256", "private_key_file": "etc/keys/new.pem"},
                                    {"kid": "2025-01", "algorithm": "ES256", "public_key_file": "etc/keys/old.pub.pem"}])]),
            ("EdDSA with one key", [(["tokens", "algorithm"], "EdDSA"),
                                    (["tokens", "keys"], [{"kid": "ed", "algorithm": "EdDSA",
                                                           "private_key_file": "etc/keys/ed.pem"}])]),
        ]
        for label, changes in valid:
            report.check("config: accepts %s" % label, expect_valid, schemas, cfg, with_changes(full_config(), *changes))
        invalid = [
            ("an unknown top-level key", ["serverr"], {}, ""),
            ("an unknown server key", ["server", "prot"], 8080, "server"),
            ("port 65536", ["server", "port"], 65536, "server/port"),
            ("a certificate without private key", ["server", "tls"], {"certificate": "a.pem", "private_key": ""},
             "server/tls/private_key"),
            ("trusted proxy given as a CIDR range", ["server", "trusted_proxies"], ["10.0.0.0/8"],
             "server/trusted_proxies/0"),
            ("threads 1", ["server", "threads"], 1, "server/threads"),
            ("threads 1025", ["server", "threads"], 1025, "server/threads"),
            ("storage url mysql://", ["storage", "url"], "mysql://db/identity", "storage/url"),
            ("storage url postgresql: without //", ["storage", "url"], "postgresql:db/identity", "storage/url"),
            ("storage url sqlite::memory:", ["storage", "url"], "sqlite::memory:", "storage/url"),
            ("algorithm none", ["tokens", "algorithm"], "none", "tokens/algorithm"),
            ("algorithm ES384 (Poco signs it badly; not offered)", ["tokens", "algorithm"], "ES384", "tokens/algorithm"),
            ("algorithm RS256 with no key", ["tokens", "algorithm"], "RS256", "tokens/keys"),
            ("keys under HS256", ["tokens", "keys"],
             [{"kid": "a", "algorithm": "RS256", "private_key_file": "a.pem"}], "tokens/keys"),
            ("a key with both a private and a public key file", ["tokens"],
             {"algorithm": "RS256", "keys": [{"kid": "a", "algorithm": "RS256", "private_key_file": "a.pem",
                                              "public_key_file": "a.pub.pem"}]}, "tokens/keys/0"),
            ("a key without a key file", ["tokens"],
             {"algorithm": "RS256", "keys": [{"kid": "a", "algorithm": "RS256"}]}, "tokens/keys/0"),
            ("a key of algorithm HS256", ["tokens"],
             {"algorithm": "RS256", "keys": [{"kid": "a", "algorithm": "HS256", "private_key_file": "a.pem"}]},
             "tokens/keys/0/algorithm"),
            ("a kid with a space", ["tokens"],
             {"algorithm": "RS256", "keys": [{"kid": "a b", "algorithm": "RS256", "private_key_file": "a.pem"}]},
             "tokens/keys/0/kid"),
            ("a key member the host does not read", ["tokens"],
             {"algorithm": "RS256", "keys": [{"kid": "a", "algorithm": "RS256", "private_key_file": "a.pem",
                                              "passphrase": "x"}]}, "tokens/keys/0"),
            ("a literal token secret shorter than 32 bytes", ["tokens", "secret"], "short-secret", "tokens/secret"),
            ("access_ttl 59", ["tokens", "access_ttl"], 59, "tokens/access_ttl"),
            ("sudo_ttl 0", ["tokens", "sudo_ttl"], 0, "tokens/sudo_ttl"),
            ("sudo_ttl 59", ["tokens", "sudo_ttl"], 59, "tokens/sudo_ttl"),
            ("an admin token shorter than 32 characters", ["admin", "token"], "letmein", "admin/token"),
            ("logging level verbose", ["logging"], {"level": "verbose"}, "logging/level"),
            ("secrets.generate as a string", ["secrets"], {"generate": "yes"}, "secrets/generate"),
            ("pbkdf2_iterations 100000", ["passwords"], {"pbkdf2_iterations": 100000},
             "passwords/pbkdf2_iterations"),
            ("passwords.failures_before_lock 0", ["passwords", "failures_before_lock"], 0,
             "passwords/failures_before_lock"),
            ("passwords.failures_before_lock 101", ["passwords", "failures_before_lock"], 101,
             "passwords/failures_before_lock"),
            ("passwords.lock_seconds 0", ["passwords", "lock_seconds"], 0, "passwords/lock_seconds"),
            ("a plugin without manifest", ["plugins", "other"], {"enabled": True}, "plugins/other"),
            ("a plugin name with capitals", ["plugins", "Other"], {"manifest": "x/plugin.json"}, "plugins"),
            ("reauthenticate code_ttl 59", reauth + ["code_ttl"], 59, "plugins/reauthenticate/config/code_ttl"),
            ("reauthenticate code_ttl 601", reauth + ["code_ttl"], 601, "plugins/reauthenticate/config/code_ttl"),
            ("a negative limit", reauth + ["limits", "per_ip_per_hour"], -1,
             "plugins/reauthenticate/config/limits/per_ip_per_hour"),
            ("cooldown_seconds 86401", reauth + ["limits", "cooldown_seconds"], 86401,
             "plugins/reauthenticate/config/limits/cooldown_seconds"),
            ("per_user_per_hour 1000001", reauth + ["limits", "per_user_per_hour"], 1000001,
             "plugins/reauthenticate/config/limits/per_user_per_hour"),
            ("attempts_per_code 0 (never off)", reauth + ["limits", "attempts_per_code"], 0,
             "plugins/reauthenticate/config/limits/attempts_per_code"),
            ("attempts_per_code 11", reauth + ["limits", "attempts_per_code"], 11,
             "plugins/reauthenticate/config/limits/attempts_per_code"),
            ("failures_before_lock 0 (never off)", reauth + ["limits", "failures_before_lock"], 0,
             "plugins/reauthenticate/config/limits/failures_before_lock"),
            ("failures_before_lock 101", reauth + ["limits", "failures_before_lock"], 101,
             "plugins/reauthenticate/config/limits/failures_before_lock"),
            ("lock_seconds 0 (never off)", reauth + ["limits", "lock_seconds"], 0,
             "plugins/reauthenticate/config/limits/lock_seconds"),
            ("lock_seconds 604801", reauth + ["limits", "lock_seconds"], 604801,
             "plugins/reauthenticate/config/limits/lock_seconds"),
            ("an unknown reauthenticate key", reauth + ["code_tll"], 300, "plugins/reauthenticate/config"),
            ("locale_default (not read by the plugin)", reauth + ["locale_default"], "en",
             "plugins/reauthenticate/config"),
            ("email notifier 'Send Mail' (not a type name)", reauth + ["email", "notifier"], "Send Mail",
             "plugins/reauthenticate/config/email/notifier"),
            ("a notifier section that is not an object", reauth + ["sms", "file"], "var/sms.jsonl",
             "plugins/reauthenticate/config/sms/file"),
            ("email notifier kannel", reauth + ["email", "notifier"], "kannel",
             "plugins/reauthenticate/config/email/notifier"),
            ("sms notifier smtp", reauth + ["sms", "notifier"], "smtp", "plugins/reauthenticate/config/sms/notifier"),
            ("smtp tls optional", reauth + ["email", "smtp", "tls"], "optional",
             "plugins/reauthenticate/config/email/smtp/tls"),
            ("the smtp notifier without a host", reauth + ["email", "notifier"], "smtp",
             "plugins/reauthenticate/config/email/smtp/host"),
            ("the webhook notifier without a secret", reauth + ["sms", "notifier"], "webhook",
             "plugins/reauthenticate/config/sms/webhook/secret"),
            ("the webhook notifier over plain http to another host", reauth + ["sms"],
             {"notifier": "webhook", "webhook": {"url": "http://sms.example.com/send", "secret": WHSEC}},
             "plugins/reauthenticate/config/sms/webhook/url"),
            ("a webhook secret that is not whsec_", reauth + ["sms"],
             {"notifier": "webhook", "webhook": {"url": "https://sms.example.com/send", "secret": "s" * 32}},
             "plugins/reauthenticate/config/sms/webhook/secret"),
            ("a previous webhook secret that is not whsec_", reauth + ["email"],
             {"notifier": "webhook", "webhook": {"url": "https://mail.example.com/send", "secret": WHSEC,
                                                 "previous_secrets": ["old"]}},
             "plugins/reauthenticate/config/email/webhook/previous_secrets/0"),
            ("the kannel notifier without credentials", reauth + ["sms", "notifier"], "kannel",
             "plugins/reauthenticate/config/sms/kannel/username"),
            ("a template locale other than en and zh", reauth + ["templates", "sms"], {"fr": "etc/sms.txt"},
             "plugins/reauthenticate/config/templates/sms"),
            ("delivery batch 0", reauth + ["delivery"], {"batch": 0}, "plugins/reauthenticate/config/delivery/batch"),
            ("delivery batch 1001", reauth + ["delivery"], {"batch": 1001},
             "plugins/reauthenticate/config/delivery/batch"),
            ("delivery poll_ms 9", reauth + ["delivery"], {"poll_ms": 9}, "plugins/reauthenticate/config/delivery/poll_ms"),
            ("delivery max_backoff_seconds 3601", reauth + ["delivery"], {"max_backoff_seconds": 3601},
             "plugins/reauthenticate/config/delivery/max_backoff_seconds"),
        ]
        for label, path, value, at in invalid:
            report.check("config: rejects %s" % label, expect_invalid, schemas, cfg,
                         with_change(full_config(), path, value), at)
        # A notifier type another plugin provides, with its section (whether one does is known at load).
        report.check("config: accepts an sms notifier another plugin provides", expect_valid, schemas, cfg,
                     with_change(full_config(), reauth + ["sms"], {"notifier": "file", "file": {"path": "var/sms.jsonl"}}))

    if "plugin.schema.json" in schemas.schemas and "reauthenticate.config.schema.json" in schemas.schemas:
        reauth_schema = load_json(schemas.folder / "reauthenticate.config.schema.json")
        manifest = sample_manifest(reauth_schema)
        report.check("plugin: a complete manifest is valid", expect_valid, schemas, "plugin.schema.json", manifest)
        minimal = {key: manifest[key] for key in ("name", "version", "sdk_version", "library", "class", "description")}
        report.check("plugin: a manifest with only the required members is valid",
                     expect_valid, schemas, "plugin.schema.json", minimal)
        report.check("plugin: accepts a pre-release version",
                     expect_valid, schemas, "plugin.schema.json", with_change(minimal, ["version"], "2.1.0-rc.1+build.5"))
        invalid = [
            ("a missing description", ["description"], None, True, ""),
            ("name 'Re Auth'", ["name"], "Re Auth", False, "name"),
            ("version '1.0'", ["version"], "1.0", False, "version"),
            ("sdk_version '1.0.0'", ["sdk_version"], "1.0.0", False, "sdk_version"),
            ("an absolute library path", ["library"], "/usr/lib/libreauthenticate.so", False, "library"),
            ("a library path that climbs out", ["library"], "../libreauthenticate.so", False, "library"),
            ("a qualified class name", ["class"], "identity::ReauthenticatePlugin", False, "class"),
            ("route auth 'basic'", ["routes", 0, "auth"], "basic", False, "routes/0/auth"),
            ("a route path without leading slash", ["routes", 0, "path"], "auth/v1/x", False, "routes/0/path"),
            ("duplicate services", ["services"], ["code-verifier", "code-verifier"], False, "services"),
            ("default_config that is not an object", ["default_config"], [], False, "default_config"),
            ("an unknown member", ["licence"], "MIT", False, ""),
            ("a config_schema of another draft", ["config_schema", "$schema"],
             "http://json-schema.org/draft-07/schema#", False, "config_schema/$schema"),
            ("a config_schema for arrays", ["config_schema", "type"], "array", False, "config_schema/type"),
        ]
        for label, path, value, delete, at in invalid:
            report.check("plugin: rejects %s" % label, expect_invalid, schemas, "plugin.schema.json",
                         with_change(manifest, path, value, delete), at)

        def rejects_bad_config_schema():
            bad = {"type": "object", "properties": {"code_ttl": {"minimum": "sixty"}}}
            try:
                Draft202012Validator.check_schema(bad)
            except jsonschema.exceptions.SchemaError:
                return
            raise CheckFailed("a config_schema with minimum 'sixty' passes check_schema")
        report.check("plugin: a malformed config_schema is caught", rejects_bad_config_schema)

        def sample_defaults_fit():
            errors = list(Draft202012Validator(reauth_schema).iter_errors(manifest["default_config"]))
            require(not errors, error_lines(errors))
        report.check("reauthenticate config: the SPEC defaults satisfy the plugin's config schema",
                     sample_defaults_fit)


def check_project_files(report, root, schemas):
    dev = root / "config" / "dev.json"
    if "config.schema.json" not in schemas.schemas:
        report.note("config/dev.json: config.schema.json is not usable; not validated")
    elif dev.is_file():
        report.check("config/dev.json is valid against config.schema.json",
                     lambda: expect_valid(schemas, "config.schema.json", load_json(dev)))
    else:
        report.note("config/dev.json does not exist yet; not validated")

    manifest_path = root / "plugin.json"
    if "plugin.schema.json" not in schemas.schemas:
        report.note("plugin.json: plugin.schema.json is not usable; not validated")
        return
    if not manifest_path.is_file():
        report.note("plugin.json does not exist yet; not validated")
        return
    manifest = {}

    def manifest_valid():
        manifest.update(load_json(manifest_path))
        expect_valid(schemas, "plugin.schema.json", manifest)
    if not report.check("plugin.json is valid against plugin.schema.json", manifest_valid):
        return

    if "config_schema" in manifest:
        def own_schema():
            schema = manifest["config_schema"]
            # A manifest may name its schema file instead of inlining it: {"$ref": "<path from the
            # project root>"}.
            if set(schema) == {"$ref"} and isinstance(schema["$ref"], str) and not schema["$ref"].startswith("#"):
                referenced = pathlib.Path(root) / schema["$ref"]
                require(referenced.is_file(), "config_schema names a missing file: " + schema["$ref"])
                schema = load_json(referenced)
            try:
                Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                raise CheckFailed("config_schema is not a valid schema: at %s: %s" % (
                    "/".join(str(p) for p in error.absolute_path) or "(root)", error.message))
            errors = list(Draft202012Validator(schema).iter_errors(manifest.get("default_config", {})))
            require(not errors, "default_config does not satisfy config_schema:\n" + error_lines(errors))
        report.check("plugin.json: default_config satisfies its config_schema", own_schema)
    if manifest.get("name") == "reauthenticate" and "reauthenticate.config.schema.json" in schemas.schemas:
        report.check("plugin.json: default_config satisfies schema/reauthenticate.config.schema.json",
                     lambda: expect_valid(schemas, "reauthenticate.config.schema.json",
                                          manifest.get("default_config", {})))


# --- the OpenAPI document ------------------------------------------------------------------------------

class OpenApi:
    def __init__(self, root, document):
        self.root = root
        self.doc = document
        self.files = {}

    def deref(self, node):
        """`node` with local `$ref`s followed (for Reference Objects)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node = self.target(node["$ref"])
            seen += 1
            require(seen < 32, "$ref loop")
        return node

    def target(self, ref):
        location, _, fragment = ref.partition("#")
        if location == "":
            return resolve_pointer(self.doc, fragment)
        path = (self.root / "schema" / location).resolve()
        require(path.is_file(), "$ref %r: no file %s" % (ref, path))
        if path not in self.files:
            self.files[path] = load_yaml(path) if path.suffix in (".yaml", ".yml") else load_json(path)
        return resolve_pointer(self.files[path], fragment)

    def operations(self):
        for path, item in sorted((self.doc.get("paths") or {}).items()):
            item = self.deref(item)
            for method in HTTP_METHODS:
                if method in item:
                    yield path, method, item, item[method]

    def operation(self, path, method):
        """(path item, operation) of a documented operation; a failed check when it is missing."""
        item = self.deref((self.doc.get("paths") or {}).get(path) or {})
        require(method in item, "no %s %s operation" % (method.upper(), path))
        return item, item[method]

    def parameters(self, item, operation):
        params = {}
        for param in list(item.get("parameters") or []) + list(operation.get("parameters") or []):
            param = self.deref(param)
            params[(param.get("in"), param.get("name", "").lower())] = param
        return params

    def schema_validator(self, schema):
        """A 2020-12 validator for an OpenAPI schema whose `#/components/...` references resolve."""
        root = dict(schema) if isinstance(schema, dict) else {"allOf": [schema]}
        root["components"] = self.doc.get("components", {})
        return Draft202012Validator(root)


def json_compatible(node, pointer=""):
    if isinstance(node, dict):
        for key, value in node.items():
            require(isinstance(key, str), "%s: key %r is not a string" % (pointer or "(root)", key))
            json_compatible(value, pointer + "/" + key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            json_compatible(value, "%s/%d" % (pointer, index))
    else:
        require(node is None or isinstance(node, (str, int, float, bool)),
                "%s: %r is a YAML %s, not a JSON value (quote it)" % (pointer or "(root)", node, type(node).__name__))


def check_openapi(report, root):
    path = root / "schema" / "openapi.yaml"
    holder = {}

    def parse():
        require(path.is_file(), "missing: %s" % path)
        holder["doc"] = load_yaml(path)
        require(isinstance(holder["doc"], dict), "the document is not a mapping")
    if not report.check("schema/openapi.yaml parses as YAML (no duplicate keys)", parse):
        return
    api = OpenApi(root, holder["doc"])
    doc = api.doc

    report.check("openapi.yaml holds only JSON-compatible values", json_compatible, doc)
    report.check("openapi.yaml is OpenAPI 3.0.3 with info.title and info.version",
                 lambda: require(doc.get("openapi") == "3.0.3" and (doc.get("info") or {}).get("title")
                                 and (doc.get("info") or {}).get("version"),
                                 "openapi: %r, info: %r" % (doc.get("openapi"), doc.get("info"))))

    def refs_resolve():
        problems = []
        for pointer, node in walk(doc):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    api.target(ref)
                except (CheckFailed, OSError, ValueError, yaml.YAMLError) as error:
                    problems.append("%s: %s" % (pointer, error))
        require(not problems, "\n".join(problems))
    if not report.check("openapi.yaml: every $ref resolves", refs_resolve):
        report.note("the other openapi.yaml checks need resolvable $refs; left out")
        return

    def endpoints():
        paths = doc.get("paths") or {}
        problems = []
        expected_paths = sorted({p for p, _ in EXPECTED_OPERATIONS})
        for p in expected_paths:
            if p not in paths:
                problems.append("missing path %s" % p)
                continue
            want = sorted(m for q, m in EXPECTED_OPERATIONS if q == p)
            have = sorted(m for m in HTTP_METHODS if m in api.deref(paths[p]))
            if want != have:
                problems.append("%s: methods %s, expected %s" % (p, have, want))
        require(not problems, "\n".join(problems))
        extra = sorted(set(paths) - set(expected_paths))
        if extra:
            print("      (also documents: %s)" % ", ".join(extra))
    report.check("openapi.yaml documents every endpoint with the right methods", endpoints)

    def operation_ids():
        ids = [op.get("operationId") for _, _, _, op in api.operations()]
        require(all(ids), "an operation has no operationId")
        require(len(ids) == len(set(ids)), "duplicate operationId: %s" % sorted(i for i in ids if ids.count(i) > 1))
    report.check("openapi.yaml: every operation has a unique operationId", operation_ids)

    components = doc.get("components") or {}

    def security_schemes():
        schemes = components.get("securitySchemes") or {}
        bearer = [n for n, s in schemes.items()
                  if s.get("type") == "http" and str(s.get("scheme", "")).lower() == "bearer"]
        require(bearer, "no http bearer security scheme")
        problems = []
        for p, method, _, op in api.operations():
            requirements = op.get("security", doc.get("security", []))
            names = {name for requirement in requirements for name in requirement}
            unknown = names - set(schemes)
            if unknown:
                problems.append("%s %s: unknown security scheme %s" % (method.upper(), p, sorted(unknown)))
            needs_bearer = (p.startswith("/auth/v1/user/") or p.startswith("/admin/"))
            if needs_bearer and not names & set(bearer):
                problems.append("%s %s: no bearer security requirement" % (method.upper(), p))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: bearer security on /auth/v1/user/* and /admin/*", security_schemes)

    def error_schema():
        schema = api.deref((components.get("schemas") or {}).get("Error"))
        require(isinstance(schema, dict), "no components.schemas.Error")
        require(set(schema.get("required", [])) == {"error", "error_code", "error_description"},
                "Error must require exactly error, error_code, error_description")
        props = schema.get("properties", {})
        require(api.deref(props.get("error_code", {})).get("type") == "integer", "error_code must be an integer")
        errors = list(api.schema_validator({"$ref": "#/components/schemas/Error"}).iter_errors(SEED_4001))
        require(not errors, "the seed's 4001 example does not fit Error:\n" + error_lines(errors))
    report.check("openapi.yaml: the Error schema is {error, error_code, error_description}", error_schema)

    def seed_example():
        for _, node in walk(doc):
            if node == SEED_4001:
                return
        raise CheckFailed("the seed's exact 4001 example is not in the document: %s" % json.dumps(SEED_4001))
    report.check("openapi.yaml carries the seed's exact 4001 example", seed_example)

    def auth_parameters():
        problems = []
        for p, method, item, op in api.operations():
            if not p.startswith("/auth/v1/"):
                continue
            params = api.parameters(item, op)
            for where, name in (("query", "client_id"), ("header", "x-device-id"), ("header", "x-request-id")):
                param = params.get((where, name))
                if param is None:
                    problems.append("%s %s: no %s parameter %s" % (method.upper(), p, where, name))
                elif param.get("required"):
                    problems.append("%s %s: %s must be optional" % (method.upper(), p, name))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: /auth/v1 operations take optional client_id, x-device-id, x-request-id",
                 auth_parameters)

    def sudo_token_places():
        problems = []
        for p, method in (("/auth/v1/user/password", "patch"), ("/auth/v1/user/me", "delete")):
            item, op = api.operation(p, method)
            if ("query", "sudo_token") not in api.parameters(item, op):
                problems.append("%s %s: no sudo_token query parameter" % (method.upper(), p))
            body = api.deref(op.get("requestBody") or {})
            schema = api.deref(((body.get("content") or {}).get("application/json") or {}).get("schema") or {})
            if "sudo_token" not in (schema.get("properties") or {}):
                problems.append("%s %s: no sudo_token body member" % (method.upper(), p))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: sudo_token is accepted in the body and the query", sudo_token_places)

    def request_bodies():
        problems = []
        for p, method, _, op in api.operations():
            if "requestBody" not in op:
                continue
            content = api.deref(op["requestBody"]).get("content") or {}
            json_body, text_body = content.get("application/json"), content.get("text/plain")
            if json_body is None or text_body is None:
                problems.append("%s %s: needs application/json and text/plain" % (method.upper(), p))
            elif json_body.get("schema") != text_body.get("schema"):
                problems.append("%s %s: application/json and text/plain schemas differ" % (method.upper(), p))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: request bodies are accepted as application/json and text/plain", request_bodies)

    def status_codes():
        problems = []
        for (p, method), want in sorted(EXPECTED_OPERATIONS.items()):
            op = (api.deref((doc.get("paths") or {}).get(p) or {})).get(method)
            if op is None:
                continue  # reported by the endpoint check
            have = {int(code) for code in (op.get("responses") or {}) if str(code).isdigit()}
            if have != want:
                problems.append("%s %s: statuses %s, expected %s (missing %s, unexpected %s)" % (
                    method.upper(), p, sorted(have), sorted(want), sorted(want - have), sorted(have - want)))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: every operation lists the statuses of the error table that apply", status_codes)

    def responses():
        problems = []
        for p, method, _, op in api.operations():
            where = "%s %s" % (method.upper(), p)
            for code, response in (op.get("responses") or {}).items():
                response = api.deref(response)
                headers = {name.lower(): api.deref(h) for name, h in (response.get("headers") or {}).items()}
                if "x-request-id" not in headers:
                    problems.append("%s %s: no X-Request-Id header" % (where, code))
                if (p.startswith("/auth/v1/") or p.startswith("/admin/")):
                    # Every auth answer is no-store, but the public key set, which resource servers cache.
                    wanted = ["public, max-age=300"] if (p, method, str(code)) == PUBLIC_CACHE else ["no-store"]
                    cache = headers.get("cache-control")
                    if cache is None or (api.deref(cache.get("schema") or {}).get("enum") != wanted):
                        problems.append("%s %s: no Cache-Control: %s header" % (where, code, wanted[0]))
                status = int(code) if str(code).isdigit() else 0
                if status == 405 and "allow" not in headers:
                    problems.append("%s 405: no Allow header" % where)
                if status == 429 and "retry-after" not in headers:
                    problems.append("%s 429: no Retry-After header" % where)
                if status >= 400:
                    media = (response.get("content") or {}).get("application/json") or {}
                    if (media.get("schema") or {}).get("$ref") != "#/components/schemas/Error":
                        problems.append("%s %s: the body must be #/components/schemas/Error" % (where, code))
                    allowed = ERROR_TABLE.get(status)
                    if allowed is None:
                        problems.append("%s %s: not a status of the error table" % (where, code))
                        continue
                    examples = [api.deref(e).get("value") for e in (media.get("examples") or {}).values()]
                    if "example" in media:
                        examples.append(media["example"])
                    if not examples:
                        problems.append("%s %s: no example" % (where, code))
                    for example in examples:
                        if not isinstance(example, dict) or allowed.get(example.get("error_code")) != example.get("error"):
                            problems.append("%s %s: example %s does not belong to status %s" % (
                                where, code, json.dumps(example, ensure_ascii=False), status))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: responses carry X-Request-Id, Cache-Control, Allow, Retry-After and the Error "
                 "envelope", responses)

    def examples_match():
        problems = []
        for p, method, _, op in api.operations():
            where = "%s %s" % (method.upper(), p)
            media_types = []
            if "requestBody" in op:
                media_types += [("request " + t, m) for t, m in (api.deref(op["requestBody"]).get("content") or {}).items()]
            for code, response in (op.get("responses") or {}).items():
                media_types += [("%s %s" % (code, t), m) for t, m in (api.deref(response).get("content") or {}).items()]
            for label, media in media_types:
                if "schema" not in media:
                    problems.append("%s %s: no schema" % (where, label))
                    continue
                validator = api.schema_validator(media["schema"])
                examples = [("example", media["example"])] if "example" in media else []
                examples += [(n, api.deref(e).get("value")) for n, e in (media.get("examples") or {}).items()]
                for name, value in examples:
                    errors = list(validator.iter_errors(value))
                    if errors:
                        problems.append("%s %s example %s:\n  %s" % (
                            where, label, name, error_lines(errors).replace("\n", "\n  ")))
        for name, schema in sorted((components.get("schemas") or {}).items()):
            schema = api.deref(schema)
            if "example" in schema:
                errors = list(api.schema_validator(schema).iter_errors(schema["example"]))
                if errors:
                    problems.append("components.schemas.%s example:\n  %s" % (name, error_lines(errors)))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: every example matches its schema", examples_match)

    def component_schemas_well_formed():
        problems = []
        for name, schema in sorted((components.get("schemas") or {}).items()):
            try:
                Draft202012Validator.check_schema(schema)
            except jsonschema.exceptions.SchemaError as error:
                problems.append("%s: %s" % (name, error.message))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: component schemas are well-formed", component_schemas_well_formed)

    def body_contracts():
        def body_validator(p, method):
            op = api.operation(p, method)[1]
            return api.schema_validator(api.deref(op["requestBody"])["content"]["application/json"]["schema"])

        cases = [
            ("/auth/v1/signin", "post", {"username": "alice", "password": "x"}, True),
            ("/auth/v1/signin", "post", {"phone_number": "+8613800138000", "password": "x"}, True),
            ("/auth/v1/signin", "post", {"username": "alice", "email": "a@example.com", "password": "x"}, False),
            ("/auth/v1/signin", "post", {"password": "x"}, False),
            ("/auth/v1/token", "post", {"grant_type": "refresh_token", "refresh_token": "r"}, True),
            ("/auth/v1/token", "post", {"grant_type": "password", "refresh_token": "r"}, False),
            ("/auth/v1/revoke", "post", {"token": "t", "client_id": "dev"}, True),
            ("/auth/v1/revoke", "post", {}, False),
            ("/auth/v1/user/reauthenticate", "post", {"verify_opt": "email_code"}, True),
            ("/auth/v1/user/reauthenticate", "post", {"verify_opt": "phone_code"}, True),
            ("/auth/v1/user/reauthenticate", "post", {"verify_opt": "voice_code"}, False),
            ("/auth/v1/user/reauthenticate", "post", {}, False),
            ("/auth/v1/user/sudo", "post", {"password": "x"}, True),
            ("/auth/v1/user/sudo", "post", {"verification_code": "042917"}, True),
            ("/auth/v1/user/sudo", "post", {"verification_code": "42917"}, False),
            ("/auth/v1/user/sudo", "post", {"verification_code": 42917}, False),
            ("/auth/v1/user/sudo", "post", {"password": "x", "verification_code": "042917"}, False),
            ("/auth/v1/user/sudo", "post", {}, False),
            ("/auth/v1/user/password", "patch", {"new_password": "N3w!passw0rd", "sudo_token": "s"}, True),
            ("/auth/v1/user/password", "patch", {"sudo_token": "s"}, False),
        ]
        problems = []
        for p, method, body, ok in cases:
            errors = list(body_validator(p, method).iter_errors(body))
            if ok and errors:
                problems.append("%s %s rejects %s:\n  %s" % (method.upper(), p, json.dumps(body), error_lines(errors)))
            if not ok and not errors:
                problems.append("%s %s accepts %s" % (method.upper(), p, json.dumps(body)))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: request schemas accept and reject the documented bodies", body_contracts)

    def response_contracts():
        def schema_of(p, method, code):
            op = api.operation(p, method)[1]
            return api.deref(op["responses"][code])["content"]["application/json"]["schema"]

        cases = [
            (("/auth/v1/signin", "post", "200"),
             {"token_type": "Bearer", "access_token": "a", "refresh_token": "r", "expires_in": 7200, "sub": "u"}, True),
            (("/auth/v1/signin", "post", "200"),
             {"token_type": "Bearer", "access_token": "a", "expires_in": 7200, "sub": "u"}, False),
            (("/auth/v1/token", "post", "200"),
             {"token_type": "Bearer", "access_token": "a", "refresh_token": "r", "expires_in": 7200, "sub": "u"}, True),
            (("/auth/v1/user/sudo", "post", "200"), {"sudo_token": "s", "expires_in": 900}, True),
            (("/auth/v1/user/reauthenticate", "post", "200"), {}, True),
            (("/auth/v1/user/reauthenticate", "post", "200"), {"sent": True}, False),
            (("/healthz", "get", "200"),
             {"status": "ok", "plugins": [{"name": "reauthenticate", "version": "1.0.0", "state": "running",
                                           "generation": 1}]}, True),
            (("/healthz", "get", "200"), {"status": "ok", "plugins": [{"name": "reauthenticate"}]}, False),
            (("/healthz", "get", "200"),
             {"status": "ok", "plugins": [{"name": "reauthenticate", "version": "1.0.0", "state": "loading",
                                           "generation": 1}]}, False),
            (("/healthz", "get", "200"),
             {"status": "degraded", "reasons": ["plugin 'x' is not running"],
              "plugins": [{"name": "x", "version": "", "state": "failed", "generation": 0}]}, True),
            (("/auth/v1/user/me", "get", "200"),
             {"sub": "u", "username": "", "email": "a@example.com", "phone_number": "", "locale": "en",
              "created_at": "2025-01-31T08:00:00Z"}, True),
            (("/auth/v1/user/me", "get", "200"),
             {"sub": "u", "username": "alice", "created_at": "2025-01-31T08:00:00Z"}, False),
            (("/admin/plugins", "get", "200"),
             {"plugins": [{"name": "reauthenticate", "version": "", "sdk_version": "", "state": "failed",
                           "generation": 0, "library": "", "loaded_at": "", "routes": [],
                           "last_error": "no manifest"}]}, True),
            (("/admin/plugins", "get", "200"),
             {"plugins": [{"name": "reauthenticate", "version": "1.0.0", "state": "running"}]}, False),
            (("/auth/v1/.well-known/jwks.json", "get", "200"), {"keys": []}, True),
            (("/auth/v1/.well-known/jwks.json", "get", "200"),
             {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                        "kid": "ed", "alg": "EdDSA", "use": "sig"}]}, True),
            (("/auth/v1/.well-known/jwks.json", "get", "200"),
             {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "kid": "ed", "alg": "EdDSA",
                        "use": "sig"}]}, False),
            (("/auth/v1/.well-known/jwks.json", "get", "200"),
             {"keys": [{"kty": "RSA", "n": "0vx7", "e": "AQAB", "d": "X4cT", "kid": "r", "alg": "RS256",
                        "use": "sig"}]}, False),
            (("/auth/v1/.well-known/jwks.json", "get", "200"),
             {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "e", "alg": "RS256",
                        "use": "sig"}]}, False),
        ]
        problems = []
        for (p, method, code), body, ok in cases:
            errors = list(api.schema_validator(schema_of(p, method, code)).iter_errors(body))
            if ok and errors:
                problems.append("%s %s %s rejects %s:\n  %s" % (method.upper(), p, code, json.dumps(body),
                                                                 error_lines(errors)))
            if not ok and not errors:
                problems.append("%s %s %s accepts %s" % (method.upper(), p, code, json.dumps(body)))
        require(not problems, "\n".join(problems))
    report.check("openapi.yaml: response schemas accept and reject the documented bodies", response_contracts)


def jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # no distribution metadata: report what the module says
        return getattr(jsonschema, "__version__", "unknown")


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]).resolve()
    if not (root / "schema").is_dir():
        sys.stderr.write("validate_schemas.py: %s has no schema/ folder; pass the project root as argument\n" % root)
        return 2
    print("project root: %s (jsonschema %s, references through %s)" % (
        root, jsonschema_version(), "a referencing registry" if HAVE_REGISTRY else "RefResolver"))
    report = Report()
    schemas = check_schema_files(report, root)
    check_fixtures(report, schemas)
    check_project_files(report, root, schemas)
    check_openapi(report, root)
    print("%d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
