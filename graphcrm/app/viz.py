"""Network drawings for the app: pyvis HTML that works with no internet access.

pyvis 0.3.2 inlines vis-network with ``cdn_resources="in_line"`` but its template still links
Bootstrap from cdn.jsdelivr.net and vis from ``../node_modules`` (pyvis issue #229). On an office
intranet those requests hang or fail, so :func:`network_html` strips every external
``<link href>`` / ``<script src>`` tag and :func:`external_refs` lets callers (and tests) verify
that nothing is fetched from anywhere.

vis-network itself (the 470 KB script and 220 KB stylesheet pyvis ships) is either inlined into
every drawing or, once :func:`link_library` was called (the app server does, when it serves
the two files itself: :mod:`graphcrm.app.library`), linked from the app's own address
(``_graphcrm/vis-network-VERSION.min.js``), so the browser fetches it once, keeps it in its
cache and compiles it off its main thread. A drawing is then ~140 KB instead of ~830 KB.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyvis
from jinja2 import Environment, FileSystemLoader
from pyvis.network import Network

#: ``<link ... href=...>`` and ``<script ... src=...></script>`` tags (any attribute order)
_LINK_TAG = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"'][^\"']*[\"'][^>]*/?>", re.I | re.S)
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"'][^\"']*[\"'][^>]*>\s*</script>",
                         re.I | re.S)
_REF = re.compile(r"\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)

#: the vis-network release pyvis's template inlines (checked against the template on first use)
VIS_VERSION = "9.1.2"
_VIS_DIR = Path(pyvis.__file__).resolve().parent / "templates" / "lib" / f"vis-{VIS_VERSION}"
#: the URL folder the app server answers the library files at (relative to the app's page, so
#: a reverse proxy's path prefix is kept)
LIBRARY_FOLDER = "_graphcrm"
#: file name in the URL -> (file pyvis ships, content type): the only files served there
LIBRARY_FILES: dict[str, tuple[Path, str]] = {
    f"vis-network-{VIS_VERSION}.min.js": (_VIS_DIR / "vis-network.min.js",
                                          "text/javascript; charset=utf-8"),
    f"vis-network-{VIS_VERSION}.css": (_VIS_DIR / "vis-network.css", "text/css; charset=utf-8"),
}
_LINKED: dict[str, bool] = {"on": False}


def link_library(on: bool = True) -> None:
    """Link vis-network from :data:`LIBRARY_FOLDER` in every drawing made after this call
    (``on=False``: inline it again). Only a process whose web server answers those files calls
    it (:class:`graphcrm.app.library.LibraryFiles`); AppTest and plain ``streamlit run app.py``
    keep drawings self-contained."""
    _LINKED["on"] = bool(on)


def library_linked() -> bool:
    """True when drawings link vis-network instead of inlining it."""
    return _LINKED["on"]


def library_refs() -> list[str]:
    """The references a linked drawing makes: the library files, relative to the page."""
    return [f"{LIBRARY_FOLDER}/{name}" for name in LIBRARY_FILES]


def _library_tags() -> str:
    js, css = (f"{LIBRARY_FOLDER}/{name}" for name in LIBRARY_FILES)
    return f'<link rel="stylesheet" href="{css}">\n<script src="{js}"></script>\n'

#: colours by relationship type (edges) and by node kind
EDGE_COLOURS: dict[str, str] = {
    "SERVES": "#7f7f7f", "RELATIVE_OF": "#d62728", "FRIEND_OF": "#2ca02c",
    "COLLEAGUE_OF": "#1f77b4", "WORKS_AT": "#17becf", "BUSINESS_TIE": "#9467bd",
    "REFERRED": "#ff7f0e",
}
NODE_COLOURS: dict[str, str] = {
    "agent": "#333333", "client": "#1f77b4", "prospect": "#ff9896", "organization": "#bcbd22",
    "center": "#d62728",
}
#: colours for trust levels and quadrants (operation map)
TRUST_COLOURS: dict[str, str] = {
    "behavioural": "#2ca02c", "emotional": "#98df8a", "perceived": "#ffbb78",
    "none": "#c7c7c7", "": "#c7c7c7",
}
QUADRANT_COLOURS: dict[str, str] = {
    "pamper": "#2ca02c", "cultivate": "#1f77b4", "maintain": "#ff7f0e", "develop": "#c7c7c7",
}
_FALLBACK = "#8c8c8c"


def colour_for(value: object, palette: Mapping[str, str]) -> str:
    """The palette colour of ``value`` (its string form), or a neutral grey."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return palette.get("", _FALLBACK)
    return palette.get(str(value), _FALLBACK)


