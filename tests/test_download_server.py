"""A small HTTP file server on 127.0.0.1 for download tests (Range, drops, hangs, corruption).

Imported by test_download.py and test_datasets.py; the test at the bottom checks the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    # path -> number of bytes after which the *next* GET drops the connection (one shot)
    drop_after: dict[str, int] = field(default_factory=dict)
    # path -> number of upcoming GETs answered with corrupted bytes
    corrupt: dict[str, int] = field(default_factory=dict)
    # path -> number of upcoming GETs answered with 503
    unavailable: dict[str, int] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    hang: set[str] = field(default_factory=set)
    no_length: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, Range
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = self.path
            with state.lock:
                state.requests.append(("HEAD" if head else "GET", path,
                                       self.headers.get("Range")))
            if path in state.hang:
                state.stop.wait(10)
                return
            data = state.files.get(path)
            if data is None:
                self._empty(404)
                return
            with state.lock:
                if not head and state.unavailable.get(path, 0) > 0:
                    state.unavailable[path] -= 1
                    self._empty(503)
                    return
                if not head and state.corrupt.get(path, 0) > 0:
                    state.corrupt[path] -= 1
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                drop = None if head else state.drop_after.pop(path, None)
            start, status = 0, 200
            rng = self.headers.get("Range")
            if rng and path not in state.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            if path not in state.no_length:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if head:
                return
            if drop is not None:
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)
            if path in state.no_length:
                self.close_connection = True

        def _empty(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def serve(state: ServerState) -> Iterator[str]:
    """Run the server in a thread; yields the base URL (``http://127.0.0.1:PORT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()


def test_server_answers_ranges() -> None:
    import urllib.request

    state = ServerState(files={"/a.bin": b"0123456789"})
    with serve(state) as base:
        req = urllib.request.Request(base + "/a.bin", headers={"Range": "bytes=4-"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 206
            assert resp.read() == b"456789"
