"""Identity resolution: the same person twice is one client; a shared phone alone is not.

Rules
-----
- Two client rows with the same resident ID number describe one person.
- Two client rows with the same normalised phone describe one person only when their names
  agree after normalisation (:func:`normalise_name`) and their birth dates, genders and ID
  numbers do not conflict (two different recorded values; a blank never conflicts). In China a
  family often gives one contact mobile for several people (a baby registered with the
  mother's number, elderly parents with a child's), so a shared phone alone merges nothing.
- Chains of such pairs are one person (A shares an ID number with B, B a phone and name with C).
- Everything else that shares a phone or looks alike (same name and birth date) is a possible
  duplicate for review (:func:`merge_candidates`, ``graphcrm merges --candidates``), never
  merged silently. A merge can be undone (:func:`undo_merge`); the merged row is kept in the
  store's journal for that, and the undo is recorded there too.
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

import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphcrm.model import CLIENTS, Label
from graphcrm.store.base import GraphStore

MERGE_COLUMNS = ["alias_id", "client_id", "source_file", "source_row", "reason"]
#: up to this many clients, the stored clients they need are asked of the store (one query);
#: more, and every stored client is read once
FEW_CLIENTS = 50_000
#: the columns identity resolution compares
_KEY_COLUMNS = ["client_id", "name", "phone", "id_number", "birth_date", "gender"]
#: middle dots in names of ethnic minorities and transliterations (阿依古丽·买买提)
_NAME_DOTS = frozenset("·•‧・.")
_NAME_STRIP = r"[\s·•‧・.]"


@dataclass
class Resolved:
    """Client rows to write (one per kept client) and the merges."""

    frame: pd.DataFrame  # CLIENTS columns + "__row"
    merges: pd.DataFrame  # MERGE_COLUMNS
    merged_rows: int
    #: each merged row as read (``alias_id``, ``client_id``, ``row``: its template values), kept
    #: in the store's journal so that the merge can be undone
    originals: list[dict[str, object]] = field(default_factory=list)


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

    existing = pd.DataFrame({c: [] for c in _KEY_COLUMNS}, dtype=object)
    if store_has_clients:
        targets = {aliases[i] for i in ids[alias_hits]}
        if len(ids) <= FEW_CLIENTS:  # the store finds the clients these rows touch
            stored = store.clients_touching(
                [*ids, *targets, *phones[pd.notna(phones)], *idns[pd.notna(idns)]],
                _KEY_COLUMNS)
        else:
            stored = store.nodes(Label.CLIENT, _KEY_COLUMNS)
        keep = (stored["client_id"].isin(ids) | stored["client_id"].isin(targets)
                | (stored["phone"].notna() & stored["phone"].isin(phones[pd.notna(phones)]))
                | (stored["id_number"].notna()
                   & stored["id_number"].isin(idns[pd.notna(idns)])))
        existing = stored[keep].sort_values("client_id").reset_index(drop=True)

    def dup(v: np.ndarray) -> bool:
        s = pd.Series(v[pd.notna(v)])
        return bool(s.duplicated().any())

    if existing.empty and not alias_hits.any() and not dup(phones) and not dup(idns):
        return Resolved(frame, _empty_merges(), 0)  # (ids are unique within a file)

    # nodes: stored clients first (they keep their ids), then the file's new ids in row order
    ex_ids = existing["client_id"].to_numpy(dtype=object)
    new_ids = ids[~pd.Index(ids).isin(ex_ids)]
    node_ids = np.concatenate([ex_ids, new_ids])
    node_index = pd.Index(node_ids)
    n_nodes = len(node_ids)
    row_node = node_index.get_indexer(ids)

    # phones two or more people (nodes) give: only their holders' names are compared
    ex_phones = existing["phone"].to_numpy(dtype=object, na_value=None)
    shared = _shared_phones(np.concatenate([ex_phones, phones]),
                            np.concatenate([np.arange(len(ex_ids)), row_node]))
    file_pn = _phone_name_keys(frame, shared)

    # key nodes and edges node <-> key: the ID number always; the phone only together with the
    # normalised name, and only where no two holders of that key conflict (see _conflicting)
    all_node = np.concatenate([np.arange(len(ex_ids)), np.arange(len(ex_ids)),
                               row_node, row_node])
    keys = np.concatenate([
        _phone_name_keys(existing, shared),
        np.where(pd.notna(existing["id_number"].to_numpy(dtype=object)),
                 "i" + existing["id_number"].astype(str).to_numpy(dtype=object), None),
        file_pn,
        np.where(pd.notna(idns), "i" + pd.Series(idns).astype(str).to_numpy(dtype=object),
                 None),
    ]).astype(object)
    people = pd.concat([existing[_KEY_COLUMNS], existing[_KEY_COLUMNS],
                        frame[_KEY_COLUMNS], frame[_KEY_COLUMNS]], ignore_index=True)
    bad = _conflicting(keys, people)
    if bad:
        keys[pd.Series(keys).isin(bad).to_numpy()] = None
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
    key_name = dict(zip(existing["client_id"], existing["name"], strict=True))
    for i, n in zip(ids, frame["name"].to_numpy(dtype=object), strict=True):
        key_name.setdefault(i, n)
    for i, t, p, d, a in zip(ids[merged], target[merged], phones[merged], idns[merged],
                             alias_hits[merged], strict=True):
        same_p = (p is not None and key_phone.get(t) == p
                  and normalise_name(key_name.get(i)) == normalise_name(key_name.get(t)))
        same_d = d is not None and key_idn.get(t) == d
        if same_p and same_d:
            reasons.append("same phone, name and ID number")
        elif same_d:
            reasons.append("same ID number")
        elif same_p:
            reasons.append("same phone and name")
        elif a and aliases.get(i) == t:
            reasons.append("known alias")
        else:
            reasons.append("linked through an ID number or a phone and name")
    merges = pd.DataFrame({
        "alias_id": ids[merged], "client_id": target[merged], "source_file": file,
        "source_row": frame["__row"].to_numpy()[merged].astype(np.int64),
        "reason": np.array(reasons, dtype=object),
    })

    originals = []
    conf_merged = _conform(frame[merged].reset_index(drop=True))
    for rec, t in zip(conf_merged[list(CLIENTS.column_names)].to_dict(orient="records"),
                      target[merged], strict=True):
        row = {k: (None if pd.isna(v) else (int(v) if isinstance(v, np.integer) else v))
               for k, v in rec.items()}
        originals.append({"alias_id": row["client_id"], "client_id": str(t), "source_file": file,
                          "row": row})

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
    return Resolved(out, merges, int(merged.sum()), originals)


def normalise_name(name: object) -> str | None:
    """A name as compared for identity: Unicode NFKC (full-width letters and spaces become
    ordinary ones), every space and middle dot removed, case folded. ``None`` when blank."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(ch for ch in text if not ch.isspace() and ch not in _NAME_DOTS).casefold()
    return text or None