def external_refs(html: str) -> list[str]:
    """Every ``src``/``href`` attribute value in ``html`` that would make the browser fetch.

    ``data:``, ``#anchor`` and ``javascript:`` references fetch nothing and are ignored.
    """
    refs = []
    for ref in _REF.findall(html):
        if ref.startswith(("data:", "#", "javascript:", "about:")):
            continue
        refs.append(ref)
    return refs


def make_offline(html: str) -> str:
    """Remove every external stylesheet/script tag pyvis's template adds (issue #229)."""
    html = _LINK_TAG.sub("", html)
    html = _SCRIPT_SRC.sub("", html)
    return html


#: every tooltip built as a DOM element holding one text node (textContent, never innerHTML):
#: names from the data are shown as text, whatever they contain (docs/privacy.md)
_TEXT_TIPS = """<script type="text/javascript">
(function () {
  function tip(text) {
    var box = document.createElement("div");
    box.style.whiteSpace = "pre-line";
    box.textContent = String(text);
    return box;
  }
  [nodes, edges].forEach(function (set) {
    if (typeof set === "undefined" || set === null) { return; }
    var updates = [];
    set.forEach(function (item) {
      if (item.tip !== undefined && item.tip !== null && item.tip !== "") {
        updates.push({id: item.id, title: tip(item.tip)});
      }
    });
    set.update(updates);
  });
})();
</script>
"""


@dataclass(frozen=True)
class NodeSpec:
    """One node to draw."""

    id: str
    label: str
    title: str
    colour: str
    size: float = 15.0
    shape: str = "dot"
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True)
class EdgeSpec:
    """One edge to draw."""

    src: str
    dst: str
    colour: str
    title: str = ""
    width: float = 1.0
    length: float | None = None
    dashes: bool = False
    arrows: bool = False


def rings_script(rings: Sequence[tuple[float, str]]) -> str:
    """JavaScript that draws labelled circles around (0, 0) under the network (vis-network's
    ``beforeDrawing`` event): the operation map's distance rings."""
    data = json.dumps([[float(r), str(label)] for r, label in rings], ensure_ascii=False)
    return ("network.on('beforeDrawing', function (ctx) {"
            f" var rings = {data};"
            " rings.forEach(function (ring) {"
            "  ctx.beginPath(); ctx.arc(0, 0, ring[0], 0, 2 * Math.PI);"
            "  ctx.strokeStyle = '#b0b0b0'; ctx.setLineDash([6, 6]); ctx.lineWidth = 1.5;"
            "  ctx.stroke(); ctx.setLineDash([]);"
            "  ctx.font = '15px sans-serif'; ctx.fillStyle = '#555555';"
            "  ctx.fillText(ring[1], 6, -ring[0] - 6); });"
            "});")


@functools.cache
def _check_template(folder: str) -> None:
    """The template inlines the vis-network release the library files are (a pyvis upgrade that
    changes it must change :data:`VIS_VERSION`)."""
    text = (Path(folder) / "template.html").read_text(encoding="utf-8")
    if f"lib/vis-{VIS_VERSION}/vis-network.min.js" not in text:  # pragma: no cover
        raise RuntimeError(f"pyvis's template no longer uses vis-network {VIS_VERSION}")


@functools.cache
def _template_env(folder: str) -> Environment:
    """One Jinja environment for pyvis's template folder: it keeps the compiled template, which
    pyvis otherwise parses and compiles again for every network (0.4 s of each map's render)."""
    return Environment(loader=FileSystemLoader(folder))


