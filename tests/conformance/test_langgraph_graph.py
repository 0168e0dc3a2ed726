"""A real LangGraph graph on roost: it runs, is interrupted for a human's answer, and resumes from
its checkpoint in a new process (on the async face), which reads the memories the first one wrote."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import roost
from roost.integrations.langgraph import RoostLangGraphStore, RoostSaver
from tests.langgraph_graph import builder, resume_elsewhere


def test_a_graph_interrupted_in_one_process_resumes_in_another(shared_url):
    config: Any = {"configurable": {"thread_id": "ticket-7"}}
    with roost.connect(shared_url) as store:
        graph = builder().compile(checkpointer=RoostSaver(store), store=RoostLangGraphStore(store))
        start: Any = {"messages": ["start"], "user": "ada"}
        first = graph.invoke(start, config)
        assert first["messages"] == ["start", "planned"] and first["__interrupt__"]
        assert graph.get_state(config).next == ("approve",)

        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=resume_elsewhere, args=(shared_url, "ticket-7", out))
        child.start()
        status, result = out.get(timeout=120)
        child.join(timeout=30)
        assert status == "ok", result
        assert result["messages"] == ["start", "planned", "approved: yes", "shipped with 1 memories"]

        assert graph.get_state(config).next == ()
        history = list(graph.get_state_history(config))
        assert len(history) == 5 and history[0].values["messages"][-1] == "shipped with 1 memories"
        memory = RoostLangGraphStore(store).get(("memories", "ada"), "plan")
        assert memory is not None and memory.value == {"text": "ship on friday"}
