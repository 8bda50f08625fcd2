"""Graphs and extractions written before descriptions and ratings existed still load: the
extraction codec, the item JSON of the server stores, and SQLite files of the older schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from graphready.knowledge import (
    ChunkExtraction,
    Community,
    Entity,
    ExtractedRelation,
    KnowledgeGraph,
    Mention,
    Relation,
)
from graphready.stores.graph_codec import decode_extraction, decode_graph, encode_extraction
from graphready.stores.sqlite.graph import SqliteGraphStore

OLD_PAYLOAD = '{"m":[["Marie Curie","marie curie","PERSON"]],"r":[["a","b","met"]]}'


def test_old_extraction_payload_decodes_with_defaults() -> None:
    decoded = decode_extraction("c1", OLD_PAYLOAD)
    assert decoded == ChunkExtraction("c1", (Mention("Marie Curie", "marie curie", "PERSON"),),
                                      (ExtractedRelation("a", "b", "met"),))
    assert encode_extraction(decoded) == OLD_PAYLOAD  # offline payloads are unchanged


def test_old_graph_items_decode_with_defaults() -> None:
    graph = decode_graph([
        '[0,0,"a","Marie Curie","PERSON",["c1"]]',
        '[1,"a","b","met",2.0,["c1"]]',
        '[2,0,"k",0,null,["a","b"],"Title","Summary.",["c1"]]',
        '[0,1,"b","Radium","CONCEPT",[]]',
    ])
    assert graph == KnowledgeGraph(
        (Entity("a", "Marie Curie", "PERSON", ("c1",)), Entity("b", "Radium", "CONCEPT", ())),
        (Relation("a", "b", "met", 2.0, ("c1",)),),
        (Community("k", 0, None, ("a", "b"), "Title", "Summary.", ("c1",)),))


OLD_SCHEMA = (
    "CREATE TABLE extractions (chunk_id TEXT PRIMARY KEY, payload TEXT NOT NULL)",
    "CREATE TABLE entities (id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL)",
    "CREATE TABLE entity_chunks (entity_id TEXT NOT NULL, chunk_id TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, chunk_id)) WITHOUT ROWID",
    "CREATE TABLE relations (source TEXT NOT NULL, target TEXT NOT NULL, label TEXT NOT NULL,"
    " weight REAL NOT NULL, chunk_ids TEXT NOT NULL, PRIMARY KEY (source, target)) WITHOUT ROWID",
    "CREATE TABLE communities (id TEXT PRIMARY KEY, level INTEGER NOT NULL, parent TEXT,"
    " title TEXT NOT NULL, summary TEXT NOT NULL, entity_ids TEXT NOT NULL,"
    " chunk_ids TEXT NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO extractions VALUES ('c1', '" + OLD_PAYLOAD + "')",
    "INSERT INTO entities VALUES ('a', 'Marie Curie', 'PERSON')",
    "INSERT INTO entity_chunks VALUES ('a', 'c1')",
    "INSERT INTO relations VALUES ('a', 'a2', 'met', 1.0, '[\"c1\"]')",
    "INSERT INTO entities VALUES ('a2', 'Pierre Curie', 'PERSON')",
    "INSERT INTO communities VALUES ('k', 0, NULL, 'T', 'S.', '[\"a\",\"a2\"]', '[\"c1\"]')",
    "INSERT INTO meta VALUES ('graph_built', '1'), ('fingerprint', 'fp-old')",
)


def test_sqlite_file_of_the_old_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "graph.sqlite3"
    conn = sqlite3.connect(path)
    for statement in OLD_SCHEMA:
        conn.execute(statement)
    conn.commit()
    conn.close()
    store = SqliteGraphStore(path)
    try:
        assert store.load_graph() == KnowledgeGraph(
            (Entity("a", "Marie Curie", "PERSON", ("c1",)),
             Entity("a2", "Pierre Curie", "PERSON", ())),
            (Relation("a", "a2", "met", 1.0, ("c1",)),),
            (Community("k", 0, None, ("a", "a2"), "T", "S.", ("c1",)),))
        assert store.synced_fingerprint() == "fp-old"
        assert store.extractor_id() is None
        assert [x.chunk_id for x in store.iter_extractions()] == ["c1"]
        new = KnowledgeGraph((Entity("b", "Radium", "CONCEPT", (), "An element."),), (),
                             (Community("j", 0, None, ("b",), "R", "S.", (), 3.0),))
        store.replace_graph(new, "fp-new")
        assert store.load_graph() == new
    finally:
        store.close()
    again = SqliteGraphStore(path)  # a second open finds nothing left to migrate
    try:
        assert again.load_graph() == new
    finally:
        again.close()
