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
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(+v.toPrecision(6));
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
  const filter = regex(S.runFilter);
  const matching = S.runs.filter((r) => !filter || filter.test(r.name) || filter.test(r.group || ""));
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
    }
    box.append(details);
  }
}

// -- data ----------------------------------------------------------------------------------------

async function loadMissing(generation) {
  const runs = visibleRuns().map((r) => r.name).filter((name) => !(name in S.keys));
  if (!runs.length) return;
  const keys = await S.source.keys(S.project, runs);
  if (generation !== S.generation) return;
  Object.assign(S.keys, keys);
  await mapLimit(runs, 6, async (run) => {
    const wanted = Object.keys(keys[run]?.metrics || {});
    const answer = await S.source.series(S.project, run, wanted, S.maxPoints);
    if (generation !== S.generation) return;
    for (const [key, c] of Object.entries(answer.series)) S.data.set(dataKey(run, key), c);
    S.cursors[run] = answer.cursor;
  });
}

function metricKeys() {
  const keys = new Set();
  for (const r of visibleRuns()) for (const k of Object.keys(S.keys[r.name]?.metrics || {})) keys.add(k);
  const filter = regex(S.metricFilter);
  return [...keys].filter((k) => !filter || filter.test(k)).sort();
}

function section(key) {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "other";
}

const SECTION_ORDER = ["train", "eval", "throughput", "system", "other"];

// Debiased exponential moving average (as TensorBoard): no pull towards 0 at the start.
function smooth(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let last = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !isFinite(v)) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

// One run's line on a chart: x (by the chosen axis) sorted, the last value kept per x (a resumed
// run logs some steps twice), raw and smoothed y.
function line(run, c) {
  const info = S.byName.get(run);
  const start = info?.created_at ?? (c.timestamps[0] || 0);
  const xs = S.xAxis === "step" ? c.steps : S.xAxis === "wall" ? c.timestamps : c.timestamps.map((t) => t - start);
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const x = [], y = [];
  for (const i of order) {
    let v = c.values[i];
    if (S.logY && !(v > 0)) v = null;
    else if (v !== null && !isFinite(v)) v = null; // NaN and inf break the scale: drawn as a gap
    if (x.length && x[x.length - 1] === xs[i]) y[y.length - 1] = v;
    else { x.push(xs[i]); y.push(v); }
  }
  return { run, x, raw: y, smoothed: smooth(y, S.smoothing) };
}

function chartLines(key) {
  const lines = [];
  for (const r of visibleRuns()) {
    const c = S.data.get(dataKey(r.name, key));
    if (c && c.values.length) lines.push(line(r.name, c));
  }
  return lines;
}

function chartData(lines) {
  const tables = lines.map((l) => (S.smoothing ? [l.x, l.raw, l.smoothed] : [l.x, l.raw]));
  if (!tables.length) return [[]];
  return uPlot.join(tables);
}

function fade(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

function seriesOptions(lines) {
  const series = [{}];
  for (const l of lines) {
    const c = color(l.run);
    if (S.smoothing) {
      series.push({ label: `${l.run} (raw)`, stroke: fade(c, 0.25), width: 1, spanGaps: true, points: { show: false } });
      series.push({ label: l.run, stroke: c, width: 1.5, spanGaps: true, points: { show: false } });
    } else {
      series.push({ label: l.run, stroke: c, width: 1.5, spanGaps: true, points: { show: false } });
    }
  }
  return series;
}

function xAxisOptions() {
  if (S.xAxis === "relative") return { values: (u, splits) => splits.map((v) => duration(v)) };
  return {};
}

function lookup(l, xValue, values) {
  let lo = 0, hi = l.x.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (l.x[mid] <= xValue) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best < 0 ? null : values[best];
}

function tooltip(u, chart) {
  const tip = $("tooltip");
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined || u.cursor.left < 0) { tip.hidden = true; return; }
  const x = u.data[0][idx];
  const xText = S.xAxis === "step" ? `step ${fmt(x)}` : S.xAxis === "wall" ? new Date(x * 1000).toLocaleString() : duration(x);
  const rows = chart.lines.map((l) => {
    const v = lookup(l, x, S.smoothing ? l.smoothed : l.raw);
    return el("div", { class: "tip-row", "data-run": l.run },
      el("span", { class: "swatch", style: `background:${color(l.run)}` }), el("span", { text: `${l.label || l.run}: ` }), el("b", { text: fmt(v) }));
  });
  tip.replaceChildren(el("div", { class: "tip-title", text: `${chart.key} · ${xText}` }), ...rows);
  const rect = u.over.getBoundingClientRect();
  tip.style.left = `${Math.min(rect.left + u.cursor.left + 16, window.innerWidth - 260)}px`;
  tip.style.top = `${rect.top + window.scrollY + u.cursor.top + 16}px`;
  tip.hidden = false;
}

