#!/usr/bin/env python3
"""Run a throw-away PostgreSQL 15 server for tests (stdlib only).

Library use:
    with PostgresServer() as pg:
        pg.createdb("t1")
        url = pg.url("t1")      # postgresql://identity:<pw>@127.0.0.1:<port>/t1

Command line (CTest fixtures):
    pgserver.py start --state FILE   start a server, write JSON state, leave it running
    pgserver.py stop  --state FILE   stop it, delete its folder and FILE (always exits 0)
    pgserver.py selftest             exercise the whole API and print "ok"

The server listens on 127.0.0.1 only (password auth, scram-sha-256) and on a
Unix socket inside its temporary folder (trust; used by psql/createdb here).
When run as root every PostgreSQL binary runs as the "postgres" system user.
"""
import argparse
import atexit
import json
import os
import shlex
import shutil
import signal
import socket
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN = "/usr/lib/postgresql/15/bin"
USER = "identity"
PREFIX = "identity-pg-"


def _alive(pid):
    """True if pid is a running process (zombies count as dead: our container's
    PID 1 may not reap the daemonized postmaster)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


class PostgresServer:
    def __init__(self, base_dir=None, durable=False):
        """durable: keep PostgreSQL's fsync and full-page writes on (benchmarks); tests turn them off."""
        self.base_dir = base_dir
        self.durable = durable
        self.dir = None
        self.port = None
        self.password = None
        self._as_postgres = os.geteuid() == 0
        self._atexit = False

    # -- paths and command helpers ------------------------------------------
    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _run(self, argv, check=True, timeout=120):
        name = os.path.basename(argv[0])
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        # Drop PG* variables (PGHOST, PGDATABASE, ...) that would redirect tools.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        # cwd must be readable by "postgres" (the caller's cwd may be /root).
        r = subprocess.run(argv, cwd=self.dir, env=env, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"{name} failed ({r.returncode}): "
                               f"{r.stderr.strip() or r.stdout.strip()}")
        return r

    def _conn_args(self):
        return ["-h", self.dir, "-p", str(self.port), "-U", USER]

    def _log_tail(self, n=20):
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        if not os.path.exists(os.path.join(BIN, "initdb")):
            raise RuntimeError("PostgreSQL 15 is not installed: run scripts/install-deps")
        if not self._atexit:
            atexit.register(self._cleanup_at_exit)
            self._atexit = True
        self.dir = tempfile.mkdtemp(prefix=PREFIX, dir=self.base_dir or tempfile.gettempdir())
        self.password = secrets.token_hex(16)
        pwfile = os.path.join(self.dir, "pwfile")
        with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(self.password + "\n")
        if self._as_postgres:
            # mkdtemp gives mode 0700; owned by postgres that is all it needs.
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run([f"{BIN}/initdb", "-D", self.data, "-U", USER, "--pwfile", pwfile,
                       "--auth-local=trust", "--auth-host=scram-sha-256",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        finally:
            os.unlink(pwfile)
        # Free-port probing is racy; retry with a fresh port if bind fails.
        for attempt in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            try:
                return self.start_again()
            except RuntimeError:
                if attempt == 4 or "already in use" not in self._log_tail():
                    raise

    def start_again(self):
        """(Re)start the existing data dir on the same port; returns when it
        accepts connections."""
        self._remove_stale_locks()
        opts = ["-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
                "-c", f"unix_socket_directories={self.dir}",
                "-c", "max_connections=300", "-c", "shared_buffers=64MB"]
        if not self.durable:
            opts += ["-c", "fsync=off", "-c", "full_page_writes=off"]  # speed; no OS crash in tests
        r = self._run([f"{BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "postgres.log"),
                       "-w", "-t", "60", "start", "-o", shlex.join(opts)], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()}\n{self._log_tail()}")
        return self

    def _remove_stale_locks(self):
        # After kill(), a zombie postmaster would make PostgreSQL think its
        # lock files are still held; remove them once we know it is dead.
        pid = self.pid()
        if pid is not None and not _alive(pid):
            for p in (os.path.join(self.data, "postmaster.pid"),
                      os.path.join(self.dir, f".s.PGSQL.{self.port}.lock")):
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass

    def pid(self):
        """PID of the postmaster from data/postmaster.pid, or None."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError, TypeError):
            return None

    def running(self):
        pid = self.pid()
        return pid is not None and _alive(pid)

    def stop(self, mode="fast"):
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self):
        self.stop("fast")
        return self.start_again()

    def kill(self):
        """Simulate a crash: SIGKILL the postmaster, then any orphaned backend
        (found by its cwd, which PostgreSQL sets to the data dir), so that
        start_again() is not refused because old shared memory is still in use."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError("server is not running")
        os.kill(pid, signal.SIGKILL)
        data = os.path.realpath(self.data)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = []
            for p in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if os.readlink(f"/proc/{p}/cwd") == data and _alive(int(p)):
                        left.append(int(p))
                except OSError:
                    continue
            if not left and not _alive(pid):
                return
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("postgres processes did not exit after SIGKILL")

    def cleanup(self):
        """Stop (immediate) if running and remove the folder; never raises."""
        try:
            if self.dir and self.running():
                try:
                    self.stop("immediate")
                except Exception:
                    self.kill()
        except Exception:
            pass
        # Only ever delete folders we created (guards against a bad state file).
        if self.dir and os.path.basename(self.dir.rstrip("/")).startswith(PREFIX):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def detach(self):
        """Leave the server running when this Python process exits."""
        if self._atexit:
            atexit.unregister(self._cleanup_at_exit)
            self._atexit = False

    def _cleanup_at_exit(self):
        self.cleanup()

    def __enter__(self):
        return self.start() if self.dir is None else self

    def __exit__(self, *exc):
        self.cleanup()

    # -- client helpers ------------------------------------------------------
    def url(self, database):
        pw = urllib.parse.quote(self.password, safe="")
        return f"postgresql://{USER}:{pw}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres"):
        r = self._run([f"{BIN}/psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                       *self._conn_args(), "-d", database, "-c", sql], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def createdb(self, name):
        self._run([f"{BIN}/createdb", *self._conn_args(), name])

    def dropdb(self, name):
        self._run([f"{BIN}/dropdb", *self._conn_args(), "--if-exists", "--force", name])

    # -- state file (CLI) ----------------------------------------------------
    def state(self):
        return {"url_base": self.url("").rstrip("/"), "port": self.port, "dir": self.dir,
                "pid": self.pid(), "password": self.password}

    @classmethod
    def from_state(cls, st):
        pg = cls()
        pg.dir, pg.port, pg.password = st["dir"], st["port"], st["password"]
        return pg


def _selftest():
    with PostgresServer() as pg:
        pg.createdb("selftest")
        assert pg.psql("SELECT 1", "selftest") == "1"
        pg.psql("CREATE TABLE t (v int); INSERT INTO t VALUES (42);", "selftest")
        pg.restart()
        assert pg.psql("SELECT v FROM t", "selftest") == "42"
        pg.psql("INSERT INTO t VALUES (43);", "selftest")  # committed, then crash
        old = pg.pid()
        pg.kill()
        assert not pg.running()
        pg.start_again()
        assert pg.pid() != old
        assert pg.psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t", "selftest") == "42,43"
        pg.dropdb("selftest")
        dir_ = pg.dir
    assert not os.path.exists(dir_)
    print("ok")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["start", "stop", "selftest"])
    ap.add_argument("--state", help="JSON state file (start/stop)")
    ap.add_argument("--durable", action="store_true", help="keep fsync and full-page writes on (benchmarks)")
    ap.add_argument("--createdb", action="append", default=[], help="database to create after start (repeatable)")
    a = ap.parse_args(argv)
    if a.command == "selftest":
        _selftest()
        return 0
    if not a.state:
        ap.error("--state is required")
    if a.command == "start":
        pg = PostgresServer(durable=a.durable)
        try:
            pg.start()
            for name in a.createdb:
                pg.createdb(name)
            tmp = a.state + ".tmp"
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                json.dump(pg.state(), f)
            os.replace(tmp, a.state)
        except BaseException:
            pg.cleanup()
            raise
        pg.detach()  # the daemonized postmaster must outlive us
        print(f"postgres running on 127.0.0.1:{pg.port} (state: {a.state})")
        return 0
    try:  # stop: best effort, always succeeds
        with open(a.state) as f:
            PostgresServer.from_state(json.load(f)).cleanup()
    except (OSError, ValueError, KeyError):
        pass
    try:
        os.unlink(a.state)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
