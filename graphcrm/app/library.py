"""The network drawings' library, served once: an ASGI middleware for the app's server (serve.py).

Every drawing (operation map, penetration network) is a page of its own in an iframe. With
vis-network inlined each is ~830 KB, which the browser receives over the app's websocket, parses
and compiles again on every visit (seconds at 10^5 clients on a shared machine). This
middleware answers exactly two public files, vis-network's script and stylesheet as pyvis ships
them (:data:`graphcrm.app.viz.LIBRARY_FILES`), at ``.../_graphcrm/<file>``, with a version in the
name and a year-long ``immutable`` cache header; the drawings then link them
(:func:`graphcrm.app.viz.link_library`). Nothing else is served: any other name under
``_graphcrm`` is a 404, and Streamlit's own static serving stays off (``.streamlit/config.toml``,
docs/privacy.md). No user data is in these files and a visitor needs no sign-in to fetch them
(they are the same bytes as the library's public release).
"""

from __future__ import annotations

import functools
import hashlib

from graphcrm.app.deep_urls import ASGIApp, Receive, Scope, Send
from graphcrm.app.viz import LIBRARY_FILES, LIBRARY_FOLDER, link_library

#: a year: the version is in the file name, so a new library is a new URL
CACHE_CONTROL = b"public, max-age=31536000, immutable"


def library_file(path: str) -> str | None:
    """The library file a request path asks for (its last two segments are
    ``_graphcrm/<name>``: the drawings link it relative to the app's page, so any path prefix
    a reverse proxy adds is kept), ``""`` for any other name in that folder, None otherwise.

    Examples
    --------
    >>> library_file("/_graphcrm/vis-network-9.1.2.min.js")
    'vis-network-9.1.2.min.js'
    >>> library_file("/crm/_graphcrm/vis-network-9.1.2.css")
    'vis-network-9.1.2.css'
    >>> library_file("/_graphcrm/app.py"), library_file("/static/x.js") is None
    ('', True)
    """
    parts = path.split("/")
    if len(parts) < 2 or parts[-2] != LIBRARY_FOLDER:
        return None
    return parts[-1] if parts[-1] in LIBRARY_FILES else ""


@functools.cache
def _body(name: str) -> tuple[bytes, bytes]:
    """(file bytes, ETag) of a library file, read once per process."""
    data = LIBRARY_FILES[name][0].read_bytes()
    return data, ('"' + hashlib.sha256(data).hexdigest()[:32] + '"').encode("ascii")


class LibraryFiles:
    """ASGI middleware: GET/HEAD ``.../_graphcrm/<library file>`` answered from the pyvis
    package (cacheable), every other request passed on. Creating it makes this process's
    drawings link the files instead of inlining them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        link_library(True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http":
            name = library_file(str(scope.get("path", "")))
            if name is not None:
                await self._answer(name, str(scope.get("method", "")), scope, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(name: str, method: str, scope: Scope, send: Send) -> None:
        if method not in ("GET", "HEAD") or not name:
            status = 405 if name else 404
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-length", b"0"), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": b""})
            return
        data, etag = _body(name)
        headers = [(b"content-type", LIBRARY_FILES[name][1].encode("ascii")),
                   (b"cache-control", CACHE_CONTROL), (b"etag", etag),
                   (b"x-content-type-options", b"nosniff")]
        request = dict(scope.get("headers") or [])
        if request.get(b"if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(data)).encode("ascii")))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data if method == "GET" else b""})
