"""Graph stores: one interface (:class:`GraphStore`), an embedded SQLite back end and Neo4j."""

from graphcrm.store.base import GraphStore, StoreError, open_store

__all__ = ["GraphStore", "StoreError", "open_store"]
