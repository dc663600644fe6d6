// The dashboard page: runs sidebar, one uPlot chart per metric, live updates by cursor, and the
// system / runs / tables / alerts tabs; the media, histograms and reports tabs are media.js,
// histograms.js and reports.js (on stepper.js). Data comes from a source of sources.js.
// window.trackioDashboard.state() describes what is drawn (the browser tests read it).
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ad494a", "#7b4173", "#3182bd"];
const MAX_HIDDEN_POLL_MS = 60000;
const RUNS_REFRESH_EVERY = 5; // polls

const $ = (id) => document.getElementById(id);
const S = {
  source: null, info: null, project: null, runs: [], byName: new Map(), colors: new Map(),
  hidden: new Set(), collapsed: new Set(),
  runFilter: "", runLimit: 20, metricFilter: "", smoothing: 0, xAxis: "step", logY: false, diffOnly: false,
  keys: {}, data: new Map(), cursors: {}, charts: new Map(), systemCharts: new Map(), system: {}, systemCursors: {},
  texts: {}, textPanels: {}, // texts: run -> [{key, step, timestamp, value, kind}]; textPanels: the plain strings shown
  media: {}, histograms: {}, traces: {}, // per run, as the source gave them (read when their tab opens)
  mediaPanels: {}, histogramPanels: {}, reportPanels: {}, // what the media, histograms and reports tabs draw, per key
  stepChoice: {}, drawn: {}, // the step chosen per panel; what each tab drew last (stepper.js)
  tab: "metrics", polls: 0, pollBytes: [], pollDelays: [], draws: 0, timings: {}, pollTimer: null, hiddenPolls: 0, error: null,
  maxPoints: 1000, pollMs: 2000, generation: 0,
  // charts.js: combined charts (patterns), grouping by a config key and its band, the x range a link
  // names, section headers shown, legends folded, the run highlighted across charts
  merges: [], groupBy: "", band: "minmax", groupColors: new Map(), xColumns: new Map(), xRange: null, accordion: true,
  legendOpen: new Set(), legendHidden: false, highlighted: null, sidebar: "open", focusChart: null,
};

// -- helpers -----------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function regex(text) {
  if (!text) return null;
  try {
    return new RegExp(text, "i");
  } catch (e) {
    return { test: (s) => s.toLowerCase().includes(text.toLowerCase()) };
  }
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (v !== v) return "NaN";
    if (!isFinite(v)) return v > 0 ? "∞" : "-∞";
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4).replace(/\.?0+e/, "e"); // 1e-4, not 1.0000e-4
    return String(+v.toPrecision(6));
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

// Why a run ended, as `describe` in store/end_reasons.py says it: the reason's message, and "at step N".
function ended(reason) {
  if (!reason) return "";
  if (typeof reason !== "object") return String(reason);
  const text = String(reason.message || reason.kind || "unknown");
  return Number.isInteger(reason.step) ? `${text} at step ${reason.step}` : text;
}

function showError(error) {
  S.error = String(error && error.message ? error.message : error);
  const box = $("error");
  box.hidden = false;
  box.textContent = S.error;
  if (/sign in/.test(S.error) && OAuth.variables()) box.append(" ", el("button", { text: "Sign in with Hugging Face", onclick: () => OAuth.signIn() }));
}

function dataKey(run, key) {
  return `${run}\u0000${key}`;
}

// -- runs ----------------------------------------------------------------------------------------

function shownRuns() {
  const matching = S.runs.filter(runMatcher(S.runFilter)); // runedit.js: name, group or tags; tag:NAME exactly
  return matching.sort((a, b) => b.created_at - a.created_at).slice(0, S.runLimit);
}

function visibleRuns() {
  return shownRuns().filter((r) => !S.hidden.has(r.name));
}

function setRuns(runs) {
  S.runs = runs;
  S.byName = new Map(runs.map((r) => [r.name, r]));
  for (const r of runs) if (!S.colors.has(r.uid)) S.colors.set(r.uid, PALETTE[S.colors.size % PALETTE.length]);
}

function color(run) {
  return S.colors.get(S.byName.get(run)?.uid) || "#888";
}

