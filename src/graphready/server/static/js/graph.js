// The graph: search an entity, draw its neighbourhood (Cytoscape.js, vendored), click a node to
// read the entity (passages, relations, communities), expand it, colour by community; click an
// edge to read the relation. Curated entities and relations (changed by an edit, curation.js)
// are drawn with a purple outline or a dashed purple line; selecting several nodes (shift- or
// ctrl-click, shift-drag) offers to merge them.
import cytoscape from "../vendor/cytoscape/cytoscape.esm.min.js";
import { getJSON, request, url } from "./api.js";
import * as curation from "./curation.js";
import { openPassage } from "./passage.js";
import { openOverview } from "./overview.js";
import { $, h, replace } from "./dom.js";

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                 "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c", "#d62728", "#9467bd"];
const NO_COMMUNITY = "#999999";
const colours = new Map();  // community id -> colour: the most frequent communities drawn
const legend = new Map();   // community id -> title, for those with a colour of their own
let others = false;         // whether some drawn entity is in a community without a colour
let cy = null;
let highlight = { seeds: [], reached: [] };
let centre = null;  // the id of the entity the drawing is centred on
let opened = null;  // the id of the entity whose panel is open

function colour(community) {
  if (community && !colours.has(community) && colours.size < PALETTE.length) {
    colours.set(community, PALETTE[colours.size]);
  }
  if (!community || !colours.has(community)) { others = true; return NO_COMMUNITY; }
  return colours.get(community);
}

// The palette goes to the communities with the most entities in the drawing.
function assignColours(sub) {
  colours.clear();
  legend.clear();
  others = false;
  const counts = new Map();
  for (const n of sub.nodes) if (n.community) counts.set(n.community, (counts.get(n.community) || 0) + 1);
  for (const [id] of [...counts].sort((a, b) => b[1] - a[1])) colour(id);
  others = false;
}

