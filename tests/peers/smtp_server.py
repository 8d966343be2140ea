#!/usr/bin/python3
"""A real SMTP server for tests, built on aiosmtpd (Debian python3-aiosmtpd 1.4.x).

Usage:
  /usr/bin/python3 smtp_server.py --port-file F [--port N] [--mode starttls|implicit|plain]
        [--cert C --key K] [--user U --password P] [--out DIR] [--stats F]
        [--fail-first N] [--fail-on data|rcpt] [--verbose]

Binds 127.0.0.1 on a port chosen by the OS (or --port N, for a host that
was configured before this server existed) and writes that port (decimal,
newline-terminated) to --port-file once the listening socket accepts
connections.  Runs until SIGTERM/SIGINT, then exits 0.

Modes:
  starttls  STARTTLS offered and required before AUTH/MAIL (530 otherwise);
            AUTH only offered after STARTTLS.  Needs --cert/--key.
  implicit  TLS from the first byte (SMTPS).  Needs --cert/--key.
  plain     no TLS at all; AUTH PLAIN/LOGIN offered over plain text.

With --user/--password, AUTH (PLAIN or LOGIN) is required before MAIL
(530 otherwise); wrong credentials get 535.  Without --user, AUTH is
optional and any credentials are accepted.

--out DIR: every accepted message is written as DIR/<n>.eml (n = 1, 2, ...),
           the DATA bytes exactly as received (after SMTP dot-unstuffing,
           CRLF line ends kept).  DIR/<n>.json (envelope: mail_from,
           rcpt_tos, mail_options, peer, tls, auth_login) is written first;
           both are written to a temp file and renamed, so when <n>.eml
           exists it is complete.
--stats F: JSON rewritten atomically after every event:
           {"connections", "messages", "auth_successes", "auth_failures",
            "starttls", "temp_failures"}.  A connection is counted when it is
           accepted (before the banner).  Written once (all zero) before the
           port file.
--fail-first N: the first N DATA commands (or RCPT commands with
           --fail-on rcpt) are answered "451 4.3.0 ..." (temporary failure);
           such messages are not stored.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword  # noqa: F401


def atomic_write(path, data):
    """Write bytes/str to path via temp file + rename."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
    os.replace(tmp, path)


class State:
    def __init__(self, args):
        self.args = args
        self.stats = {
            "connections": 0,
            "messages": 0,
            "auth_successes": 0,
            "auth_failures": 0,
            "starttls": 0,
            "temp_failures": 0,
        }
        self.fail_left = args.fail_first
        self.msg_seq = 0
        self.protocols = set()

    def bump(self, key):
        self.stats[key] += 1
        self.write_stats()

    def write_stats(self):
        if self.args.stats:
            atomic_write(self.args.stats, json.dumps(self.stats, sort_keys=True) + "\n")


class Handler:
    def __init__(self, state):
        self.state = state

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        st = self.state
        if st.args.fail_on == "rcpt" and st.fail_left > 0:
            st.fail_left -= 1
            st.bump("temp_failures")
            return "451 4.3.0 Temporary failure (test --fail-first), try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        st = self.state
        if st.args.slow_domain and any(rcpt.endswith("@" + st.args.slow_domain) for rcpt in envelope.rcpt_tos):
            # A slow provider for these recipients only: a sender is caught mid-delivery.
            await asyncio.sleep(st.args.slow_ms / 1000.0)
        if st.args.fail_on == "data" and st.fail_left > 0:
            st.fail_left -= 1
            st.bump("temp_failures")
            return "451 4.3.0 Temporary failure (test --fail-first), try again later"
        st.msg_seq += 1
        n = st.msg_seq
        if st.args.out:
            meta = {
                "mail_from": envelope.mail_from,
                "mail_options": envelope.mail_options,
                "rcpt_tos": envelope.rcpt_tos,
                "peer": list(session.peer) if session.peer else None,
                "tls": bool(server.transport.get_extra_info("sslcontext")),
                "auth_login": (session.auth_data.login.decode("utf-8", "replace")
                               if isinstance(session.auth_data, LoginPassword) else None),
            }
            atomic_write(os.path.join(st.args.out, "%d.json" % n),
                         json.dumps(meta, sort_keys=True) + "\n")
            atomic_write(os.path.join(st.args.out, "%d.eml" % n), envelope.original_content)
        st.bump("messages")
        return "250 2.0.0 OK: queued as %d" % n