function renderSidebar() {
  const shown = shownRuns();
  $("run-count").textContent = `${shown.length} of ${S.runs.length} runs`;
  const groups = new Map();
  for (const r of shown) {
    const g = r.group || "(no group)";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(r);
  }
  const box = $("run-groups");
  box.replaceChildren();
  for (const [group, runs] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const all = runs.every((r) => !S.hidden.has(r.name));
    const toggle = el("input", { type: "checkbox", class: "group-toggle", "data-group": group, checked: all });
    toggle.addEventListener("click", (e) => {
      e.stopPropagation();
      for (const r of runs) (toggle.checked ? S.hidden.delete(r.name) : S.hidden.add(r.name));
      refresh();
    });
    const details = el("details", { class: "group", "data-group": group, open: !S.collapsed.has(group) },
      el("summary", {}, toggle, el("span", { class: "group-name", text: `${group}` }), el("span", { class: "muted", text: ` (${runs.length})` })));
    details.addEventListener("toggle", () => (details.open ? S.collapsed.delete(group) : S.collapsed.add(group)));
    for (const r of runs) {
      const check = el("input", { type: "checkbox", class: "run-toggle", "data-run": r.name, checked: !S.hidden.has(r.name) });
      check.addEventListener("change", () => {
        check.checked ? S.hidden.delete(r.name) : S.hidden.add(r.name);
        refresh();
      });
      const why = ended(r.end_reason);
      details.append(el("label", { class: "run", "data-run": r.name, title: why ? `${r.name}: ${r.status}, ${why}` : r.name },
        check, el("span", { class: "swatch", style: `background:${color(r.name)}` }),
        el("span", { class: "run-name", text: r.name }), el("span", { class: `status ${r.status}`, text: r.status })));
      const chips = tagChips(r); // runedit.js: clicking a chip filters the runs by that tag
      if (chips) details.append(el("div", { class: "run-tags", "data-run": r.name }, chips));
    }
    box.append(details);
  }
}

// -- data ----------------------------------------------------------------------------------------

// The keys and series of the shown runs not loaded yet, asked for at once (series with keys=all: the server knows
// each run's keys). Runs go in groups, several per request: at most 6 requests at once (a browser's connections to
// one server), and at most 500 names per parameter (the API's limit).
// Points per line in the overview: `maxPoints` for a few runs, fewer when many are shown (a chart of 100
// lines of 1,000 points draws 100,000 points into 400 pixels, and joining their steps costs seconds);
// never under MIN_OVERVIEW_POINTS. Zooming in fetches the range again at `maxPoints`.
const POINTS_PER_CHART = 20000;
const MIN_OVERVIEW_POINTS = 200;
function overviewPoints() {
  return Math.max(MIN_OVERVIEW_POINTS, Math.min(S.maxPoints, Math.floor(POINTS_PER_CHART / Math.max(1, visibleRuns().length))));
}

async function loadMissing(generation) {
  const runs = visibleRuns().map((r) => r.name).filter((name) => !(name in S.keys));
  if (!runs.length) return;
  const groups = (items, size) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
  const size = Math.min(25, Math.ceil(runs.length / 5));
  const keys = {}, data = new Map(), cursors = {};
  await Promise.all([
    mapLimit(groups(runs, Math.max(size, 100)), 1, async (group) => Object.assign(keys, await S.source.keys(S.project, group))),
    mapLimit(groups(runs, size), 5, async (group) => {
      const answer = await S.source.seriesOfRuns(S.project, group, null, overviewPoints());
      for (const [run, a] of Object.entries(answer)) {
        for (const [key, c] of Object.entries(a.series)) data.set(dataKey(run, key), c);
        cursors[run] = a.cursor;
      }
    }),
  ]);
  if (generation !== S.generation) return;
  Object.assign(S.keys, keys);
  for (const [k, c] of data) S.data.set(k, c);
  Object.assign(S.cursors, cursors);
}

// -- live updates ----------------------------------------------------------------------------------

function append(target, c) {
  for (const name of ["steps", "timestamps", "values"]) for (const v of c[name]) target[name].push(v);
  if (target.values.length > 2 * S.maxPoints) Object.assign(target, downsample(target, S.maxPoints));
}