function chartWidth(container) {
  const width = container.clientWidth || 900;
  const columns = width > 1100 ? 3 : width > 700 ? 2 : 1;
  return Math.floor(width / columns) - 24;
}

function makeChart(key, container, lines, width, kind = "metric") {
  const card = el("div", { class: "chart", "data-key": key });
  const head = el("div", { class: "chart-head" }, el("span", { class: "chart-title", text: key }));
  if (kind === "metric") {
    const links = el("span", { class: "downloads" });
    head.append(links);
    card.addEventListener("mouseenter", () => {
      links.replaceChildren();
      for (const r of lines.map((l) => l.run)) {
        for (const link of S.source.downloadLinks(S.project, r, key)) {
          const a = el("a", { text: `${link.label} ${r}`, download: `${r}-${key.replace(/\//g, "_")}.${link.label.toLowerCase()}` });
          if (link.href) a.href = link.href;
          else a.addEventListener("click", () => { a.href = URL.createObjectURL(new Blob([link.csv()], { type: "text/csv" })); });
          links.append(a);
        }
      }
    });
  }
  card.append(head);
  container.append(card);
  const chart = { key, lines, card, zoomed: false, u: null };
  const opts = {
    width, height: 220,
    scales: { x: { time: S.xAxis === "wall" }, y: { distr: S.logY ? 3 : 1 } },
    series: seriesOptions(lines),
    axes: [xAxisOptions(), { size: 60 }],
    legend: { show: false },
    cursor: { sync: { key: `trackio-${kind}` }, drag: { x: true, y: false } },
    hooks: {
      setCursor: [(u) => tooltip(u, chart)],
      setSelect: [(u) => { if (u.select.width > 0) chart.zoomed = true; }],
      setScale: [(u, scale) => { if (scale === "x" && chart.zoomed && kind === "metric") zoomDetail(chart); }],
    },
  };
  chart.u = new uPlot(opts, chartData(lines), card);
  chart.u.over.addEventListener("mouseleave", () => ($("tooltip").hidden = true));
  chart.u.over.addEventListener("dblclick", () => {
    chart.zoomed = false;
    if (chart.detail) { chart.detail = null; chart.lines = chartLines(key); chart.u.setData(chartData(chart.lines)); }
  });
  return chart;
}

// Zoomed into a downsampled series (step axis): fetch that step range again, so the points hidden by
// the overview's downsampling show up (a million-step run zooms down to single steps).
const zoomDetail = debounceBy((chart) => chart.key, async (chart) => {
  if (S.xAxis !== "step") return;
  const { min, max } = chart.u.scales.x;
  const lo = Math.floor(min), hi = Math.ceil(max);
  if (chart.detail && chart.detail.min === lo && chart.detail.max === hi) return;
  const generation = S.generation;
  const answers = await Promise.all(chart.lines.map((l) => S.source.series(S.project, l.run, [chart.key], S.maxPoints, lo, hi)));
  if (generation !== S.generation || !chart.zoomed || !S.charts.has(chart.key)) return;
  const lines = [];
  chart.lines.forEach((l, i) => {
    const c = answers[i].series[chart.key];
    if (c && c.values.length) lines.push(line(l.run, c));
  });
  chart.detail = { min: lo, max: hi };
  chart.lines = lines;
  chart.u.setData(chartData(lines), false);
  chart.u.setScale("x", { min, max });
}, 150);

function debounceBy(keyOf, fn, ms) {
  const timers = new Map();
  return (arg) => {
    const k = keyOf(arg);
    clearTimeout(timers.get(k));
    timers.set(k, setTimeout(() => { timers.delete(k); fn(arg).catch((e) => console.warn("zoom", e)); }, ms));
  };
}

