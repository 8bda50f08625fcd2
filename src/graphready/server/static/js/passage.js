// The passage panel: a cited passage (or an entity's passage), whole, over any view. A citation
// that names a sentence (its start and end in the passage's text) has that sentence highlighted.
import { getJSON } from "./api.js";
import { $, h, replace } from "./dom.js";

let opener = null;  // the control that opened the panel, to return the focus to

// The passage's text with the sentence at [start, end) marked. The server counts characters
// (code points); JavaScript strings count UTF-16 units, so the text is cut by code points.
function marked(text, span) {
  if (!span || !Number.isInteger(span.start) || !Number.isInteger(span.end)) return [text];
  const chars = Array.from(text);
  if (span.start < 0 || span.end > chars.length || span.start >= span.end) return [text];
  return [chars.slice(0, span.start).join(""),
          h("mark", { class: "cited", id: "passage-cited" }, chars.slice(span.start, span.end).join("")),
          chars.slice(span.end).join("")];
}

// span: {start, end} of the cited sentence, or nothing to show the passage alone.
export function openPassage(chunkId, span) {
  opener = document.activeElement;
  $("passage").hidden = false;
  replace($("passage-title"), "Loading…");
  replace($("passage-id"));
  replace($("passage-text"));
  $("passage-close").focus();
  getJSON(`/passages/${encodeURIComponent(chunkId)}`).then((p) => {
    replace($("passage-title"), p.title);
    const page = span && Number.isInteger(span.page) ? ` · page ${span.page}` : "";
    replace($("passage-id"), `document ${p.document_id} · passage ${p.chunk_id}${page}`);
    replace($("passage-text"), marked(p.text, span));
    const cited = $("passage-cited");
    if (cited) cited.scrollIntoView({ block: "center" });
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
