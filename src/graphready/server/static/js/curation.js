// Curating the graph: rename, merge, delete an entity or a relation, add a relation, each sent
// as an edit (POST /graph/edits) that the server keeps apart from the extracted graph and
// applies after every build; the Edits list under the drawing, with each edit's status and an
// Undo (DELETE /graph/edits/{id}). An edit (or its undo) is pending until the graph the
// server answers from has it; the list is polled while one is, and then the drawing is drawn
// again and the line under it says what changed (a stale edit: why).
//
// Whether the key may edit: GET /graph/edits says so (`may_edit`) when the server tells; a 403
// to an edit says so too. Then every edit control (class edit-control) is hidden for as long
// as the page lives, and a note says why.
import { getJSON, sendJSON } from "./api.js";
import { $, h, replace } from "./dom.js";

const POLL_MS = 1000;
const PICKER_LIMIT = 8;
const PICKER_WAIT_MS = 200;

// What the module keeps while the page lives: the edits as last read, the names of the
// entities seen (an edit names ids; a merged or deleted entity cannot be asked for its name),
// the entities selected in the drawing, and the graph view's callbacks.
const state = {
  edits: [], waiting: new Set(), listed: "", names: new Map(), mayEdit: true, timer: null, selected: [],
  redraw: async () => {}, open: async () => {}, pickers: 0,
};

// Remembers the names of entities the app has seen ({id, name} objects).
export function remember(entities) {
  for (const e of entities) if (e && e.id && e.name) state.names.set(e.id, e.name);
}

function nameOf(edit, id) {
  return edit.names?.[id] ?? state.names.get(id) ?? id;
}

// What an edit did, in words.
export function describe(edit) {
  const n = (id) => `“${nameOf(edit, id)}”`;
  switch (edit.op) {
    case "merge": return `merged ${edit.sources.map(n).join(", ")} into ${n(edit.target)}`;
    case "rename": return `renamed ${n(edit.entity)} to “${edit.name}”`;
    case "delete_entity": return `deleted ${n(edit.entity)} and its relations`;
    case "delete_relation": return `deleted the relation ${n(edit.source)} – ${n(edit.target)}`;
    case "add_relation": return `added ${n(edit.source)} —${edit.label}→ ${n(edit.target)}` +
      (edit.description ? `: ${edit.description}` : "");
    default: return edit.op;
  }
}

const WHEN = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "");

function say(text, error = false) {
  const line = $("curation-message");
  line.classList.toggle("error", error);
  replace(line, text);
}

function readOnly(reason) {
  state.mayEdit = false;
  $("view-graph").classList.add("read-only");
  replace($("curation-note"), reason);
  $("curation-note").hidden = false;
}

// An error the server answered to an edit: said with its message; a 403 takes the controls away.
function failed(what, e) {
  if (e.status === 403) {
    readOnly(`This key may read the graph but not edit it (${e.message}).`);
  }
  say(`Cannot ${what}: ${e.message}`, true);
}

// Sends one edit; true when the server took it (pending until the graph has it).
async function post(body, what) {
  if (!state.mayEdit) return false;
  try {
    const edit = await sendJSON("POST", "/graph/edits", body);
    state.edits.push(edit);
    state.waiting.add(edit.id);
    say(`Pending: ${describe(edit)}. The graph is drawn again once it has been rebuilt with it.`);
    drawList();
    follow();
    return true;
  } catch (e) {
    failed(what, e);
    return false;
  }
}

async function undo(edit, button) {
  button.disabled = true;
  try {
    const undone = await sendJSON("DELETE", `/graph/edits/${encodeURIComponent(edit.id)}`);
    state.edits = state.edits.map((e) => (e.id === undone.id ? undone : e));
    state.waiting.add(undone.id);
    say(`Undo pending: ${describe(undone)}.`);
    drawList();
    follow();
  } catch (e) {
    button.disabled = false;
    failed("undo", e);
  }
}

// Where the drawing must go once these edits show: the entities they removed, each to the one
// that took its place (a merge's target) or to null (deleted).
function moves(settled) {
  const moved = new Map();
  for (const edit of settled) {
    if (edit.undone_at) continue;
    if (edit.op === "merge") for (const id of edit.sources) moved.set(id, edit.target);
    if (edit.op === "delete_entity") moved.set(edit.entity, null);
  }
  return moved;
}

