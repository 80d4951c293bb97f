"""Identity resolution: the same person twice (same mobile or same ID number) is one client.

Rules
-----
- Two client rows with the same normalised phone or the same ID number describe one person;
  so do chains of them (A shares a phone with B, B an ID number with C: A, B and C are one).
- The client already in the store, else the first row seen, keeps its id. Every other row of
  the group becomes an *alias* of the kept id (``store.add_aliases``) and fills the kept
  client's blank fields (the kept client's own values always win). A row whose id is already
  a stored client is an update of that client and is never merged away.
- Blank cells never erase what the store holds for a client: a stored client re-read from a
  file keeps stored values where the file is blank. This is what makes re-running a job with
  merges a no-op.
- References to an alias id in later files are rewritten to the kept id by validation.

Groups are connected components of the bipartite graph rows <-> {phone, ID number}, found
with :func:`scipy.sparse.csgraph.connected_components`, so a million clients take a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphcrm.model import CLIENTS, Label
from graphcrm.store.base import GraphStore

MERGE_COLUMNS = ["alias_id", "client_id", "source_file", "source_row", "reason"]


@dataclass
class Resolved:
    """Client rows to write (one per kept client) and the merges."""

    frame: pd.DataFrame  # CLIENTS columns + "__row"
    merges: pd.DataFrame  # MERGE_COLUMNS
    merged_rows: int


def _empty_merges() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c != "source_row" else np.int64)
                         for c in MERGE_COLUMNS})


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Template dtypes: Int64 for integers, object with None for the rest."""
    out = pd.DataFrame(index=frame.index)
    for col in CLIENTS.columns:
        s = frame[col.name]
        if col.kind in ("int", "bool"):
            out[col.name] = pd.array(pd.to_numeric(s, errors="coerce"), dtype="Int64")
        else:
            v = s.to_numpy(dtype=object, na_value=None)
            out[col.name] = v
    out["__row"] = frame["__row"].to_numpy()
    return out