def _normalise_names(names: pd.Series) -> pd.Series:
    """:func:`normalise_name` over a column (pandas string methods, no Python call per row)."""
    text = names.astype("string").str.normalize("NFKC")
    text = text.str.replace(_NAME_STRIP, "", regex=True).str.casefold()
    return text.mask(text.str.len().fillna(0) == 0)


def _phone_name_keys(frame: pd.DataFrame, shared: set[str] | None = None) -> np.ndarray:
    """``p<phone>|<normalised name>`` per row, None where the phone or the name is blank, or
    (with ``shared``) where the phone is not one of ``shared`` (a phone nobody else has links
    nothing, so its name need not be normalised: a million names take seconds)."""
    phones = frame["phone"].to_numpy(dtype=object, na_value=None)
    out = np.full(len(phones), None, dtype=object)
    if shared is not None and not shared:
        return out
    ok = pd.notna(phones)
    if shared is not None:
        ok &= pd.Index(phones).isin(list(shared))
    if not ok.any():
        return out
    names = _normalise_names(frame["name"].iloc[np.flatnonzero(ok)])
    keys = ("p" + pd.Series(phones[ok], dtype="string") + "|"
            + pd.Series(names.to_numpy(), dtype="string"))
    out[ok] = keys.to_numpy(dtype=object, na_value=None)
    return out


