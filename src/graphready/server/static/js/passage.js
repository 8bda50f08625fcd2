// The passage panel: a cited passage (or an entity's passage), whole, over any view.
import { getJSON } from "./api.js";
import { $, replace } from "./dom.js";

let opener = null;  // the control that opened the panel, to return the focus to

export function openPassage(chunkId) {
  opener = document.activeElement;
  $("passage").hidden = false;
  replace($("passage-title"), "Loading…");
  replace($("passage-id"));
  replace($("passage-text"));
  $("passage-close").focus();
  getJSON(`/passages/${encodeURIComponent(chunkId)}`).then((p) => {
    replace($("passage-title"), p.title);
    replace($("passage-id"), `document ${p.document_id} · passage ${p.chunk_id}`);
    replace($("passage-text"), p.text);
  }).catch((e) => replace($("passage-title"), `Cannot open the passage: ${e.message}`));
}

export function closePassage() {
  $("passage").hidden = true;
  if (opener && opener.focus) opener.focus();
}

export function init() {
  $("passage-close").addEventListener("click", closePassage);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !$("passage").hidden) closePassage();
  });
}