function drawCharts() {
  for (const c of S.charts.values()) c.u.destroy();
  S.charts.clear();
  const root = $("tab-metrics");
  root.replaceChildren();
  const bySection = new Map();
  for (const key of metricKeys()) {
    const s = section(key);
    if (!bySection.has(s)) bySection.set(s, []);
    bySection.get(s).push(key);
  }
  const order = [...bySection.keys()].sort((a, b) => (SECTION_ORDER.indexOf(a) + 1 || 99) - (SECTION_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const width = chartWidth(root);
  for (const s of order) {
    const grid = el("div", { class: "grid" });
    root.append(el("details", { class: "section", "data-section": s, open: true }, el("summary", { text: `${s} (${bySection.get(s).length})` }), grid));
    for (const key of bySection.get(s)) S.charts.set(key, makeChart(key, grid, chartLines(key), width));
  }
  if (!S.charts.size) root.append(el("p", { class: "muted", text: S.runs.length ? "No metrics match." : "No runs in this project yet." }));
  S.draws++;
  document.body.dataset.draws = String(S.draws);
}

function updateCharts(keys) {
  let added = false;
  for (const key of keys) {
    const chart = S.charts.get(key);
    if (!chart) { added = true; continue; }
    const lines = chartLines(key);
    if (lines.length !== chart.lines.length) { added = true; continue; }
    chart.lines = lines;
    chart.u.setData(chartData(lines), !chart.zoomed);
  }
  if (added) drawCharts();
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
    const before = S.runs.map((r) => r.name + r.status).join();
    setRuns(runs);
    if (runs.map((r) => r.name + r.status).join() !== before) {
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
  S.xAxis = axis === "step" ? "wall" : axis; // system samples are timed, not stepped
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

function renderRunsTable() {
  const runs = visibleRuns();
  const { keys, differing } = configDiff(runs);
  const configKeys = S.diffOnly ? keys.filter((k) => differing.has(k)) : keys;
  const summaryKeys = new Set();
  for (const r of runs) for (const k of Object.keys(r.summary || {})) summaryKeys.add(k);
  const filter = regex(S.metricFilter);
  const lastKeys = new Set();
  for (const r of runs) for (const k of Object.keys(S.keys[r.name]?.metrics || {})) if (!filter || filter.test(k)) lastKeys.add(k);
  const head = ["", "run", "group", "status", "ended", "duration", "last step", ...[...summaryKeys].sort(), ...[...lastKeys].sort(), ...configKeys.map((k) => `config.${k}`)];
  const table = el("table", { class: "runs-table" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { text: h, class: differing.has(h.slice(7)) && h.startsWith("config.") ? "differs" : null })))));
  const body = el("tbody");
  for (const r of runs) {
    const end = r.finished_at ?? (r.status === "running" ? Date.now() / 1000 : r.heartbeat_at);
    const cells = [
      el("span", { class: "swatch", style: `background:${color(r.name)}` }), r.name, r.group || "", r.status,
      ended(r.end_reason) || "–", duration(end - r.created_at), fmt(r.last_step),
      ...[...summaryKeys].sort().map((k) => fmt(num(r.summary?.[k]))),
      ...[...lastKeys].sort().map((k) => fmt(num(S.keys[r.name]?.metrics?.[k]?.last))),
      ...configKeys.map((k) => fmt((r.config || {})[k])),
    ];
    body.append(el("tr", { "data-run": r.name }, ...cells.map((c, i) => el("td", { class: head[i].startsWith("config.") && differing.has(head[i].slice(7)) ? "differs" : null }, c))));
  }
  table.append(body);
  $("runs-table").replaceChildren(table, checkpointsTable(runs));
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
  renderSidebar();
  await loadMissing(generation);
  if (generation !== S.generation) return;
  drawCharts();
  S.timings.projectMs = performance.now() - started;
  S.timings.chartsDrawn = performance.now(); // since navigation start
  document.body.dataset.state = "ready";
  if (S.tab !== "metrics") await selectTab(S.tab);
  saveView();
  schedulePoll();
}

// The view lives in the address bar's hash, so a reload or a shared link shows the same thing.
function saveView() {
  const view = new URLSearchParams({ project: S.project || "", x: S.xAxis, smoothing: S.smoothing, tab: S.tab });
  if (S.logY) view.set("logy", "1");
  if (S.runFilter) view.set("runs", S.runFilter);
  if (S.metricFilter) view.set("metrics", S.metricFilter);
  if (S.runLimit !== 20) view.set("latest", S.runLimit);
  history.replaceState(null, "", `#${view}`);
}

function loadView() {
  const view = new URLSearchParams(location.hash.slice(1));
  S.xAxis = ["step", "wall", "relative"].includes(view.get("x")) ? view.get("x") : "step";
  S.smoothing = Math.min(0.99, Math.max(0, Number(view.get("smoothing")) || 0));
  S.logY = view.get("logy") === "1";
  S.runFilter = view.get("runs") || "";
  S.metricFilter = view.get("metrics") || "";
  S.runLimit = Math.max(1, Number(view.get("latest")) || 20);
  const tab = view.get("tab") === "texts" ? "reports" : view.get("tab"); // links from before the Reports tab
  S.tab = ["metrics", "system", "runs", "tables", "alerts", "media", "histograms", "reports"].includes(tab) ? tab : "metrics";
  $("x-axis").value = S.xAxis;
  $("smoothing").value = S.smoothing;
  $("smoothing-value").textContent = S.smoothing;
  $("log-y").checked = S.logY;
  $("run-filter").value = S.runFilter;
  $("metric-filter").value = S.metricFilter;
  $("run-limit").value = S.runLimit;
  return view.get("project");
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
  $("x-axis").addEventListener("change", (e) => { S.xAxis = e.target.value; drawCharts(); if (S.tab === "system") drawSystem(); saveView(); });
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
  S.info = await S.source.info();
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
    const charts = {};
    for (const [key, chart] of S.charts) {
      charts[key] = {
        runs: chart.lines.map((l) => l.run),
        points: Object.fromEntries(chart.lines.map((l) => [l.run, l.x.length])),
        last: Object.fromEntries(chart.lines.map((l) => [l.run, l.raw[l.raw.length - 1]])),
        lastSmoothed: Object.fromEntries(chart.lines.map((l) => [l.run, l.smoothed[l.smoothed.length - 1]])),
        firstSmoothed: Object.fromEntries(chart.lines.map((l) => [l.run, l.smoothed[0]])),
        x: Object.fromEntries(chart.lines.map((l) => [l.run, [l.x[0], l.x[l.x.length - 1]]])),
        max: Object.fromEntries(chart.lines.map((l) => [l.run, Math.max(...l.raw.filter((v) => v !== null))])),
        series: chart.u.series.length - 1,
        yDistr: chart.u.scales.y.distr,
        xTime: !!chart.u.scales.x.time,
        section: section(key),
        zoom: chart.detail ? [chart.detail.min, chart.detail.max] : null,
      };
    }
    const systemCharts = {};
    for (const [key, chart] of S.systemCharts) systemCharts[key] = { lines: chart.lines.map((l) => l.label), points: chart.lines.map((l) => l.x.length) };
    return {
      mode: S.source?.mode, project: S.project, tab: S.tab, xAxis: S.xAxis, smoothing: S.smoothing, logY: S.logY,
      shownRuns: shownRuns().map((r) => r.name), visibleRuns: visibleRuns().map((r) => r.name),
      groups: Object.fromEntries([...document.querySelectorAll("details.group")].map((d) => [d.dataset.group, [...d.querySelectorAll("label.run")].map((l) => l.dataset.run)])),
      colors: Object.fromEntries(S.runs.map((r) => [r.name, color(r.name)])),
      cursors: { ...S.cursors }, charts, systemCharts, texts: S.textPanels, polls: S.polls, pollBytes: [...S.pollBytes],
      media: mediaState(), histograms: histogramState(), reports: reportState(), tableImages: tableImagesState(), zoom: zoomState(),
      pollDelays: [...S.pollDelays],
      sourceBytes: S.source?.bytes, timings: { ...S.timings }, draws: S.draws, error: S.error,
    };
  },
  pollNow: () => poll(),
};

boot().catch((e) => { showError(e); document.body.dataset.state = "error"; });
