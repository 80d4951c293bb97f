"""A minimal Bolt 4.4 server on a real local TCP socket, for fault injection in the driver tests.

It is not a database: it speaks just enough of the protocol (handshake, PackStream, chunking,
HELLO/BEGIN/RUN/PULL/COMMIT/ROLLBACK/RESET/GOODBYE) for the real ``neo4j`` driver to connect,
and answers each RUN through a handler the test gives, so a test can make the network or the
server fail exactly where it wants (refused credentials, a missing database, a transient error
on the third batch) and see what the driver really sent (every RUN's query and parameters).

Also here: servers that refuse, accept and close, or accept and say nothing.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# -- PackStream ---------------------------------------------------------------------------------


def _pack(v: Any) -> bytes:
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if -16 <= v < 128:
            return struct.pack(">b", v)
        return b"\xcb" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xc1" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        head = bytes([0x80 + len(b)]) if len(b) < 16 else b"\xd2" + struct.pack(">I", len(b))
        return head + b
    if isinstance(v, list):
        head = bytes([0x90 + len(v)]) if len(v) < 16 else b"\xd6" + struct.pack(">I", len(v))
        return head + b"".join(_pack(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0xA0 + len(v)]) if len(v) < 16 else b"\xda" + struct.pack(">I", len(v))
        return head + b"".join(_pack(k) + _pack(x) for k, x in v.items())
    raise TypeError(type(v))


def _message(signature: int, *fields: Any) -> bytes:
    body = bytes([0xB0 + len(fields), signature]) + b"".join(_pack(f) for f in fields)
    out = b""
    for i in range(0, len(body), 0xFFFF):
        part = body[i:i + 0xFFFF]
        out += struct.pack(">H", len(part)) + part
    return out + b"\x00\x00"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def take(self, n: int) -> bytes:
        b = self.data[self.i:self.i + n]
        self.i += n
        return b

    def int_(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        return int(struct.unpack(fmt, self.take(size))[0])

    def value(self) -> Any:
        m = self.take(1)[0]
        if m < 0x80:
            return m
        if m >= 0xF0:
            return m - 0x100
        if 0x80 <= m <= 0x8F:
            return self.take(m - 0x80).decode("utf-8")
        if 0x90 <= m <= 0x9F:
            return [self.value() for _ in range(m - 0x90)]
        if 0xA0 <= m <= 0xAF:
            return {self.value(): self.value() for _ in range(m - 0xA0)}
        if 0xB0 <= m <= 0xBF:
            sig = self.take(1)[0]
            return ("struct", sig, [self.value() for _ in range(m - 0xB0)])
        simple: dict[int, Any] = {0xC0: None, 0xC2: False, 0xC3: True}
        if m in simple:
            return simple[m]
        if m == 0xC1:
            return struct.unpack(">d", self.take(8))[0]
        ints = {0xC8: ">b", 0xC9: ">h", 0xCA: ">i", 0xCB: ">q"}
        if m in ints:
            return self.int_(ints[m])
        sizes = {0xD0: ">B", 0xD1: ">H", 0xD2: ">I"}
        if m in sizes:
            return self.take(self.int_(sizes[m])).decode("utf-8")
        lists = {0xD4: ">B", 0xD5: ">H", 0xD6: ">I"}
        if m in lists:
            return [self.value() for _ in range(self.int_(lists[m]))]
        maps = {0xD8: ">B", 0xD9: ">H", 0xDA: ">I"}
        if m in maps:
            return {self.value(): self.value() for _ in range(self.int_(maps[m]))}
        byts = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I"}
        if m in byts:
            return self.take(self.int_(byts[m]))
        raise ValueError(f"PackStream marker {m:#x}")


# -- the server ---------------------------------------------------------------------------------
SUCCESS, RECORD, IGNORED, FAILURE = 0x70, 0x71, 0x7E, 0x7F
HELLO, GOODBYE, RESET, RUN, BEGIN, COMMIT, ROLLBACK, DISCARD, PULL = (
    0x01, 0x02, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x2F, 0x3F)


@dataclass
class Reply:
    """What the server answers to one RUN: records (with their field names) or a failure."""

    fields: list[str] = field(default_factory=list)
    records: list[list[Any]] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # (Neo4j status code, message)


Handler = Callable[[str, dict[str, Any]], Reply]


class BoltServer:
    """Bolt 4.4 on 127.0.0.1:<port>, one thread per connection.

    ``hello_failure`` answers every HELLO with that (code, message); ``handler`` answers RUNs.
    ``runs`` records every RUN as ``(query, parameters)``.
    """

    def __init__(self, handler: Handler | None = None,
                 hello_failure: tuple[str, str] | None = None) -> None:
        self.handler = handler or (lambda q, p: Reply())
        self.hello_failure = hello_failure
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.hellos: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _recv(conn: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            part = conn.recv(n - len(buf))
            if not part:
                raise ConnectionError("client went away")
            buf += part
        return buf

    def _read_message(self, conn: socket.socket) -> tuple[int, list[Any]]:
        body = b""
        while True:
            size = struct.unpack(">H", self._recv(conn, 2))[0]
            if size == 0:
                if body:
                    break
                continue  # NOOP chunk
            body += self._recv(conn, size)
        value = _Reader(body).value()
        assert isinstance(value, tuple)
        return value[1], value[2]

    def _serve(self, conn: socket.socket) -> None:
        try:
            hs = self._recv(conn, 20)
            assert hs[:4] == b"\x60\x60\xb0\x17", hs
            conn.sendall(b"\x00\x00\x04\x04")  # Bolt 4.4
            failed = False
            pending: list[list[Any]] = []
            while True:
                sig, fields = self._read_message(conn)
                if sig == GOODBYE:
                    return
                if sig == RESET:
                    failed, pending = False, []
                    conn.sendall(_message(SUCCESS, {}))
                    continue
                if failed:
                    conn.sendall(_message(IGNORED))
                    continue
                if sig == HELLO:
                    with self._lock:
                        self.hellos.append(fields[0])
                    if self.hello_failure is not None:
                        code, msg = self.hello_failure
                        conn.sendall(_message(FAILURE, {"code": code, "message": msg}))
                        return  # a real server closes after refusing the credentials
                    conn.sendall(_message(SUCCESS, {"server": "Neo4j/4.4.0",
                                                    "connection_id": "bolt-1"}))
                elif sig == RUN:
                    query, params = fields[0], fields[1]
                    with self._lock:
                        self.runs.append((query, params))
                    reply = self.handler(query, params)
                    if reply.failure is not None:
                        failed = True
                        code, msg = reply.failure
                        conn.sendall(_message(FAILURE, {"code": code, "message": msg}))
                    else:
                        pending = reply.records
                        conn.sendall(_message(SUCCESS, {"fields": reply.fields, "t_first": 0}))
                elif sig in (PULL, DISCARD):
                    out = b"".join(_message(RECORD, r) for r in pending) if sig == PULL else b""
                    pending = []
                    conn.sendall(out + _message(SUCCESS, {"has_more": False, "t_last": 0,
                                                          "type": "rw", "db": "neo4j"}))
                elif sig == COMMIT:
                    conn.sendall(_message(SUCCESS, {"bookmark": "FB:test"}))
                else:  # BEGIN, ROLLBACK, ROUTE, ...
                    conn.sendall(_message(SUCCESS, {}))
        except (ConnectionError, OSError, AssertionError):
            return
        finally:
            conn.close()


class SilentServer:
    """Accepts connections and never says a word (``close_at_once``: closes them at once)."""

    def __init__(self, close_at_once: bool = False) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._close = close_at_once
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self._close:
                conn.close()
            else:
                self._held.append(conn)

    def close(self) -> None:
        self._sock.close()
        for c in self._held:
            c.close()


def refused_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port
