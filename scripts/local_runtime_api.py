#!/usr/bin/env python3
"""A local stand-in of the Lambda Runtime API (2018-06-01), for running a packaged bootstrap
outside Lambda (scripts/test-package.sh).

Serves the given event files in order on GET .../invocation/next, writes each answer to
OUTPUT_DIR/<n>.response or <n>.error (with <n>.error-type), and exits 0 once every event has
been answered; 1 on an init error or when --timeout expires first. Like the real API, /next
blocks while there is no event left.

    local_runtime_api.py --port-file PORT_FILE --output-dir DIR [--timeout S]
                         [--client-context N:BYTES] EVENT_FILE...

--client-context N:BYTES gives invocation N (from 0) a Lambda-Runtime-Client-Context header whose
value is BYTES long: base64 of a client context as the AWS mobile SDKs send it, its `custom` map
padded. Lambda itself caps a client context at 3,583 bytes; a larger one is what a broken or
hostile Runtime API may send, and the runtime must fail that invocation alone, naming the header.
"""
import argparse
import base64
import http.server
import json
import os
import sys
import threading
import time

API_PREFIX = "/2018-06-01/runtime"
CLIENT_CONTEXT_HEADER = "Lambda-Runtime-Client-Context"


def client_context(value_bytes):
    """A base64 client context of exactly `value_bytes` characters (a multiple of 4, at least 1024)."""
    if value_bytes % 4 or value_bytes < 1024:
        raise ValueError("a client context's size must be a multiple of 4, at least 1024")
    context = {
        "client": {"installation_id": "3f1d8c2e-6b1a-4c55-9a57-0d6a2f1e9b44", "app_title": "Price Watch",
                   "app_version_name": "4.2.1", "app_version_code": "421", "app_package_name": "com.example.pricewatch"},
        "custom": {"watchlist": ""},
        "env": {"platform": "Android", "platform_version": "14", "make": "Google", "model": "Pixel 8", "locale": "en_GB"},
    }
    # base64 turns every 3 bytes into 4 characters: pad the JSON to 3/4 of the wanted size.
    unpadded = len(json.dumps(context, separators=(",", ":")))
    wanted_json_bytes = value_bytes // 4 * 3
    symbols = ",".join(f"SYM{i:05d}" for i in range(wanted_json_bytes // 9 + 1))
    context["custom"]["watchlist"] = symbols[:wanted_json_bytes - unpadded]
    encoded = base64.b64encode(json.dumps(context, separators=(",", ":")).encode()).decode()
    if len(encoded) != value_bytes:
        raise ValueError(f"built a client context of {len(encoded)} bytes, not {value_bytes}")
    return encoded


class Invocations:
    """The events still to hand out and the answers received, shared by the handler threads."""

    def __init__(self, event_files, output_dir, client_contexts):
        self.events = [open(path, "rb").read() for path in event_files]
        self.client_contexts = client_contexts  # invocation index -> header value
        self.output_dir = output_dir
        self.handed_out = 0
        self.answered = set()
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.failed = False

    def next_event(self):
        with self.lock:
            if self.handed_out >= len(self.events):
                return None
            index = self.handed_out
            self.handed_out += 1
            return index, self.events[index]

    def record(self, index, kind, body, error_type=None):
        with self.lock:
            with open(os.path.join(self.output_dir, f"{index}.{kind}"), "wb") as output:
                output.write(body)
            if error_type is not None:
                with open(os.path.join(self.output_dir, f"{index}.error-type"), "w") as output:
                    output.write(error_type)
            self.answered.add(index)
            return len(self.answered) == len(self.events)

    def init_failed(self, body, error_type):
        with open(os.path.join(self.output_dir, "init.error"), "wb") as output:
            output.write(body)
        sys.stderr.write(f"local Runtime API: init error {error_type}: {body.decode(errors='replace')}\n")
        self.failed = True


def make_handler(invocations):
    class RuntimeAPIHandler(http.server.BaseHTTPRequestHandler):
        # Keep-alive, as the real API: the runtime reuses one connection.
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # the test prints its own summary
            pass

        def handle(self):
            try:
                super().handle()
            except ConnectionError:
                # A runtime that refuses an answer (an oversized header) closes the connection in
                # the middle of it, and posts its error over a new one.
                pass

        def reply(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != f"{API_PREFIX}/invocation/next":
                return self.reply(404, b'{"errorMessage":"unknown path"}')
            next_event = invocations.next_event()
            while next_event is None:  # no more work: hold the poll, as Lambda does
                time.sleep(3600)
            index, event = next_event
            deadline_ms = int((time.time() + 30) * 1000)
            headers = [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", f"request-{index}"),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:local"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ]
            if index in invocations.client_contexts:
                headers.append((CLIENT_CONTEXT_HEADER, invocations.client_contexts[index]))
            self.reply(200, event, headers)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
            if self.path == f"{API_PREFIX}/init/error":
                invocations.init_failed(body, error_type)
                self.reply(202, b'{"status":"OK"}')
                # Only after the reply is out: the process exits once `finished` is set.
                return invocations.finished.set()
            prefix = f"{API_PREFIX}/invocation/request-"
            if not self.path.startswith(prefix):
                return self.reply(404, b'{"errorMessage":"unknown path"}')
            index_text, _, kind = self.path[len(prefix):].partition("/")
            if not index_text.isdigit() or kind not in ("response", "error"):
                return self.reply(400, b'{"errorMessage":"unknown request id"}')
            all_answered = invocations.record(int(index_text), kind, body, error_type if kind == "error" else None)
            self.reply(202, b'{"status":"OK"}')
            if all_answered:
                invocations.finished.set()

    return RuntimeAPIHandler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--client-context", action="append", default=[], metavar="N:BYTES",
                        help="give invocation N a Lambda-Runtime-Client-Context of BYTES bytes")
    parser.add_argument("events", nargs="+")
    arguments = parser.parse_args()

    client_contexts = {}
    for option in arguments.client_context:
        index, _, size = option.partition(":")
        if not (index.isdigit() and size.isdigit()):
            parser.error(f"--client-context takes N:BYTES, not {option!r}")
        client_contexts[int(index)] = client_context(int(size))
    invocations = Invocations(arguments.events, arguments.output_dir, client_contexts)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(invocations))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Written last, so whoever waits for the file can connect at once.
    with open(arguments.port_file + ".partial", "w") as port_file:
        port_file.write(str(server.server_address[1]))
    os.rename(arguments.port_file + ".partial", arguments.port_file)

    if not invocations.finished.wait(arguments.timeout):
        sys.stderr.write(f"local Runtime API: {len(invocations.answered)} of {len(invocations.events)} "
                         f"events answered after {arguments.timeout:.0f} s\n")
        return 1
    return 1 if invocations.failed else 0


if __name__ == "__main__":
    sys.exit(main())
