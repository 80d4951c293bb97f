"""Open a store by its location: a SQLite file path or a Neo4j URL."""

from __future__ import annotations

from graphcrm.config import Settings, store_location
from graphcrm.store.base import GraphStore, is_neo4j_url
from graphcrm.store.sqlite import SQLiteStore


def open_store(location: str | None = None, *, create: bool = True,
               settings: Settings | None = None) -> GraphStore:
    """Open the store at ``location`` (see :func:`graphcrm.config.store_location`).

    ``neo4j://``, ``neo4j+s://``, ``bolt://`` and ``bolt+s://`` URLs open the Neo4j back end
    with ``settings.neo4j`` (default: the settings file and environment); anything else is a
    SQLite file path (``sqlite:///path`` also accepted).
    """
    loc = store_location(location)
    if is_neo4j_url(loc):
        # imported on use: the neo4j driver adds start-up time every SQLite command would pay
        from graphcrm.store.neo4j import Neo4jStore

        return Neo4jStore(loc, settings=None if settings is None else settings.neo4j)
    if loc.startswith("sqlite:///"):
        loc = loc[len("sqlite:///"):]
    return SQLiteStore(loc, create=create)
