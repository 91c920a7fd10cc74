#!/usr/bin/env python3
"""A local stand-in of the AWS Parameters and Secrets Lambda Extension's HTTP endpoint, for
running a packaged bootstrap outside Lambda (scripts/test-package.sh).

Answers GET /secretsmanager/get?secretId=SECRET_ID like the extension: 401 without the
X-Aws-Parameters-Secrets-Token header equal to --session-token, 400 for another secret id,
else 200 with a GetSecretValue JSON whose SecretString is the content of --secret-file (read
from a file so that the secret never appears in a process listing). Runs until killed.

    local_secrets_extension.py --port-file F --secret-id ID --secret-file FILE --session-token T
"""
import argparse
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse


class IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def make_handler(secret_id, secret, session_token):
    class ExtensionHandler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def reply(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/secretsmanager/get":
                return self.reply(404, b"not found")
            if self.headers.get("X-Aws-Parameters-Secrets-Token") != session_token:
                return self.reply(401, b"missing or wrong X-Aws-Parameters-Secrets-Token")
            requested = urllib.parse.parse_qs(url.query).get("secretId", [""])[0]
            if requested != secret_id:
                return self.reply(400, b"ResourceNotFoundException: Secrets Manager can't find the specified secret.")
            answer = {"ARN": secret_id, "Name": secret_id.rsplit(":", 1)[-1], "SecretString": secret,
                      "VersionId": "local", "VersionStages": ["AWSCURRENT"]}
            self.reply(200, json.dumps(answer).encode())

    return ExtensionHandler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--session-token", required=True)
    arguments = parser.parse_args()

    with open(arguments.secret_file) as secret_file:
        secret = secret_file.read().strip()
    handler = make_handler(arguments.secret_id, secret, arguments.session_token)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    # The client asks for "localhost", which libcurl tries on ::1 first: answer there too, so that
    # no other process that happens to hold this port number on ::1 can.
    try:
        ipv6_server = IPv6Server(("::1", port), handler)
        threading.Thread(target=ipv6_server.serve_forever, daemon=True).start()
    except OSError:
        pass  # no IPv6 here: localhost then means 127.0.0.1 only
    with open(arguments.port_file + ".partial", "w") as port_file:
        port_file.write(str(port))
    os.rename(arguments.port_file + ".partial", arguments.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
