// Documents: upload (drop or choose, several files, with progress), the list with each
// document's state per index, delete with confirmation, rescan of the folder.
import { getJSON, request, sendJSON, upload } from "./api.js";
import { $, bytes, h, replace } from "./dom.js";

const PAGE = 50;
let cursor = null;
let timer = null;

function stateCell(state) {
  return h("td", { class: `state state-${state}` }, state);
}

async function remove(doc, button) {
  if (!confirm(`Delete "${doc.title}" (${doc.id}) from every index?`)) return;
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

function row(doc) {
  const indexes = doc.indexes || {};
  const button = h("button", { type: "button", class: "danger", "aria-label": `delete ${doc.title}` }, "Delete");
  button.addEventListener("click", () => remove(doc, button));
  return h("tr", { dataset: { id: doc.id } },
    h("td", { class: "title" }, doc.title, doc.error ? h("div", { class: "error" }, doc.error) : null),
    h("td", { class: "muted id" }, doc.id),
    h("td", {}, doc.source, doc.size != null ? h("div", { class: "muted" }, bytes(doc.size)) : null),
    h("td", {}, String(doc.chunks ?? "")),
    stateCell(doc.state), stateCell(indexes.keyword || ""), stateCell(indexes.vectors || ""),
    stateCell(indexes.graph || ""),
    h("td", {}, doc.source === "folder" ? h("span", { class: "muted", title: "delete it from the folder" }, "folder") : button));
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
