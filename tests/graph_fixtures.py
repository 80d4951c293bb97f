"""Small hand-made networks written into real SQLite stores (shared by the metrics tests)."""

from __future__ import annotations

import pandas as pd

from graphcrm.model import TABLES_BY_NAME
from graphcrm.store.sqlite import SQLiteStore


def put(store: SQLiteStore, table: str, rows: list[dict[str, object]]) -> None:
    """Upsert ``rows`` (missing columns = None) into ``table``; call inside a transaction."""
    t = TABLES_BY_NAME[table]
    frame = pd.DataFrame(rows).reindex(columns=list(t.column_names))
    frame = frame.astype(object).where(frame.notna(), None)
    store.upsert(t, frame)


def agent(aid: str, team: str = "T1") -> dict[str, object]:
    return {"agent_id": aid, "name": f"agent {aid}", "team": team, "hire_date": "2020-01-01",
            "status": "active"}


def client(cid: str) -> dict[str, object]:
    return {"client_id": cid, "name": f"name {cid}"}


def rel(src: str, dst: str, typ: str, kind: str | None = None, **extra: object
        ) -> dict[str, object]:
    return {"src_id": src, "dst_id": dst, "type": typ, "kind": kind, **extra}


def build_world(store: SQLiteStore) -> None:
    """Agent A1's world (strengths are the config defaults):

    family  C1 =spouse(0.95)= C2 =parent(0.85)= C3 =sibling(0.75)= P
    office  C4 =colleague(0.45)= P ;  C4 =friend(0.6)= C5 =friend(0.6)= P ; C1 =other(0.55)= C5
    C7 =business partner(0.35)= P ;  C6 =spouse(0.95)= P but C6 complained about A1
    A1 serves C1, C4, C6, C7 (SERVES 0.5, no interactions except C6's complaint).
    Every tie is dated 2026-01-01, the reference date (the latest interaction), so it has not
    decayed: the strengths are the base strengths (an undated tie would be fully decayed).
    """
    with store.transaction():
        put(store, "agents", [agent("A1"), agent("A2", team="T2")])
        put(store, "organizations", [{"org_id": "O1", "name": "office"}])
        put(store, "clients", [client(c) for c in
                               ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "P", "Q")])
        put(store, "relationships", [{**r, "start_date": "2026-01-01"} for r in [
            rel("A1", "C1", "SERVES"), rel("A1", "C4", "SERVES"), rel("A1", "C6", "SERVES"),
            rel("A1", "C7", "SERVES"), rel("A2", "Q", "SERVES"),
            rel("C1", "C2", "RELATIVE_OF", "spouse"), rel("C2", "C3", "RELATIVE_OF", "parent"),
            rel("C3", "P", "RELATIVE_OF", "sibling"), rel("C4", "P", "COLLEAGUE_OF"),
            rel("C4", "C5", "FRIEND_OF"), rel("C5", "P", "FRIEND_OF"),
            rel("C1", "C5", "RELATIVE_OF", "other"), rel("C7", "P", "BUSINESS_TIE", "partner"),
            rel("C6", "P", "RELATIVE_OF", "spouse"),
            rel("C4", "O1", "WORKS_AT"),
        ]])
        put(store, "interactions", [
            {"interaction_id": "I1", "agent_id": "A1", "client_id": "C6", "type": "complaint",
             "date": "2026-01-01"},
        ])
