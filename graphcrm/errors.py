"""Errors every layer may raise or catch (kept at the bottom so no layer imports upwards)."""

from __future__ import annotations


class UnknownIdError(KeyError):
    """An id that is not an agent, client or organization of the analysis graph."""

    def __init__(self, node_id: str, what: str = "person") -> None:
        super().__init__(node_id)
        self.node_id = node_id
        self.message = f"unknown {what} id '{node_id}': not an agent, client or organization " \
            "in this store"

    def __str__(self) -> str:
        return self.message
