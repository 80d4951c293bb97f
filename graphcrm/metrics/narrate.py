"""Warm paths told as a person would: each tie a sentence with its direction, the path's warmth
as a level (热/温/冷), and an opener only where the path is warm enough to ask for an
introduction. Pure functions of the analysis graph; the CLI and the app print what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.i18n import code, t
from graphcrm.metrics.influence import influence_table
from graphcrm.metrics.lookup import is_tie_source
from graphcrm.model import Label
from graphcrm.wording import (
    blank,
    code_column,
    num,
    number_column,
    pct,
    relation_sentence,
    tie_words,
    warmth_level,
)


@dataclass(frozen=True)
class PathStory:
    """A warm path in words: ``level`` (hot/warm/cold), one ``steps`` sentence per tie, and
    the ``opener`` (what to do first)."""

    level: str
    steps: list[str]
    opener: str


def _who(ag: Any, node: str) -> str:
    try:
        return ag.name(node)
    except KeyError:
        return node


def step_sentence(ag: Any, a: str, b: str, tie_type: str, kind: object, lang: str) -> str:
    """How ``b`` (reached) relates to ``a`` (the previous person), in words."""
    b_src = is_tie_source(ag, b, a, tie_type)
    return relation_sentence(_who(ag, b), _who(ag, a), tie_type, kind, b_src, lang)


def _weak_link(ag: Any, ids: list[str], path: Any, steps: list[str], lang: str) -> str:
    """What makes a cold path cold: its weakest tie (lowest strength, the first of equals) in
    words, and what to do about it — warm the agent's own tie when that is the one, else ask
    the first introducer whether the weak pair know each other well enough."""
    k = min(range(len(path.hops)), key=lambda i: float(path.hops[i].strength or 0.0))
    first_who = _who(ag, path.hops[0].person_id)
    strength = float(path.hops[k].strength or 0.0)
    if k == 0:
        return t("cold_weak_own", lang, first_who=first_who, sentence=steps[0], s=strength)
    a, b = ids[k], ids[k + 1]
    orgs = [x for x in (a, b) if ag.label(x) == Label.ORGANIZATION]
    if len(orgs) == 1:  # a person and their organization: not "does X know a company"
        person = b if orgs[0] == a else a
        return t("cold_weak_org", lang, first_who=first_who, sentence=steps[k], s=strength,
                 person=_who(ag, person), org=_who(ag, orgs[0]))
    return t("cold_weak_link", lang, first_who=first_who, sentence=steps[k], s=strength,
             a=_who(ag, a), b=_who(ag, b))


def tell_path(ag: Any, source: str, path: Any, lang: str = "zh") -> PathStory:
    """Tell one :class:`~graphcrm.metrics.paths.WarmPath` from ``source``.

    The opener names the person who introduces (the last person before the target, never an
    organization), how they know the target, and when the source last spoke with them. A path
    below ``[metrics] warmth_warm`` gets no opener: it says it is cold, names its weakest tie
    (the agent's own tie: warm it first; a tie further on: ask the first introducer whether
    that pair know each other well enough) and suggests meeting the target at an event or
    another introducer.
    """
    m = ag.settings.metrics
    level = warmth_level(path.warmth, m.warmth_hot, m.warmth_warm)
    ids = [source, *[h.person_id for h in path.hops]]
    steps = [step_sentence(ag, ids[i], ids[i + 1], h.tie_type, h.tie_kind, lang)
             for i, h in enumerate(path.hops)]
    target = ids[-1]
    target_name = _who(ag, target)
    first = path.hops[0]
    if len(path.hops) == 1:
        opener = t("opener_direct", lang, target=target_name)
    elif level == "cold":
        opener = t("opener_cold", lang, w=path.warmth, target=target_name,
                   weak=_weak_link(ag, ids, path, steps, lang))
    else:
        # the introducer: the last person (not an organization) before the target
        orgs = ag.organizations.index
        k = len(ids) - 2
        while k > 0 and ids[k] in orgs:
            k -= 1
        intro = ids[k]
        if k == len(ids) - 2:
            hop = path.hops[-1]
            how = step_sentence(ag, intro, target, hop.tie_type, hop.tie_kind, lang)
        else:
            how = t("same_org", lang, a=_who(ag, intro), b=target_name,
                    org=_who(ag, ids[k + 1]))
        if target in orgs:
            opener = t("opener_org", lang, who=_who(ag, intro), org=target_name)
        else:
            opener = t("opener", lang, who=_who(ag, intro), target=target_name, how=how)
        last = path.hops[0].last_contact
        if k == 1 and last:
            opener += t("opener_last", lang, who=_who(ag, intro), last=last)
        elif k > 1:
            opener += t("opener_via", lang, first=_who(ag, first.person_id), who=_who(ag, intro))
    return PathStory(level, steps, opener)


def _person(ag: Any, node: object) -> str:
    if node is None or (isinstance(node, float) and node != node) or node == "":
        return "—"
    return f"{_who(ag, str(node))} ({node})"


def opmap_table(df: Any, settings: Any, lang: str) -> Any:
    """The operation map (:func:`graphcrm.metrics.opmap.operation_map`) for reading: codes in
    words, warmth as a level, names next to ids, numbers rounded, headers in ``lang``."""
    m = settings.metrics
    warmth = pd.to_numeric(df["warmth"], errors="coerce")
    level = pd.Series(np.select([warmth >= m.warmth_hot, warmth >= m.warmth_warm],
                                ["hot", "warm"], "cold"), index=df.index)
    level_words = code_column(level, "warmth", lang)
    warmth_words = (level_words + " " + number_column(warmth)).where(warmth.notna(), "—")
    ties = df["tie_type"].map(lambda v: tie_words(v, None, lang), na_action="ignore")
    return pd.DataFrame({
        t("col_name", lang): (df["name"].astype(str) + " (" + df["person_id"].astype(str)
                              + ")").to_numpy(),
        t("col_status", lang): code_column(df["status"], "status", lang).to_numpy(),
        t("col_warmth", lang): warmth_words.to_numpy(),
        t("col_hops", lang): df["hops"].to_numpy(),
        t("col_trust", lang): code_column(df["trust_level"], "trust", lang).to_numpy(),
        t("col_quadrant", lang): code_column(df["quadrant"], "quadrant", lang).to_numpy(),
        t("col_value_tier", lang): code_column(df["value_tier"], "tier", lang).to_numpy(),
        t("col_abc", lang): df["abc"].map(blank).to_numpy(),
        t("col_best_introducer", lang): df["best_introducer_name"].map(blank).to_numpy(),
        t("col_tie", lang): ties.fillna("—").to_numpy(),
    })


def circle_names(ag: Any, table: Any, members: int = 2) -> dict[int, str]:
    """Each circle (community id of the influence table) named by its most influential
    members: ``胡琳、王浩等 152 人`` -> here just the names joined; the caller adds the size."""
    people = table.loc[table["label"] == "Client"] if "label" in table else table
    # stable: people of equal influence keep the table's order (the influence table: by id)
    top = people.sort_values("influence", ascending=False, kind="stable").groupby(
        "circle", sort=False)
    return {int(c): "、".join(str(n) for n in g["name"].head(members))
            for c, g in top}


def hubs_table(ag: Any, df: Any, lang: str, names: dict[int, str] | None = None) -> Any:
    """Influence hubs (:func:`graphcrm.metrics.influence.hubs`) for reading."""
    import pandas as pd


    if names is None:
        names = circle_names(ag, influence_table(ag))
    return pd.DataFrame({
        t("col_name", lang): [f"{n} ({i})" for n, i in zip(df["name"], df["id"], strict=True)],
        t("col_status", lang): [code("status", v, lang) for v in df["status"]],
        t("col_influence", lang): [pct(v) for v in df["influence"]],
        t("col_power_circle", lang): [num(v, 0) for v in df["power_circle"].round()],
        t("col_reach", lang): df["referral_descendants"].to_numpy(),
        t("col_circle", lang): [t("circle_of", lang, names=names.get(int(c), "—")
                                  if lang == "zh" else names.get(int(c), "—").replace("、", ", "))
                                if c == c else "—" for c in df["circle"]],
        t("col_serving_agent", lang): [_person(ag, a) for a in df["serving_agent"]],
    })


def bridges_table(br: Any, lang: str) -> Any:
    """Bridges (:func:`graphcrm.metrics.influence.bridges`) for reading."""
    import pandas as pd

    return pd.DataFrame({
        t("col_name", lang): [f"{n} ({i})" for n, i in zip(br["name"], br["id"], strict=True)],
        t("col_kind", lang): [code("label", v, lang) for v in br["label"]],
        t("col_betweenness", lang): [f"{v:.4f}" for v in br["betweenness"]],
    })


@dataclass(frozen=True)
class PenetrationSummary:
    """How far the company has reached into a centre's circle: ``people`` (clients and
    prospects in it, centres excluded), ``ours`` (holding an in-force policy), ``by_agent``
    (serving agent id -> people, most first), ``not_yet`` (prospect ids, nearest first)."""

    people: int
    ours: int
    by_agent: list[tuple[str, int]]
    not_yet: list[str]

    @property
    def share(self) -> float:
        return self.ours / self.people if self.people else 0.0


def penetration_summary(ag: Any, net: Any, centres: list[str]) -> PenetrationSummary:
    """Summarise a :class:`~graphcrm.metrics.penetration.Penetration` for its centres."""
    nodes = net.nodes
    people = nodes.loc[(nodes["label"] == "Client") & ~nodes["id"].isin(centres)]
    ours = people.loc[people["status"] == "client"]
    agents = people["serving_agent"].dropna().astype(str).value_counts()
    not_yet = people.loc[people["status"] != "client"].sort_values(["hop", "id"])["id"]
    return PenetrationSummary(len(people), len(ours),
                              [(str(a), int(n)) for a, n in agents.items()],
                              [str(i) for i in not_yet])
