"""Response bodies of the graph API (``graph_api.py``); they make its part of the OpenAPI
schema."""

from __future__ import annotations

from pydantic import BaseModel, Field

CURATED = "True when a curator's edit made or changed this {what} (GET /graph/edits)"
REWRITING = ("True while a deleted document that contributed to it is hidden: {what} is "
             "withheld (empty) until the graph stage has rebuilt the graph without it")


class EntityOut(BaseModel):
    """An entity in a list."""

    id: str
    name: str
    type: str
    degree: int = Field(description="How many relations it has")
    passages: int = Field(description="How many passages mention it")
    curated: bool = Field(default=False, description=CURATED.format(what="entity"))
    aliases: list[str] = Field(default_factory=list, description="The names curators' edits "
                                                                 "merged into it or renamed "
                                                                 "away (search finds them)")


class EntityPage(BaseModel):
    """A page of entities."""

    entities: list[EntityOut]
    total: int = Field(description="Entities matching, over all pages")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                                "on the last")
    types: list[str] = Field(description="Every entity type of the graph")


class PassageOut(BaseModel):
    """A passage that mentions an entity."""

    chunk_id: str
    document_id: str
    title: str
    snippet: str


class DocumentRef(BaseModel):
    """A document that mentions an entity."""

    id: str
    title: str


class CommunityRef(BaseModel):
    """A community, briefly."""

    id: str
    level: int
    title: str
    size: int = Field(description="How many entities it holds")


class RelationOut(BaseModel):
    """A relation of an entity, with the entity at its other end."""

    other: EntityOut
    label: str
    description: str
    weight: float
    passages: int
    curated: bool = Field(default=False, description=CURATED.format(what="relation"))


class EntityDetail(BaseModel):
    """An entity with its passages, documents, relations and communities."""

    id: str
    name: str
    type: str
    description: str
    rewriting: bool = Field(description=REWRITING.format(what="its description"))
    curated: bool = Field(default=False, description=CURATED.format(what="entity"))
    aliases: list[str] = Field(description="Its other names in the documents: other spellings, "
                                           "and short forms merged into it (a surname, an "
                                           "acronym), the most frequent first")
    degree: int
    passage_count: int
    passages: list[PassageOut] = Field(description="The first passages that mention it")
    document_count: int
    documents: list[DocumentRef] = Field(description="The first documents that mention it")
    relations: list[RelationOut] = Field(description="Its strongest relations")
    communities: list[CommunityRef] = Field(description="Its community at each level, top "
                                                        "level first")


class NodeOut(EntityOut):
    """An entity drawn in a subgraph."""

    hop: int = Field(description="0 for the centre, 1 or 2 for how far from it")
    community: str | None = Field(description="Its top-level community (to colour by)")


class EdgeOut(BaseModel):
    """A relation drawn in a subgraph."""

    source: str
    target: str
    label: str
    weight: float
    curated: bool = Field(default=False, description=CURATED.format(what="relation"))


class SubgraphOut(BaseModel):
    """The neighbourhood of an entity, ready to draw."""

    center: str
    hops: int
    limit: int
    truncated: bool = Field(description="True when the neighbourhood holds more than `limit` "
                                        "entities (the strongest were kept)")
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    communities: list[CommunityRef] = Field(description="The top-level communities of the "
                                                        "nodes (the legend)")


class OverviewNode(EntityOut):
    """An entity drawn in the overview."""

    community: str | None = Field(description="Its top-level community (to colour by)")


class GraphOverview(BaseModel):
    """The most central entities and the relations among them: the graph at a glance."""

    limit: int
    total_entities: int = Field(description="Entities in the whole graph")
    nodes: list[OverviewNode] = Field(description="The most central entities (by how many "
                                                  "relations they have), spread over the "
                                                  "top-level communities, most central first")
    edges: list[EdgeOut] = Field(description="The strongest relations among them")
    communities: list[CommunityRef] = Field(description="The top-level communities of the "
                                                        "nodes, most nodes first (the legend)")


class CommunityOut(CommunityRef):
    """A community in a list."""

    summary: str
    rating: float
    rewriting: bool = Field(description=REWRITING.format(
        what="its report (the title is its members' names, the rating 0)"))
    parent: str | None
    children: int


class CommunityPage(BaseModel):
    """A page of communities."""

    communities: list[CommunityOut]
    total: int
    next_cursor: str | None
    levels: list[int] = Field(description="The levels of the hierarchy (0 is the top)")


class CommunityDetail(BaseModel):
    """A community with its report, members, parent and children."""

    id: str
    level: int
    title: str
    summary: str = Field(description="Its report")
    rating: float
    rewriting: bool = Field(description=REWRITING.format(
        what="its report (the title is its members' names, the rating 0)"))
    size: int
    parent: CommunityRef | None
    children: list[CommunityRef]
    members: list[EntityOut] = Field(description="Its entities, highest degree first (at "
                                                 "most 200)")
    passages: int = Field(description="Passages its report was drawn from")


class PassageText(BaseModel):
    """A passage, whole."""

    chunk_id: str
    document_id: str
    title: str
    text: str
