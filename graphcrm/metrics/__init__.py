"""Graph metrics: warm paths, influence, operation map, penetration, tiers, needs, rewards.

Each module is a family of pure functions of an :class:`~graphcrm.graph.AnalysisGraph` or of
its tables. Tie strength and trust, which the analysis graph is built from, live in
:mod:`graphcrm.graph.strength` and :mod:`graphcrm.graph.trust`.
"""

from __future__ import annotations

from graphcrm.errors import UnknownIdError

__all__ = ["UnknownIdError"]
