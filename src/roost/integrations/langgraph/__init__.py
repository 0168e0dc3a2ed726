"""LangGraph persistence on roost: :class:`RoostSaver` (a checkpointer) and
:class:`RoostLangGraphStore` (a long-term memory store). Install with ``pip install 'roost[langgraph]'``;
docs/langgraph.md shows a graph using both."""

from __future__ import annotations

try:
    import langgraph.checkpoint.base
    import langgraph.store.base  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("roost's LangGraph integration needs LangGraph: pip install 'roost[langgraph]'") from exc

from roost.integrations.langgraph.saver import RoostSaver
from roost.integrations.langgraph.store import RoostLangGraphStore

__all__ = ["RoostLangGraphStore", "RoostSaver"]
