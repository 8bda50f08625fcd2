// Documents: upload (drop or choose, several files, with progress), the list with each
// document's state per index, delete with confirmation, a preview of what a delete would remove
// or change (DELETE ?dry_run=true) in a panel with Delete and Cancel, rescan of the folder.
import { getJSON, request, sendJSON, upload } from "./api.js";
import { $, bytes, h, replace } from "./dom.js";

const PAGE = 50;
let cursor = null;
let timer = null;

function stateCell(state) {
  return h("td", { class: `state state-${state}` }, state);
}

const LISTED = 12;  // names shown of each list in the preview

async function remove(doc, button, asked = false) {
  if (!asked && !confirm(`Delete "${doc.title}" (${doc.id}) from every index?`)) return;
  button.disabled = true;
  try {
    await request(docPath(doc.id), { method: "DELETE" });
    replace($("doc-message"), `Deleted ${doc.title}.`);
    await refresh();
  } catch (e) {
    button.disabled = false;
    replace($("doc-message"), `Cannot delete ${doc.title}: ${e.message}`);
  }
}

function closePreview() {
  const panel = $("delete-preview");
  if (panel) { panel.hidden = true; replace(panel); }
}

function names(items, text, more) {
  const shown = items.slice(0, LISTED).map((item) => h("li", {}, text(item)));
  if (items.length > LISTED) shown.push(h("li", { class: "muted" }, `and ${items.length - LISTED} more${more}`));
  return h("ul", { class: items.length > 6 ? "preview-list many" : "preview-list" }, shown);
}

function part(title, items, text, more = "") {
  return items.length ? h("div", { class: "preview-part" }, h("h4", {}, `${title} (${items.length})`),
    names(items, text, more)) : null;
}

function showPreview(doc, p) {
  const weaker = p.relations_changed.filter((r) => r.weight_after < r.weight_before);
  const counts = [  // [key, how many, said of one]
    ["passages", p.passages, "passage"], ["entities disappear", p.entities_removed.length, "entity disappears"],
    ["entities lose passages", p.entities_changed.length, "entity loses passages"],
    ["relations go", p.relations_removed.length, "relation goes"],
    ["relations lose weight", weaker.length, "relation loses weight"],
    ["community reports rewritten", p.communities.length, "community report rewritten"]];
  const upload = p.source === "upload";
  const del = h("button", { type: "button", class: "danger", "aria-label": `delete ${doc.title} now` }, "Delete");
  del.addEventListener("click", async () => { await remove(doc, del, true); closePreview(); });
  const cancel = h("button", { type: "button", onclick: closePreview }, upload ? "Cancel" : "Close");
  const panel = $("delete-preview");
  replace(panel,
    h("h3", {}, `What deleting “${doc.title}” would do`),
    h("p", { class: "muted" }, "A preview: nothing has been changed yet."),
    h("ul", { class: "preview-counts" }, counts.map(([label, n, one]) =>
      h("li", { dataset: { count: label } }, h("strong", {}, String(n)), ` ${n === 1 ? one : label}`))),
    p.graph_ready ? null : h("p", { class: "rewriting" }, "The knowledge graph is not built yet: " +
      "only the passages are known."),
    p.entities_added.length ? h("p", { class: "muted" }, `${p.entities_added.length} names the ` +
      "document merged into others would stand alone again.") : null,
    part("Entities that disappear", p.entities_removed, (e) => `${e.name} (${e.type})`),
    part("Entities that lose passages", p.entities_changed,
      (e) => `${e.name}: ${e.passages_before} → ${e.passages_after} passages`),
    part("Community reports rewritten", p.communities, (c) => `${c.title} (level ${c.level}, ${c.size} entities)`),
    upload ? null : h("p", { class: "rewriting" }, `This document comes from the served folder: ${p.how}.`),
    h("div", { class: "buttons" }, upload ? del : null, cancel));
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
  (upload ? del : cancel).focus();
}

