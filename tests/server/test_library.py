"""The agent's view of the documents: a deleted upload is left out of answers at once, and a
community report drawn from a passage that is gone is not shown (it may quote it)."""

from __future__ import annotations

from pathlib import Path

from graphready.agent.agent import OfflineAgent
from graphready.config import load_settings
from graphready.knowledge import Community
from graphready.retrieval.graph_global import CommunityHit
from graphready.retrieval.pipeline import Retrieval
from graphready.server.library import Library, VisibleCatalog
from graphready.stores.base import Hit
from graphready.stores.registry import open_stores
from support.catalog_data import apply


def test_hidden_documents_leave_answers_and_their_reports_with_them(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        apply(stores.catalog, ".uploads/x.json", {"kept": "Herons nest by the mill pond.",
                                                   "gone": "Herons were counted in May."})
        ids = {c.doc_id: c.id for c in stores.catalog.iter_chunks()}
        library = Library(settings, stores)
        agent = OfflineAgent(VisibleCatalog(stores.catalog, library))
        hits = [Hit(ids["gone"], 2.0), Hit(ids["kept"], 1.0)]
        found = Retrieval("retrieval", hits, ("keyword_search",))
        assert {c.id for c in agent.answer("herons", found).citations} == {"gone", "kept"}

        library.hide("gone")
        answer = agent.answer("herons", found)
        assert {c.id for c in answer.citations} == {"kept"} and "May" not in answer.answer

        report = Community("k1", 0, None, ("e1",), "Herons", "Herons were counted in May.",
                           (ids["gone"],))
        other = Community("k2", 0, None, ("e2",), "Mill", "Herons nest by the mill pond.",
                          (ids["kept"],))
        themes = Retrieval("graph_global", [], ("graph_global_search",),
                           communities=(CommunityHit(report, 1.0), CommunityHit(other, 0.5)))
        answer = agent.answer("What are the main themes?", themes)
        assert "May" not in answer.answer and "mill pond" in answer.answer
        assert [c.id for c in answer.citations] == ["kept"]
        library.unhide(["gone"])
        assert "May" in agent.answer("What are the main themes?", themes).answer
    finally:
        stores.close()


def test_the_language_model_never_reads_a_report_drawn_from_a_deleted_passage(
        tmp_path: Path) -> None:
    from graphready.agent.llm_agent import LLMAgent
    from graphready.knowledge import Entity, KnowledgeGraph
    from graphready.retrieval.graph_global import CommunityIndex
    from graphready.retrieval.graph_local import GraphIndex
    from graphready.retrieval.pipeline import Toolset
    from support.scripted_llm import ScriptedChatModel, reply

    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        apply(stores.catalog, ".uploads/x.json", {"kept": "Herons nest by the mill pond.",
                                                   "gone": "Herons were counted in May."})
        ids = {c.doc_id: c.id for c in stores.catalog.iter_chunks()}
        communities = (
            Community("k1", 0, None, ("e1",), "Heron count", "Herons were counted in May.",
                      (ids["gone"],)),
            Community("k2", 0, None, ("e2",), "Heron nests", "Herons nest by the mill pond.",
                      (ids["kept"],)))
        graph = KnowledgeGraph((Entity("e1", "Heron", "CONCEPT", (ids["gone"],)),
                                Entity("e2", "Mill", "CONCEPT", (ids["kept"],))), (),
                               communities)
        tools = Toolset(keyword=stores.keyword, graph=GraphIndex(graph),
                        communities=CommunityIndex(communities))
        library = Library(settings, stores)
        model = ScriptedChatModel(default=reply("Herons nest by the pond [1]."))
        agent = LLMAgent(VisibleCatalog(stores.catalog, library), model, tool_calling=False)

        def prompt_after(question: str) -> str:
            agent.chat(tools, question, "graph_global", 5)
            return str(model.prompts[-1].messages[-1]["content"])

        assert "May" in prompt_after("herons")
        library.hide("gone")
        seen = prompt_after("herons")
        assert "May" not in seen and "mill pond" in seen
    finally:
        stores.close()
