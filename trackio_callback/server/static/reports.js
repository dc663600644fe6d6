// The Reports tab: everything a run logged as text, one panel per key. Strings are listed newest first;
// Markdown is rendered (marked, then sanitised by DOMPurify); HTML is shown in a sandboxed frame (its own
// origin: no access to this page or its data); traces show their messages by role with their metadata.
// Markdown, HTML and traces have a step slider (stepper.js). app.js's helpers are in scope.
"use strict";

const TEXTS_SHOWN = 100; // per run and key, newest first: a run logging a generation every step has thousands

async function renderReports() {
  await Promise.all([loadVendor("marked.umd.js"), loadVendor("purify.min.js")]); // Markdown: read on first use
  const generation = S.generation;
  const runs = visibleRuns();
  const stale = (store, r) => !(r.name in store) || r.status === "running";
  await mapLimit(runs.filter((r) => stale(S.texts, r)), 4, async (r) => {
    S.texts[r.name] = await S.source.texts(S.project, r.name);
  });
  await mapLimit(runs.filter((r) => (S.keys[r.name]?.traces || []).length && stale(S.traces, r)), 4, async (r) => {
    S.traces[r.name] = await S.source.traces(S.project, r.name);
  });
  if (generation !== S.generation) return;
  const panels = new Map(); // key -> Map(run -> rows)
  const add = (run, row) => {
    if (!panels.has(row.key)) panels.set(row.key, new Map());
    const perRun = panels.get(row.key);
    if (!perRun.has(run)) perRun.set(run, []);
    perRun.get(run).push(row);
  };
  for (const r of runs) {
    for (const t of S.texts[r.name] || []) add(r.name, { ...t, kind: t.kind || "text" });
    for (const t of S.traces[r.name] || []) add(r.name, { ...t, kind: "trace" });
  }
  const filter = regex(S.metricFilter);
  const keys = [...panels.keys()].filter((k) => !filter || filter.test(k)).sort();
  const sizes = runs.map((r) => [r.name, (S.texts[r.name] || []).length, (S.traces[r.name] || []).length]);
  if (unchanged("reports", [keys, sizes])) return;
  S.textPanels = {};
  S.reportPanels = {};
  const view = $("reports-view");
  if (!keys.length) {
    view.replaceChildren(el("p", { class: "muted", text: "No texts logged by the shown runs (log a string, trackio.Markdown, trackio.Html or trackio.Trace: trackio.log({\"samples/generation\": text}))." }));
    return;
  }
  view.replaceChildren(...keys.map((key) => {
    const perRun = panels.get(key);
    const kinds = new Set([...perRun.values()].flat().map((row) => row.kind));
    if (kinds.size === 1 && kinds.has("text")) return textPanel(key, perRun);
    const kind = kinds.size === 1 ? [...kinds][0] : "mixed";
    const record = (S.reportPanels[key] = { kind });
    return stepPanel({
      id: `reports:${key}`, key, kind, grouped: byRunAndStep(perRun), record,
      draw: (entry) => {
        const shown = entry.rows.map(reportNode);
        return { node: el("div", { class: "report" }, ...shown.map((s) => s.node)), info: { entries: shown.map((s) => s.info) } };
      },
    });
  }));
}

// Plain strings: each run's newest first, with their steps (as text, never as markup).
function textPanel(key, perRun) {
  const shown = (S.textPanels[key] = {});
  const panel = el("div", { class: "text-panel", "data-key": key, "data-kind": "text" },
    el("div", { class: "chart-head" }, el("span", { class: "chart-title", text: key })));
  for (const [run, entries] of perRun) {
    const newest = entries.slice(-TEXTS_SHOWN).reverse();
    shown[run] = newest.map((t) => ({ step: t.step, value: t.value }));
    const more = entries.length > newest.length ? ` (newest ${newest.length} of ${entries.length})` : "";
    panel.append(el("div", { class: "text-run", "data-run": run },
      el("div", { class: "text-run-name" }, el("span", { class: "swatch", style: `background:${color(run)}` }), ` ${run}${more}`),
      ...newest.map((t) => el("div", { class: "text-entry", "data-step": t.step },
        el("div", { class: "text-step muted", text: `step ${fmt(t.step)} · ${new Date(t.timestamp * 1000).toLocaleString()}` }),
        el("pre", { class: "text-value", text: t.value })))));
  }
  return panel;
}

// One logged value: {node, info} (info: what the state API reports about it).
function reportNode(row) {
  if (row.kind === "markdown") {
    const html = markdownHtml(row.value);
    const node = el("div", { class: "markdown-body" });
    node.innerHTML = html;
    return { node, info: { kind: "markdown", html } };
  }
  if (row.kind === "html") {
    // allow-scripts (a Plotly figure draws itself) but never allow-same-origin: the frame gets an opaque origin.
    const node = el("iframe", { class: "html-frame", sandbox: "allow-scripts", referrerpolicy: "no-referrer", title: row.key });
    node.srcdoc = row.value;
    return { node, info: { kind: "html", sandbox: node.getAttribute("sandbox"), srcdoc: row.value } };
  }
  if (row.kind === "trace") {
    const traces = Array.isArray(row.value) ? row.value : [row.value];
    return { node: el("div", { class: "traces" }, ...traces.map(traceNode)), info: { kind: "trace", traces: traces.map(traceInfo) } };
  }
  return { node: el("pre", { class: "text-value", text: row.value }), info: { kind: "text", value: row.value } };
}

function markdownHtml(text) {
  return DOMPurify.sanitize(marked.parse(String(text ?? ""), { async: false, gfm: true }));
}

// -- traces ------------------------------------------------------------------------------------------

// A message's content as text: a string, or the text parts of a list of parts (others as JSON).
function messageText(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part && typeof part === "object" && typeof part.text === "string" ? part.text : JSON.stringify(part))).join("\n");
  }
  return JSON.stringify(content, null, 2);
}

function traceInfo(trace) {
  const messages = (trace?.messages || []).map((m) => ({ role: String(m.role ?? "unknown"), content: messageText(m.content) }));
  return { messages, metadata: trace?.metadata || {}, spans: (trace?.spans || []).length };
}

function traceNode(trace) {
  const info = traceInfo(trace);
  const node = el("div", { class: "trace" });
  const metadata = Object.entries(info.metadata);
  if (metadata.length) {
    node.append(el("dl", { class: "trace-metadata" }, ...metadata.flatMap(([k, v]) => [
      el("dt", { text: k }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })])));
  }
  (trace?.messages || []).forEach((m, i) => {
    const message = el("div", { class: "trace-message", "data-role": info.messages[i].role },
      el("div", { class: "trace-role", text: info.messages[i].role }),
      el("div", { class: "trace-content", text: info.messages[i].content }));
    const extra = Object.fromEntries(Object.entries(m).filter(([k]) => k !== "role" && k !== "content"));
    if (Object.keys(extra).length) message.append(el("pre", { class: "trace-extra", text: JSON.stringify(extra, null, 2) }));
    node.append(message);
  });
  if (info.spans) {
    node.append(el("details", { class: "trace-spans" }, el("summary", { text: `${info.spans} span${info.spans > 1 ? "s" : ""}` }),
      el("pre", { text: JSON.stringify(trace.spans, null, 2) })));
  }
  return node;
}

function reportState() {
  const panels = {};
  for (const [key, record] of Object.entries(S.reportPanels)) {
    panels[key] = { kind: record.kind, step: record.step, steps: record.steps, runs: record.runs };
  }
  return panels;
}
