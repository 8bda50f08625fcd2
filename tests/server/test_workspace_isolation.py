"""Isolation of workspaces, property-based (issue 20): random sequences of operations over three
workspaces whose documents hold a marker word of their own (a nonsense token, a new one each
time a workspace is created again under the same name), and after every response the check
that it holds nothing of another workspace: no marker, document id, chunk id or entity id of
any other workspace, alive or deleted (the default workspace's included). The operations:
documents added and deleted, builds, chats (JSON and streamed), ``/v1`` completions (the
workspace as the model, with and without a mode, JSON and streamed), the graph API (search,
entity, neighbourhood, communities, both exports), passages, status, probes with another
workspace's ids (404, and its documents are still there), and workspace deletes and
re-creates (mid-build, or settled: then every other workspace's content digest is unchanged).
At the end of each sequence every workspace settles and its counts, its document list and its
answers are its own exactly. Runs on the embedded stores and on a real FalkorDB.

One app serves every example of a run (starting one is the slow part); each example takes
three new workspace names, so examples do not depend on each other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from graphready.config import Settings, load_settings
from graphready.server.app import create_app
from graphready.server.workspace_list import workspace_settings
from graphready.stores.digest import content_digest

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(1800)]

SYLLABLES = ("ba", "ke", "zu", "vo", "ri", "xa", "mo", "pe", "qu", "ly", "dro", "gni")
"""A marker is ``Zy`` + three of these + ``th``: never a word, and never inside a hex id."""
SETTLE_S = 900.0
"""How long a workspace may take to settle before the test gives up (a busy machine)."""
KINDS = ("add", "add", "delete", "build", "chat", "chat", "v1", "graph", "graph", "status",
         "probe", "drop", "settle")
OPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 3), st.integers(0, 99),
                         st.booleans()), min_size=4, max_size=10)
"""An operation: its kind, its workspace (0-2: the example's three, 3: the default), a number
that picks what it uses, and a flag (streamed; a delete that waits for the others first)."""
GRAPH_QUERIES = ("entities", "search", "entity", "subgraph", "communities", "community",
                 "graphml", "json", "passage")
MODES = ("", ":auto", ":retrieval", ":graph_local", ":graph_global")


def marker(number: int) -> str:
    """The ``number``-th marker word: all of the same length, so none holds another."""
    count = len(SYLLABLES)
    return "Zy" + "".join(SYLLABLES[(number // count**i) % count] for i in range(3)) + "th"


@dataclass(eq=False)
class Life:
    """A workspace from its creation to its delete: its marker, its documents now, and the
    chunk and entity ids its responses have shown (none of them may show up elsewhere)."""

    name: str
    marker: str
    docs: set[str] = field(default_factory=set)
    added: int = 0
    chunk_ids: set[str] = field(default_factory=set)
    entity_ids: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return "" if self.name == "default" else f"/workspaces/{self.name}"

    def tokens(self) -> set[str]:
        return {self.marker.lower(), *self.chunk_ids, *self.entity_ids}

    def document(self) -> dict[str, str]:
        """A new document of this workspace (its id and text hold the marker)."""
        self.added += 1
        doc_id = f"{self.marker}-{self.added}"
        self.docs.add(doc_id)
        m = self.marker
        return {"id": doc_id, "title": f"{m} notes {self.added}",
                "text": f"The {m} deposit was found by the survey team of Marta Quell in "
                        f"{1900 + self.added}. Geologists describe {m} as a rare green mineral "
                        f"of the northern hills.\n\nThe survey team mapped the {m} deposit "
                        f"again in {1930 + self.added} and sent samples to Uppsala."}


class World:
    """The app, every workspace life so far and the ones alive now, and the checks."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.lives: list[Life] = []
        self.alive: dict[str, Life] = {}
        self.examples = 0

    def new_life(self, name: str) -> Life:
        life = Life(name, marker(len(self.lives)))
        self.lives.append(life)
        self.alive[name] = life
        return life

    # -- the check on every response --------------------------------------------------------

    def check(self, owner: Life, response: httpx.Response, *asked: str) -> str:
        """``response`` (for ``owner``) holds nothing of another life once what the request
        itself sent (``asked``: a question, an id) is taken out; its text, lowercased."""
        assert not (response.status_code == 404 and "unknown_workspace" in response.text), \
            f"{owner.name} is alive but {response.request.url} says: {response.text}"
        assert response.status_code < 500 or response.status_code == 503, response.text
        text = response.text.lower()
        for sent in asked:
            text = text.replace(sent.lower(), " ")
        for other in self.lives:
            if other is owner:
                continue
            for token in other.tokens():
                assert token not in text, (
                    f"a response of {owner.name} ({owner.marker}) holds {token!r} of "
                    f"{other.name} ({other.marker}): {response.request.method} "
                    f"{response.request.url}\n{response.text[:2000]}")
        return text

    def learn(self, owner: Life, body: Any) -> None:
        """Remember the chunk ids cited and the ids of entities named after the marker."""
        if not isinstance(body, dict):
            return
        for citation in body.get("citations") or []:
            if isinstance(citation, dict) and citation.get("chunk_id"):
                owner.chunk_ids.add(citation["chunk_id"])
        entities = [*(body.get("entities") or []), *(body.get("nodes") or [])]
        if isinstance(body.get("graph_entities"), dict):
            entities += [*body["graph_entities"].get("seeds", []),
                         *body["graph_entities"].get("reached", [])]
        for entity in entities:
            if isinstance(entity, dict) and owner.marker.lower() in str(entity.get("name",
                                                                               "")).lower():
                owner.entity_ids.add(entity["id"])

    async def get(self, owner: Life, path: str, *asked: str, **params: Any) -> Any:
        response = await self.client.get(owner.base + path, params=params or None)
        self.check(owner, response, *asked)
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        self.learn(owner, body)
        return body if response.status_code == 200 else None

    # -- operations --------------------------------------------------------------------------

    async def run(self, names: list[str], op: tuple[str, int, int, bool]) -> None:
        kind, which, number, flag = op
        life = self.alive["default" if which == 3 else names[which]]
        if kind in ("add", "delete", "build", "drop") and life.name == "default":
            life = self.alive[names[number % 3]]  # the default workspace's content stays put
        await getattr(self, f"op_{kind}")(life, number, flag, names)

    async def op_add(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        documents = [life.document() for _ in range(1 + number % 2)]
        response = await self.client.post(f"{life.base}/documents",
                                          json={"documents": documents})
        assert response.status_code == 202, response.text
        self.check(life, response)

    async def op_delete(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        if not life.docs:
            return await self.op_probe(life, number, flag, names)
        doc_id = sorted(life.docs)[number % len(life.docs)]
        life.docs.discard(doc_id)
        response = await self.client.delete(f"{life.base}/documents/{doc_id}")
        assert response.status_code == 200, response.text
        self.check(life, response)

    async def op_build(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        response = await self.client.post(f"{life.base}/build")
        assert response.status_code == 200, response.text
        self.check(life, response)

    def question(self, life: Life, number: int) -> str:
        """About its own marker, another life's, or words every workspace's documents hold
        (the same question in every workspace: nothing answered for one may serve another)."""
        if number % 3 == 0:
            return "Which survey team mapped the rare green mineral of the northern hills?"
        about = life if number % 3 == 1 else self.lives[number % len(self.lives)]
        return f"Who found the {about.marker} deposit?"

    async def op_chat(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        question = self.question(life, number)
        response = await self.client.post(f"{life.base}/chat",
                                          json={"message": question, "stream": flag})
        assert response.status_code in (200, 503), response.text
        self.check(life, response, question)
        if response.status_code == 200:
            self.learn(life, done_event(response.text) if flag else response.json())

    async def op_v1(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        question = self.question(life, number)
        name = life.name if life.name != "default" or number % 2 else "graphready"
        model = name + (MODES[number % len(MODES)] if name != "graphready" else "")
        response = await self.client.post("/v1/chat/completions", json={
            "model": model, "stream": flag,
            "messages": [{"role": "user", "content": question}]})
        assert response.status_code in (200, 503), response.text
        self.check(life, response, question)
        if response.status_code == 200 and not flag:
            self.learn(life, response.json())

    async def op_graph(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        query = GRAPH_QUERIES[number % len(GRAPH_QUERIES)]
        other = self.lives[number % len(self.lives)]
        if query == "entities":
            await self.get(life, "/graph/entities", limit=200)
        elif query == "search":  # its own marker, or another's: that one finds nothing
            asked = (life if flag else other).marker
            found = await self.get(life, "/graph/entities", asked, q=asked)
            if found is not None and other is not life and not flag:
                assert found["entities"] == [], found
        elif query in ("entity", "subgraph"):
            found = await self.get(life, "/graph/entities", life.marker, q=life.marker)
            for entity in (found or {}).get("entities", [])[:1]:
                if query == "entity":
                    await self.get(life, f"/graph/entities/{entity['id']}")
                else:
                    await self.get(life, "/graph/subgraph", entity=entity["id"],
                                   hops=1 + number % 2)
        elif query in ("communities", "community"):
            found = await self.get(life, "/graph/communities")
            for community in (found or {}).get("communities", [])[:1]:
                if query == "community":
                    await self.get(life, f"/graph/communities/{community['id']}")
        elif query in ("graphml", "json"):
            await self.get(life, "/graph/export", format=query)
        elif life.chunk_ids:
            await self.get(life, f"/passages/{sorted(life.chunk_ids)[0]}")

    async def op_status(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        await self.get(life, "/status")
        await self.get(life, "/documents", limit=200)
        if life.name != "default" or flag:
            await self.get(life, f"/workspaces/{life.name}".removeprefix(life.base))
        listed = await self.client.get("/workspaces")  # everyone's: names and counts only
        models = await self.client.get("/v1/models")
        for response in (listed, models):
            assert response.status_code == 200, response.text
            assert not any(t in response.text.lower() for t in
                           {t for other in self.lives for t in other.tokens()}), response.text

    async def op_probe(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        """Ask ``life`` for another life's document, passage or entity: 404 (or 503 while no
        graph is loaded), and a delete of it there deletes nothing of the other."""
        others = [o for o in self.lives if o is not life]
        other = others[number % len(others)]
        probes = [*(f"/documents/{d}" for d in sorted(other.docs)[:1]),
                  *(f"/passages/{c}" for c in sorted(other.chunk_ids)[:1]),
                  *(f"/graph/entities/{e}" for e in sorted(other.entity_ids)[:1]),
                  f"/graph/subgraph?entity={next(iter(sorted(other.entity_ids)), 'none')}"]
        for path in probes:
            response = await self.client.get(life.base + path)
            assert response.status_code in (404, 503), response.text
            self.check(life, response, path.rsplit("/", 1)[-1].rsplit("=", 1)[-1])
        for doc_id in sorted(other.docs)[:1] if flag else []:
            response = await self.client.delete(f"{life.base}/documents/{doc_id}")
            assert response.status_code == 404, response.text
            self.check(life, response, doc_id)

    async def op_drop(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        """Delete the workspace and create it again (empty, with a new marker). With ``flag``
        every workspace settles first and every other one's content digest is unchanged."""
        others = [o for o in self.alive.values() if o is not life]
        if flag:
            for other in others:
                await self.settle(other)
            before = await asyncio.to_thread(self.digests, others)
        deleted = await self.client.delete(f"/workspaces/{life.name}")
        assert deleted.json() == {"deleted": life.name}, deleted.text
        if flag:
            assert await asyncio.to_thread(self.digests, others) == before
        created = await self.client.post("/workspaces", json={"name": life.name})
        assert created.status_code == 201, created.text
        again = self.new_life(life.name)
        assert created.json()["documents"] == created.json()["chunks"] == 0, created.text
        self.check(again, created)
        assert await self.get(again, "/documents") == {"documents": [], "next_cursor": None}

    def digests(self, lives: list[Life]) -> dict[str, dict[str, str]]:
        return {o.name: content_digest(workspace_settings(self.settings, o.name, None))
                for o in lives}

    async def op_settle(self, life: Life, number: int, flag: bool, names: list[str]) -> None:
        await self.settle(life)
        await self.check_settled(life)

    # -- settled: exact counts and answers ---------------------------------------------------

    async def settle(self, life: Life) -> dict[str, Any]:
        """``life``'s status once every document of it is indexed and no build runs (polled:
        the test only stops waiting after ``SETTLE_S``)."""
        status: dict[str, Any] = {}
        for _ in range(int(SETTLE_S / 0.25)):
            status = await self.get(life, "/status") or {}
            listed = await self.get(life, "/documents", limit=200) or {"documents": []}
            states = {d["id"]: d["state"] for d in listed["documents"]}
            if status.get("building") is False and status["counts"]["documents"] == len(
                    life.docs) and states == dict.fromkeys(life.docs, "indexed") and (
                    not life.docs or status["graphrag_ready"]):
                return status
            await asyncio.sleep(0.25)
        raise AssertionError(f"{life.name} did not settle: {status}")

    async def check_settled(self, life: Life) -> None:
        """Its counts are its own, everywhere they are shown; its answers cite only its own
        documents, and do cite them."""
        status = await self.settle(life)
        described = await self.get(life, f"/workspaces/{life.name}".removeprefix(life.base)) \
            if life.name != "default" else None
        listed = {w["name"]: w for w in (await self.client.get("/workspaces")).json()[
            "workspaces"]}
        for shown in (described, listed[life.name]):
            if shown is not None:
                assert (shown["documents"], shown["chunks"]) == (
                    len(life.docs), status["counts"]["chunks"]), (shown, status)
        if not life.docs:
            return
        question = f"Who found the {life.marker} deposit?"
        response = await self.client.post(f"{life.base}/chat", json={"message": question})
        self.check(life, response, question)
        cited = {c["id"] for c in response.json()["citations"]}
        assert cited and cited <= life.docs, (cited, life.docs)
        self.learn(life, response.json())


def done_event(text: str) -> Any:
    """The body of a streamed chat's ``done`` event."""
    for block in text.split("\n\n"):
        if block.startswith("event: done"):
            return json.loads(block.split("data: ", 1)[1])
    return None


@pytest.fixture
async def world(tmp_path: Path, backend: dict[str, str]) -> AsyncIterator[World]:
    """On each store backend (``conftest.backend``), the real app (builds on; a workspace
    idle for 2 s is unloaded, so loads happen too) with the default workspace holding one
    document of its own marker."""
    config = load_settings({}, data_dir=tmp_path / "data", embedder="hashing",
                           workspace_idle_s=2, chat_rate_per_minute=0, **backend)
    app = create_app(config, build=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost",
                                     timeout=300) as client:
            world = World(client, config)
            default = world.new_life("default")
            await world.op_add(default, 0, False, [])
            await world.settle(default)
            yield world


# No shrinking: each attempt is a minute of builds; the failing sequence is reported as drawn.
# Two sequences a run per store, to keep the suite's time: unseeded, so each run draws others.
@settings(max_examples=2, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
async def test_no_response_of_a_workspace_holds_anything_of_another(
        world: World, ops: list[tuple[str, int, int, bool]]) -> None:
    note(f"operations: {ops}")  # hypothesis prints it with a failure
    world.examples += 1
    names = [f"{letter}{world.examples}" for letter in "abc"]
    for count, name in enumerate(names, start=1):  # 1, 2 and 3 documents: counts differ
        created = await world.client.post("/workspaces", json={"name": name})
        assert created.status_code == 201, created.text
        life = world.new_life(name)
        for _ in range(count):
            await world.op_add(life, 0, False, names)
    for op in ops:
        await world.run(names, op)
    for name in [*names, "default"]:
        await world.check_settled(world.alive[name])
    for name in names:  # every operation once more, settled: graph and answers in place
        for kind in ("chat", "v1", "graph", "probe", "status"):
            for number in range(len(GRAPH_QUERIES) if kind == "graph" else 2):
                await world.run(names, (kind, names.index(name), number, number % 2 == 0))
    await world.run(names, ("drop", 0, 0, True))  # settled: the others' digests unchanged
