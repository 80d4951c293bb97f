"""What a signed-in user may see: the scope of an agent, a manager or an admin.

Pure functions over the analysis graph (no Streamlit), for the app pages and, after the
restructure, ``graphcrm.workspace`` (the one door for cli/ and app/). Rules (docs/privacy.md):

- **admin**: everyone.
- **manager**: the books of the agents of their teams or branches (``agents.team`` /
  ``agents.branch``).
- **agent**: their own book (the clients they serve).
- For managers and agents, a client served by an agent outside their scope is shown as
  "a client of 同事 X (team)" -- no name, no contact -- wherever they appear (a hop on a warm
  path, a node in a drawing, a row of a table). People nobody serves yet (prospects in the
  company's lead pool), organizations and agents' names are visible to every role; phone and
  ID numbers are masked for every role except in an admin's per-person detail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.i18n import t
from graphcrm.store.access import User

__all__ = ["Scope", "display_name", "filter_rows", "hide_names", "scope_for", "scoped_graph",
           "sees"]


@dataclass(frozen=True)
class Scope:
    """A user's view of the graph: ``agents`` whose books are visible (None = everything)."""

    user: str
    role: str
    agent_id: str | None
    agents: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.agents is None

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def scope_for(user: User, ag: Any) -> Scope:
    """The scope of ``user`` in the analysis graph ``ag``."""
    if user.role == "admin":
        return Scope(user.name, user.role, None, None)
    if user.role == "agent":
        return Scope(user.name, user.role, user.agent_id,
                     frozenset([user.agent_id] if user.agent_id else []))
    agents = ag.agents
    mask = pd.Series(False, index=agents.index)
    if user.teams and "team" in agents.columns:
        mask |= agents["team"].isin(list(user.teams))
    if user.branches and "branch" in agents.columns:
        mask |= agents["branch"].isin(list(user.branches))
    return Scope(user.name, user.role, None, frozenset(str(a) for a in agents.index[mask]))


def sees(scope: Scope, ag: Any, person_id: str) -> bool:
    """True when ``scope`` may see the name and details of ``person_id``."""
    if scope.agents is None:
        return True
    if person_id not in ag.clients.index:
        return True  # agents, organizations (and unknown ids, which show nothing)
    agent = ag.serving_agent(person_id)
    return agent is None or agent in scope.agents


def display_name(scope: Scope, ag: Any, person_id: str, lang: str = "zh") -> str:
    """The name ``scope`` may see: the real one, or "a client of 同事 X (team)"."""
    if sees(scope, ag, person_id):
        return ag.name(person_id)
    return colleague_label(ag, ag.serving_agent(person_id) or "", lang)


def colleague_label(ag: Any, agent: str, lang: str = "zh") -> str:
    """How a client of ``agent`` shows to someone outside that agent's scope."""
    team = ""
    if agent in ag.agents.index and "team" in ag.agents.columns:
        value = ag.agents.at[agent, "team"]
        team = "" if pd.isna(value) else str(value)
    name = ag.name(agent) if agent and ag.has(agent) else agent
    return t("colleague_client", lang, agent=name, team=team or "-")


def visible(scope: Scope, ag: Any, ids: Iterable[str]) -> list[bool]:
    """:func:`sees` for many ids (vectorised over the serving-agent table)."""
    ids = [str(i) for i in ids]
    if scope.agents is None:
        return [True] * len(ids)
    return _visible_mask(scope, ag, pd.Index(ids)).tolist()


def _visible_mask(scope: Scope, ag: Any, ids: pd.Index) -> np.ndarray:
    """:func:`sees` for ``ids`` as a boolean array (no Python loop over the ids)."""
    serving = ag.serving.reindex(ids)
    outside = serving.notna().to_numpy() & ~serving.isin(list(scope.agents or ())).to_numpy()
    return ~(ids.isin(ag.clients.index) & outside)