def _shared_phones(phones: np.ndarray, owners: np.ndarray) -> set[str]:
    """Phones held by two or more different owners (integer node numbers)."""
    pc, puniq = pd.factorize(phones.astype(object))  # -1 for a blank phone
    ok = pc >= 0
    if not ok.any():
        return set()
    by_phone = pd.Series(owners[ok]).groupby(pc[ok])  # hashing, no sort of the pairs
    lo, hi = by_phone.min(), by_phone.max()
    return set(puniq[lo.index[(lo != hi).to_numpy()]])


def _conflicting(keys: np.ndarray, people: pd.DataFrame) -> set[str]:
    """Phone-and-name keys whose holders disagree on birth date, gender or ID number (two
    different recorded values; a blank never conflicts): such rows are not merged."""
    pn = np.array([isinstance(k, str) and k.startswith("p") for k in keys], dtype=bool)
    if not pn.any():
        return set()
    part = people[pn].assign(__key=keys[pn])
    bad: set[str] = set()
    for col in ("birth_date", "gender", "id_number"):
        values = part[["__key", col]].dropna()
        n = values.astype(str).drop_duplicates().groupby("__key").size()
        bad.update(n[n > 1].index)
    return bad


def _stored_clients(store: GraphStore, ids: list[str]) -> pd.DataFrame:
    """Stored client rows indexed by client_id: one table read when many are needed."""
    if not ids:
        return pd.DataFrame(columns=list(CLIENTS.column_names)).set_index("client_id",
                                                                           drop=False)
    if len(ids) > FEW_CLIENTS:
        rows = store.nodes(Label.CLIENT)
        rows = rows[rows["client_id"].isin(ids)]
    else:
        rows = store.get_nodes(Label.CLIENT, ids)
    rows = rows[list(CLIENTS.column_names)]
    return rows.set_index(pd.Index(rows["client_id"].to_numpy(dtype=object)))


#: columns of :func:`merge_candidates`
CANDIDATE_COLUMNS = ["client_id", "other_id", "reason", "name", "other_name", "phone",
                     "birth_date", "other_birth_date", "gender", "other_gender"]


def merge_candidates(clients: pd.DataFrame, *, max_group: int = 50) -> pd.DataFrame:
    """Pairs of stored clients that may be one person, for a person to review (never merged).

    A pair is listed when the two share a phone (a family's shared contact number, or the
    same person written two ways), or have the same normalised name and the same birth date.
    A pair whose two recorded resident ID numbers differ is two people and never listed.

    Parameters
    ----------
    clients
        Client rows with ``client_id``, ``name``, ``phone``, ``id_number``, ``birth_date``,
        ``gender``.
    max_group
        Groups larger than this (a switchboard number shared by a whole company) are listed
        by their first ``max_group`` clients only.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`, one row per pair (``client_id`` < ``other_id``), sorted by
        ``client_id`` then ``other_id``; ``reason`` is ``shared phone`` or
        ``same name and birth date`` (both, joined by ``; ``, when both hold).
    """
    frame = clients[_KEY_COLUMNS].copy()
    frame["__name"] = [normalise_name(n) for n in frame["name"].to_numpy(dtype=object)]
    frame = frame.sort_values("client_id", kind="stable").reset_index(drop=True)
    reasons: dict[tuple[str, str], list[str]] = {}

    def pairs(keys: list[str], why: str) -> None:
        part = frame.dropna(subset=keys)
        for _, group in part.groupby(keys, sort=False):
            if len(group) < 2:
                continue
            rows = group.head(max_group).to_dict(orient="records")
            for i, a in enumerate(rows):
                for b in rows[i + 1:]:
                    ia, ib = a["id_number"], b["id_number"]
                    if pd.notna(ia) and pd.notna(ib) and ia != ib:
                        continue  # two resident ID numbers: two people
                    reasons.setdefault((a["client_id"], b["client_id"]), []).append(why)

    pairs(["phone"], "shared phone")
    pairs(["__name", "birth_date"], "same name and birth date")
    by_id = frame.set_index("client_id")
    out = []
    for (a, b), why in sorted(reasons.items()):
        ra, rb = by_id.loc[a], by_id.loc[b]
        out.append({"client_id": a, "other_id": b, "reason": "; ".join(why),
                    "name": ra["name"], "other_name": rb["name"],
                    "phone": ra["phone"] if ra["phone"] == rb["phone"] else None,
                    "birth_date": ra["birth_date"], "other_birth_date": rb["birth_date"],
                    "gender": ra["gender"], "other_gender": rb["gender"]})
    return pd.DataFrame(out, columns=CANDIDATE_COLUMNS)


