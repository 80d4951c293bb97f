"""Deep page URLs lead to the sign-in form: an ASGI middleware for the app's server (serve.py).

Streamlit answers every unknown path with its ``index.html``, whose scripts are linked
relative to the page (``./static/js/…``). At ``/a/b/c`` the browser asks for
``/a/b/static/js/…``, gets the HTML page again instead of the script and shows a blank page.
This middleware answers a GET or HEAD of a path with two or more segments, none of them one of
Streamlit's own (``_stcore``, ``static``, ``media``, ``component``), with a redirect to the
app's root, where the sign-in form (or, signed in, the app) is. One-segment paths work already
(their relative links resolve to the root). Websockets and other methods pass untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: path segments that belong to Streamlit's own routes (never redirected)
STREAMLIT_SEGMENTS = frozenset({"_stcore", "static", "media", "component"})


def redirect_target(path: str, root_path: str = "") -> str | None:
    """Where a GET of ``path`` is sent, or None to serve it as it is.

    Examples
    --------
    >>> redirect_target("/a/b/c")
    '/'
    >>> redirect_target("/opmap") is None, redirect_target("/static/js/x.js") is None
    (True, True)
    >>> redirect_target("/crm/a/b", "/crm")
    '/crm/'
    """
    root = root_path.rstrip("/")
    rest = path[len(root):] if root and path.startswith(root) else path
    parts = [p for p in rest.split("/") if p]
    if len(parts) < 2 or STREAMLIT_SEGMENTS.intersection(parts):
        return None
    return root + "/"


class DeepUrlRedirect:
    """ASGI middleware: deep page URLs are redirected (302) to the app's root."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
            target = redirect_target(str(scope.get("path", "")),
                                     str(scope.get("root_path", "")))
            if target is not None:
                await send({"type": "http.response.start", "status": 302,
                            "headers": [(b"location", target.encode("utf-8")),
                                        (b"cache-control", b"no-cache"),
                                        (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