def filter_rows(scope: Scope, ag: Any, frame: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Only the rows of ``frame`` whose ``id_col`` ``scope`` may see."""
    if scope.agents is None or frame.empty:
        return frame
    return frame.loc[visible(scope, ag, frame[id_col])]


def hide_names(scope: Scope, ag: Any, frame: pd.DataFrame, pairs: dict[str, str],
               lang: str = "zh") -> pd.DataFrame:
    """A copy of ``frame`` where each name column (value of ``pairs``) of a row whose id column
    (key of ``pairs``) ``scope`` may not see becomes "a client of 同事 X (team)", and every
    other personal column of such a row (phone, ID number, birth date) is blanked."""
    if scope.agents is None or frame.empty:
        return frame
    out = frame.copy()
    for id_col, name_col in pairs.items():
        if id_col not in out.columns:
            continue
        ok = pd.Series(visible(scope, ag, out[id_col].fillna("").astype(str)), index=out.index)
        hidden = ~ok & out[id_col].notna()
        if not hidden.any():
            continue
        if name_col in out.columns:
            out[name_col] = out[name_col].astype(object)
            out.loc[hidden, name_col] = [display_name(scope, ag, str(i), lang)
                                         for i in out.loc[hidden, id_col]]
        for col in ("phone", "id_number", "birth_date"):
            if col in out.columns and name_col == "name":
                out[col] = out[col].astype(object)
                out.loc[hidden, col] = None
    return out


#: personal columns of a client blanked when the user may not see the client
_PERSONAL = ("phone", "id_number", "birth_date", "email", "address")


def scoped_graph(scope: Scope, ag: Any, lang: str = "zh") -> Any:
    """A copy of the analysis graph ``ag`` as ``scope`` may see it: every client served by an
    agent outside the scope is named "a client of 同事 X (team)" and has no contact details.

    Ties, policies, referrals and the serving table are unchanged, so every metric and every
    narration run on the copy gives the same numbers with only the names the user may see.
    Admins (and a scope that hides nobody) get ``ag`` itself.

    The copy shares every unchanged column and table with ``ag`` (a shallow copy whose name
    and personal columns are new arrays): its cost is a few vectorised passes over the
    clients, not a copy of the graph (docs/benchmarks-app.md, ``graphcrm bench scope``).
    """
    if scope.agents is None or ag.clients.empty:
        return ag
    ids = ag.clients.index
    serving = ag.serving.reindex(ids)
    agents = serving.to_numpy(dtype=object)
    hide = serving.notna().to_numpy() & ~serving.isin(list(scope.agents)).to_numpy()
    if not hide.any():
        return ag
    pos = np.flatnonzero(hide)
    hidden_agents = pd.Series(agents[pos])
    labels = {a: colleague_label(ag, str(a), lang) for a in hidden_agents.unique()}
    names = hidden_agents.map(labels).to_numpy(dtype=object)
    clients = ag.clients.copy(deep=False)
    column = clients["name"].to_numpy(dtype=object, copy=True)
    column[pos] = names
    clients["name"] = column
    for col in _PERSONAL:
        if col in clients.columns:
            column = clients[col].to_numpy(dtype=object, copy=True)
            column[pos] = None
            clients[col] = column
    nodes = ag.nodes.copy(deep=False)
    at = nodes.index.get_indexer(ids[pos])
    found = at >= 0
    column = nodes["name"].to_numpy(dtype=object, copy=True)
    column[at[found]] = names[found]
    nodes["name"] = column
    # metric caches carry no names, except the people lookup and tables with a name column
    cache = {k: v for k, v in ag._cache.items()
             if k != "lookup_people"
             and not (isinstance(v, pd.DataFrame) and "name" in v.columns)}
    out = dataclasses.replace(ag, clients=clients, nodes=nodes, _cache=cache)
    if "csr" in ag.__dict__:  # same nodes and ties: share the sparse matrices
        out.__dict__["csr"] = ag.__dict__["csr"]
    return out
