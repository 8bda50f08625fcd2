"""The export: GraphML and node-link JSON that NetworkX reads back whole, with document and
community ids as attributes, hostile text kept as text, and written in pieces."""

from __future__ import annotations

import io
import json

import networkx as nx

from graphready.explore import export
from graphready.explore.view import GraphView
from support.graph_data import CHUNK_DOCS, HOSTILE, sample_graph


def view() -> GraphView:
    return GraphView(sample_graph(), CHUNK_DOCS)


def test_graphml_reads_back_in_networkx_with_every_node_edge_and_attribute() -> None:
    v = view()
    pieces = list(export.graphml(v))
    assert len(pieces) > 3  # streamed in batches, not one string
    g = nx.read_graphml(io.BytesIO(b"".join(pieces)))
    assert g.number_of_nodes() == len(v.entities)
    assert g.number_of_edges() == len(v.relations)
    amelie = g.nodes["e-amelie"]
    assert amelie["name"] == "Amélie Poulain" and amelie["type"] == "PERSON"
    assert json.loads(amelie["documents"]) == ["doc-2"]
    assert json.loads(amelie["communities"]) == ["k-top", "k-low"]
    assert amelie["community"] == "k-top" and amelie["passages"] == 2
    assert amelie["description"].startswith('<script>alert(1)</script> & "quotes"')
    edge = g.edges["e-amelie", "e-jean"]
    assert edge["label"].startswith("<script>") and edge["weight"] == 3.0
    assert HOSTILE not in amelie["description"]  # control characters replaced, not dropped


def test_node_link_json_reads_back_in_networkx() -> None:
    v = view()
    data = json.loads(b"".join(export.node_link_json(v)))
    g = nx.node_link_graph(data, edges="edges")
    assert g.number_of_nodes() == len(v.entities)
    assert g.number_of_edges() == len(v.relations)
    assert g.nodes["e-hub"]["degree"] == 120
    assert json.loads(g.nodes["e-amelie"]["documents"]) == ["doc-2"]


def test_an_empty_graph_exports() -> None:
    from graphready.knowledge import KnowledgeGraph

    empty = GraphView(KnowledgeGraph(), {})
    g = nx.read_graphml(io.BytesIO(b"".join(export.graphml(empty))))
    assert g.number_of_nodes() == 0
    assert json.loads(b"".join(export.node_link_json(empty)))["nodes"] == []
