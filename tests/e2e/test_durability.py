"""kill -9 under load on SQLite loses no request that was answered.

One identity-host process on SQLite (group commit: the units of concurrent requests share one
transaction and one sync, and no request is answered before its commit is durable) takes
reauthenticate requests from 16 threads; it is killed with SIGKILL mid-load. Afterwards every request
that was answered 200 has its code and its outbox row in the database, and the host starts again on it.

    python3 test_durability.py --host-binary build/bin/identity-host \\
        --manifest build/plugins/reauthenticate/plugin.json --config config/dev.json --log-dir DIR
"""

import concurrent.futures
import os
import secrets
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_e2e as e2e  # noqa: E402
import test_postgres  # noqa: E402  (access tokens signed as the host signs them)

P = "plugins.reauthenticate.config."
USERS = 3000


class KillNineTest(unittest.TestCase):
    def setUp(self):
        e2e.record_secret(test_postgres.TOKEN_SECRET)
        self.host = e2e.Host("durability", {
            "tokens.secret": test_postgres.TOKEN_SECRET,
            "passwords.record_key": test_postgres.RECORD_KEY,
            "server.threads": "32",
            P + "limits.cooldown_seconds": "0",
            P + "limits.per_user_per_hour": "0",
            P + "limits.per_ip_per_hour": "0",
            P + "limits.per_destination_per_hour": "0",
            # The worker stays away from the rows under test: what is checked is what the requests wrote.
            P + "delivery.poll_ms": "60000",
        })
        self.database = os.path.join(self.host.tmp, "identity.db")
        self.host.start()  # creates the database and applies the migrations
        self.users = self.make_users(USERS)

    def tearDown(self):
        self.host.cleanup()

    def make_users(self, count):
        """Users with a session each, written straight into the database (no 600,000-round PBKDF2)."""
        now = int(time.time())
        connection = sqlite3.connect(self.database, timeout=30)
        try:
            with connection:
                connection.executemany(
                    "INSERT INTO users(id, username, email, password_hash, locale, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'unusable', 'en', 'active', ?, ?)",
                    [("k-%d" % n, "k-%d" % n, "k-%d@example.com" % n, now, now) for n in range(count)])
                connection.executemany(
                    "INSERT INTO sessions(id, user_id, refresh_hash, refresh_expires_at, client_id, created_at) "
                    "VALUES (?, ?, ?, ?, 'dev', ?)",
                    [("s-%d" % n, "k-%d" % n, "r-%d" % n, now + 3600, now) for n in range(count)])
        finally:
            connection.close()
        return [("k-%d" % n, test_postgres.access_token("k-%d" % n, "s-%d" % n)) for n in range(count)]

    def test_every_answered_request_survives_kill_nine(self):
        answered = []
        lock = threading.Condition()
        cursor = iter(self.users)
        killed = threading.Event()

        def load():
            while not killed.is_set():
                with lock:
                    user = next(cursor, None)
                if user is None:
                    return
                user_id, token = user
                try:
                    reply = self.host.request("POST", "/auth/v1/user/reauthenticate", {"verify_opt": "email_code"},
                                              token=token, timeout=10)
                except OSError:
                    continue  # the process is gone: no answer, no promise
                if reply.status == 200:
                    with lock:
                        answered.append(user_id)
                        lock.notify_all()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(load) for _ in range(16)]
            # Mid-load: once a good share of the requests were answered.
            with lock:
                lock.wait_for(lambda: len(answered) >= USERS // 3, timeout=60)
            self.host.process.kill()  # SIGKILL: no shutdown, no flush
            killed.set()
            self.host.process.wait()
            for future in futures:
                future.result()
        self.assertGreaterEqual(len(answered), USERS // 3)
        self.assertLess(len(answered), USERS, "the kill came after the load")

        # What the requests wrote, read after the crash (SQLite recovers its WAL on open).
        connection = sqlite3.connect(self.database, timeout=30)
        try:
            codes = {row[0] for row in connection.execute("SELECT user_id FROM verification_codes")}
            messages = {row[0] for row in connection.execute("SELECT user_id FROM outbox")}
        finally:
            connection.close()
        lost_codes = [user for user in answered if user not in codes]
        lost_messages = [user for user in answered if user not in messages]
        print("\nkill -9: %d requests answered 200 before the kill; %d codes and %d messages in the database"
              % (len(answered), len(codes), len(messages)))
        self.assertEqual(lost_codes, [], "answered 200, but its code is gone")
        self.assertEqual(lost_messages, [], "answered 200, but its outbox row is gone")
        # And the host serves on the database again.
        self.host.start()
        self.assertEqual(self.host.request("GET", "/readyz").status, 200)


def main(argv):
    options, rest = e2e.parse_arguments(argv[1:])
    e2e.OPTIONS = options
    os.makedirs(options.log_dir, exist_ok=True)
    return e2e.run_module(sys.modules[__name__], argv, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
