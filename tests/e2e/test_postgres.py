"""Two identity-host processes on one real PostgreSQL 15 behave as one server.

The script starts PostgreSQL from Debian's binaries (tests/support/pgserver.py: initdb into a temporary
folder, as the postgres user when run as root, pg_ctl on a free loopback port), a real SMTP server
with STARTTLS and AUTH that counts what it receives (tests/peers/smtp_server.py), and two hosts, A and
B, started at the same moment (so their migrations race, under the advisory lock). Then:

- a user created through A signs in through B; a code requested through A is spent through B; a
  cooldown set through A answers 429 through B; 20 concurrent sudo attempts with one code, split over
  A and B, succeed exactly once;
- 1,000 queued messages are each delivered exactly once by the delivery workers of both instances;
- PostgreSQL restarted under load: 503 `unavailable` during the outage, success afterwards, no crash,
  no queued message lost;
- a plugin-only schema change (a new column in a plugin migration) is applied by a plugin reload, with
  no change to host files;
- `kill -9` of one instance mid-delivery: the other delivers its claimed messages once the lease runs
  out.

    python3 test_postgres.py --host-binary build/bin/identity-host \\
        --manifest build/plugins/reauthenticate/plugin.json --config config/dev.json --log-dir DIR
"""

import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))

import pgserver  # noqa: E402
import test_delivery as delivery  # noqa: E402
import test_e2e as e2e  # noqa: E402