def network_html(nodes: Iterable[NodeSpec], edges: Iterable[EdgeSpec], *, height: int = 600,
                 physics: bool = True, rings: Sequence[tuple[float, str]] = (),
                 fit: bool = False) -> str:
    """A self-contained pyvis network page (vis-network inlined, nothing fetched).

    Parameters
    ----------
    nodes, edges : iterables of NodeSpec / EdgeSpec
    height : int
        Canvas height in pixels.
    physics : bool
        False keeps the given ``x``/``y`` positions fixed (the operation map's radial layout).

    Returns
    -------
    str
        HTML for ``st.iframe``: :func:`external_refs` of it is empty, or, after
        :func:`link_library`, exactly :func:`library_refs` (the app's own address).
    """
    linked = library_linked()
    # "remote" leaves vis-network out (its CDN tags are stripped below and ours put in)
    net = Network(height=f"{height}px", width="100%",
                  cdn_resources="remote" if linked else "in_line", directed=False,
                  notebook=False)
    net.templateEnv = _template_env(net.template_dir)
    _check_template(net.template_dir)
    for n in nodes:
        # the tooltip goes in as "tip", never "title": pyvis switches to raw-HTML popups when a
        # title holds "href" (and sets innerHTML); _TEXT_TIPS makes it a DOM text node.
        # Labels sit beside the node on a white halo: readable whatever the node's colour
        kwargs: dict[str, object] = {"label": n.label, "tip": n.title, "color": n.colour,
                                     "size": float(n.size), "shape": n.shape,
                                     "font": {"size": 15, "strokeWidth": 4,
                                              "strokeColor": "#ffffff"}}
        if n.x is not None and n.y is not None:
            kwargs.update(x=float(n.x), y=float(n.y), physics=physics)
        net.add_node(n.id, **kwargs)
    for e in edges:
        kwargs = {"color": e.colour, "tip": e.title, "width": float(e.width)}
        if e.length is not None:
            kwargs["length"] = float(e.length)
        if e.dashes:
            kwargs["dashes"] = True
        if e.arrows:
            kwargs["arrows"] = "to"
        net.add_edge(e.src, e.dst, **kwargs)
    if physics:
        net.barnes_hut(gravity=-3000, spring_length=120)
        net.set_options('{"physics": {"stabilization": {"iterations": 150}}, '
                        '"interaction": {"hover": true, "navigationButtons": false}}')
    else:
        net.toggle_physics(False)
    html = make_offline(net.generate_html(notebook=False))
    marker = "network = new vis.Network(container, data, options);"
    if rings:
        html = html.replace(marker, marker + "\n" + rings_script(rings), 1)
    if fit:  # the whole network in the frame once the layout has settled
        html = html.replace(marker, marker + "\nnetwork.once('stabilizationIterationsDone', "
                            "function () { network.fit(); });", 1)
    # pyvis's loading bar stays drawn over the canvas inside an iframe: hide it
    head = "<style>#loadingBar{display:none !important}</style>"
    html = html.replace("</head>", head + (_library_tags() if linked else "") + "</head>", 1)
    if "</body>" not in html or "popup.innerHTML" in html:  # pragma: no cover - template guard
        raise RuntimeError("unexpected pyvis template: cannot add text-only tooltips")
    html = html.replace("</body>", _TEXT_TIPS + "</body>", 1)
    allowed = set(library_refs()) if linked else set()
    leftover = [r for r in external_refs(html) if r not in allowed]
    if leftover:  # pragma: no cover - guards against a pyvis template change
        raise RuntimeError(f"network HTML still references {leftover[:3]}")
    return html


def radial_positions(ids: Sequence[str], distances: Sequence[float], *, radius: float = 400.0,
                     max_distance: float | None = None) -> pd.DataFrame:
    """Place people around a centre at a radius proportional to their connection distance.

    Angles follow the golden angle in the given order, so people at similar distances are
    spread around the whole circle instead of piling up on one side; ``radius`` is the
    radius of the farthest person.

    Returns
    -------
    DataFrame
        ``id, x, y, r`` (pixels, centre at 0, 0).
    """
    n = len(ids)
    if n == 0:
        return pd.DataFrame({"id": [], "x": [], "y": [], "r": []})
    d = pd.Series(list(distances), dtype=float).fillna(0.0).clip(lower=0.0)
    top = float(max_distance) if max_distance else float(d.max() or 1.0)
    r = 60.0 + (radius - 60.0) * (d / (top or 1.0)).clip(upper=1.0)
    golden = math.pi * (3.0 - math.sqrt(5.0))
    angle = pd.Series([(golden * i) % (2 * math.pi) for i in range(n)])
    return pd.DataFrame({"id": list(ids), "x": (r * angle.map(math.cos)).to_numpy(),
                         "y": (r * angle.map(math.sin)).to_numpy(), "r": r.to_numpy()})