def merge_log(store: GraphStore) -> pd.DataFrame:
    """Every merge the store holds (alias_id, client_id, source_file, reason, status), with
    undone merges marked ``undone`` and the time and note of the undo."""
    live = store.aliases()
    rows: dict[str, dict[str, object]] = {}
    for rec in store.journal("merged_row"):
        rows[str(rec["alias_id"])] = {"alias_id": rec["alias_id"], "client_id": rec["client_id"],
                                      "source_file": rec.get("source_file"), "status": "merged",
                                      "undone_at": None, "note": None}
    for alias, kept in live.items():
        rows.setdefault(alias, {"alias_id": alias, "client_id": kept, "source_file": None,
                                "status": "merged", "undone_at": None, "note": None})
    for rec in store.journal("merge_undo"):
        alias = str(rec["alias_id"])
        if alias not in live:
            rows.setdefault(alias, {"alias_id": alias, "client_id": rec["client_id"],
                                    "source_file": None})
            rows[alias].update(status="undone", undone_at=rec["recorded_at"],
                               note=rec.get("note"))
    cols = ["alias_id", "client_id", "source_file", "status", "undone_at", "note"]
    return pd.DataFrame(list(rows.values()), columns=cols).sort_values(
        "alias_id", kind="stable").reset_index(drop=True)


def undo_merge(store: GraphStore, alias_id: str, *, note: str | None = None
               ) -> dict[str, object]:
    """Undo one merge: the merged row becomes its own client again, the alias is forgotten
    and the undo is recorded in the store's journal (``merge_undo``).

    The restored client has the values its own row had when it was merged. Policies,
    relationships and interactions that files named by the alias id were written to the kept
    client and stay there (the store cannot tell them apart); re-ingest those files to move
    them. A later ingest of the same rows does not merge them again: the restored client is a
    stored client, and a stored client is never merged away.

    Returns
    -------
    dict
        ``alias_id``, ``client_id`` (the client it had been merged into), ``restored``
        (True when the original row was on record and written back).

    Raises
    ------
    KeyError
        When ``alias_id`` is not a merged id of this store.
    """
    live = store.aliases()
    if alias_id not in live:
        raise KeyError(f"{alias_id} is not a merged id in {store.location}")
    kept = live[alias_id]
    original = None
    for rec in store.journal("merged_row"):
        if rec["alias_id"] == alias_id:
            original = rec["row"]
    with store.transaction():
        if isinstance(original, dict):
            row = pd.DataFrame([{c: original.get(c) for c in CLIENTS.column_names}])
            store.upsert(CLIENTS, _conform(row.assign(__row=0))[list(CLIENTS.column_names)])
        store.remove_alias(alias_id)
        store.append_journal("merge_undo", [{"alias_id": alias_id, "client_id": kept,
                                             "restored": original is not None, "note": note}])
    return {"alias_id": alias_id, "client_id": kept, "restored": original is not None}