function graph() {
  if (cy) return cy;
  cy = cytoscape({
    container: $("graph-canvas"),
    minZoom: 0.1, maxZoom: 2,
    style: [
      { selector: "node", style: {
        "background-color": "data(colour)", label: "data(name)", "font-size": 10,
        width: "mapData(degree, 0, 50, 14, 40)", height: "mapData(degree, 0, 50, 14, 40)",
        "text-valign": "bottom", "text-margin-y": 2, color: "#222",
        "text-background-color": "#fff", "text-background-opacity": 0.7 } },
      { selector: "node.center", style: { "border-width": 3, "border-color": "#111" } },
      { selector: "node.seed", style: { "border-width": 4, "border-color": "#d62728" } },
      { selector: "node.reached", style: { "border-width": 3, "border-color": "#ff7f0e", "border-style": "dashed" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#000" } },
      { selector: "node.curated", style: { "outline-width": 3, "outline-color": "#7b3fb5",
                                           "outline-offset": 2 } },
      { selector: "edge", style: {
        width: "mapData(weight, 1, 10, 1, 5)", "line-color": "#bbb", "curve-style": "haystack",
        opacity: 0.8 } },
      { selector: "edge.curated", style: { "line-color": "#7b3fb5", "line-style": "dashed",
                                           "curve-style": "straight", opacity: 1 } },
      { selector: "edge.chosen", style: { "line-color": "#111", label: "data(label)",
                                          "font-size": 9, "text-rotation": "autorotate" } },
    ],
  });
  cy.on("tap", "node", (ev) => openEntity(ev.target.id()));
  cy.on("dbltap", "node", (ev) => expand(ev.target.id()));
  cy.on("tap", "edge", (ev) => {
    opened = null;
    cy.edges().removeClass("chosen");
    ev.target.addClass("chosen");
    curation.openRelation($("entity"), ev.target.data());
  });
  cy.on("select unselect", "node", () => curation.selected(
    cy.nodes(":selected").map((n) => ({ id: n.id(), name: n.data("name") }))));
  return cy;
}

function elements(sub) {
  curation.remember(sub.nodes);
  const nodes = sub.nodes.map((n) => ({ group: "nodes", classes: n.curated ? "curated" : "", data: {
    id: n.id, name: n.name, type: n.type, degree: n.degree, community: n.community,
    colour: colour(n.community) } }));
  const edges = sub.edges.map((e) => ({ group: "edges", classes: e.curated ? "curated" : "", selectable: false, data: {
    id: `${e.source}|${e.target}`, source: e.source, target: e.target, label: e.label,
    weight: e.weight, curated: Boolean(e.curated) } }));
  return [...nodes, ...edges];
}

function drawLegend() {
  const box = $("graph-legend");
  replace(box, [...legend].filter(([id]) => colours.has(id)).map(([id, title]) =>
    h("span", { class: "legend-item" }, h("span", { class: "swatch", "data-colour": colours.get(id) }), title)),
    others ? h("span", { class: "legend-item" }, h("span", { class: "swatch", "data-colour": NO_COMMUNITY }),
               "other communities, or none") : null);
  // colours are set through the DOM (no inline style attribute in markup)
  for (const swatch of box.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
}

// A few entities: the centre in the middle, the others on a ring around it (their names can be
// read); up to 150: force-directed; more: concentric by degree.
function layout() {
  const c = graph();
  const n = c.nodes().length;
  const ring = (node) => (node.hasClass("center") ? 1 : 0);
  c.layout(n < 16 ? { name: "concentric", animate: false, concentric: ring, levelWidth: () => 1,
                      minNodeSpacing: 60, padding: 40 }
    : n > 150 ? { name: "concentric", animate: false, minNodeSpacing: 4,
                  concentric: (node) => (node.hasClass("center") ? 100 : node.degree()), levelWidth: () => 4 }
    : { name: "cose", animate: false, numIter: 400, nodeRepulsion: () => 6000,
        idealEdgeLength: () => 60 }).run();
}

function mark() {
  const c = graph();
  c.nodes().removeClass("seed reached");
  for (const id of highlight.seeds) c.getElementById(id).addClass("seed");
  for (const id of highlight.reached) c.getElementById(id).addClass("reached");
}

async function subgraph(id, hops) {
  const limit = $("graph-limit").value;
  return getJSON(`/graph/subgraph?entity=${encodeURIComponent(id)}&hops=${hops}&limit=${limit}`);
}

function addLegend(sub) {
  for (const c of sub.communities) legend.set(c.id, c.title);
  drawLegend();
}

// Draws the neighbourhood of entity `id` and opens `open`'s panel (the centre's by default).
export async function draw(id, open = id) {
  try {
    const sub = await subgraph(id, $("graph-hops").value);
    centre = id;
    const c = graph();
    assignColours(sub);
    c.elements().remove();
    c.add(elements(sub));
    c.getElementById(sub.center).addClass("center");
    addLegend(sub);
    mark();
    layout();
    counted();
    replace($("graph-message"), `${sub.nodes.length} entities, ${sub.edges.length} relations` +
      (sub.truncated ? ` (the strongest ${sub.limit}; raise the limit to see more)` : ""));
    curation.selected([]);
    openEntity(open);
  } catch (e) {
    replace($("graph-message"), `Cannot draw the graph: ${e.message}`);
  }
}

export async function expand(id) {
  try {
    const sub = await subgraph(id, 1);
    const c = graph();
    const fresh = elements(sub).filter((el) => c.getElementById(el.data.id).empty());
    c.add(fresh);
    addLegend(sub);
    mark();
    layout();
    counted();
    replace($("graph-message"), `${c.nodes().length} entities, ${c.edges().length} relations (expanded ${sub.nodes[0].name}: ${fresh.length} new elements)`);
  } catch (e) {
    replace($("graph-message"), `Cannot expand: ${e.message}`);
  }
}

function entityButton(entity) {
  return h("button", { type: "button", class: "link", title: "centre the drawing here",
                       onclick: () => draw(entity.id) }, entity.name);
}

function expandButton(entity) {
  return h("button", { type: "button", class: "small", title: `add the neighbours of ${entity.name} to the drawing`,
                       "aria-label": `expand ${entity.name}`, onclick: () => expand(entity.id) }, "+");
}

function counted() {
  const c = graph();
  $("graph-canvas").dataset.nodes = String(c.nodes().length);
  $("graph-canvas").dataset.edges = String(c.edges().length);
}

export async function openEntity(id) {
  opened = id;
  const panel = $("entity");
  panel.hidden = false;
  replace(panel, h("p", { class: "muted" }, "Loading…"));
  try {
    const e = await getJSON(`/graph/entities/${encodeURIComponent(id)}`);
    replace(panel,
      h("h3", {}, e.name, e.curated ? h("span", { class: "curated-badge", title: "changed by an edit" }, "curated") : null),
      h("p", { class: "muted" }, `${e.type} · ${e.degree} relations · ${e.passage_count} passages · ${e.document_count} documents`),
      e.aliases.length ? h("p", { class: "aliases" }, h("strong", {}, "Also known as: "), e.aliases.join(" · ")) : null,
      e.rewriting ? h("p", { class: "rewriting" }, "Being rewritten: a deleted document mentioned " +
        "this entity, so its description is withheld until the graph has been rebuilt without it.")
        : e.description ? h("p", {}, e.description) : null,
      h("div", { class: "buttons" },
        h("button", { type: "button", onclick: () => expand(e.id) }, "Expand"),
        h("button", { type: "button", onclick: () => draw(e.id) }, "Centre here")),
      curation.entityTools(e),
      e.communities.length ? h("div", {}, h("h4", {}, "Communities"), h("ul", {}, e.communities.map((c) =>
        h("li", {}, `level ${c.level}: `, h("button", { type: "button", class: "link",
          onclick: () => window.dispatchEvent(new CustomEvent("graphready:show-community", { detail: c })) }, c.title))))) : null,
      h("h4", {}, `Relations (${e.degree})`), h("ul", { class: "relations" }, e.relations.map((r) =>
        h("li", {}, expandButton(r.other), h("div", {}, entityButton(r.other), ` ${r.label} · weight ${r.weight} `,
          r.curated ? h("span", { class: "curated-badge" }, "curated") : null, " ",
          curation.relationDelete(e, r),
          r.description ? h("div", { class: "muted" }, r.description) : null)))),
      h("h4", {}, `Passages (${e.passage_count})`), h("ul", { class: "passages" }, e.passages.map((p) =>
        h("li", {}, h("button", { type: "button", class: "link", onclick: () => openPassage(p.chunk_id) }, p.title),
          h("div", { class: "snippet" }, p.snippet)))));
  } catch (e) {
    replace(panel, h("p", { class: "error" }, `Cannot open the entity: ${e.message}`));
  }
}

async function search(q) {
  const list = $("graph-results");
  try {
    const body = await getJSON(`/graph/entities?q=${encodeURIComponent(q)}&limit=30`);
    curation.remember(body.entities);
    replace(list, body.entities.map((e) => h("li", {},
      h("button", { type: "button", class: "result", onclick: () => draw(e.id) }, e.name,
        h("span", { class: "muted" }, ` ${e.type} · ${e.degree}`)))));
    if (!body.entities.length) list.appendChild(h("li", { class: "muted" }, "No entity matches."));
    replace($("graph-message"), `${body.total} entities match`);
    return body.entities;
  } catch (e) {
    replace(list);
    replace($("graph-message"), e.message);
    return [];
  }
}

async function exportGraph(ev) {
  ev.preventDefault();
  try {
    const blob = await (await request("/graph/export?format=graphml")).blob();
    const link = h("a", { href: URL.createObjectURL(blob), download: "graphready-graph.graphml" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (e) { replace($("graph-message"), `Cannot export: ${e.message}`); }
}

// Draws the view again once edits show: the search results listed again, the drawing centred
// where it was (or on the entity that took the centre's place in a merge), with the open
// panel's entity (or its replacement) open. `moved`
// maps each removed entity's id to its replacement's, or to null (deleted).
async function redraw(moved) {
  const after = (id) => (id !== null && moved.has(id) ? moved.get(id) : id);
  const [at, open] = [after(centre), after(opened)];
  const q = $("graph-q").value.trim();
  if (q && $("graph-results").children.length) await search(q);  // the list may have changed too
  if (at) { await draw(at, open ?? at); return; }
  if (centre === null) { if (open) openEntity(open); return; }
  centre = null;
  graph().elements().remove();
  counted();
  replace($("graph-message"), "The entity drawn was deleted: search another one.");
  if (open) openEntity(open); else $("entity").hidden = true;
}

// The drawing area was hidden: tell Cytoscape its size now that it shows.
export function shown() {
  if (cy) { cy.resize(); }
  if (!cy || cy.elements().empty()) openOverview(graph());  // nothing searched: the overview
  curation.shown();
}

export function init() {
  curation.init({ redraw, open: (id) => draw(id) });
  $("graph-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const found = await search($("graph-q").value.trim());
    if (found.length) draw(found[0].id);
  });
  $("graph-export").href = url("/graph/export?format=graphml");
  $("graph-export").addEventListener("click", exportGraph);
  window.addEventListener("graphready:show-entity", (ev) => {
    highlight = ev.detail.highlight || { seeds: [], reached: [] };
    window.dispatchEvent(new CustomEvent("graphready:go", { detail: "graph" }));
    draw(ev.detail.id);
  });
}