def resolve_clients(frame: pd.DataFrame, *, file: str, store: GraphStore,
                    store_has_clients: bool, aliases: dict[str, str]) -> Resolved:
    """Merge rows of one clients file that describe the same person (see the module notes).

    Parameters
    ----------
    frame
        The file's valid client rows (template columns and ``__row``), ids unique.
    file
        File name recorded in the merges.
    store
        The store (read for clients that already exist).
    store_has_clients
        False when the store certainly holds no clients (skips reading it).
    aliases
        Known alias id -> kept client id.

    Returns
    -------
    Resolved
    """
    ids = frame["client_id"].to_numpy(dtype=object)
    phones = frame["phone"].to_numpy(dtype=object, na_value=None)
    idns = frame["id_number"].to_numpy(dtype=object, na_value=None)
    alias_hits = np.array([i in aliases for i in ids], dtype=bool) if aliases else np.zeros(
        len(ids), dtype=bool)

    existing = pd.DataFrame({"client_id": [], "phone": [], "id_number": []}, dtype=object)
    if store_has_clients:
        stored = store.nodes(Label.CLIENT, ["client_id", "phone", "id_number"])
        targets = {aliases[i] for i in ids[alias_hits]}
        keep = (stored["client_id"].isin(ids) | stored["client_id"].isin(targets)
                | (stored["phone"].notna() & stored["phone"].isin(phones[pd.notna(phones)]))
                | (stored["id_number"].notna()
                   & stored["id_number"].isin(idns[pd.notna(idns)])))
        existing = stored[keep].sort_values("client_id").reset_index(drop=True)

    def dup(v: np.ndarray) -> bool:
        s = pd.Series(v[pd.notna(v)])
        return bool(s.duplicated().any())

    if existing.empty and not alias_hits.any() and not dup(phones) and not dup(idns):
        return Resolved(frame, _empty_merges(), 0)

    # nodes: stored clients first (they keep their ids), then the file's new ids in row order
    ex_ids = existing["client_id"].to_numpy(dtype=object)
    new_ids = ids[~pd.Index(ids).isin(ex_ids)]
    node_ids = np.concatenate([ex_ids, new_ids])
    node_index = pd.Index(node_ids)
    n_nodes = len(node_ids)
    row_node = node_index.get_indexer(ids)

    # key nodes and edges node <-> key
    all_node = np.concatenate([np.arange(len(ex_ids)), np.arange(len(ex_ids)),
                               row_node, row_node])
    keys = np.concatenate([
        np.where(pd.notna(existing["phone"].to_numpy(dtype=object)),
                 "p" + existing["phone"].astype(str).to_numpy(dtype=object), None),
        np.where(pd.notna(existing["id_number"].to_numpy(dtype=object)),
                 "i" + existing["id_number"].astype(str).to_numpy(dtype=object), None),
        np.where(pd.notna(phones), "p" + pd.Series(phones).astype(str).to_numpy(dtype=object),
                 None),
        np.where(pd.notna(idns), "i" + pd.Series(idns).astype(str).to_numpy(dtype=object),
                 None),
    ]).astype(object)
    has_key = pd.notna(keys)
    codes, _ = pd.factorize(keys[has_key])
    src = all_node[has_key]
    dst = codes + n_nodes
    n_total = n_nodes + (codes.max() + 1 if len(codes) else 0)
    # alias edges: a known alias id belongs with its kept client
    if alias_hits.any():
        alias_src = row_node[alias_hits]
        alias_dst = node_index.get_indexer([aliases[i] for i in ids[alias_hits]])
        ok = alias_dst >= 0
        src = np.concatenate([src, alias_src[ok]])
        dst = np.concatenate([dst, alias_dst[ok]])
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)),
                       shape=(n_total, n_total))
    _, comp = connected_components(graph, directed=False)
    rank = np.arange(n_nodes)
    comp_first = pd.Series(rank).groupby(comp[:n_nodes]).transform("min").to_numpy()
    target = node_ids[comp_first[row_node]]
    is_stored = pd.Series(ids).isin(ex_ids).to_numpy()  # hashing, not sorting objects
    target = np.where(is_stored, ids, target)  # a stored client is never merged away
    merged = target != ids
    if not merged.any() and not is_stored.any():
        return Resolved(frame, _empty_merges(), 0)

    # merges, with the reason
    key_phone = dict(zip(existing["client_id"], existing["phone"], strict=True))
    key_idn = dict(zip(existing["client_id"], existing["id_number"], strict=True))
    for i, p, d in zip(ids, phones, idns, strict=True):
        key_phone.setdefault(i, p)
        key_idn.setdefault(i, d)
    reasons = []
    for i, t, p, d, a in zip(ids[merged], target[merged], phones[merged], idns[merged],
                             alias_hits[merged], strict=True):
        same_p = p is not None and key_phone.get(t) == p
        same_d = d is not None and key_idn.get(t) == d
        if same_p and same_d:
            reasons.append("same phone and ID number")
        elif same_d:
            reasons.append("same ID number")
        elif same_p:
            reasons.append("same phone")
        elif a and aliases.get(i) == t:
            reasons.append("known alias")
        else:
            reasons.append("linked through a shared phone or ID number")
    merges = pd.DataFrame({
        "alias_id": ids[merged], "client_id": target[merged], "source_file": file,
        "source_row": frame["__row"].to_numpy()[merged].astype(np.int64),
        "reason": np.array(reasons, dtype=object),
    })

    # rows to write: kept rows; groups with merges or stored clients are combined field by field
    merge_targets = set(target[merged])
    stored_ids = set(ex_ids)
    in_merge = pd.Series(target).isin(merge_targets).to_numpy()
    # a stored client re-read with no merge around it: the file's values, blanks filled from the
    # stored row, column by column (what the group-by below does, without grouping 10^6 rows)
    update = is_stored & ~in_merge
    needed = list(ids[update]) + [t for t in merge_targets if t in stored_ids]
    stored_rows = _stored_clients(store, needed)
    parts_out = [_conform(frame[~update & ~in_merge].reset_index(drop=True))]
    if update.any():
        rows = frame[update].reset_index(drop=True)
        old = stored_rows.reindex(pd.Index(rows["client_id"].to_numpy(dtype=object)))
        conf = _conform(rows)
        filled: dict[str, np.ndarray] = {}
        for col in CLIENTS.column_names:
            values = conf[col].to_numpy(dtype=object, na_value=None).copy()
            blank = pd.isna(values)
            values[blank] = old[col].to_numpy(dtype=object)[blank]
            filled[col] = values
        filled["__row"] = rows["__row"].to_numpy()
        parts_out.append(_conform(pd.DataFrame(filled)))
    if in_merge.any():
        parts = [frame[in_merge].assign(__target=target[in_merge],
                                        __prio=np.where(merged[in_merge], 2, 0))]
        stored_targets = [t for t in merge_targets if t in stored_ids]
        if stored_targets:
            mine = stored_rows.loc[stored_targets].reset_index()
            parts.append(mine[list(CLIENTS.column_names)].assign(
                __row=0, __target=mine["client_id"], __prio=1))
        combined = pd.concat(parts, ignore_index=True)
        combined = combined.sort_values(["__target", "__prio", "__row"], kind="stable")
        # the written row keeps the spreadsheet row of its first file row
        combined.loc[combined["__prio"] == 1, "__row"] = np.nan
        grouped = combined.groupby("__target", sort=False).first()
        grouped["client_id"] = grouped.index.to_numpy()
        grouped["__row"] = grouped["__row"].fillna(0).astype(np.int64)
        parts_out.append(_conform(grouped.reset_index(drop=True)))
    out = pd.concat(parts_out, ignore_index=True)
    return Resolved(out, merges, int(merged.sum()))


def _stored_clients(store: GraphStore, ids: list[str]) -> pd.DataFrame:
    """Stored client rows indexed by client_id: one table read when many are needed."""
    if not ids:
        return pd.DataFrame(columns=list(CLIENTS.column_names)).set_index("client_id",
                                                                           drop=False)
    if len(ids) > 50_000:
        rows = store.nodes(Label.CLIENT)
        rows = rows[rows["client_id"].isin(ids)]
    else:
        rows = store.get_nodes(Label.CLIENT, ids)
    rows = rows[list(CLIENTS.column_names)]
    return rows.set_index(pd.Index(rows["client_id"].to_numpy(dtype=object)))
