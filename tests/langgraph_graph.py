"""A small LangGraph graph for the integration tests: it plans (and remembers the plan in the
store), asks a human to approve (``interrupt``), then ships, reading its memories back."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

import roost
from roost.integrations.langgraph import RoostLangGraphStore, RoostSaver


class State(TypedDict):
    messages: Annotated[list[str], operator.add]
    user: str


def plan(state: State) -> dict[str, Any]:
    get_store().put(("memories", state["user"]), "plan", {"text": "ship on friday"})
    return {"messages": ["planned"]}


def approve(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "ship it?"})
    return {"messages": [f"approved: {answer}"]}


def ship(state: State) -> dict[str, Any]:
    found = get_store().search(("memories", state["user"]), query="friday")
    return {"messages": [f"shipped with {len(found)} memories"]}


def builder() -> StateGraph[State]:
    graph = StateGraph(State)
    graph.add_node("plan", plan)
    graph.add_node("approve", approve)
    graph.add_node("ship", ship)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "approve")
    graph.add_edge("approve", "ship")
    graph.add_edge("ship", END)
    return graph


def resume_elsewhere(url: str, thread: str, out: Any) -> None:
    """Child process: open the store anew, resume the interrupted thread on the async face."""

    async def main() -> dict[str, Any]:
        async with roost.connect_async(url) as face:
            graph = builder().compile(checkpointer=RoostSaver(face), store=RoostLangGraphStore(face))
            result = await graph.ainvoke(Command(resume="yes"), {"configurable": {"thread_id": thread}})
            return dict(result)

    try:
        out.put(("ok", asyncio.run(main())))
    except BaseException as exc:
        import traceback

        out.put(("error", f"{exc!r}\n{traceback.format_exc()}"))