// The edits waited for that the drawing may show now: the server has run the graph stage for
// them (none is pending) and has loaded its result (it is not building: an edit's status is
// written by the stage, a moment before the server loads the graph it made).
async function settledOf() {
  const done = state.edits.filter((e) => state.waiting.has(e.id) && e.status !== "pending");
  if (!done.length) return [];
  const status = await getJSON("/status");
  if (status.building) return [];
  for (const edit of done) state.waiting.delete(edit.id);
  return done;
}

function tell(settled) {
  const stale = settled.filter((e) => e.status === "stale");
  if (stale.length) {
    say(stale.map((e) => `Stale: ${describe(e)}: ${e.problem}`).join(" "), true);
    return;
  }
  const undone = settled.filter((e) => e.undone_at).map(describe);
  const applied = settled.filter((e) => !e.undone_at).map(describe);
  say([applied.length ? `Done: ${applied.join("; ")}.` : "",
       undone.length ? `Undone: ${undone.join("; ")}.` : ""].filter(Boolean).join(" "));
}

// Reads the edits again; once an edit waited for shows in the server's graph, the drawing is
// drawn again and the line under it says what changed (a stale edit: why).
export async function load() {
  let body, settled;
  try {
    body = await getJSON("/graph/edits");
    for (const edit of body.edits) if (edit.status === "pending") state.waiting.add(edit.id);
    state.edits = body.edits;
    settled = await settledOf();
  } catch (e) {
    replace($("edits-message"), `Cannot list the edits: ${e.message}`);
    follow();
    return;
  }
  replace($("edits-message"));
  if (body.may_edit === false && state.mayEdit) {
    readOnly("This key may read the graph but not edit it: edits need a key with the write role.");
  }
  drawList();
  if (settled.length) {
    tell(settled);
    await state.redraw(moves(settled));
  }
  follow();
}

// Polls the list while an edit is waited for.
function follow() {
  clearTimeout(state.timer);
  if (state.waiting.size) state.timer = setTimeout(load, POLL_MS);
}

// The status the page shows: pending until the drawing can show the edit (or its undo).
function shownStatus(edit) {
  return state.waiting.has(edit.id) ? "pending" : edit.status;
}

function statusCell(edit) {
  const undone = edit.undone_at
    ? h("div", { class: "muted" }, `undone${edit.undone_by ? ` by ${edit.undone_by}` : ""} ${WHEN(edit.undone_at)}`)
    : null;
  const status = shownStatus(edit);
  return h("td", { class: `edit-status status-${status}` },
    status === "pending" && edit.undone_at ? "undo pending" : status,
    edit.problem ? h("div", { class: "error" }, edit.problem) : null, undone);
}

function editRow(edit) {
  const what = describe(edit);
  const button = edit.undone_at ? null : h("button", {
    type: "button", class: "small edit-control", "aria-label": `undo: ${what}` }, "Undo");
  if (button) button.addEventListener("click", () => undo(edit, button));
  return h("tr", { dataset: { edit: edit.id, op: edit.op, status: shownStatus(edit) } },
    h("td", { class: "muted" }, WHEN(edit.created_at)),
    h("td", {}, edit.by ?? "—"),
    h("td", { class: "edit-what" }, what),
    statusCell(edit),
    h("td", {}, button));
}