async function preview(doc, button) {
  let panel = $("delete-preview");
  if (!panel) {
    panel = h("section", { id: "delete-preview", class: "delete-preview", "aria-label": "Delete preview", hidden: true });
    $("doc-table").parentElement.before(panel);
  }
  button.disabled = true;
  try {
    const response = await request(`${docPath(doc.id)}?dry_run=true`, { method: "DELETE" });
    showPreview(doc, await response.json());
  } catch (e) {
    replace($("doc-message"), `Cannot preview the delete of ${doc.title}: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

function row(doc) {
  const indexes = doc.indexes || {};
  const button = h("button", { type: "button", class: "danger", "aria-label": `delete ${doc.title}` }, "Delete");
  button.addEventListener("click", () => remove(doc, button));
  const look = h("button", { type: "button", class: "small preview-delete", "aria-label": `preview the delete of ${doc.title}`,
                             title: "preview the delete: what it would remove or change, changing nothing" }, "Preview");
  look.addEventListener("click", () => preview(doc, look));
  return h("tr", { dataset: { id: doc.id } },
    h("td", { class: "title" }, doc.title, doc.error ? h("div", { class: "error" }, doc.error) : null),
    h("td", { class: "muted id" }, doc.id),
    h("td", {}, doc.source, doc.size != null ? h("div", { class: "muted" }, bytes(doc.size)) : null),
    h("td", {}, String(doc.chunks ?? "")),
    stateCell(doc.state), stateCell(indexes.keyword || ""), stateCell(indexes.vectors || ""),
    stateCell(indexes.graph || ""),
    h("td", { class: "actions" }, look, " ",
      doc.source === "folder" ? h("span", { class: "muted", title: "delete it from the folder" }, "folder") : button));
}

async function load(append) {
  const state = $("doc-state").value;
  const query = new URLSearchParams({ limit: PAGE });
  if (state) query.set("state", state);
  if (append && cursor) query.set("cursor", cursor);
  const body = await getJSON(`/documents?${query}`);
  const tbody = $("doc-table").tBodies[0];
  if (!append) replace(tbody);
  for (const doc of body.documents) tbody.appendChild(row(doc));
  cursor = body.next_cursor;
  $("doc-more").hidden = !cursor;
  if (!tbody.rows.length) tbody.appendChild(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No documents.")));
  return body.documents;
}

export async function refresh() {
  clearTimeout(timer);
  try {
    const docs = await load(false);
    if (docs.some((d) => d.state === "pending") && !$("view-documents").hidden) {
      timer = setTimeout(refresh, 1500);
    }
  } catch (e) {
    replace($("doc-message"), `Cannot list the documents: ${e.message}`);
  }
}

function docPath(id) {
  return `/documents/${encodeURIComponent(id).replace(/%2F/g, "/")}`;
}

// Says when the uploaded documents are indexed (or failed), polling each one.
async function follow(ids, label, titles) {
  for (;;) {
    await new Promise((done) => setTimeout(done, 1500));
    let docs;
    try { docs = await Promise.all(ids.map((id) => getJSON(docPath(id)))); }
    catch (e) { replace(label, `Added ${titles}: ${e.message}`); return; }
    const failed = docs.filter((d) => d.state === "failed");
    if (docs.every((d) => d.state !== "pending")) {
      replace(label, failed.length
        ? `Failed: ${failed.map((d) => `${d.title}: ${d.error || "indexing failed"}`).join("; ")}`
        : `Indexed: ${titles}`);
      if (!$("view-documents").hidden) refresh();
      return;
    }
  }
}

async function send(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const bar = h("progress", { max: 1, value: 0 });
  const label = h("span", {}, `Uploading ${files.length} file${files.length > 1 ? "s" : ""}…`);
  const item = $("uploads").appendChild(h("div", { class: "upload" }, label, bar));
  try {
    const body = await upload("/documents", form, (share) => { bar.value = share; });
    bar.value = 1;
    const titles = body.documents.map((d) => d.title).join(", ");
    replace(label, `Added ${titles}: indexing…`);
    await refresh();
    follow(body.documents.map((d) => d.id), label, titles);
  } catch (e) {
    item.classList.add("error");
    replace(label, `Upload failed: ${e.message}`);
  }
}

export function init() {
  const drop = $("drop"), input = $("file-input");
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => { send([...input.files]); input.value = ""; });
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    send([...ev.dataTransfer.files]);
  });
  $("doc-state").addEventListener("change", refresh);
  $("doc-refresh").addEventListener("click", refresh);
  $("doc-more").addEventListener("click", () => load(true));
  $("doc-rescan").addEventListener("click", async () => {
    try {
      const body = await sendJSON("POST", "/build");
      replace($("doc-message"), body.message);
      setTimeout(refresh, 1000);
    } catch (e) { replace($("doc-message"), `Cannot rescan: ${e.message}`); }
  });
}
