// Workspaces: the switcher in the header (every workspace the key may see, with its readiness;
// choosing one opens its app at /workspaces/NAME/, so the address names it and a link opens
// it), the workspaces view (create with a name and an optional folder, delete with a
// confirmation), the readiness table of the status view, and the message an unknown workspace
// gets instead of empty views.
//
// Whether the key may create or delete is not known before asking: the server says so with
// 403 (a role too low) or 404 (not a member, the same answer as an unknown workspace). The
// controls show until the server refuses one; then that control is taken away and the view
// says why, for as long as the page lives.
import { getJSON, request, sendJSON } from "./api.js";
import { $, h, replace } from "./dom.js";
import { DEFAULT, WORKSPACE, appUrl, resourceUrl } from "./workspace.js";

let known = [];          // the last list GET /workspaces answered
let mayCreate = true;    // false once the server refused a create
const undeletable = new Set([DEFAULT]);  // the default, and names the server refused to delete

// "ready" (it answers), "empty" (no documents), "building" (loaded, not answering yet) or
// "not built" (documents, no index yet, not loaded).
export function readiness(ws) {
  if (ws.ready) return "ready";
  if (!ws.documents) return "empty";
  return ws.loaded ? "building" : "not built";
}

// Whether its indexes are in the server's memory, or load on first use.
function residence(ws) { return ws.loaded ? "in memory" : "on disk"; }

function refused(e) { return e.status === 403 || e.status === 404; }

function fillSwitcher() {
  const select = $("workspace-select");
  if (document.activeElement === select) return;  // not while it is being chosen from
  const names = known.map((ws) => ws.name);
  const options = known.map((ws) => h("option", { value: ws.name }, `${ws.name} · ${readiness(ws)}`));
  if (!names.includes(WORKSPACE)) options.unshift(h("option", { value: WORKSPACE }, WORKSPACE));
  replace(select, options);
  select.value = WORKSPACE;
}

// Fetches the list and redraws what shows it. Returns the list (the last one read when it
// cannot be read now, [] before any).
export async function refresh() {
  try {
    known = (await getJSON("/workspaces")).workspaces;
  } catch (e) {
    replace($("ws-message"), `Cannot list the workspaces: ${e.message}`);
    return known;
  }
  fillSwitcher();
  if (!$("view-workspaces").hidden) drawTable();
  return known;
}

function readinessCell(ws) {
  return h("td", { class: `ready-${readiness(ws).replace(" ", "-")}` }, readiness(ws));
}

function openLink(ws) {
  return h("a", { href: appUrl(ws.name), "aria-current": ws.name === WORKSPACE ? "page" : null }, ws.name);
}

// The status view's table: each workspace's counts and readiness.
export function readinessTable(workspaces) {
  return h("table", { class: "workspaces" },
    h("thead", {}, h("tr", {}, ["Workspace", "Documents", "Chunks", "Readiness"].map((t) => h("th", {}, t)))),
    h("tbody", {}, workspaces.map((ws) => h("tr", { dataset: { workspace: ws.name } },
      h("td", {}, openLink(ws)), h("td", {}, String(ws.documents ?? "")), h("td", {}, String(ws.chunks ?? "")),
      readinessCell(ws)))));
}

async function remove(ws, button) {
  if (!confirm(`Delete the workspace "${ws.name}" with all its documents, indexes and graph? ` +
               "This cannot be undone.")) return;
  button.disabled = true;
  try {
    await request(resourceUrl(ws.name), { method: "DELETE" });
    if (ws.name === WORKSPACE) { location.assign(`${appUrl(DEFAULT)}#workspaces`); return; }
    replace($("ws-message"), `Deleted the workspace ${ws.name}.`);
  } catch (e) {
    if (refused(e)) {
      undeletable.add(ws.name);
      replace($("ws-message"), `This key may not delete the workspace ${ws.name}: that needs an admin key for it.`);
    } else {
      button.disabled = false;
      replace($("ws-message"), `Cannot delete ${ws.name}: ${e.message}`);
    }
  }
  await refresh();
}

function deleteCell(ws) {
  if (undeletable.has(ws.name)) {
    return h("td", { class: "muted" }, ws.name === DEFAULT ? "always there" : "");
  }
  const button = h("button", { type: "button", class: "danger", "aria-label": `delete the workspace ${ws.name}` }, "Delete");
  button.addEventListener("click", () => remove(ws, button));
  return h("td", {}, button);
}

function drawTable() {
  const tbody = $("ws-table").tBodies[0];
  replace(tbody, known.map((ws) => h("tr", { dataset: { workspace: ws.name } },
    h("td", {}, openLink(ws)), h("td", { class: "muted id" }, ws.folder || ""),
    h("td", {}, String(ws.documents ?? "")), h("td", {}, String(ws.chunks ?? "")),
    readinessCell(ws), h("td", { class: "muted" }, residence(ws)), deleteCell(ws))));
  if (!known.length) tbody.appendChild(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No workspaces.")));
  $("ws-form").hidden = !mayCreate;
}

async function create(ev) {
  ev.preventDefault();
  const name = $("ws-name").value.trim();
  const folder = $("ws-folder").value.trim();
  const button = $("ws-form").querySelector("button");
  button.disabled = true;
  try {
    const made = await sendJSON("POST", "/workspaces", { name, folder: folder || null });
    $("ws-name").value = "";
    $("ws-folder").value = "";
    replace($("ws-message"), `Created the workspace ${made.name}: `, h("a", { href: appUrl(made.name) }, "open it"), ".");
  } catch (e) {
    if (refused(e)) {
      mayCreate = false;
      replace($("ws-message"), "This key may not create workspaces: that needs an admin key for every workspace.");
    } else replace($("ws-message"), `Cannot create ${name}: ${e.message}`);
  }
  button.disabled = false;
  await refresh();
}

export function shown() { refresh(); }

// The address names a workspace the server does not have (or this key may not use: the same
// answer, so a key cannot probe names): say so, hide the views, offer the ones there are.
export async function missing(error) {
  document.body.classList.add("no-workspace");
  $("workspace-missing").hidden = false;
  replace($("workspace-missing-text"), error.status === 400
    ? `"${WORKSPACE}" is not a workspace name: ${error.message}`
    : `There is no workspace "${WORKSPACE}" that you may open.`);
  const workspaces = await refresh();
  replace($("workspace-choices"), workspaces.map((ws) => h("li", {}, openLink(ws), ` · ${readiness(ws)}`)));
  if (!workspaces.length) $("workspace-choices").appendChild(h("li", { class: "muted" }, "none"));
}

// The error that says the page's workspace cannot be opened (unknown, a malformed name, or
// not one of the key's), or null.
export async function check() {
  try {
    await getJSON(resourceUrl(WORKSPACE));
    return null;
  } catch (e) {
    return e.status === 404 || e.status === 400 ? e : null;  // other failures: the views say
  }
}

export function init() {
  fillSwitcher();
  $("workspace-select").addEventListener("change", (ev) => {
    location.assign(appUrl(ev.target.value) + location.hash);
  });
  $("ws-form").addEventListener("submit", create);
  refresh();
  setInterval(refresh, 15000);
}
