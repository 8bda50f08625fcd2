// Status: readiness in the header on every view, and the status view: each build stage with a
// live progress bar, counts, timings, the stores and the language model, the build queue (its
// jobs per stage, the workers alive), errors in words, all of the current workspace; and the
// readiness of every workspace the key may see.
import { getJSON } from "./api.js";
import { $, h, replace, seconds } from "./dom.js";
import { WORKSPACE } from "./workspace.js";
import { readinessTable, refresh as workspaceList } from "./workspaces.js";

function pill(label, on, busy, error) {
  const cls = error ? "err" : on ? "on" : busy ? "busy" : "";
  return h("span", { class: `pill ${cls}`, title: error || "" }, label);
}

function header(s) {
  replace($("readiness"),
    pill("chat", s.ready, !s.ready), pill("keyword", s.retrieval.keyword_ready, !s.retrieval.keyword_ready),
    pill("vectors", s.retrieval.vector_ready, s.building, s.stages.vectors.error),
    pill("graph", s.graphrag_ready, s.graphrag_initializing, s.graphrag_error));
}

function stage(s, name) {
  const info = s.stages[name];
  const timing = s.timings[name];
  const progress = s.progress && s.progress.stage.split(".")[0] === name ? s.progress : null;
  const bar = h("progress", { max: progress?.total || 1,
                              value: info.state === "done" ? (progress?.total || 1) : progress ? progress.done : 0,
                              "aria-label": `${name} progress` });
  const counts = Object.entries(info.counts || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  return h("div", { class: `stage stage-${info.state}` },
    h("div", { class: "stage-head" }, h("strong", {}, name), ` ${info.state}`,
      progress ? ` · ${progress.stage} ${progress.done}/${progress.total}` : "",
      timing ? ` · ${seconds(timing.seconds)} (${timing.source})` : ""),
    bar, counts ? h("div", { class: "muted" }, counts) : null,
    info.error ? h("div", { class: "error" }, info.error) : null);
}

function table(rows) {
  return h("table", { class: "kv" }, rows.filter(Boolean).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
}

// "answer 1 in flight, extract 1 waiting" from the model queue's per-purpose counts
function queueText(queue) {
  const parts = [];
  for (const [purpose, n] of Object.entries(queue.in_flight)) if (n) parts.push(`${purpose} ${n} in flight`);
  for (const [purpose, n] of Object.entries(queue.waiting)) if (n) parts.push(`${purpose} ${n} waiting`);
  if (queue.build_paused) parts.push("build paused for questions");
  return parts.join(", ") || "idle";
}

function llmBuildText(b) {
  const parts = [`chunks ${b.chunks_extracted}/${b.chunks_total}`];
  if (b.reports_total !== null) parts.push(`reports ${b.reports_written}/${b.reports_total}`);
  parts.push(`${b.calls} calls`, `${b.calls_per_minute} a minute`);
  if (b.eta_seconds !== null) parts.push(`about ${seconds(b.eta_seconds)} left`);
  if (b.preemptions) parts.push(`${b.preemptions} paused for questions`);
  return parts.join(" · ");
}

function llmRows(llm) {
  if (!llm) return [];
  return [
    ["model calls", `${llm.calls ?? 0} calls, ${llm.failures ?? 0} failures`],
    llm.queue ? ["model queue", queueText(llm.queue)] : null,
    llm.build ? ["LLM build", llmBuildText(llm.build)] : null,
  ];
}

function gridTable(cls, headings, rows) {
  return h("div", { class: "table-wrap" }, h("table", { class: cls },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, String(c))))))));
}

// The build queue (GRAPHREADY_QUEUE_URL): jobs per stage and the workers alive.
function queueSection(q) {
  if (!q) return null;
  const stages = Object.entries(q.stages || {}).map(([name, c]) =>
    [name, c.waiting, c.in_flight, c.done, c.failed, c.refused]);
  const workers = (q.workers || []).map((w) => [
    w.host, w.pid, w.job ? `job ${w.job.slice(0, 12)}` : "idle", w.jobs_done,
    w.llm_waiting ? `${w.llm_waiting} held for questions` : "none held",
    `${seconds(w.seconds_since_beat)} ago`]);
  const read = q.read_seconds_ago === null ? "not read yet" : `read ${seconds(q.read_seconds_ago)} ago`;
  return [h("h2", {}, "Build queue"),
    h("p", { class: q.available === false ? "error" : "muted" },
      `${q.where} · ${q.available === false ? `unavailable: ${q.error}` : read} · lease ${q.lease_s} s`),
    stages.length ? gridTable("queue-stages", ["Stage", "Waiting", "In flight", "Done", "Failed", "Refused"], stages) : null,
    h("h3", {}, "Workers alive"),
    workers.length
      ? gridTable("queue-workers", ["Host", "Process", "Job", "Jobs done", "Model calls", "Last heartbeat"], workers)
      : h("p", { class: "muted queue-no-workers" }, "No worker alive: the build waits for one (graphready worker)."),
  ];
}

function body(s, workspaces) {
  const llm = s.llm;
  const chats = s.chat_admission;
  return [
    workspaces.length ? [h("h2", {}, "Workspaces"), readinessTable(workspaces)] : null,
    h("h2", {}, `Build of the workspace ${WORKSPACE}`), Object.keys(s.stages).map((name) => stage(s, name)),
    s.graphrag_error ? h("p", { class: "error" }, `Graph: ${s.graphrag_error}`) : null,
    h("h2", {}, "Counts"), table(Object.entries(s.counts).map(([k, v]) => [k, String(v)])),
    h("h2", {}, "Stores and model"), table([
      ["vector store", s.vector_store.where],
      ["graph store", `${s.graph_store.where}${s.graph_store.available ? "" : " (unavailable)"}`],
      s.graph_store.error ? ["graph store error", s.graph_store.error] : null,
      ["language model", llm ? `${llm.model}${llm.base_url ? ` at ${llm.base_url}` : ""}` : "none (offline: extractive answers)"],
      ...llmRows(llm),
      chats ? ["chats", `${chats.in_flight} answering, ${chats.waiting} waiting (at most ${chats.max_in_flight} at once)`] : null,
      ["tools", s.tools.join(", ") || "none yet"],
      ["uptime", seconds(s.uptime_seconds)],
    ]),
    queueSection(s.queue),
    s.damaged_files?.length ? [h("h2", {}, "Damaged index files"),
      h("p", { class: "error" }, "These index files were damaged, moved aside and rebuilt from the documents:"),
      h("ul", {}, s.damaged_files.map((f) => h("li", {}, f)))] : null,
    s.skipped.length ? [h("h2", {}, "Skipped files"), h("ul", {}, s.skipped.map((f) => h("li", {}, `${f.path}: ${f.reason}`)))] : null,
  ];
}

export async function poll() {
  try {
    const s = await getJSON("/status");
    header(s);
    if (!$("view-status").hidden) replace($("status-body"), body(s, await workspaceList()));
  } catch (e) {
    replace($("readiness"), h("span", { class: "pill err" }, e.status ? e.message : "server unreachable"));
  }
}

export function init() {
  poll();
  setInterval(poll, 2000);
}