class CountingSMTP(SMTP):
    """SMTP that counts connections (at accept) and completed STARTTLS handshakes."""

    def __init__(self, handler, state, **kw):
        super().__init__(handler, **kw)
        self._state = state

    def connection_made(self, transport):
        second = self._original_transport is not None  # called again after STARTTLS
        super().connection_made(transport)
        if second:
            self._state.bump("starttls")
        else:
            self._state.protocols.add(self)
            self._state.bump("connections")

    def connection_lost(self, error):
        self._state.protocols.discard(self)
        super().connection_lost(error)


def make_authenticator(state):
    args = state.args

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword)
        if ok and args.user is not None:
            ok = (auth_data.login == args.user.encode("utf-8")
                  and auth_data.password == args.password.encode("utf-8"))
        state.bump("auth_successes" if ok else "auth_failures")
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticator


async def main_async(args):
    state = State(args)
    loop = asyncio.get_running_loop()

    tls_ctx = None
    if args.mode in ("starttls", "implicit"):
        if not (args.cert and args.key):
            sys.exit("--mode %s needs --cert and --key" % args.mode)
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(args.cert, args.key)

    handler = Handler(state)
    authenticator = make_authenticator(state)
    smtp_kw = dict(
        hostname="localhost",
        enable_SMTPUTF8=True,
        decode_data=False,
        authenticator=authenticator,
        auth_required=args.user is not None,
        loop=loop,
    )
    if args.mode == "starttls":
        smtp_kw.update(tls_context=tls_ctx, require_starttls=True, auth_require_tls=True)
        server_ssl = None
    elif args.mode == "implicit":
        # The socket is TLS already; aiosmtpd only knows about STARTTLS-TLS,
        # so it must not demand "TLS" for AUTH itself.
        smtp_kw.update(tls_context=None, require_starttls=False, auth_require_tls=False)
        server_ssl = tls_ctx
    else:
        smtp_kw.update(tls_context=None, require_starttls=False, auth_require_tls=False)
        server_ssl = None

    def factory():
        return CountingSMTP(handler, state, **smtp_kw)

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port, ssl=server_ssl,
                                      start_serving=True, reuse_address=True)
    port = server.sockets[0].getsockname()[1]

    if args.out:
        os.makedirs(args.out, exist_ok=True)
    state.write_stats()

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # The socket is bound, listening and served by the running loop: announce.
    atomic_write(args.port_file, "%d\n" % port)
    if args.verbose:
        print("smtp_server: listening on 127.0.0.1:%d mode=%s" % (port, args.mode),
              file=sys.stderr, flush=True)

    await stop.wait()
    server.close()
    for proto in list(state.protocols):
        tr = proto.transport
        if tr is not None:
            tr.abort()
        orig = getattr(proto, "_original_transport", None)
        if orig is not None:
            orig.abort()
    await server.wait_closed()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0,
                   help="listen on this port (default 0: one the OS picks); to bring a server back where it was")
    p.add_argument("--mode", choices=("starttls", "implicit", "plain"), default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--out")
    p.add_argument("--stats")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-on", choices=("data", "rcpt"), default="data")
    p.add_argument("--slow-domain", default="",
                   help="take --slow-ms before accepting DATA for recipients at this domain")
    p.add_argument("--slow-ms", type=int, default=500)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    return args


def main():
    args = parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.ERROR,
                        format="smtp_server: %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