async function poll() {
  const generation = S.generation;
  const live = visibleRuns().filter((r) => r.status === "running" && r.name in S.cursors);
  S.polls++;
  if (S.polls % RUNS_REFRESH_EVERY === 0) { // new runs, and status changes of runs not being polled
    if (S.source.refresh) await S.source.refresh();
    const runs = await S.source.runs(S.project);
    if (generation !== S.generation) return;
    const signature = (list) => list.map((r) => `${r.name}\u0000${r.status}\u0000${JSON.stringify(r.tags || [])}\u0000${r.notes || ""}`).join("\n");
    const before = signature(S.runs); // names, statuses, and tags or notes set from elsewhere (CLI, MCP)
    setRuns(runs);
    if (signature(runs) !== before) {
      renderSidebar();
      await loadMissing(generation);
      drawCharts();
    }
  }
  if (!live.length) { $("live").textContent = ""; return; }
  const cursors = Object.fromEntries(live.map((r) => [r.name, S.cursors[r.name]]));
  const answer = await S.source.poll(S.project, cursors, S.maxPoints);
  if (generation !== S.generation) return;
  S.pollBytes.push(S.source.lastPollBytes || 0);
  const changed = new Set();
  for (const r of answer) {
    S.cursors[r.run] = r.cursor;
    const info = S.byName.get(r.run);
    if (info) { info.status = r.status; info.last_step = r.last_step; if ("end_reason" in r) info.end_reason = r.end_reason; }
    for (const [key, c] of Object.entries(r.series)) {
      const k = dataKey(r.run, key);
      if (!S.data.has(k)) S.data.set(k, { steps: [], timestamps: [], values: [] });
      append(S.data.get(k), c);
      const metrics = (S.keys[r.run] ??= { metrics: {}, system: [], tables: [] }).metrics;
      const values = c.values;
      metrics[key] = { ...(metrics[key] || {}), last: values[values.length - 1], last_step: c.steps[c.steps.length - 1] };
      changed.add(key);
    }
  }
  if (changed.size) updateCharts(changed);
  if (answer.some((r) => r.status !== "running")) renderSidebar();
  $("live").textContent = `● live · ${new Date().toLocaleTimeString()}`;
  if (S.tab === "system") await loadSystem();
  if (S.tab === "runs") renderRunsTable();
  if (S.tab === "media") await renderMedia();
  if (S.tab === "histograms") await renderHistograms();
  if (S.tab === "reports") await renderReports();
}

function schedulePoll() {
  clearTimeout(S.pollTimer);
  const delay = document.hidden ? Math.min(S.pollMs * 2 ** (++S.hiddenPolls), MAX_HIDDEN_POLL_MS) : S.pollMs;
  if (!document.hidden) S.hiddenPolls = 0;
  S.pollDelays.push(delay);
  if (S.pollDelays.length > 20) S.pollDelays.shift();
  S.pollTimer = setTimeout(async () => {
    try {
      await poll();
    } catch (e) {
      console.warn("poll failed", e);
    }
    schedulePoll();
  }, delay);
}

// Hidden tab: each poll waits twice as long (up to a minute); shown again: poll at once.
document.addEventListener("visibilitychange", async () => {
  if (document.hidden || !S.project) return;
  clearTimeout(S.pollTimer);
  S.hiddenPolls = 0;
  try {
    await poll();
  } catch (e) {
    console.warn("poll failed", e);
  }
  schedulePoll();
});

// -- system tab ------------------------------------------------------------------------------------

async function loadSystem() {
  const runs = visibleRuns().filter((r) => (S.keys[r.name]?.system || []).length);
  await mapLimit(runs, 4, async (r) => {
    const answer = await S.source.system(S.project, r.name, S.systemCursors[r.name]);
    S.systemCursors[r.name] = answer.cursor;
    const mine = (S.system[r.name] ??= {});
    for (const [key, nodes] of Object.entries(answer.series)) {
      for (const [node, c] of Object.entries(nodes)) {
        const target = ((mine[key] ??= {})[node] ??= { steps: [], timestamps: [], values: [] });
        for (const name of ["steps", "timestamps", "values"]) for (const v of c[name]) target[name].push(v);
      }
    }
  });
  drawSystem();
}

function drawSystem() {
  for (const c of S.systemCharts.values()) c.u.destroy();
  S.systemCharts.clear();
  const root = $("tab-system");
  root.replaceChildren();
  const keys = new Set();
  for (const r of visibleRuns()) for (const k of Object.keys(S.system[r.name] || {})) keys.add(k);
  const grid = el("div", { class: "grid" });
  root.append(grid);
  const width = chartWidth(root);
  const axis = S.xAxis;
  S.xAxis = axis === "relative" ? axis : "wall"; // system samples are timed, not stepped
  for (const key of [...keys].sort()) {
    const lines = [];
    for (const r of visibleRuns()) {
      for (const [node, c] of Object.entries(S.system[r.name]?.[key] || {})) {
        const l = line(r.name, c);
        l.label = node ? `${r.name} @ ${node}` : r.name;
        lines.push(l);
      }
    }
    S.systemCharts.set(key, makeChart(key, grid, lines, width, "system"));
  }
  S.xAxis = axis;
  if (!keys.size) root.append(el("p", { class: "muted", text: "No system metrics for the shown runs (sampled while a run trains: GPU utilization, memory, power)." }));
}

