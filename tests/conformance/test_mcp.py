"""The MCP server through the SDK's real client, with the server as a subprocess (``roost mcp``),
on SQLite and PostgreSQL: every tool listed with schemas and called once, its answer checked
against the store; every error kind; resources; bad input that changes nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import jsonschema
import pytest
from mcp.shared.exceptions import MCPError

import roost
from tests.mcp_helpers import mcp_agent

pytestmark = pytest.mark.slow

EXPECTED_TOOLS = {
    "signal_get", "signal_set", "signal_clear", "signal_list", "signal_wait",
    "lock_acquire", "lock_renew", "lock_release", "lock_list", "lock_force_release",
    "agent_register", "agent_heartbeat", "agent_list",
    "task_enqueue", "task_claim", "task_heartbeat", "task_complete", "task_fail", "task_release", "task_get",
    "task_list", "task_stats", "task_next",
    "event_publish", "event_query", "event_wait",
    "session_create", "session_get", "session_list", "session_join", "session_start",
    "transcript_append", "transcript_read",
    "memory_put", "memory_get", "memory_delete", "memory_list",
    "observation_add", "observation_recent",
    "artifact_put", "artifact_get", "artifact_list",
    "search", "find",
    "doc_get", "doc_put", "doc_patch", "doc_query", "doc_history", "doc_render",
    "run_start", "run_show", "run_transition", "phase_start", "phase_heartbeat", "phase_finish", "gate_decide",
    "run_evaluate", "run_output", "run_outputs",
}


class Checked:
    """Calls tools through one agent, validates each answer against the tool's output schema and
    records which tools were called."""

    def __init__(self, agent: Any, schemas: dict[str, dict[str, Any]]) -> None:
        self.agent = agent
        self.schemas = schemas
        self.called: set[str] = set()

    async def __call__(self, tool: str, **arguments: Any) -> Any:
        result = await self.agent.session.call_tool(tool, arguments)
        assert not result.is_error, (tool, result.content)
        jsonschema.validate(result.structured_content, self.schemas[tool])
        self.called.add(tool)
        content = result.structured_content
        return content["result"] if set(content) == {"result"} else content


def test_every_tool_listed_with_schemas_and_called(db):
    with roost.connect(db) as store:
        store.documents.collection("specs", {"type": "object", "properties": {"title": {"type": "string"},
                                                                          "status": {"type": "string"}}},
                                   frozen=["title"], indexed=["status"])
        store.workflows.define("review", [{"id": "draft", "gate": "human"}, {"id": "check"}])
        asyncio.run(_every_tool(db, store))


async def _every_tool(url: str, store: Any) -> None:
    async with mcp_agent(url, "coder") as coder:
        listed = (await coder.session.list_tools()).tools
        assert {t.name for t in listed} == EXPECTED_TOOLS
        for t in listed:
            assert t.description and t.input_schema["type"] == "object", t.name
            assert t.output_schema and t.output_schema["type"] == "object", t.name
            for name, prop in t.input_schema.get("properties", {}).items():
                assert prop.get("description"), (t.name, name)
        call = Checked(coder, {t.name: t.output_schema for t in listed if t.output_schema})

        # signals
        written = await call("signal_set", key="build.status", value={"ok": True}, ttl=60)
        assert written == {"key": "build.status", "version": 1}
        assert store.signals.get("build.status").value == {"ok": True}
        again = await call("signal_set", key="build.status", value="red", expected_version=1)
        assert again["version"] == 2 and store.signals.get("build.status").value == "red"
        got = await call("signal_get", key="build.status")
        assert (got["value"], got["version"], got["updated_by"]) == ("red", 2, "coder")
        assert await call("signal_get", key="nothing") is None
        assert [s["key"] for s in await call("signal_list", prefix="build.")] == ["build.status"]
        waited = await call("signal_wait", key="build.status", timeout=1, value="red")
        assert waited["version"] == 2
        assert await call("signal_clear", key="build.status") is True
        assert store.signals.get("build.status") is None

        # locks
        attempt = await call("lock_acquire", name="repo:main", ttl=30)
        assert attempt["acquired"] is True and attempt["holders"] == []
        token = attempt["lease"]["token"]
        assert [(h.owner, h.token) for h in store.locks.list("repo:main")] == [("coder", token)]
        renewed = await call("lock_renew", name="repo:main", token=token, ttl=90)
        assert renewed["token"] == token
        assert [h["name"] for h in await call("lock_list", mine=True)] == ["repo:main"]
        assert await call("lock_release", name="repo:main", token=token) is True
        assert store.locks.list("repo:main") == []
        store.locks.acquire("stuck", owner="someone-else", ttl=60)
        refused = await call("lock_acquire", name="stuck")
        assert refused["acquired"] is False and refused["lease"] is None
        assert [h["owner"] for h in refused["holders"]] == ["someone-else"]

        # agents
        registered = await call("agent_register", kind="coder", capabilities=["python"], metadata={"model": "x"})
        assert registered["name"] == "coder" and registered["capabilities"] == ["python"]
        assert store.agents.get("coder").metadata == {"model": "x"}
        assert (await call("agent_heartbeat", status="busy"))["status"] == "busy"
        assert [a["name"] for a in await call("agent_list", online=True)] == ["coder"]

        # tasks
        first = (await call("task_enqueue", kind="build", payload={"n": 1}, priority=5))["id"]
        second = (await call("task_enqueue", kind="test", payload={"n": 2}, idempotency_key="k2"))["id"]
        assert (await call("task_enqueue", kind="test", idempotency_key="k2"))["id"] == second
        assert store.tasks.get(first).payload == {"n": 1}
        claims = await call("task_claim", n=1, lease=30)
        assert [(c["id"], c["payload"]) for c in claims] == [(first, {"n": 1})]
        assert store.tasks.get(first).claimed_by == "coder"
        beat = await call("task_heartbeat", token=claims[0]["token"], lease=60, task_id=first)
        assert beat["lease_expires_at"]
        assert await call("task_complete", token=claims[0]["token"], result={"built": True}) is True
        assert (store.tasks.get(first).status, store.tasks.get(first).result) == ("done", {"built": True})
        claim = (await call("task_claim"))[0]
        assert await call("task_release", token=claim["token"]) is True
        assert store.tasks.get(second).status == "pending"
        claim = await call("task_next", lease=30)
        assert claim["id"] == second and store.agents.get("coder").status == "busy"
        failed = await call("task_fail", token=claim["token"], error="flaky", retry=False)
        assert failed == {"status": "dead"} and store.tasks.get(second).error == "flaky"
        assert (await call("task_get", task_id=first))["status"] == "done"
        assert [t["id"] for t in await call("task_list", status="dead")] == [second]
        stats = {s["queue"]: s for s in await call("task_stats")}
        assert (stats["default"]["done"], stats["default"]["dead"]) == (1, 1)
        assert await call("task_next") is None and store.agents.get("coder").status == "idle"

        # events
        start = (await call("event_query", topics=["review.*"]))["cursor"]
        published = await call("event_publish", topic="review.done", payload={"ok": 1}, refs={"task": first})
        assert published["refs"] == {"agent": "coder", "task": first}
        page = await call("event_query", topics=["review.*"], refs={"task": first})
        assert [e["payload"] for e in page["events"]] == [{"ok": 1}] and page["cursor"] == published["cursor"]
        waited = await call("event_wait", after=start, timeout=5, topics=["review.*"])
        assert [e["cursor"] for e in waited["events"]] == [published["cursor"]]
        assert waited["cursor"] == published["cursor"]
        empty = await call("event_wait", after=waited["cursor"], timeout=0.2, topics=["review.*"])
        assert empty == {"events": [], "cursor": waited["cursor"]}

        # sessions, transcripts, memories, observations
        session = await call("session_create", title="refactor the parser", metadata={"ticket": 7})
        sid = session["id"]
        assert store.sessions.get(sid).participants == ["coder"]
        assert (await call("session_get", id=sid))["title"] == "refactor the parser"
        assert [s["id"] for s in (await call("session_list", mine=True))["items"]] == [sid]
        assert (await call("session_join", id=sid))["participants"] == ["coder"]
        entry = await call("transcript_append", session=sid, role="assistant", content="the lexer is split off")
        assert entry["agent"] == "coder" and store.transcripts.get(entry["id"]).content == "the lexer is split off"
        assert [e["id"] for e in (await call("transcript_read", session=sid))["items"]] == [entry["id"]]
        assert (await call("transcript_read", session=sid, after=entry["position"]))["items"] == []
        memory = await call("memory_put", key="conventions.tests", content="pytest, no mocks", tags=["testing"])
        assert memory["version"] == 1 and store.memories.get("conventions.tests").content == "pytest, no mocks"
        assert (await call("memory_get", key="conventions.tests"))["tags"] == ["testing"]
        assert [m["key"] for m in (await call("memory_list", tags=["testing"]))["items"]] == ["conventions.tests"]
        observed = await call("observation_add", content="the CI cache is stale on Mondays", kind="insight")
        assert store.observations.recent("coder")[0].id == observed["id"]
        assert [o["id"] for o in await call("observation_recent", agent="coder")] == [observed["id"]]
        briefing = await call("session_start", session=sid, kind="coder", observations=5, entries=5)
        assert briefing["session"]["id"] == sid and briefing["agent"]["status"] == "busy"
        assert [o["id"] for o in briefing["observations"]] == [observed["id"]]
        assert [e["id"] for e in briefing["transcript"]] == [entry["id"]]
        assert briefing["my_tasks"] == [] and briefing["ready_tasks"] == []

        # artifacts: text inline, binary as base64, both checked by hash
        text = "# Coverage\n\n91 % — ünïcödé ✓\n"
        put = await call("artifact_put", name="reports/coverage.md", content=text, format="markdown", session=sid)
        assert put["sha256"] == hashlib.sha256(text.encode()).hexdigest() and put["is_text"] is True
        assert store.artifacts.get("reports/coverage.md").text() == text
        blob = bytes(range(256)) * 4
        binary = await call("artifact_put", name="shot.png", content=base64.b64encode(blob).decode(), encoding="base64")
        assert binary["size"] == len(blob) and binary["is_text"] is False
        assert store.artifacts.get("shot.png").content == blob
        assert (await call("artifact_get", name="reports/coverage.md"))["text"] == text
        got_blob = await call("artifact_get", name="shot.png")
        assert base64.b64decode(got_blob["base64"]) == blob and got_blob["text"] is None
        described = await call("artifact_get", name="shot.png", content=False)
        assert (described["inline"], described["base64"], described["sha256"]) == (False, None, binary["sha256"])
        listed_artifacts = await call("artifact_list", session=sid)
        assert [a["name"] for a in listed_artifacts["items"]] == ["reports/coverage.md"]

        # search and find (the query is text: operators and hyphens cannot break it)
        hits = (await call("search", query="lexer"))["hits"]
        assert [(h["kind"], h["id"]) for h in hits] == [("transcript", entry["id"])]
        assert "<mark>" in hits[0]["snippet"]
        assert (await call("search", query='"split-off" AND (NOT ) * lexer:'))["hits"] is not None
        assert [m["name"] for m in await call("find", name="convntions.tests", kinds=["memory"])][:1] == \
            ["conventions.tests"]
        assert await call("memory_delete", key="conventions.tests", expected_version=1) is True
        assert store.memories.get("conventions.tests") is None

        # documents
        doc = await call("doc_put", collection="specs", key="parser", body={"title": "Parser", "status": "draft"})
        assert doc["version"] == 1 and store.documents.get("specs", "parser").agent == "coder"
        patched = await call("doc_patch", collection="specs", key="parser",
                             ops=[{"op": "set", "path": "status", "value": "review"}], expected_version=1)
        assert patched["body"] == {"title": "Parser", "status": "review"}
        assert store.documents.get("specs", "parser").version == 2
        assert (await call("doc_get", collection="specs", key="parser", version=1))["body"]["status"] == "draft"
        found = await call("doc_query", collection="specs", where={"status": "review"})
        assert [d["key"] for d in found["documents"]] == ["parser"]
        assert [v["version"] for v in await call("doc_history", collection="specs", key="parser")] == [2, 1]
        rendered = await call("doc_render", collection="specs", key="parser")
        assert "Parser" in rendered["markdown"]

        # runs
        run = await call("run_start", workflow="review", subject={"feature": "parser"}, variables={"lang": "py"})
        rid = run["id"]
        assert store.runs.get(rid).run.agent == "coder"
        phase = await call("phase_start", run=rid, phase="draft", session=sid)
        assert phase["executor"] == "coder" and phase["iteration"] == 1
        assert (await call("phase_heartbeat", run=rid, phase="draft"))["status"] == "running"
        output = await call("run_output", run=rid, phase="draft", var="PLAN", content={"steps": 3})
        assert output["content"] == {"steps": 3}
        assert await call("run_outputs", run=rid) == {"PLAN": {"steps": 3}}
        evaluation = await call("run_evaluate", run=rid, phase="draft", iteration=1, score=80, feedback="good")
        assert evaluation["reviewer"] == "coder" and evaluation["score"] == 80
        assert (await call("phase_finish", run=rid, phase="draft"))["status"] == "completed"
        decision = await call("gate_decide", run=rid, phase="draft", approved=True, reason="fine")
        assert decision["approved"] is True and decision["decided_by"] == "coder"
        shown = await call("run_show", run=rid)
        assert shown["phases"]["draft"]["status"] == "completed" and shown["outputs"] == {"PLAN": {"steps": 3}}
        paused = await call("run_transition", run=rid, to="paused", expected=["running"], reason="lunch")
        assert paused["status"] == "paused" and store.runs.get(rid).run.status == "paused"

        # privileged only: refused here, allowed by a privileged server below
        assert (await coder.error("lock_force_release", name="stuck", reason="x"))["kind"] == "not_permitted"
        call.called.add("lock_force_release")
        assert call.called == EXPECTED_TOOLS, EXPECTED_TOOLS - call.called

    async with mcp_agent(url, "manager", "--privileged") as manager:
        assert await manager.call("lock_force_release", name="stuck", reason="holder died") == 1
        assert store.locks.list("stuck") == []


def test_every_error_kind_changes_nothing_and_the_server_keeps_serving(db):
    with roost.connect(db) as store:
        asyncio.run(_errors(db, store))


async def _errors(url: str, store: Any) -> None:
    async with mcp_agent(url, "coder") as coder:
        await coder.call("signal_set", key="k", value=1)
        lease = (await coder.call("lock_acquire", name="L"))["lease"]
        kinds: dict[str, dict[str, Any]] = {}

        kinds["not_found"] = await coder.error("task_get", task_id=999)
        kinds["conflict"] = await coder.error("signal_set", key="k", value=2, expected_version=7)
        kinds["not_acquired"] = await coder.error("lock_acquire", name="L", required=True)
        kinds["lease_lost"] = await coder.error("lock_release", name="L", token=lease["token"] + 1)
        kinds["invalid_input"] = await coder.error("signal_set", key="", value=1)
        kinds["not_permitted"] = await coder.error("lock_force_release", name="L", reason="x")
        kinds["timed_out"] = await coder.error("signal_wait", key="never", timeout=0.1)
        assert {kind: e["kind"] for kind, e in kinds.items()} == {kind: kind for kind in kinds}
        assert {kind: e["retryable"] for kind, e in kinds.items()} == {
            "not_found": False, "conflict": True, "not_acquired": True, "lease_lost": False,
            "invalid_input": False, "not_permitted": False, "timed_out": True}
        assert kinds["not_found"]["name"] == "NotFound" and "999" in kinds["not_found"]["message"]
        assert kinds["not_acquired"]["name"] == "LockNotAcquired"
        assert kinds["lease_lost"]["name"] == "LeaseLost"

        # what the SDK refuses before a tool runs gets the same structured form
        bad: list[tuple[str, dict[str, Any]]] = [
            ("signal_get", {"key": ["not", "a", "string"]}),  # wrong type
            ("signal_set", {"key": "k"}),  # a required argument missing
            ("task_claim", {"n": "three"}),
            ("signal_wait", {"key": "k", "timeout": 3600}),  # beyond the documented maximum
            ("event_wait", {"after": "now", "timeout": 61}),
            ("lock_acquire", {"name": "L2", "wait": 1e9}),
            ("task_claim", {"n": 10**6}),
        ]
        for tool, arguments in bad:
            err = await coder.error(tool, **arguments)
            assert (err["kind"], err["name"]) == ("invalid_input", "InvalidArgument"), (tool, err)
        unknown = await coder.error("drop_tables", everything=True)
        assert (unknown["kind"], unknown["name"]) == ("not_found", "UnknownTool")

        # oversized and odd values are refused by roost, whole
        huge = "x" * (70 * 1024)
        assert (await coder.error("signal_set", key="k", value=huge))["kind"] == "invalid_input"
        deep: Any = "leaf"
        for _ in range(100):
            deep = [deep]
        assert (await coder.error("memory_put", key="deep", content=deep))["kind"] == "invalid_input"
        assert (await coder.error("signal_set", key="nul\x00key", value=1))["kind"] == "invalid_input"
        assert (await coder.error("artifact_put", name="a", content="not base64!", encoding="base64"))["kind"] == \
            "invalid_input"
        big = base64.b64encode(b"\0" * (1024 * 1024 + 1)).decode()
        assert (await coder.error("artifact_put", name="big", content=big, encoding="base64"))["name"] == "TooLarge"
        assert (await coder.error("doc_put", collection="nope", key="a", body={}))["kind"] == "not_found"

        # nothing changed, and the server still answers
        assert store.signals.get("k").value == 1 and store.signals.get("k").version == 1
        assert [h.token for h in store.locks.list("L")] == [lease["token"]]
        assert store.memories.get("deep") is None and store.tasks.list() == []
        assert store.artifacts.list().items == []
        assert (await coder.call("signal_get", key="k"))["value"] == 1
        assert "Traceback" not in coder.server_log()


def test_resources_listed_and_read(db):
    with roost.connect(db) as store:
        store.signals.set("deploy.frozen", True)
        task = store.tasks.enqueue("review", {"pr": 12})
        store.tasks.enqueue("later", run_after=3600)
        store.documents.collection("specs")
        store.documents.put("specs", "parser", {"title": "Parser", "goal": "split the lexer"})
        session = store.sessions.create("parser work")
        store.transcripts.append(session.id, "user", "please split the lexer", agent="manager")
        asyncio.run(_resources(db, task, session.id))


async def _resources(url: str, task: int, session: str) -> None:
    import json

    async with mcp_agent(url, "reader") as reader:
        listed = {str(r.uri) for r in (await reader.session.list_resources()).resources}
        assert listed == {"roost://signals", "roost://tasks/ready"}
        templates = {t.uri_template for t in (await reader.session.list_resource_templates()).resource_templates}
        assert templates == {"roost://doc/{collection}/{key}", "roost://session/{id}/transcript"}

        async def read(uri: str) -> str:
            contents = (await reader.session.read_resource(uri)).contents
            assert len(contents) == 1
            return contents[0].text  # type: ignore[union-attr]

        signals = json.loads(await read("roost://signals"))
        assert [(s["key"], s["value"]) for s in signals] == [("deploy.frozen", True)]
        ready = json.loads(await read("roost://tasks/ready"))
        assert [t["id"] for t in ready] == [task]  # the delayed one is not ready
        assert "split the lexer" in await read("roost://doc/specs/parser")
        transcript = await read(f"roost://session/{session}/transcript")
        assert transcript.startswith("# parser work") and "please split the lexer" in transcript
        for missing in ("roost://doc/specs/nothing", "roost://session/s-none/transcript", "roost://nothing"):
            with pytest.raises(MCPError):
                await read(missing)
        assert json.loads(await read("roost://signals"))[0]["key"] == "deploy.frozen"  # still serving