P = "plugins.reauthenticate.config."
TOKEN_SECRET = secrets.token_hex(32)
RECORD_KEY = secrets.token_hex(32)
ADMIN_TOKEN = "admin-" + secrets.token_urlsafe(24)
LEASE_SECONDS = 5
SLOW_DOMAIN = "slow.example.com"
MESSAGES = 1000


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token(user_id, session_id, ttl=3600):
    """An access token as the hosts issue them (HS256, typ at+jwt), signed with the shared secret: the
    load tests create their users and sessions in SQL rather than through 600,000-round PBKDF2."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "at+jwt"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps({"iss": "http://127.0.0.1:8080", "aud": "dev", "sub": user_id, "sid": session_id,
                                 "jti": b64url(os.urandom(16)), "iat": now, "nbf": now, "exp": now + ttl},
                                separators=(",", ":")).encode())
    signing_input = header + "." + payload
    signature = hmac.new(TOKEN_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


class TwoInstancesTest(unittest.TestCase):
    work = None
    pg = None
    smtp = None
    hosts = {}

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="identity-postgres-")
        try:
            cls.pg = pgserver.PostgresServer().start()  # its own folder, which the postgres user can reach
            cls.pg.createdb("identity")
            cls.smtp = delivery.SmtpPeer(cls.work)
            cls.smtp.argv += ["--slow-domain", SLOW_DOMAIN, "--slow-ms", "400"]
            cls.smtp.start()
            # The plugin from a folder of the test's own: a migration is added to it later.
            cls.plugin_dir = os.path.join(cls.work, "plugin")
            shutil.copytree(os.path.dirname(e2e.OPTIONS.manifest), cls.plugin_dir)
            e2e.record_secret(TOKEN_SECRET, ADMIN_TOKEN, cls.pg.password)
            cls.hosts = {name: e2e.Host("pg-" + name, cls.defines()) for name in ("a", "b")}
            # Both at once: their migrations race for the same empty database.
            cls.start_hosts(list(cls.hosts.values()))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def defines(cls):
        defines = {
            "storage.url": cls.pg.url("identity"),
            "tokens.secret": TOKEN_SECRET,
            "passwords.record_key": RECORD_KEY,
            "admin.token": ADMIN_TOKEN,
            "secrets.generate": "false",
            "server.threads": "16",
            "plugins.reauthenticate.manifest": os.path.join(cls.plugin_dir, "plugin.json"),
            P + "pepper": secrets.token_hex(32) if not hasattr(cls, "_pepper") else cls._pepper,
            P + "limits.per_ip_per_hour": "0",
            P + "limits.sms_per_minute": "0",
            P + "delivery.poll_ms": "100",
            P + "delivery.batch": "16",
            P + "delivery.lease_seconds": str(LEASE_SECONDS),
            P + "delivery.max_backoff_seconds": "1",
        }
        if not hasattr(cls, "_pepper"):
            cls._pepper = defines[P + "pepper"]
            cls._outbox_key = secrets.token_hex(32)
            e2e.record_secret(cls._pepper, cls._outbox_key)
        defines[P + "pepper"] = cls._pepper
        defines[P + "outbox_key"] = cls._outbox_key
        defines.update(delivery.smtp_defines(cls.smtp.port))
        return defines

    @classmethod
    def start_hosts(cls, hosts):
        errors = []

        def start(host):
            try:
                host.start()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=start, args=(host,)) for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    @classmethod
    def tearDownClass(cls):
        for host in cls.hosts.values():
            host.cleanup()
        if cls.smtp is not None:
            cls.smtp.stop()
        if cls.pg is not None:
            cls.pg.cleanup()
        if cls.work:
            shutil.rmtree(cls.work, ignore_errors=True)

    # -- helpers

    @property
    def a(self):
        return self.hosts["a"]

    @property
    def b(self):
        return self.hosts["b"]

    def sql(self, statement):
        return self.pg.psql(statement, database="identity")

    def new_user(self, host, domain="example.com"):
        name = "u" + uuid.uuid4().hex[:12]
        password = "Pw-9a" + secrets.token_urlsafe(12) + "!Z"  # every class the policy wants, whatever the random part
        address = "%s@%s" % (name, domain)
        host.create_user(name, password, email_address=address)
        return name, password, address

    def signin(self, host, name, password):
        reply = host.signin(password, username=name)
        self.assertEqual(reply.status, 200, reply)
        body = e2e.record_credentials(reply.json)
        return body["access_token"]

    def mails_to(self, address):
        found = []
        for number in self.smtp.messages():
            raw, envelope = self.smtp.message(number)
            if address in envelope["rcpt_tos"]:
                found.append(raw)
        return found

    def code_for(self, address):
        raws = delivery.wait_for(lambda: self.mails_to(address), 20, "a message to " + address)
        self.assertEqual(len(raws), 1, "messages to %s: %d" % (address, len(raws)))
        _, text, _ = e2e.parse_mail(raws[0])
        return e2e.single_code(text)

    def request_code(self, host, token):
        return host.request("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "email_code"}, token=token)

    def bulk_users(self, count, domain="example.com"):
        """Users with a live session each, made in SQL; returns [(user id, address, access token)]."""
        prefix = uuid.uuid4().hex[:8]
        now = int(time.time())
        self.sql("INSERT INTO users(id, username, email, password_hash, locale, status, created_at, updated_at) "
                 "SELECT '%s-' || n, '%s-' || n, '%s-' || n || '@%s', 'unusable', 'en', 'active', %d, %d "
                 "FROM generate_series(1, %d) AS n" % (prefix, prefix, prefix, domain, now, now, count))
        self.sql("INSERT INTO sessions(id, user_id, refresh_hash, refresh_expires_at, client_id, created_at) "
                 "SELECT 's-%s-' || n, '%s-' || n, 'r-%s-' || n, %d, 'dev', %d FROM generate_series(1, %d) AS n"
                 % (prefix, prefix, prefix, now + 3600, now, count))
        users = []
        for n in range(1, count + 1):
            user_id = "%s-%d" % (prefix, n)
            users.append((user_id, "%s-%d@%s" % (prefix, n, domain), access_token(user_id, "s-%s-%d" % (prefix, n))))
        return users

    def send_all(self, users, hosts, workers=8):
        """POST reauthenticate for every user, round robin over `hosts`; returns the statuses by user id."""
        def send(index_user):
            index, (user_id, _, token) = index_user
            try:
                return user_id, self.request_code(hosts[index % len(hosts)], token).status
            except OSError:
                return user_id, None

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return dict(pool.map(send, enumerate(users)))

    def delivered(self, user_ids):
        ids = ",".join("'%s'" % user_id for user_id in user_ids)
        return int(self.sql("SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND user_id IN (%s)" % ids))

    def recipients_count(self):
        counts = {}
        for number in self.smtp.messages():
            _, envelope = self.smtp.message(number)
            for rcpt in envelope["rcpt_tos"]:
                counts[rcpt] = counts.get(rcpt, 0) + 1
        return counts

    def delivered_by(self, host):
        path = os.path.join(e2e.OPTIONS.log_dir, host.name + ".log")
        with open(path, encoding="utf-8") as f:
            return sum(1 for line in f if '"message_delivered"' in line)

    # -- the tests (named in the order they run: the last one kills an instance)

    def test_1_user_created_through_a_signs_in_through_b(self):
        name, password, _ = self.new_user(self.a)
        token = self.signin(self.b, name, password)
        reply = self.b.request("GET", "/auth/v1/user/me", token=token)
        self.assertEqual(reply.status, 200, reply)
        # Both hosts ran the same migrations once, the plugin's apart from the host's.
        self.assertEqual(self.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"),
                         ",".join(map(str, self.host_versions())))
        self.assertEqual(self.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM plugin_migrations "
                                  "WHERE plugin = 'reauthenticate'"), ",".join(map(str, self.plugin_versions())))

    def host_versions(self):
        """The versions of the host's PostgreSQL migrations, from its files."""
        folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema", "postgresql")
        return sorted(int(name[:4]) for name in os.listdir(folder) if name[:4].isdigit() and name.endswith(".sql"))

    def plugin_versions(self):
        """The versions of the plugin's PostgreSQL migrations, from its files."""
        folder = os.path.join(self.plugin_dir, "schema", "postgresql")
        return sorted(int(name[:4]) for name in os.listdir(folder) if name[:4].isdigit() and name.endswith(".sql"))

    def test_2_code_requested_through_a_is_spent_through_b(self):
        name, password, address = self.new_user(self.a)
        token = self.signin(self.a, name, password)
        self.assertEqual(self.request_code(self.a, token).status, 200)
        code = self.code_for(address)
        e2e.record_secret(code)
        reply = self.b.request("POST", "/auth/v1/user/sudo", {"verification_code": code}, token=token)
        self.assertEqual(reply.status, 200, reply)
        self.assertIn("sudo_token", reply.json)
        # Spent: A refuses it too.
        again = self.a.request("POST", "/auth/v1/user/sudo", {"verification_code": code}, token=token)
        self.assertEqual(again.status, 400, again)

    def test_3_cooldown_set_through_a_answers_429_through_b(self):
        name, password, _ = self.new_user(self.a)
        token = self.signin(self.a, name, password)
        self.assertEqual(self.request_code(self.a, token).status, 200)
        reply = self.request_code(self.b, token)
        self.assertEqual(reply.status, 429, reply)
        self.assertEqual(reply.json["error_code"], 4290)
        self.assertGreater(int(reply.header("Retry-After")), 0)

    def test_4_one_code_twenty_concurrent_sudo_attempts_over_a_and_b_exactly_one_succeeds(self):
        name, password, address = self.new_user(self.a)
        token = self.signin(self.b, name, password)
        self.assertEqual(self.request_code(self.b, token).status, 200)
        code = self.code_for(address)
        e2e.record_secret(code)
        barrier = threading.Barrier(20)

        def attempt(index):
            barrier.wait()
            host = self.a if index % 2 == 0 else self.b
            return host.request("POST", "/auth/v1/user/sudo", {"verification_code": code}, token=token).status

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(attempt, range(20)))
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(400), 19, statuses)

    def test_4a_one_sudo_token_authorises_one_change_over_a_and_b(self):
        name, password, _ = self.new_user(self.a)
        token = self.signin(self.a, name, password)
        reply = self.a.request("POST", "/auth/v1/user/sudo", {"password": password}, token=token)
        self.assertEqual(reply.status, 200, reply)
        sudo = reply.json["sudo_token"]
        e2e.record_secret(sudo)
        barrier = threading.Barrier(10)

        def change(index):
            new_password = "Pw-9b" + secrets.token_urlsafe(12) + "!Z"
            e2e.record_secret(new_password)
            barrier.wait()
            host = self.a if index % 2 == 0 else self.b
            return host.request("PATCH", "/auth/v1/user/password", {"new_password": new_password, "sudo_token": sudo},
                                token=token)

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            replies = list(pool.map(change, range(10)))
        statuses = [reply.status for reply in replies]
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(403), 9, statuses)
        self.assertTrue(all(reply.json["error_code"] == 4030 for reply in replies if reply.status == 403))
        # Spent through one instance, refused by the other for the deletion it could also authorise.
        for host in (self.a, self.b):
            again = host.request("DELETE", "/auth/v1/user/me?sudo_token=" + sudo, token=token)
            self.assertEqual(again.status, 403, again)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM users WHERE username = '%s'" % name), "1")

    def test_4b_forty_parallel_wrong_passwords_over_a_and_b_hash_exactly_ten(self):
        name, password, _ = self.new_user(self.a)
        barrier = threading.Barrier(40)

        def guess(index):
            barrier.wait()
            host = self.a if index % 2 == 0 else self.b
            return host.signin("Wrong-Horse-9", username=name).status

        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            statuses = list(pool.map(guess, range(40)))
        # Each check takes its place in the shared count before hashing: a 401 only after a hash.
        self.assertEqual(statuses.count(401), 10, statuses)
        self.assertEqual(statuses.count(429), 30, statuses)
        self.assertEqual(self.b.signin(password, username=name).status, 429)

    def test_5_thousand_messages_each_delivered_once_by_workers_on_both_instances(self):
        users = self.bulk_users(MESSAGES)
        a_before, b_before = self.delivered_by(self.a), self.delivered_by(self.b)
        statuses = self.send_all(users, [self.a, self.b])
        self.assertEqual(list(statuses.values()).count(200), MESSAGES,
                         {status: list(statuses.values()).count(status) for status in set(statuses.values())})
        ids = [user_id for user_id, _, _ in users]
        delivery.wait_for(lambda: self.delivered(ids) == MESSAGES, 240, "%d messages delivered" % MESSAGES,
                          lambda: "%d delivered" % self.delivered(ids))
        counts = self.recipients_count()
        twice = [address for _, address, _ in users if counts.get(address, 0) != 1]
        self.assertEqual(twice, [], "recipients without exactly one message")
        # Both workers took part: messages are claimed from one outbox by whichever instance is free.
        by_a, by_b = self.delivered_by(self.a) - a_before, self.delivered_by(self.b) - b_before
        print("\n1,000 messages: %d delivered by A, %d by B" % (by_a, by_b))
        self.assertEqual(by_a + by_b, MESSAGES)
        self.assertGreater(by_a, 0)
        self.assertGreater(by_b, 0)

    def test_6_postgresql_restarted_under_load_answers_503_then_recovers_and_loses_nothing(self):
        users = self.bulk_users(600)
        statuses = {}
        bodies = []
        stop = threading.Event()
        lock = threading.Lock()
        cursor = iter(enumerate(users))

        def load():
            while not stop.is_set():
                with lock:
                    item = next(cursor, None)
                if item is None:
                    return
                index, (user_id, _, token) = item
                host = self.a if index % 2 == 0 else self.b
                try:
                    reply = self.request_code(host, token)
                except OSError:
                    statuses[user_id] = None
                    continue
                statuses[user_id] = reply.status
                if reply.status == 503:
                    bodies.append(reply.json)
                time.sleep(0.005)

        threads = [threading.Thread(target=load) for _ in range(6)]
        for thread in threads:
            thread.start()
        delivery.wait_for(lambda: len(statuses) >= 50, 30, "load running")
        self.pg.stop("fast")
        # Requests during the outage: answered, 503.
        outage_start = len(statuses)
        delivery.wait_for(lambda: len(statuses) >= outage_start + 20, 30, "requests during the outage")
        self.pg.start_again()
        for thread in threads:
            thread.join(timeout=120)
        stop.set()
        values = list(statuses.values())
        summary = {status: values.count(status) for status in set(values)}
        print("\nrestart under load: %s" % summary)
        self.assertEqual(set(values) - {200, 503}, set(), summary)  # no 500, no dropped connection
        self.assertGreater(values.count(503), 0, summary)
        for body in bodies:
            self.assertEqual((body["error"], body["error_code"]), ("unavailable", 5030), body)
        # Both instances are alive and serve again.
        for host in (self.a, self.b):
            self.assertIsNone(host.process.poll(), host.name + " exited")
        delivery.wait_for(lambda: self.b.request("GET", "/readyz").status == 200, 30, "B ready again")
        name, password, _ = self.new_user(self.b)
        token = self.signin(self.a, name, password)
        self.assertEqual(self.request_code(self.b, token).status, 200)
        # Every request that was answered 200 has its message delivered.
        accepted = [user_id for user_id, status in statuses.items() if status == 200]
        delivery.wait_for(lambda: self.delivered(accepted) == len(accepted), 120,
                          "the %d accepted messages delivered" % len(accepted),
                          lambda: "%d delivered" % self.delivered(accepted))

    def test_7_plugin_only_schema_change_applies_with_no_host_change(self):
        folder = os.path.join(self.plugin_dir, "schema", "postgresql")
        host_versions = self.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
        version = max(self.plugin_versions()) + 1
        migration = os.path.join(folder, "%04d_code_note.sql" % version)
        with open(migration, "w", encoding="utf-8") as f:
            f.write("-- A plugin-only change: a column the host knows nothing of.\n"
                    "ALTER TABLE verification_codes ADD COLUMN note TEXT NOT NULL DEFAULT '';\n")
        try:
            reply = self.b.request("POST", "/admin/plugins/reauthenticate/reload", token=ADMIN_TOKEN)
            self.assertEqual(reply.status, 200, reply)
            self.assertEqual(self.sql("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                                      "'verification_codes' AND column_name = 'note'"), "1")
            self.assertEqual(self.sql("SELECT max(version) FROM plugin_migrations WHERE plugin = 'reauthenticate'"),
                             str(version))
            self.assertEqual(self.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                                      "schema_migrations"), host_versions)
            # The reloaded plugin serves on the new schema; A, still on the old build, too.
            name, password, _ = self.new_user(self.b)
            token = self.signin(self.b, name, password)
            self.assertEqual(self.request_code(self.b, token).status, 200)
            name, password, _ = self.new_user(self.a)
            token = self.signin(self.a, name, password)
            self.assertEqual(self.request_code(self.a, token).status, 200)
        finally:
            os.remove(migration)

    def test_8_kill_nine_mid_delivery_other_instance_delivers_claimed_messages_after_the_lease(self):
        # A slow provider for these users: whichever worker claims a batch is still sending it.
        users = self.bulk_users(40, domain=SLOW_DOMAIN)
        statuses = self.send_all(users, [self.a])
        self.assertEqual(list(statuses.values()).count(200), len(users))
        ids = ",".join("'%s'" % user_id for user_id, _, _ in users)
        # Kill A while it holds claims (status 'sending' under a lease) it has not finished: more rows
        # are claimed than one worker's batch (16), so both workers hold some. (A's delivered lines come
        # only once a batch's outcomes are recorded, too late a sign: A may hold nothing by then.)
        delivery.wait_for(lambda: int(self.sql(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sending' AND user_id IN (%s)" % ids)) > 16, 30,
            "both workers sending")
        self.a.kill()
        killed_at = time.monotonic()
        pending_at_kill = int(self.sql("SELECT COUNT(*) FROM outbox WHERE status <> 'delivered' AND user_id IN (%s)"
                                       % ids))
        self.assertGreater(pending_at_kill, 0)
        delivery.wait_for(lambda: self.delivered([u for u, _, _ in users]) == len(users), 120,
                          "every message delivered by B", lambda: "%d delivered" % self.delivered(
                              [u for u, _, _ in users]))
        print("\nkill -9: %d messages not yet delivered at the kill, all delivered %.1f s later"
              % (pending_at_kill, time.monotonic() - killed_at))
        # The dead worker's claims came back: those messages were claimed a second time, after the lease.
        reclaimed = int(self.sql("SELECT COUNT(*) FROM outbox WHERE attempts >= 2 AND user_id IN (%s)" % ids))
        self.assertGreater(reclaimed, 0)
        counts = self.recipients_count()
        missing = [address for _, address, _ in users if counts.get(address, 0) == 0]
        self.assertEqual(missing, [])
        # At most the one message A's worker was handing to SMTP when it died reaches its user twice.
        twice = [address for _, address, _ in users if counts.get(address, 0) > 1]
        self.assertLessEqual(len(twice), 1, twice)
        # A starts again on the same database.
        self.a.start()
        self.assertEqual(self.a.request("GET", "/readyz").status, 200)


def main(argv):
    options, rest = e2e.parse_arguments(argv[1:])
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)

    def cleanup():
        delivery.stop_all_peers()
        delivery.remove_certificates()

    return e2e.run_module(sys.modules[__name__], argv, rest, cleanup=cleanup)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