// -- runs tab --------------------------------------------------------------------------------------

function configDiff(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.config || {})) keys.add(k);
  const differing = new Set();
  for (const k of keys) {
    const values = new Set(runs.map((r) => (k in (r.config || {}) ? JSON.stringify(r.config[k]) : "\u0000missing")));
    if (values.size > 1) differing.add(k);
  }
  return { keys: [...keys].sort(), differing };
}

// One row per shown run, the columns a comparison needs first: run, status, tags, notes, the config keys whose
// values differ (all keys as columns only when there are few: a Trainer run has over a hundred), the last value of
// each metric (the metric filter applies), the end-of-training summary, then times. Config keys that are the same
// in every shown run are listed once, folded, under the table. With the page's write token (runedit.js), a menu
// per run renames, tags, annotates or deletes it.
function renderRunsTable() { // ALL_CONFIG_COLUMNS_UP_TO, MAX_CONFIG_COLUMNS, configList: runedit.js
  const runs = visibleRuns();
  const { keys, differing } = configDiff(runs);
  const allAsColumns = !S.diffOnly && keys.length <= ALL_CONFIG_COLUMNS_UP_TO;
  const wanted = allAsColumns ? keys : keys.filter((k) => differing.has(k));
  const configKeys = wanted.slice(0, MAX_CONFIG_COLUMNS), moreKeys = wanted.slice(MAX_CONFIG_COLUMNS);
  const sameKeys = allAsColumns || S.diffOnly ? [] : keys.filter((k) => !differing.has(k));
  const summaryKeys = new Set();
  for (const r of runs) for (const k of Object.keys(r.summary || {})) summaryKeys.add(k);
  const filter = regex(S.metricFilter);
  const lastKeys = new Set();
  for (const r of runs) for (const k of Object.keys(S.keys[r.name]?.metrics || {})) if (!filter || filter.test(k)) lastKeys.add(k);
  const metricOrder = [...lastKeys].sort((a, b) => SPEED_KEY.test(a) - SPEED_KEY.test(b) || a.localeCompare(b)); // rates last
  const end = (r) => r.finished_at ?? (r.status === "running" ? Date.now() / 1000 : r.heartbeat_at);
  const columns = [ // [header, class, cell of a run]
    ["", "swatch-cell", (r) => el("span", { class: "swatch", style: `background:${color(r.name)}` })],
    ...(canWrite() ? [["", "actions-cell", (r) => runActions(r)]] : []),
    ["run", "run-cell", (r) => r.name],
    ["status", "status-cell", (r) => el("span", { class: `status ${r.status}`, text: r.status, title: ended(r.end_reason) || null })],
    ["tags", "tags-cell", (r) => tagChips(r) || ""],
    ["notes", "notes-cell", (r) => notesCell(r)],
    ...configKeys.map((k) => [`config.${k}`, differing.has(k) ? "config-cell differs" : "config-cell", (r) => boundedText(fmt((r.config || {})[k]))]),
    ...metricOrder.map((k) => [k, "number-cell", (r) => fmt(num(S.keys[r.name]?.metrics?.[k]?.last))]),
    ...[...summaryKeys].sort().map((k) => [k, "number-cell", (r) => fmt(num(r.summary?.[k]))]),
    ["group", null, (r) => boundedText(r.group || "")],
    ["ended", "ended-cell", (r) => boundedText(ended(r.end_reason) || "–")],
    ["duration", null, (r) => duration(end(r) - r.created_at)],
    ["last step", "number-cell", (r) => fmt(r.last_step)],
    ...(moreKeys.length ? [[`+${moreKeys.length} config keys`, "config-more differs", (r) => configList(moreKeys, r.config || {})]] : []),
  ];
  const table = el("table", { class: "runs-table" },
    el("thead", {}, el("tr", {}, ...columns.map(([h, cls]) => { const th = columnHeader(h); if (cls) th.className = cls; return th; }))),
    el("tbody", {}, ...runs.map((r) => el("tr", { "data-run": r.name }, ...columns.map(([, cls, cell]) => el("td", { class: cls }, cell(r)))))));
  const same = sameKeys.length
    ? el("details", { class: "config-same" }, el("summary", { text: `Config the same in every shown run (${sameKeys.length} keys)` }),
      configList(sameKeys, runs[0]?.config || {}))
    : null;
  $("runs-table").replaceChildren(...[el("div", { class: "runs-scroll" }, table), same, checkpointsTable(runs)].filter(Boolean));
}

