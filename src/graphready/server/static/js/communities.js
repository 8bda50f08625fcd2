// Communities: browse the hierarchy a level at a time and read the reports.
import { getJSON } from "./api.js";
import { $, h, replace } from "./dom.js";

const PAGE = 50;
const REWRITING = "Being rewritten: a deleted document contributed to this report, so it is " +
  "withheld until the graph has been rebuilt without that document.";
let cursor = null;
let loadedLevels = false;

function showEntity(entity) {
  window.dispatchEvent(new CustomEvent("graphready:show-entity", { detail: { id: entity.id } }));
}

export async function openCommunity(id) {
  const box = $("comm-detail");
  box.hidden = false;
  replace(box, h("p", { class: "muted" }, "Loading…"));
  try {
    const c = await getJSON(`/graph/communities/${encodeURIComponent(id)}`);
    const link = (ref) => h("button", { type: "button", class: "link", onclick: () => openCommunity(ref.id) },
      `${ref.title} (level ${ref.level}, ${ref.size})`);
    replace(box,
      h("h3", {}, c.title),
      h("p", { class: "muted" }, `level ${c.level} · ${c.size} entities · rating ${c.rating} · ${c.passages} passages`),
      c.parent ? h("p", {}, "Part of ", link(c.parent)) : null,
      c.rewriting ? h("p", { class: "rewriting" }, REWRITING) : h("div", { class: "report" }, c.summary),
      c.children.length ? h("div", {}, h("h4", {}, `Sub-communities (${c.children.length})`),
        h("ul", {}, c.children.map((child) => h("li", {}, link(child))))) : null,
      h("h4", {}, `Members (${c.size})`),
      h("ul", { class: "members" }, c.members.map((m) => h("li", {},
        h("button", { type: "button", class: "link", title: "show in the graph", onclick: () => showEntity(m) }, m.name),
        h("span", { class: "muted" }, ` ${m.type} · ${m.degree}`)))));
    box.querySelector("h3").scrollIntoView({ block: "nearest" });
  } catch (e) {
    replace(box, h("p", { class: "error" }, `Cannot open the community: ${e.message}`));
  }
}

async function load(append) {
  const query = new URLSearchParams({ limit: PAGE });
  if ($("comm-level").value !== "") query.set("level", $("comm-level").value);
  if (append && cursor) query.set("cursor", cursor);
  const list = $("comm-list");
  try {
    const body = await getJSON(`/graph/communities?${query}`);
    if (!loadedLevels) {
      replace($("comm-level"), body.levels.map((l) => h("option", { value: l }, `level ${l}`)));
      loadedLevels = true;
      if (body.levels.length) return load(false);
    }
    if (!append) replace(list);
    for (const c of body.communities) {
      list.appendChild(h("li", {}, h("button", { type: "button", class: "result", onclick: () => openCommunity(c.id) },
        c.title, h("span", { class: "muted" }, ` ${c.size} entities${c.children ? `, ${c.children} below` : ""}`),
        c.rewriting ? h("span", { class: "rewriting" }, " · being rewritten") : null)));
    }
    cursor = body.next_cursor;
    $("comm-more").hidden = !cursor;
    replace($("comm-message"), `${body.total} communities`);
  } catch (e) {
    replace($("comm-message"), e.message);
  }
  return null;
}

export function shown() {
  load(false);
}

export function init() {
  $("comm-level").addEventListener("change", () => load(false));
  $("comm-more").addEventListener("click", () => load(true));
  window.addEventListener("graphready:show-community", (ev) => {
    window.dispatchEvent(new CustomEvent("graphready:go", { detail: "communities" }));
    openCommunity(ev.detail.id);
  });
}
