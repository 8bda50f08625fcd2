// The app: six views on one page, chosen by the address's #fragment; each view's module
// sets itself up once, so the conversation and the drawing survive switching views. The page
// is one workspace's (workspace.js): a workspace the server does not have (or the key may not
// use, the default at / included) gets a message and the list of those it has, not empty views.
import * as chat from "./chat.js";
import * as communities from "./communities.js";
import * as documents from "./documents.js";
import { $ } from "./dom.js";
import * as graph from "./graph.js";
import * as passage from "./passage.js";
import * as status from "./status.js";
import * as workspaces from "./workspaces.js";

const VIEWS = ["chat", "documents", "graph", "communities", "status", "workspaces"];
const ON_SHOW = { documents: documents.refresh, graph: graph.shown,
                  communities: communities.shown, status: status.poll, workspaces: workspaces.shown };

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

async function start() {
  workspaces.init();
  const unknown = await workspaces.check();
  if (unknown) {
    workspaces.missing(unknown);
    return;
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
}

start();