// The checkpoints the shown runs saved (`core/checkpoint_records.py`), oldest first per run: step, time, folder,
// the eval metrics of that moment (without the evaluation's runtime and rates), best metric, and the Hub commit.
const SPEED_KEY = /(\/runtime|_per_second)$/;
function checkpointsTable(runs) {
  const rows = runs.flatMap((r) => (r.checkpoints || []).map((c) => ({ run: r.name, ...c })));
  if (!rows.length) return el("p", { class: "muted checkpoints-none", text: "No checkpoints recorded for the shown runs." });
  const pushed = (c) => (c.repo && c.revision
    ? el("a", { href: `https://huggingface.co/${c.repo}/tree/${c.revision}`, target: "_blank", rel: "noopener", text: `${c.repo}@${c.revision.slice(0, 8)}` })
    : c.repo || "–");
  const metrics = (c) => Object.entries(c.metrics || {}).filter(([k]) => !SPEED_KEY.test(k)).map(([k, v]) => `${k}=${fmt(num(v))}`).join(" ") || "–";
  return el("div", { class: "checkpoints" }, el("h3", { text: "Checkpoints" }),
    el("table", { class: "data-table checkpoints-table" },
      el("thead", {}, el("tr", {}, ...["run", "step", "saved", "path", "eval metrics", "best metric", "pushed"].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows.map((c) => el("tr", { "data-run": c.run, "data-step": c.step },
        el("td", { text: c.run }), el("td", { text: fmt(c.step) }),
        el("td", { text: c.time ? new Date(c.time * 1000).toLocaleString() : "–" }), el("td", { class: "path", text: c.path }),
        el("td", { class: "metrics", text: metrics(c) }), el("td", { text: fmt(num(c.best_metric)) }), el("td", { class: "pushed" }, pushed(c)))))));
}

// -- tables and alerts tabs ------------------------------------------------------------------------

async function renderTables() {
  const runs = visibleRuns().filter((r) => (S.keys[r.name]?.tables || []).length);
  const controls = $("tables-controls"), view = $("tables-view");
  if (!runs.length) {
    controls.replaceChildren();
    view.replaceChildren(el("p", { class: "muted", text: "No tables logged by the shown runs (TRL logs completions with log_completions=True)." }));
    return;
  }
  const runSelect = el("select", { id: "table-run" }, ...runs.map((r) => el("option", { value: r.name, text: r.name })));
  const stepSelect = el("select", { id: "table-step" });
  controls.replaceChildren(el("label", {}, "Run ", runSelect), el("label", {}, " Logged at ", stepSelect));
  let entries = [];
  const show = () => {
    const entry = entries[Number(stepSelect.value)];
    if (!entry) { view.replaceChildren(); return; }
    const columns = entry.columns || Object.keys((entry.rows || [])[0] || {});
    const rows = (entry.rows || []).map((row) => (Array.isArray(row) ? row : columns.map((c) => row[c])));
    view.replaceChildren(el("table", { class: "data-table", "data-key": entry.key, "data-step": entry.step },
      el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { text: c })))),
      el("tbody", {}, ...rows.map((row, i) => el("tr", {}, ...row.map((v, j) => el("td", {}, tableCell(v, i, columns[j]))))))));
  };
  const load = async () => {
    entries = await S.source.tables(S.project, runSelect.value);
    stepSelect.replaceChildren(...entries.map((e, i) => el("option", { value: i, text: `${e.key} · step ${e.step}` })));
    stepSelect.value = String(entries.length - 1);
    show();
  };
  runSelect.addEventListener("change", load);
  stepSelect.addEventListener("change", show);
  await load();
}