// Draws the list again when what it shows changed (not under a focused Undo otherwise).
function drawList() {
  const shown = JSON.stringify([state.edits, [...state.waiting]]);
  if (shown === state.listed) return;
  state.listed = shown;
  const rows = [...state.edits].reverse().map(editRow);  // the newest first
  const tbody = $("edits-table").tBodies[0];
  replace(tbody, rows.length ? rows
    : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No edits yet: the graph is as extracted.")));
  const pending = state.waiting.size;
  replace($("edits-count"), pending ? ` (${pending} pending)` : ` (${state.edits.length})`);
}

// A search box that lists matching entities to choose one (keyboard: type, Tab to a result,
// Enter; or Enter in the box for the first result).
function picker(label, exclude, onChoose) {
  const id = `pick-${++state.pickers}`;
  const input = h("input", { id, type: "search", autocomplete: "off", placeholder: "Search an entity…" });
  const list = h("ul", { class: "results picker-results", "aria-label": "entities to choose from" });
  let found = [];
  let wait = null;
  const choose = (e) => { replace(list); input.value = e.name; onChoose(e); };
  const search = async () => {
    const q = input.value.trim();
    if (!q) { replace(list); return; }
    try {
      const body = await getJSON(`/graph/entities?q=${encodeURIComponent(q)}&limit=${PICKER_LIMIT + exclude.length}`);
      found = body.entities.filter((e) => !exclude.includes(e.id)).slice(0, PICKER_LIMIT);
      remember(found);
      replace(list, found.length ? found.map((e) => h("li", {}, h("button", {
        type: "button", class: "result", onclick: () => choose(e) }, e.name,
        h("span", { class: "muted" }, ` ${e.type} · ${e.degree}`))))
        : h("li", { class: "muted" }, "No entity matches."));
    } catch (e) { replace(list, h("li", { class: "error" }, e.message)); }
  };
  input.addEventListener("input", () => { clearTimeout(wait); wait = setTimeout(search, PICKER_WAIT_MS); });
  input.addEventListener("keydown", async (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    clearTimeout(wait);
    await search();
    if (found.length) choose(found[0]);
  });
  return h("div", { class: "picker" }, h("label", { for: id }, label), input, list);
}

function cancelButton(box) {
  return h("button", { type: "button", class: "plain", onclick: () => replace(box) }, "Cancel");
}

function renameForm(entity, box) {
  const input = h("input", { id: "rename-input", type: "text", value: entity.name, required: true,
                             maxlength: 200, autocomplete: "off" });
  const form = h("form", { class: "curate-form", "aria-label": `rename ${entity.name}` },
    h("label", { for: "rename-input" }, "New name"), input,
    h("button", { type: "submit" }, "Save"), cancelButton(box));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = input.value.trim();
    if (name === entity.name) { replace(box); return; }
    if (await post({ op: "rename", entity: entity.id, name }, `rename ${entity.name}`)) replace(box);
  });
  return form;
}

function mergeForm(entity, box) {
  const go = h("button", { type: "button", disabled: true }, "Merge");
  let target = null;
  const chosen = h("p", { class: "muted" }, "Choose the entity that stays; this one becomes its alias.");
  go.addEventListener("click", async () => {
    if (await post({ op: "merge", sources: [entity.id], target: target.id },
                   `merge ${entity.name}`)) replace(box);
  });
  return h("div", { class: "curate-form", role: "group", "aria-label": `merge ${entity.name}` },
    picker(`Merge “${entity.name}” into`, [entity.id], (e) => {
      target = e;
      replace(chosen, `Merge “${entity.name}” into “${e.name}”: its relations move there.`);
      go.disabled = false;
      go.focus();
    }), chosen, h("div", { class: "buttons" }, go, cancelButton(box)));
}

function relationForm(entity, box) {
  let other = null;
  const add = h("button", { type: "submit", disabled: true }, "Add the relation");
  const form = h("form", { class: "curate-form", "aria-label": `add a relation from ${entity.name}` },
    picker(`From “${entity.name}” to`, [entity.id], (e) => { other = e; add.disabled = false; }),
    h("label", { for: "relation-label" }, "Label"),
    h("input", { id: "relation-label", type: "text", required: true, maxlength: 100,
                 placeholder: "e.g. designed", autocomplete: "off" }),
    h("label", { for: "relation-description" }, "Description"),
    h("textarea", { id: "relation-description", rows: 2, maxlength: 2000 }),
    h("div", { class: "buttons" }, add, cancelButton(box)));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!other) return;
    const body = { op: "add_relation", source: entity.id, target: other.id,
                   label: form.querySelector("#relation-label").value.trim(),
                   description: form.querySelector("#relation-description").value.trim() };
    if (await post(body, `add a relation from ${entity.name}`)) replace(box);
  });
  return form;
}

async function deleteEntity(entity) {
  if (!confirm(`Delete “${entity.name}” and its ${entity.degree} relations from the graph? ` +
               "It is an edit: Undo in the Edits list brings it back.")) return;
  await post({ op: "delete_entity", entity: entity.id }, `delete ${entity.name}`);
}

