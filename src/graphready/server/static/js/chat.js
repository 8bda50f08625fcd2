// The chat: streamed answers, numbered citations that open the cited passage (its cited sentence
// highlighted), the mode, the tools and the graph entities used. The conversation lives as long
// as the page.
import { request } from "./api.js";
import { $, h, replace } from "./dom.js";
import { openPassage } from "./passage.js";

const turns = [];  // earlier turns: a language model reads follow-up questions in context

function citationButton(citation) {
  return h("button", { type: "button", class: "cite", title: citation.title,
                       "aria-label": `source ${citation.number}: ${citation.title}`,
                       onclick: () => openPassage(citation.chunk_id, citation) }, `[${citation.number}]`);
}

// The answer text with each [n] that names a citation made a button, and each sentence its
// cited passages do not support marked (a wavy underline, a mark and a tooltip saying why).
const UNSUPPORTED = "Not supported: the passages this sentence cites do not hold its names, "
  + "numbers or key terms.";

function unsupportedSpans(text, claims) {
  const spans = [];
  for (const claim of claims || []) {
    if (claim.supported) continue;
    const words = claim.text.replace(/[.!?]$/, "");
    const at = words ? text.indexOf(words) : -1;
    if (at >= 0 && !spans.some(([s, e]) => at < e && s < at + words.length)) {
      spans.push([at, at + words.length]);
    }
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

function answerNodes(text, citations, claims) {
  const nodes = [];
  let last = 0;
  for (const [start, end] of unsupportedSpans(text, claims)) {
    nodes.push(...citedNodes(text.slice(last, start), citations),
      h("span", { class: "unsupported", title: UNSUPPORTED }, citedNodes(text.slice(start, end), citations),
        h("span", { class: "unsupported-mark", "aria-label": "not supported" }, "⚠")));
    last = end;
  }
  nodes.push(...citedNodes(text.slice(last), citations));
  return nodes;
}

function citedNodes(text, citations) {
  const byNumber = new Map(citations.map((c) => [c.number, c]));
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    const citation = byNumber.get(Number(match[1]));
    if (!citation) continue;
    nodes.push(text.slice(last, match.index), citationButton(citation));
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function showGraph(entity, result) {
  const highlight = {
    seeds: result.graph_entities.seeds.map((e) => e.id),
    reached: result.graph_entities.reached.map((e) => e.id),
  };
  window.dispatchEvent(new CustomEvent("graphready:show-entity", { detail: { id: entity.id, highlight } }));
}

function entityChips(label, entities, result) {
  if (!entities.length) return null;
  return h("div", { class: "chips" }, `${label}: `, entities.map((e) =>
    h("button", { type: "button", class: "chip", title: "show in the graph",
                  onclick: () => showGraph(e, result) }, e.name)));
}

function render(box, result, message) {
  const how = result.plan === "agent" ? ` · agent, ${result.agent_steps} steps` : "";
  // a follow-up ("When did he die?") is searched with what the conversation names: say so
  const searched = result.searched_question && result.searched_question !== message
    ? h("div", { class: "searched" }, `Searched as: ${result.searched_question}`) : null;
  replace(box, searched,
    h("div", { class: "answer-text" }, answerNodes(result.answer, result.citations, result.claims)),
    result.claims && result.claims.some((c) => !c.supported)
      ? h("div", { class: "claims-legend" }, h("span", { class: "unsupported" }, "Marked ⚠"),
        " sentences are not supported by the passages they cite: check them before relying on them.")
      : null,
    h("div", { class: "meta", title: result.note },
      `${result.answer_type}${result.degraded ? " (the language model failed)" : ""}`,
      ` · mode ${result.mode}${how} · tools: ${result.tools_used.join(", ") || "none"}`),
    entityChips("Graph walk started from", result.graph_entities.seeds, result),
    entityChips("and reached", result.graph_entities.reached, result),
    result.citations.length ? h("ol", { class: "sources" }, result.citations.map((c) =>
      h("li", { value: c.number },
        h("button", { type: "button", class: "link", onclick: () => openPassage(c.chunk_id, c) }, c.title),
        h("span", { class: "muted" }, ` (${c.id})`), h("div", { class: "snippet" }, c.snippet)))) : null);
}

function fail(box, message) {
  box.classList.add("error");
  replace(box, message);
}

async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = (frame.match(/^event: (.*)$/m) || [])[1];
      const data = JSON.parse((frame.match(/^data: (.*)$/m) || [])[1] || "null");
      onEvent(name, data);
    }
  }
}

async function ask(message, mode) {
  const log = $("chat-log");
  log.appendChild(h("div", { class: "q" }, message));
  const box = log.appendChild(h("div", { class: "a", "aria-busy": "true" }, "…"));
  try {
    const response = await request("/chat", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, mode, stream: true, history: turns.slice(-8) }),
    });
    let text = "";
    await readEvents(response, (name, data) => {
      if (name === "token") { text += data.text; replace(box, text); }
      else if (name === "done") {
        render(box, data, message);
        turns.push({ role: "user", content: message }, { role: "assistant", content: data.answer });
      } else if (name === "error") fail(box, data.error.message);
    });
  } catch (e) {
    fail(box, e.message || String(e));
  }
  box.removeAttribute("aria-busy");
  box.scrollIntoView({ block: "end" });
}

export function init() {
  $("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const message = $("chat-message").value.trim();
    if (!message) return;
    $("chat-message").value = "";
    ask(message, $("chat-mode").value);
  });
  // A question in the address (/?q=...&mode=...) is asked at once: links can share a question.
  const params = new URLSearchParams(location.search);
  if (params.get("mode")) $("chat-mode").value = params.get("mode");
  if (params.get("q")) ask(params.get("q"), $("chat-mode").value);
}
