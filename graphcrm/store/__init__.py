"""Graph stores: one interface (:class:`GraphStore`), an embedded SQLite back end and Neo4j."""

from graphcrm.store.base import GraphStore, StoreError
from graphcrm.store.connect import open_store

__all__ = ["GraphStore", "StoreError", "open_store"]
