"""The analysis graph and the tie rules it is built from.

- :mod:`graphcrm.graph.trust`: trust level per agent–client pair from interaction evidence.
- :mod:`graphcrm.graph.strength`: strength and distance of every tie (type, trust, decay).
- :mod:`graphcrm.graph.analysis`: :class:`AnalysisGraph`, built from a store or from tables.

The metrics (:mod:`graphcrm.metrics`) are pure functions of an :class:`AnalysisGraph`; the
cache and the snapshot beside the store live in :mod:`graphcrm.workspace`.
"""

from __future__ import annotations

from graphcrm.graph.analysis import (
    AnalysisGraph,
    CSRView,
    apply_gds,
    build_graph,
    build_graph_frames,
    ranges,
)

__all__ = ["AnalysisGraph", "CSRView", "apply_gds", "build_graph", "build_graph_frames",
           "ranges"]