async function renderAlerts() {
  const rows = [];
  for (const r of visibleRuns()) for (const a of await S.source.alerts(S.project, r.name)) rows.push({ run: r.name, ...a });
  rows.sort((a, b) => a.timestamp - b.timestamp);
  const view = $("alerts-view");
  if (!rows.length) { view.replaceChildren(el("p", { class: "muted", text: "No alerts for the shown runs." })); return; }
  view.replaceChildren(el("table", { class: "data-table alerts" },
    el("thead", {}, el("tr", {}, ...["run", "time", "step", "level", "title", "text", "value"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((a) => el("tr", { "data-run": a.run, "data-level": a.level, "data-title": a.title },
      el("td", { text: a.run }), el("td", { text: new Date(a.timestamp * 1000).toLocaleString() }), el("td", { text: fmt(a.step) }),
      el("td", { text: a.level }), el("td", { text: a.title }), el("td", { text: fmt(a.text) }), el("td", { text: fmt(num(a.value)) }))))));
}

// -- page ------------------------------------------------------------------------------------------

async function selectTab(tab) {
  S.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${tab}`;
  $("chart-controls").hidden = !["metrics", "system"].includes(tab); // the chart tabs' controls; the filter serves all
  try {
    if (tab === "system") await loadSystem();
    else if (tab === "runs") renderRunsTable();
    else if (tab === "tables") await renderTables();
    else if (tab === "alerts") await renderAlerts();
    else if (tab === "media") await renderMedia();
    else if (tab === "histograms") await renderHistograms();
    else if (tab === "reports") await renderReports();
    else if (tab === "parallel") renderParallel($("tab-parallel"), { runs: visibleRuns(), keys: S.keys, color, fmt });
  } catch (e) {
    showError(e);
  }
}

async function refresh() {
  renderSidebar();
  const generation = S.generation;
  try {
    await loadMissing(generation);
  } catch (e) {
    showError(e);
  }
  if (generation !== S.generation) return;
  drawCharts();
  if (S.tab !== "metrics") await selectTab(S.tab);
  saveView();
}

async function openProject(project) {
  S.generation++;
  const generation = S.generation;
  S.project = project;
  S.keys = {}; S.data.clear(); S.cursors = {}; S.system = {}; S.systemCursors = {}; S.hidden.clear(); S.texts = {};
  S.media = {}; S.histograms = {}; S.traces = {}; S.stepChoice = {}; S.drawn = {};
  document.body.dataset.state = "loading";
  const started = performance.now();
  setRuns(await S.source.runs(project));
  if (generation !== S.generation) return;
  applyLinkRuns();
  renderSidebar();
  await loadMissing(generation);
  if (generation !== S.generation) return;
  drawCharts();
  S.timings.projectMs = performance.now() - started;
  S.timings.chartsDrawn = performance.now(); // since navigation start
  if (S.focusChart && S.charts.has(S.focusChart)) openFullscreen(S.focusChart);
  S.focusChart = null;
  document.body.dataset.state = "ready";
  if (S.tab !== "metrics") await selectTab(S.tab);
  saveView();
  schedulePoll();
}

// The address of the current view with one chart named (`chart=KEY`): opening it shows that chart in
// fullscreen. The query string carries the view (view.js), so the link opens in a Space too.
function chartLink(key) {
  const params = linkParams();
  params.set("chart", key);
  return `${location.origin}${location.pathname}?${params}`;
}

function debounce(fn, ms = 200) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function wire() {
  $("project").addEventListener("change", (e) => openProject(e.target.value).catch(showError));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => { selectTab(b.dataset.tab); saveView(); });
  $("run-filter").addEventListener("input", debounce((e) => { S.runFilter = e.target.value; refresh(); }));
  $("run-limit").addEventListener("change", (e) => { S.runLimit = Math.max(1, Number(e.target.value) || 1); refresh(); });
  $("metric-filter").addEventListener("input", debounce((e) => { S.metricFilter = e.target.value; drawCharts(); saveView(); if (S.tab === "runs") renderRunsTable(); if (["media", "histograms", "reports"].includes(S.tab)) selectTab(S.tab); }));
  $("smoothing").addEventListener("input", (e) => {
    S.smoothing = Number(e.target.value);
    $("smoothing-value").textContent = S.smoothing;
    drawChartsSoon();
  });
  $("x-axis").addEventListener("change", (e) => { S.xAxis = e.target.value; S.xRange = null; drawCharts(); if (S.tab === "system") drawSystem(); saveView(); });
  $("group-by").addEventListener("change", (e) => { S.groupBy = e.target.value; drawCharts(); saveView(); });
  $("band").addEventListener("change", (e) => { S.band = e.target.value; drawCharts(); saveView(); });
  $("combine").addEventListener("change", (e) => {
    const pattern = e.target.value.trim(); // a regex: the metrics it matches drawn on one chart
    e.target.value = "";
    if (pattern && !S.merges.includes(pattern)) { S.merges.push(pattern); drawCharts(); saveView(); }
  });
  $("legends").addEventListener("change", (e) => { S.legendHidden = !e.target.checked; for (const c of S.charts.values()) c.renderLegend(); });
  $("sidebar-toggle").addEventListener("click", () => setSidebar(S.sidebar === "open" ? "collapsed" : "open"));
  $("run-groups").addEventListener("mouseover", (e) => { const label = e.target.closest("label.run"); if (label) highlight(label.dataset.run); });
  $("run-groups").addEventListener("mouseleave", () => highlight(null));
  $("log-y").addEventListener("change", (e) => { S.logY = e.target.checked; drawCharts(); saveView(); });
  $("diff-only").addEventListener("change", (e) => { S.diffOnly = e.target.checked; renderRunsTable(); });
  wireZoom();
  window.addEventListener("resize", debounce(() => { drawCharts(); if (S.tab === "system") drawSystem(); }, 300));
}

const drawChartsSoon = debounce(() => { drawCharts(); saveView(); }, 60);

async function boot() {
  wire();
  const wanted = loadView();
  S.source = await openSource();
  S.info = await S.source.info(wanted);
  S.pollMs = S.info.poll_ms || S.pollMs;
  S.maxPoints = S.info.max_points || S.maxPoints;
  if (S.source.mode === "hub") {
    document.title = `${S.info.dataset_id} · trackio-callback`;
    if (OAuth.variables()) {
      $("auth").replaceChildren(OAuth.token()
        ? el("button", { text: "Sign out", onclick: () => OAuth.signOut() })
        : el("button", { text: "Sign in with Hugging Face", onclick: () => OAuth.signIn() }));
    }
  }
  const projects = S.info.projects || [];
  $("project").replaceChildren(...projects.map((p) => el("option", { value: p, text: p })));
  const project = projects.includes(wanted) ? wanted : S.info.project && projects.includes(S.info.project) ? S.info.project : projects[projects.length - 1];
  if (!project) {
    document.body.dataset.state = "ready";
    $("tab-metrics").replaceChildren(el("p", { class: "muted", text: "No projects yet: log a run with trackio_callback.init(project=...)." }));
    return;
  }
  $("project").value = project;
  await openProject(project);
}

window.trackioDashboard = {
  state() {
    const charts = chartsState();
    const systemCharts = {};
    for (const [key, chart] of S.systemCharts) systemCharts[key] = { lines: chart.lines.map((l) => l.label), points: chart.lines.map((l) => l.x.length) };
    return {
      mode: S.source?.mode, project: S.project, tab: S.tab, xAxis: S.xAxis, smoothing: S.smoothing, logY: S.logY,
      groupBy: S.groupBy, band: S.band, merges: [...S.merges], xRange: S.xRange, sidebar: S.sidebar, accordion: S.accordion,
      highlighted: S.highlighted ?? null, metricFilter: S.metricFilter, url: location.href,
      shownRuns: shownRuns().map((r) => r.name), visibleRuns: visibleRuns().map((r) => r.name),
      groups: Object.fromEntries([...document.querySelectorAll("details.group")].map((d) => [d.dataset.group, [...d.querySelectorAll("label.run")].map((l) => l.dataset.run)])),
      colors: Object.fromEntries(S.runs.map((r) => [r.name, color(r.name)])),
      cursors: { ...S.cursors }, charts, systemCharts, texts: S.textPanels, polls: S.polls, pollBytes: [...S.pollBytes],
      chartTools: chartToolsState(), parallel: parallelState(), tags: runEditState(),
      media: mediaState(), histograms: histogramState(), reports: reportState(), tableImages: tableImagesState(), zoom: zoomState(),
      pollDelays: [...S.pollDelays],
      sourceBytes: S.source?.bytes, timings: { ...S.timings }, draws: S.draws, error: S.error,
    };
  },
  pollNow: () => poll(),
};

boot().catch((e) => { showError(e); document.body.dataset.state = "error"; });
