// The graph at a glance: what the Graph view opens on before anything is searched. The most
// central entities (GET /graph/overview) drawn in graph.js's Cytoscape instance, coloured by
// their top-level community, with a legend of the communities' titles. Clicking a node opens
// the entity and a double click expands it (graph.js binds both). No graph yet, or one without
// entities: a message over the drawing area instead of an empty canvas, tried again while the
// view stays open. The "Overview" button brings the overview back after a search.
import { ApiError, getJSON } from "./api.js";
import { $, h, replace } from "./dom.js";

const COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                 "#ff9da7", "#9c755f", "#1f77b4", "#2ca02c", "#9467bd"];
const GREY = "#999999";
const RETRY_MS = 5000;
let retry = null;
let canvas = null;  // graph.js's Cytoscape instance, known from the first call

function note(text) {
  let box = $("graph-note");
  if (!box) {
    box = h("div", { id: "graph-note", class: "graph-note", role: "status" });
    $("graph-canvas").parentElement.insertBefore(box, $("graph-canvas").nextSibling);
  }
  box.hidden = !text;
  replace(box, text || "");
}

function colouring(body) {
  const colours = new Map(body.communities.slice(0, COLOURS.length)
    .map((c, i) => [c.id, COLOURS[i]]));
  return (community) => colours.get(community) || GREY;
}

function legend(body, colourOf) {
  const shown = body.communities.slice(0, COLOURS.length);
  const items = shown.map((c) => h("span", { class: "legend-item", title: `${c.size} entities` },
    h("span", { class: "swatch", dataset: { colour: colourOf(c.id) } }), c.title));
  if (body.nodes.some((n) => colourOf(n.community) === GREY)) {
    items.push(h("span", { class: "legend-item" },
      h("span", { class: "swatch", dataset: { colour: GREY } }), "other communities, or none"));
  }
  const box = $("graph-legend");
  replace(box, h("span", { class: "legend-title" }, "Communities:"), items);
  for (const swatch of box.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
}

function paint(cy, body) {
  const colourOf = colouring(body);
  cy.elements().remove();
  cy.add([
    ...body.nodes.map((n) => ({ group: "nodes", classes: "overview", data: {
      id: n.id, name: n.name, type: n.type, degree: n.degree, community: n.community,
      colour: colourOf(n.community) } })),
    ...body.edges.map((e) => ({ group: "edges", classes: "overview", data: {
      id: `${e.source}|${e.target}`, source: e.source, target: e.target, label: e.label,
      weight: e.weight } })),
  ]);
  cy.layout({ name: "cose", animate: false, numIter: 500, nodeRepulsion: () => 9000,
              idealEdgeLength: () => 70 }).run();
  $("graph-canvas").dataset.nodes = String(body.nodes.length);
  $("graph-canvas").dataset.edges = String(body.edges.length);
  $("graph-canvas").dataset.overview = "true";
  legend(body, colourOf);
  replace($("graph-message"), `Overview: the ${body.nodes.length} most connected of ` +
    `${body.total_entities} entities, coloured by community. Click one to read it, double-click ` +
    "to expand it, or search an entity to draw its neighbourhood.");
}

async function load(cy, again = false) {
  clearTimeout(retry);
  const limit = Math.min(Number($("graph-limit").value) || 50, 100);
  let body;
  try {
    body = await getJSON(`/graph/overview?limit=${limit}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) {
      note("The knowledge graph is not built yet. It opens here as soon as the graph stage " +
           "has run (the Status view shows its progress); you can chat with the documents meanwhile.");
      retry = setTimeout(() => { if (!$("view-graph").hidden && cy.elements().empty()) load(cy); }, RETRY_MS);
    } else {
      note(`Cannot draw the overview: ${e.message}`);
    }
    return;
  }
  if (!again && !cy.elements().empty() && cy.nodes(".overview").empty()) return;  // a search drew meanwhile
  if (!body.nodes.length) {
    note("The graph has no entities yet: add documents (the Documents view) that name people, " +
         "places, organisations or things, and they appear here once indexed.");
    return;
  }
  note("");
  paint(cy, body);
}

// Draws the overview in `cy` (graph.js's drawing), now.
export function openOverview(cy) {
  if (!canvas) {
    canvas = cy;
    cy.on("add", (ev) => {
      if (ev.target.hasClass("overview")) return;
      note("");
      delete $("graph-canvas").dataset.overview;
    });
    const button = h("button", { type: "button", id: "graph-overview",
                                 title: "the most connected entities, by community" }, "Overview");
    button.addEventListener("click", () => { $("entity").hidden = true; load(cy, true); });
    $("graph-export").before(button);
  }
  return load(cy);
}
