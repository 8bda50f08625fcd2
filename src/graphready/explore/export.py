"""The whole graph as GraphML (Gephi, Cytoscape, NetworkX, yEd) or as node-link JSON (NetworkX's
``node_link_graph``, d3), written a batch at a time: the caller streams the pieces, so memory
does not grow with the graph. Document ids and community ids are attributes of each node (and
document ids of each edge), as JSON arrays in a string, since GraphML has no list type.
``curated`` marks the nodes and edges a curator's edit made or changed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from graphready.knowledge import Relation

from .view import GraphView

BATCH = 500
# Characters XML 1.0 cannot hold, even escaped: documents are untrusted input.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

NODE_KEYS = (("name", "string"), ("type", "string"), ("description", "string"),
             ("degree", "int"), ("passages", "int"), ("documents", "string"),
             ("communities", "string"), ("community", "string"), ("curated", "boolean"))
EDGE_KEYS = (("label", "string"), ("weight", "double"), ("description", "string"),
             ("passages", "int"), ("documents", "string"), ("curated", "boolean"))


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _documents(view: GraphView, chunk_ids: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(view.chunk_docs[c] for c in chunk_ids if c in view.chunk_docs))


def node_attributes(view: GraphView, position: int) -> dict[str, Any]:
    """What the export says about one entity."""
    entity = view.entities[position]
    communities = [c.id for c in view.communities_of(position)]
    return {"name": entity.name, "type": entity.type, "description": entity.description,
            "degree": int(view.degree[position]), "passages": len(entity.chunk_ids),
            "documents": json.dumps(view.documents_of(entity)),
            "communities": json.dumps(communities),
            "community": communities[0] if communities else "",
            "curated": view.curated(entity.id)}


def edge_attributes(view: GraphView, relation: Relation) -> dict[str, Any]:
    """What the export says about one relation."""
    return {"label": relation.label, "weight": relation.weight,
            "description": relation.description, "passages": len(relation.chunk_ids),
            "documents": json.dumps(_documents(view, relation.chunk_ids)),
            "curated": view.curated_relation(relation)}


def _data(attributes: dict[str, Any], prefix: str) -> str:
    parts = []
    for key, value in attributes.items():
        if value == "" or value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) \
            else repr(float(value)) if isinstance(value, float) else str(value)
        parts.append(f'<data key="{prefix}_{key}">{escape(_clean(text))}</data>')
    return "".join(parts)


def graphml(view: GraphView) -> Iterator[bytes]:
    """The graph as GraphML, in pieces of at most ``BATCH`` nodes or edges."""
    head = ['<?xml version="1.0" encoding="UTF-8"?>\n<graphml '
            'xmlns="http://graphml.graphdrawing.org/xmlns">\n']
    for prefix, target, keys in (("n", "node", NODE_KEYS), ("e", "edge", EDGE_KEYS)):
        for name, kind in keys:
            head.append(f'<key id="{prefix}_{name}" for="{target}" attr.name="{name}" '
                        f'attr.type="{kind}"/>\n')
    head.append('<graph id="graphready" edgedefault="undirected">\n')
    yield "".join(head).encode()
    for start in range(0, len(view.entities), BATCH):
        lines = []
        for position in range(start, min(start + BATCH, len(view.entities))):
            entity_id = view.entities[position].id
            lines.append(f"<node id={quoteattr(_clean(entity_id))}>"
                         f"{_data(node_attributes(view, position), 'n')}</node>\n")
        yield "".join(lines).encode()
    for start in range(0, len(view.relations), BATCH):
        lines = [f"<edge source={quoteattr(_clean(r.source))} target={quoteattr(_clean(r.target))}>"
                 f"{_data(edge_attributes(view, r), 'e')}</edge>\n"
                 for r in view.relations[start: start + BATCH]
                 if view.position(r.source) is not None
                 and view.position(r.target) is not None]
        yield "".join(lines).encode()
    yield b"</graph>\n</graphml>\n"


def node_link_json(view: GraphView) -> Iterator[bytes]:
    """The graph as node-link JSON: ``{"directed", "multigraph", "graph", "nodes": [{"id",
    ...}], "edges": [{"source", "target", ...}]}``, in pieces."""
    yield b'{"directed": false, "multigraph": false, "graph": {"name": "graphready"}, "nodes": ['
    for start in range(0, len(view.entities), BATCH):
        items = [json.dumps({"id": view.entities[p].id, **node_attributes(view, p)})
                 for p in range(start, min(start + BATCH, len(view.entities)))]
        yield (("," if start else "") + ",".join(items)).encode()
    yield b'], "edges": ['
    first = True
    for start in range(0, len(view.relations), BATCH):
        items = [json.dumps({"source": r.source, "target": r.target, **edge_attributes(view, r)})
                 for r in view.relations[start: start + BATCH]
                 if view.position(r.source) is not None and view.position(r.target) is not None]
        if items:
            yield (("" if first else ",") + ",".join(items)).encode()
            first = False
    yield b"]}\n"
