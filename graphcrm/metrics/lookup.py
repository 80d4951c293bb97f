"""Find people, agents and teams by what a user knows of them: a name, part of a name, the last
digits of a phone, or an id. Pure functions of the analysis graph.

Namesakes are common (many 王伟), so every match carries what tells them apart: city, age,
serving agent and status. A name that is not unique never resolves silently: callers get the
candidates (:class:`AmbiguousNameError`) and list them; an unknown name gets the closest names
(:func:`difflib.get_close_matches`).
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.errors import UnknownIdError
from graphcrm.graph.strength import reference_date

#: columns of :func:`find_people`
PEOPLE_COLUMNS = ["id", "label", "name", "city", "age", "serving_agent", "serving_agent_name",
                  "status", "phone_tail"]
#: digits of a phone shown (the rest is hidden: the table is for telling people apart)
PHONE_TAIL = 4
#: least digits of a phone that are searched as a phone ending
MIN_PHONE_DIGITS = 3


class AmbiguousNameError(LookupError):
    """A name that fits several people; ``candidates`` is a :func:`find_people` table."""

    def __init__(self, text: str, candidates: pd.DataFrame) -> None:
        super().__init__(text)
        self.text = text
        self.candidates = candidates

    def __str__(self) -> str:
        return f"'{self.text}' fits {len(self.candidates)} people: give one of their ids"


class NoMatchError(UnknownIdError):
    """Nobody has this id or name; ``suggestions`` are the closest names or ids."""

    def __init__(self, text: str, what: str, suggestions: list[str]) -> None:
        super().__init__(text, what)
        self.suggestions = suggestions
        hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
        self.message = f"no {what} '{text}' (id or name) in this store{hint}"


def _people(ag: Any) -> pd.DataFrame:
    """Agents and clients as one table (cached on the graph): id, label, name, city, age,
    phone, serving agent and status."""
    cached = ag._cache.get("lookup_people")
    if cached is not None:
        return cached
    c = ag.clients
    today = reference_date(ag.interactions, ag.policies, ag.settings.metrics)
    born = pd.to_datetime(c.get("birth_date"), errors="coerce")
    age_from_birth = ((today - born).dt.days / 365.25).apply(np.floor)
    age = pd.to_numeric(c.get("age"), errors="coerce").fillna(age_from_birth)
    serving = ag.serving.reindex(c.index)
    agent_names = ag.agents["name"] if len(ag.agents) else pd.Series(dtype=object)
    clients = pd.DataFrame({
        "id": c.index.astype(str), "label": "Client", "name": c["name"].astype(str),
        "city": c.get("city"), "age": age.to_numpy(),
        "serving_agent": serving.to_numpy(),
        "serving_agent_name": serving.map(agent_names).to_numpy(),
        "status": c["status"].to_numpy(), "phone": c.get("phone"),
    })
    a = ag.agents
    agents = pd.DataFrame({
        "id": a.index.astype(str), "label": "Agent", "name": a["name"].astype(str),
        "city": a.get("branch"), "age": np.nan, "serving_agent": None,
        "serving_agent_name": None, "status": a.get("status"), "phone": a.get("phone"),
    })
    people = pd.concat([agents, clients], ignore_index=True)
    people["phone"] = people["phone"].astype(object).where(people["phone"].notna(), "")
    people["phone"] = people["phone"].astype(str)
    ag._cache["lookup_people"] = people
    return people


def _table(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.assign(phone_tail=[p[-PHONE_TAIL:] if p else None for p in rows["phone"]])
    out = out[PEOPLE_COLUMNS].reset_index(drop=True)
    out["age"] = pd.to_numeric(out["age"], errors="coerce").astype("Int64")
    return out


def find_people(ag: Any, text: str, *, label: str | None = None,
                limit: int | None = 50) -> pd.DataFrame:
    """People whose id, name or phone fits ``text``, best first.

    Parameters
    ----------
    ag : AnalysisGraph
    text : str
        An id (exact), a whole name, part of a name, or the last digits of a phone
        (at least :data:`MIN_PHONE_DIGITS` digits).
    label : str, optional
        ``Agent`` or ``Client`` to search one kind only.
    limit : int or None
        Rows returned at most (None: all).

    Returns
    -------
    DataFrame
        :data:`PEOPLE_COLUMNS`: id, label (``Agent``/``Client``), name, city (an agent's
        branch), age (whole years at the reference date), serving_agent and its name, status
        (client/prospect, or the agent's status) and the last :data:`PHONE_TAIL` digits of the
        phone. Ranked: exact id, exact name, name starting with the text, name containing it,
        phone ending with it; within a rank by id.
    """
    text = str(text).strip()
    people = _people(ag)
    if label is not None:
        people = people[people["label"] == label]
    if not text:
        return _table(people.iloc[:0])
    low = text.lower()
    rank = pd.Series(np.inf, index=people.index)
    name = people["name"]
    rank[people["phone"].str.endswith(text) & text.isdigit()
         & (len(text) >= MIN_PHONE_DIGITS)] = 4
    rank[name.str.contains(text, regex=False)] = 3
    rank[name.str.startswith(text)] = 2
    rank[name == text] = 1
    rank[people["id"].str.lower() == low] = 0
    hit = people.assign(_rank=rank)[np.isfinite(rank)]
    hit = hit.sort_values(["_rank", "id"], kind="stable")
    if limit is not None:
        hit = hit.head(limit)
    return _table(hit)


def closest_names(text: str, names: list[str], n: int = 5) -> list[str]:
    """The names most like ``text`` (difflib ratio), for 'did you mean' messages."""
    unique = list(dict.fromkeys(str(x) for x in names if isinstance(x, str) and x))
    found = difflib.get_close_matches(str(text), unique, n=n, cutoff=0.4)
    if len(found) < n:  # a part of a name: 建国 -> 李建国
        found += [u for u in unique if str(text) in u and u not in found][: n - len(found)]
    return found


def resolve_person(ag: Any, text: str, *, label: str | None = None,
                   what: str = "person") -> str:
    """The id of the one person ``text`` names: an id, or a name that only one person has.

    Raises
    ------
    AmbiguousNameError
        When several people have this name (or, with no exact name, contain it).
    NoMatchError
        When nobody does; carries the closest names.
    """
    text = str(text).strip()
    people = _people(ag)
    if label is not None:
        people = people[people["label"] == label]
    if text in set(people["id"]):
        return text
    exact = people[people["name"] == text]
    if len(exact) == 1:
        return str(exact["id"].iloc[0])
    if len(exact) > 1:
        raise AmbiguousNameError(text, _table(exact.sort_values("id")))
    partial = find_people(ag, text, label=label, limit=None)
    partial = partial[partial["name"].str.contains(text, regex=False)] if len(partial) else partial
    if len(partial) == 1:
        return str(partial["id"].iloc[0])
    if len(partial) > 1:
        raise AmbiguousNameError(text, partial)
    raise NoMatchError(text, what, closest_names(text, list(people["name"])))


def agents_table(ag: Any, team: str | None = None) -> pd.DataFrame:
    """Agents with their team, branch, region, status and book (clients and prospects served).

    Raises
    ------
    NoMatchError
        For a ``team`` that no agent has (with the closest team names).
    """
    a = ag.agents
    if team is not None:
        teams = a["team"].dropna().astype(str)
        if team not in set(teams):
            raise NoMatchError(team, "team", closest_names(team, sorted(set(teams))))
        a = a[a["team"] == team]
    served = ag.serving.dropna()
    status = ag.clients["status"].reindex(served.index)
    clients = served[status == "client"].value_counts()
    prospects = served[status == "prospect"].value_counts()
    out = pd.DataFrame({
        "agent_id": a.index.astype(str), "name": a["name"].to_numpy(),
        "team": a.get("team"), "branch": a.get("branch"), "region": a.get("region"),
        "status": a.get("status"),
        "clients": clients.reindex(a.index).fillna(0).astype(int).to_numpy(),
        "prospects": prospects.reindex(a.index).fillna(0).astype(int).to_numpy(),
    })
    return out.sort_values(["team", "agent_id"], na_position="last").reset_index(drop=True)


def teams_table(ag: Any) -> pd.DataFrame:
    """Teams (from ``agents.team``) with branch, region, agents and the people they serve."""
    agents = agents_table(ag)
    if agents.empty:
        return pd.DataFrame(columns=["team", "branch", "region", "agents", "clients",
                                     "prospects"])
    g = agents.dropna(subset=["team"]).groupby("team", sort=True)
    return g.agg(branch=("branch", "first"), region=("region", "first"),
                 agents=("agent_id", "count"), clients=("clients", "sum"),
                 prospects=("prospects", "sum")).reset_index()


#: tie types whose reading depends on which end is the stored source
_DIRECTED = ("SERVES", "WORKS_AT", "REFERRED", "RELATIVE_OF")


def is_tie_source(ag: Any, a: str, b: str, tie_type: str) -> bool:
    """True when ``a`` is the stored source of the ``tie_type`` tie between ``a`` and ``b``
    (the analysis graph keeps ties undirected; the store keeps their direction: SERVES
    agent→client, WORKS_AT person→organization, REFERRED referrer→referee, RELATIVE_OF
    parent/child source→target). For symmetric ties the answer does not matter (True)."""
    if tie_type not in _DIRECTED:
        return True
    if tie_type == "SERVES":
        return a in ag.agents.index
    if tie_type == "WORKS_AT":
        return b in ag.organizations.index
    keys, index = directed_ties(ag), ag.csr.index
    pa, pb = (int(p) for p in index.get_indexer([a, b]))
    if pa < 0 or pb < 0:  # not a tie of the graph: nothing stored either way
        return True
    t = _DIRECTED_CODE[tie_type]
    n = len(index)

    def stored(src: int, dst: int) -> bool:
        key = (src * n + dst) * 2 + t
        at = int(np.searchsorted(keys, key))
        return at < len(keys) and int(keys[at]) == key

    return stored(pa, pb) or not stored(pb, pa)


#: the stored-direction tie types :func:`directed_ties` keeps, with their code in its keys
_DIRECTED_CODE = {"REFERRED": 0, "RELATIVE_OF": 1}


def directed_ties(ag: Any) -> np.ndarray:
    """Every stored REFERRED and RELATIVE_OF tie as one sorted integer key ``(source position *
    n + target position) * 2 + type code`` over the CSR view's node positions, cached on the
    graph (the warm-up saves it): :func:`is_tie_source` looks a tie up by binary search. A set
    of id tuples took seconds to build at 10^6 clients on the first drawing that needed it."""
    keys = ag._cache.get("lookup_directed_keys")
    if keys is None:
        r = ag.relationships
        r = r[r["type"].isin(list(_DIRECTED_CODE))]
        index = ag.csr.index
        n = len(index)
        src = index.get_indexer(r["src_id"].astype(str)).astype(np.int64)
        dst = index.get_indexer(r["dst_id"].astype(str)).astype(np.int64)
        code = r["type"].map(_DIRECTED_CODE).to_numpy(dtype=np.int64)
        ok = (src >= 0) & (dst >= 0)
        keys = np.unique((src[ok] * n + dst[ok]) * 2 + code[ok])
        ag._cache["lookup_directed_keys"] = keys
    return keys
