#!/usr/bin/python3
"""A TLS server that is slow to start its handshake, for testing that clients check the server's
name even when the handshake does not finish inside their first read.

Usage:
  /usr/bin/python3 slow_tls_server.py --port-file F --cert C --key K [--delay S] --log F

Binds 127.0.0.1 on a port chosen by the OS, writes it to --port-file once listening. For each
connection (one at a time): waits --delay seconds (default 1.5), does the TLS handshake with the
given certificate, then greets like an SMTP server ("220 ...") and appends one JSON line per
connection to --log: {"handshake": true|false, "received": <bytes of application data received
after the handshake>}. A client that checks the certificate's name against the one it wanted
closes the connection during or right after the handshake and sends nothing. Runs until SIGTERM.
"""

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as out:
        out.write("%d\n" % listener.getsockname()[1])
    os.replace(temporary, args.port_file)

    while True:
        connection, _ = listener.accept()
        record = {"handshake": False, "received": 0}
        try:
            time.sleep(args.delay)
            connection.settimeout(10)
            secure = context.wrap_socket(connection, server_side=True)
            record["handshake"] = True
            secure.sendall(b"220 slow.test ESMTP\r\n")
            while True:
                data = secure.recv(4096)
                if not data:
                    break
                record["received"] += len(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            connection.close()
            with open(args.log, "a") as log:
                log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
