"""``graphcrm bench metrics``: the influence pass and warm paths vs plain NetworkX and igraph.

Also holds the loaders that turn the real SNAP networks (``../shared/datasets``) into a
GraphCRM store, used by the benchmark and by ``tests/test_real_networks.py``:

* **email-Eu-core**: every person is a client ``E<n>``; each e-mail pair (either direction,
  once) is a FRIEND_OF tie; each department ``D<d>`` an organization with WORKS_AT ties; five
  agents ``AG0..AG4`` serve the people whose number is ``i`` mod 50.
* **bitcoin-otc**: every user ``B<n>`` is a client except the ``n_agents`` users who rated most
  others, who become agents. A rating between an agent and a client is an interaction
  (``message`` on the rating's date with the rating, so a negative rating is distrust); a pair of
  clients with only positive ratings is a FRIEND_OF tie with confidence = mean rating / 10; a
  client pair with any negative rating gets no tie.
"""

from __future__ import annotations

import resource
from pathlib import Path

import click
import numpy as np
import pandas as pd

from graphcrm.model import TABLES_BY_NAME
from graphcrm.store.base import GraphStore

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _put(store: GraphStore, table: str, rows: pd.DataFrame) -> None:
    t = TABLES_BY_NAME[table]
    frame = rows.reindex(columns=list(t.column_names))
    frame = frame.astype(object).where(frame.notna(), None)
    store.upsert(t, frame)


def email_frames(datasets_dir: Path) -> dict[str, pd.DataFrame]:
    """The email-Eu-core network as GraphCRM tables (see the module docstring)."""
    e = pd.read_csv(datasets_dir / "email-Eu-core.txt", sep=r"\s+", header=None,
                    names=["a", "b"])
    dept = pd.read_csv(datasets_dir / "email-Eu-core-department-labels.txt", sep=r"\s+",
                       header=None, names=["n", "d"])
    e = e.loc[e["a"] != e["b"]]
    lo, hi = np.minimum(e["a"], e["b"]), np.maximum(e["a"], e["b"])
    pairs = pd.DataFrame({"a": lo, "b": hi}).drop_duplicates()
    people = sorted(set(dept["n"]) | set(pairs["a"]) | set(pairs["b"]))
    clients = pd.DataFrame({"client_id": [f"E{n}" for n in people],
                            "name": [f"Person {n}" for n in people]})
    orgs = pd.DataFrame({"org_id": [f"D{d}" for d in sorted(dept["d"].unique())],
                         "name": [f"Department {d}" for d in sorted(dept["d"].unique())]})
    agents = pd.DataFrame({"agent_id": [f"AG{i}" for i in range(5)],
                           "name": [f"Agent {i}" for i in range(5)], "team": "T",
                           "hire_date": "2020-01-01", "status": "active"})
    rels = pd.concat([
        pd.DataFrame({"src_id": "E" + pairs["a"].astype(str),
                      "dst_id": "E" + pairs["b"].astype(str),
                      "type": "FRIEND_OF"}),
        pd.DataFrame({"src_id": "E" + dept["n"].astype(str),
                      "dst_id": "D" + dept["d"].astype(str),
                      "type": "WORKS_AT"}),
        pd.DataFrame({"src_id": [f"AG{n % 50}" for n in people if n % 50 < 5],
                      "dst_id": [f"E{n}" for n in people if n % 50 < 5], "type": "SERVES"}),
    ], ignore_index=True)
    return {"agents": agents, "organizations": orgs, "clients": clients, "relationships": rels}


def bitcoin_frames(datasets_dir: Path, n_agents: int = 30) -> dict[str, pd.DataFrame]:
    """The bitcoin-otc trust network as GraphCRM tables (see the module docstring)."""
    r = pd.read_csv(datasets_dir / "soc-sign-bitcoinotc.csv", header=None,
                    names=["src", "dst", "rating", "time"])
    r = r.loc[r["src"] != r["dst"]]
    r["date"] = pd.to_datetime(r["time"], unit="s").dt.strftime("%Y-%m-%d")
    top = r["src"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
    agent_set = set(top.index[:n_agents])
    people = sorted(set(r["src"]) | set(r["dst"]))
    is_agent_src, is_agent_dst = r["src"].isin(agent_set), r["dst"].isin(agent_set)
    ac = r.loc[is_agent_src ^ is_agent_dst]
    agent = np.where(ac["src"].isin(agent_set), ac["src"], ac["dst"])
    client = np.where(ac["src"].isin(agent_set), ac["dst"], ac["src"])
    inter = pd.DataFrame({"interaction_id": [f"R{i}" for i in ac.index],
                          "agent_id": [f"B{a}" for a in agent],
                          "client_id": [f"B{c}" for c in client], "type": "message",
                          "date": ac["date"].to_numpy(), "rating": ac["rating"].to_numpy()})
    cc = r.loc[~is_agent_src & ~is_agent_dst]
    lo, hi = np.minimum(cc["src"], cc["dst"]), np.maximum(cc["src"], cc["dst"])
    g = pd.DataFrame({"a": lo, "b": hi, "rating": cc["rating"]}).groupby(["a", "b"])["rating"]
    agg = pd.DataFrame({"min": g.min(), "mean": g.mean()}).reset_index()
    agg = agg.loc[agg["min"] > 0]
    rels = pd.DataFrame({"src_id": "B" + agg["a"].astype(str), "dst_id": "B" + agg["b"].astype(str),
                         "type": "FRIEND_OF", "confidence": (agg["mean"] / 10).to_numpy()})
    agents = pd.DataFrame({"agent_id": [f"B{a}" for a in sorted(agent_set)],
                           "name": [f"Trader {a}" for a in sorted(agent_set)], "team": "T",
                           "hire_date": "2010-01-01", "status": "active"})
    clients = pd.DataFrame({"client_id": [f"B{n}" for n in people if n not in agent_set],
                            "name": [f"Trader {n}" for n in people if n not in agent_set]})
    return {"agents": agents, "organizations": pd.DataFrame(columns=["org_id", "name"]),
            "clients": clients, "relationships": rels, "interactions": inter,
            "ratings": r}


def load_frames(store: GraphStore, frames: dict[str, pd.DataFrame]) -> None:
    """Write dataset frames into ``store`` in ingest order, in one transaction."""
    with store.transaction():
        for table in ("agents", "organizations", "clients", "policies", "relationships",
                      "interactions"):
            if table in frames and len(frames[table]):
                _put(store, table, frames[table])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


BENCH_COMMANDS: list[click.Command] = []