// The edit controls of an entity's panel (hidden for a key that may not edit), and the place
// where the chosen form opens.
export function entityTools(entity) {
  remember([entity, ...entity.relations.map((r) => r.other)]);
  const box = h("div", { class: "curate-box" });
  box.addEventListener("keydown", (ev) => { if (ev.key === "Escape") replace(box); });
  const open = (form) => () => {
    replace(box, form(entity, box));
    box.querySelector("input")?.focus();
  };
  return h("div", { class: "edit-control curate", role: "group", "aria-label": `edit ${entity.name}` },
    h("div", { class: "buttons" },
      h("button", { type: "button", class: "plain", onclick: open(renameForm) }, "Rename"),
      h("button", { type: "button", class: "plain", onclick: open(mergeForm) }, "Merge into…"),
      h("button", { type: "button", class: "plain", onclick: open(relationForm) }, "Add relation…"),
      h("button", { type: "button", class: "danger", onclick: () => deleteEntity(entity) }, "Delete entity")),
    box);
}

async function deleteRelation(source, target) {
  const a = state.names.get(source) ?? source, b = state.names.get(target) ?? target;
  if (!confirm(`Delete the relation between “${a}” and “${b}”? Undo in the Edits list brings it back.`)) return false;
  return post({ op: "delete_relation", source, target }, "delete the relation");
}

// The small delete button of a relation in an entity's relation list.
export function relationDelete(entity, relation) {
  return h("button", { type: "button", class: "remove edit-control",
                       "aria-label": `delete the relation ${entity.name} – ${relation.other.name}`,
                       title: "delete this relation",
                       onclick: () => deleteRelation(entity.id, relation.other.id) }, "×");
}

// A relation's panel (a click on an edge): its two entities, label, description and Delete.
export async function openRelation(panel, edge) {
  panel.hidden = false;
  replace(panel, h("p", { class: "muted" }, "Loading…"));
  let found = null;
  try {
    const source = await getJSON(`/graph/entities/${encodeURIComponent(edge.source)}`);
    remember([source, ...source.relations.map((r) => r.other)]);
    found = source.relations.find((r) => r.other.id === edge.target) ?? null;
  } catch (e) { say(`Cannot read the relation: ${e.message}`, true); }
  const end = (id) => h("button", { type: "button", class: "link", onclick: () => state.open(id) },
                        state.names.get(id) ?? id);
  replace(panel,
    h("h3", {}, "Relation"),
    h("p", {}, end(edge.source), ` —${edge.label}— `, end(edge.target)),
    h("p", { class: "muted" }, `weight ${edge.weight}`, found ? ` · ${found.passages} passages` : "",
      edge.curated ? " · " : "", edge.curated ? h("span", { class: "curated-badge" }, "curated") : null),
    found?.description ? h("p", {}, found.description) : null,
    h("div", { class: "buttons edit-control" }, h("button", {
      type: "button", class: "danger", onclick: () => deleteRelation(edge.source, edge.target) },
      "Delete relation")));
}

// The entities selected in the drawing (shift- or ctrl-click, or a shift-drag box): with two or
// more, a bar offers to merge them into one of them.
export function selected(entities) {
  remember(entities);
  state.selected = entities;
  const bar = $("graph-selection");
  bar.hidden = entities.length < 2 || !state.mayEdit;
  if (bar.hidden) return;
  const select = h("select", { id: "merge-target" },
    entities.map((e) => h("option", { value: e.id }, e.name)));
  const go = h("button", { type: "button" }, "Merge");
  go.addEventListener("click", () => {
    const target = select.value;
    post({ op: "merge", sources: state.selected.map((e) => e.id).filter((id) => id !== target), target },
         "merge the selected entities");
  });
  replace(bar, `${entities.length} selected: ${entities.map((e) => e.name).join(", ")}. `,
    h("label", { for: "merge-target" }, "Merge them into"), select, go);
}

// The graph view was shown: the list is read again.
export function shown() { load(); }

// Called once by the graph view: `redraw(moves)` draws the view again once edits show (moves: a
// Map of each removed entity's id to the id that replaced it, or null), `open(id)` opens one.
export function init({ redraw, open }) {
  state.redraw = redraw;
  state.open = open;
}
