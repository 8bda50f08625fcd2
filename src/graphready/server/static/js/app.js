// The app: five views on one page, chosen by the address's #fragment; each view's module
// sets itself up once, so the conversation and the drawing survive switching views.
import * as chat from "./chat.js";
import * as communities from "./communities.js";
import * as documents from "./documents.js";
import { $ } from "./dom.js";
import * as graph from "./graph.js";
import * as passage from "./passage.js";
import * as status from "./status.js";

const VIEWS = ["chat", "documents", "graph", "communities", "status"];
const ON_SHOW = { documents: documents.refresh, graph: graph.shown,
                  communities: communities.shown, status: status.poll };

function show(view) {
  if (!VIEWS.includes(view)) view = "chat";
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (location.hash !== `#${view}`) history.replaceState(null, "", `${location.pathname}${location.search}#${view}`);
  const hook = ON_SHOW[view];
  if (hook) hook();
}

window.addEventListener("hashchange", () => show(location.hash.slice(1)));
window.addEventListener("graphready:go", (ev) => show(ev.detail));

passage.init();
chat.init();
documents.init();
graph.init();
communities.init();
status.init();
show(location.hash.slice(1) || "chat");
