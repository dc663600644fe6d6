// The metric charts: which charts there are (one per metric, and combined ones), their lines (per
// run, or per group of runs with a band), the x axis (step, time, or any logged metric), readable
// axes (axes.js), a legend per chart, and the highlight of one run across every chart.
// The numbers are series.js's; the page's state and data are app.js's (`S`).
"use strict";

const SECTION_ORDER = ["combined", "train", "eval", "throughput", "system", "other"];
const TIME_AXES = ["step", "wall", "relative"];
const LEGEND_ROWS = 6; // legend entries shown before "+N more"
const KEY_DASHES = [null, [6, 4], [2, 3], [8, 3, 2, 3]]; // a combined chart's metrics, per run colour

function section(key) {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "other";
}

function metricAxis() {
  return !TIME_AXES.includes(S.xAxis);
}

function allMetricKeys() {
  const keys = new Set();
  for (const r of visibleRuns()) for (const k of Object.keys(S.keys[r.name]?.metrics || {})) keys.add(k);
  return [...keys].sort();
}

function metricKeys() {
  const filter = regex(S.metricFilter);
  return allMetricKeys().filter((k) => !filter || filter.test(k));
}

// The charts to draw: one per metric the filter lets through, and first one per combination
// (`S.merges`: patterns, each naming the metrics drawn together, e.g. train/loss with eval/loss).
function chartSpecs() {
  const specs = [];
  const all = allMetricKeys();
  for (const pattern of S.merges) {
    const re = regex(pattern);
    const keys = all.filter((k) => re && re.test(k));
    if (keys.length) specs.push({ key: `combined:${pattern}`, title: keys.join(" · "), keys, section: "combined", pattern });
  }
  for (const key of metricKeys()) specs.push({ key, title: key, keys: [key], section: section(key) });
  return specs;
}

// The x values of one run's column: its steps, times, or another metric's value at each step.
function xValues(run, c) {
  if (S.xAxis === "step") return c.steps;
  if (S.xAxis === "wall") return c.timestamps;
  if (S.xAxis === "relative") {
    const start = S.byName.get(run)?.created_at ?? (c.timestamps[0] || 0);
    return c.timestamps.map((t) => t - start);
  }
  if (!S.xColumns.has(run)) {
    const column = S.data.get(dataKey(run, S.xAxis));
    S.xColumns.set(run, column && column.steps.length ? byStep(column) : null);
  }
  const column = S.xColumns.get(run);
  return column ? c.steps.map((s) => valueAtStep(column, s)) : c.steps.map(() => null);
}

// One run's line on a chart (x by the chosen axis, sorted; raw and smoothed y).
function line(run, c, key = null) {
  const { x, y } = linePoints(xValues(run, c), c.values, S.logY);
  return { run, key, label: run, color: color(run), dash: null, x, raw: y, smoothed: smooth(y, S.smoothing) };
}

function groupColor(value) {
  if (!S.groupColors.has(value)) S.groupColors.set(value, PALETTE[S.groupColors.size % PALETTE.length]);
  return S.groupColors.get(value);
}

// The lines of a chart: per run and metric; with `S.groupBy`, per group (and metric): the mean of
// its runs with the band `S.band` around it.
function chartLines(spec) {
  if (typeof spec === "string") spec = { key: spec, keys: [spec] };
  const lines = [];
  for (const [i, key] of spec.keys.entries()) {
    for (const r of visibleRuns()) {
      const c = S.data.get(dataKey(r.name, key));
      if (!c || !c.values.length) continue;
      const l = line(r.name, c, key);
      if (l.x.length) lines.push(Object.assign(l, spec.keys.length > 1 ? { label: `${r.name} · ${key}`, dash: KEY_DASHES[i % KEY_DASHES.length] } : {}));
    }
  }
  return S.groupBy ? groupLines(lines, spec) : lines;
}

function groupLines(lines, spec) {
  const groups = new Map();
  for (const l of lines) {
    const value = groupValue(S.byName.get(l.run) || {}, S.groupBy);
    const id = `${value}\u0000${l.key}`;
    if (!groups.has(id)) groups.set(id, { value, key: l.key, dash: l.dash, lines: [] });
    groups.get(id).lines.push(l);
  }
  const out = [];
  for (const g of [...groups.values()].sort((a, b) => a.value.localeCompare(b.value, undefined, { numeric: true }))) {
    const a = aggregate(g.lines, S.band, S.maxPoints, S.smoothing > 0);
    const name = S.groupBy === "group" ? g.value : `${S.groupBy}=${g.value}`;
    const label = `${name} (${g.lines.length} run${g.lines.length === 1 ? "" : "s"})${spec.keys.length > 1 ? ` · ${g.key}` : ""}`;
    out.push({ run: null, group: g.value, key: g.key, label, color: groupColor(g.value), dash: g.dash, x: a.x, raw: a.mean,
      smoothed: a.mean, band: S.band === "none" ? null : { lo: a.lo, hi: a.hi }, members: g.lines.map((l) => l.run), count: a.count });
  }
  return out;
}

function chartData(lines) {
  const tables = lines.map((l) => (l.band ? [l.x, l.raw, l.band.hi, l.band.lo] : S.smoothing ? [l.x, l.raw, l.smoothed] : [l.x, l.raw]));
  if (!tables.length) return [[]];
  return uPlot.join(tables);
}

function fade(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

// uPlot's series (after x) and bands, in the columns' order of `chartData`; `main` maps each line
// to its drawn series index (the one the legend and the highlight act on).
function seriesOptions(lines) {
  const series = [{}], bands = [], main = [];
  const base = (l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: true, points: { show: false }, dash: l.dash || undefined });
  for (const l of lines) {
    if (l.band) {
      main.push(series.length);
      series.push(base(l));
      series.push({ label: `${l.label} max`, stroke: fade(l.color, 0.35), width: 0.5, spanGaps: true, points: { show: false } });
      series.push({ label: `${l.label} min`, stroke: fade(l.color, 0.35), width: 0.5, spanGaps: true, points: { show: false } });
      bands.push({ series: [series.length - 2, series.length - 1], fill: fade(l.color, 0.15) });
    } else if (S.smoothing) {
      series.push({ ...base(l), label: `${l.label} (raw)`, stroke: fade(l.color, 0.25), width: 1 });
      main.push(series.length);
      series.push(base(l));
    } else {
      main.push(series.length);
      series.push(base(l));
    }
  }
  return { series, bands, main };
}

function xLabels(u, splits) {
  if (S.xAxis === "relative") return splits.map((v) => duration(v));
  return tickLabels(splits);
}

function xText(x) {
  if (S.xAxis === "step") return `step ${fmt(x)}`;
  if (S.xAxis === "wall") return new Date(x * 1000).toLocaleString();
  if (S.xAxis === "relative") return duration(x);
  return `${S.xAxis} ${fmt(x)}`;
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
  const rows = chart.lines.map((l) => {
    const v = lookup(l, x, S.smoothing ? l.smoothed : l.raw);
    const band = l.band ? ` [${fmt(lookup(l, x, l.band.lo))} – ${fmt(lookup(l, x, l.band.hi))}]` : "";
    return el("div", { class: "tip-row", "data-run": l.run || l.group },
      el("span", { class: "swatch", style: `background:${l.color}` }), el("span", { text: `${l.label}: ` }), el("b", { text: fmt(v) }), band);
  });
  tip.replaceChildren(el("div", { class: "tip-title", text: `${chart.title} · ${xText(x)}` }), ...rows);
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

// -- legend and highlight ------------------------------------------------------------------------

// The chart's legend: a swatch and name per line (dashed for a second metric), the first
// `LEGEND_ROWS` shown and the rest behind "+N more"; the whole legend folds away. Hovering an entry
// highlights that run (or group) in every chart.
function legend(chart) {
  const box = el("div", { class: "legend" });
  const render = () => {
    const entries = chart.lines.map((l) => {
      const id = l.run ?? l.group;
      const swatch = el("span", { class: `swatch${l.dash ? " dashed" : ""}`, style: l.dash ? `border-color:${l.color}` : `background:${l.color}` });
      const entry = el("span", { class: "legend-entry", "data-run": id, title: l.label }, swatch, el("span", { class: "legend-label", text: l.label }));
      entry.addEventListener("mouseenter", () => highlight(id));
      entry.addEventListener("mouseleave", () => highlight(null));
      return entry;
    });
    const open = S.legendOpen.has(chart.key);
    const shown = open ? entries : entries.slice(0, LEGEND_ROWS);
    const children = [...shown];
    if (entries.length > LEGEND_ROWS) {
      children.push(el("button", { class: "legend-more", text: open ? "fewer" : `+${entries.length - LEGEND_ROWS} more`,
        onclick: () => { open ? S.legendOpen.delete(chart.key) : S.legendOpen.add(chart.key); render(); } }));
    }
    box.replaceChildren(...children);
    box.hidden = S.legendHidden;
  };
  chart.renderLegend = render;
  render();
  return box;
}

// Highlight one run (or group) in every chart: its line drawn over the others, which fade.
function highlight(id) {
  if (S.highlighted === id) return;
  S.highlighted = id;
  for (const chart of S.charts.values()) {
    const i = chart.lines.findIndex((l) => (l.run ?? l.group) === id);
    chart.focusing = true;
    chart.u.setSeries(i >= 0 ? chart.main[i] : null, { focus: i >= 0 }, false);
    chart.focusing = false;
    for (const e of chart.card.querySelectorAll(".legend-entry")) e.classList.toggle("dim", id !== null && e.dataset.run !== id);
  }
  for (const label of document.querySelectorAll("#run-groups label.run")) label.classList.toggle("highlighted", label.dataset.run === id);
}

// -- one chart -------------------------------------------------------------------------------------

function makeChart(spec, container, lines, width, kind = "metric") {
  if (typeof spec === "string") spec = { key: spec, title: spec, keys: [spec] };
  const key = spec.key;
  const card = el("div", { class: "chart", "data-key": key });
  const head = el("div", { class: "chart-head" }, el("span", { class: "chart-title", text: spec.title, title: spec.title }));
  const actions = el("span", { class: "chart-actions" });
  head.append(actions);
  card.append(head);
  container.append(card);
  const chart = { key, spec, title: spec.title, lines, card, head, zoomed: false, u: null, opts: null, main: [] };
  if (kind === "metric") {
    actions.append(downloadLinks(chart));
    if (spec.pattern) actions.append(el("button", { class: "chart-uncombine", title: "Remove this combined chart", text: "×", onclick: () => uncombine(spec.pattern) }));
    else actions.append(combineControl(chart));
    actions.append(chartMenu(chart));
  }
  const { series, bands, main } = seriesOptions(lines);
  chart.main = main;
  const opts = {
    width, height: 220,
    scales: { x: { time: S.xAxis === "wall" }, y: { distr: S.logY ? 3 : 1 } },
    series, bands,
    axes: [
      { values: S.xAxis === "wall" ? undefined : xLabels, size: 36, label: metricAxis() && kind === "metric" ? S.xAxis : undefined, labelSize: 16 },
      { values: axisValues(chart, "yTicks"), size: axisSize(48) },
    ],
    legend: { show: false },
    focus: { alpha: 0.25 },
    cursor: { sync: { key: `trackio-${kind}` }, drag: { x: true, y: false }, focus: { prox: 24 } },
    hooks: {
      setCursor: [(u) => tooltip(u, chart)],
      setSelect: [(u) => { if (u.select.width > 0) chart.zoomed = true; }],
      setScale: [(u, scale) => { if (scale === "x" && chart.zoomed && kind === "metric") zoomDetail(chart); }],
      setSeries: [(u, i, options) => {
        if (chart.focusing || !options || !("focus" in options)) return;
        const at = chart.main.indexOf(i);
        const l = at >= 0 ? chart.lines[at] : null;
        highlight(l ? l.run ?? l.group : null);
      }],
    },
  };
  if (S.xAxis === "wall") opts.axes[0] = { size: 36 };
  chart.opts = opts;
  chart.u = new uPlot(opts, chartData(lines), card);
  card.append(legend(chart));
  chart.u.over.addEventListener("mouseleave", () => { $("tooltip").hidden = true; highlight(null); });
  chart.u.over.addEventListener("dblclick", () => {
    chart.zoomed = false;
    if (S.xRange) { S.xRange = null; saveView(); } // a link's xmin/xmax: undone like any zoom
    if (chart.detail) { chart.detail = null; chart.lines = chartLines(spec); chart.u.setData(chartData(chart.lines)); }
  });
  if (S.xRange && kind === "metric") {
    chart.zoomed = true;
    chart.u.setScale("x", { min: S.xRange[0], max: S.xRange[1] });
  }
  return chart;
}

// The per-run CSV/Parquet download links, shown while the pointer is over the chart.
function downloadLinks(chart) {
  const links = el("span", { class: "downloads" });
  chart.card.addEventListener("mouseenter", () => {
    links.replaceChildren();
    for (const l of chart.lines) {
      if (!l.run) continue; // a group's mean is not a stored series
      for (const link of S.source.downloadLinks(S.project, l.run, l.key)) {
        const a = el("a", { text: `${link.label} ${l.label}`, download: `${l.run}-${l.key.replace(/\//g, "_")}.${link.label.toLowerCase()}` });
        if (link.href) a.href = link.href;
        else a.addEventListener("click", () => { a.href = URL.createObjectURL(new Blob([link.csv()], { type: "text/csv" })); });
        links.append(a);
      }
    }
  });
  return links;
}

// "+": draw another metric on this chart (a combined chart, kept in the link as `merge=`).
function combineControl(chart) {
  const select = el("select", { class: "chart-combine", title: "Draw another metric on this chart" }, el("option", { value: "", text: "+" }));
  const fill = () => { // on first use: a project with hundreds of metrics would build each list per chart
    if (select.options.length > 1) return;
    select.append(...allMetricKeys().filter((k) => k !== chart.key).map((k) => el("option", { value: k, text: k })));
  };
  select.addEventListener("pointerdown", fill);
  select.addEventListener("focus", fill);
  select.addEventListener("change", () => {
    if (select.value) combine([chart.key, select.value]);
  });
  return select;
}

function combine(keys) {
  const pattern = exactPattern(keys);
  if (!S.merges.includes(pattern)) S.merges.push(pattern);
  drawCharts();
  saveView();
}

function uncombine(pattern) {
  S.merges = S.merges.filter((p) => p !== pattern);
  drawCharts();
  saveView();
}

// Zoomed into a downsampled series (step axis): fetch that step range again, so the points hidden by
// the overview's downsampling show up (a million-step run zooms down to single steps).
const zoomDetail = debounceBy((chart) => chart.key, async (chart) => {
  if (S.xAxis !== "step" || S.groupBy) return;
  const { min, max } = chart.u.scales.x;
  const lo = Math.floor(min), hi = Math.ceil(max);
  if (chart.detail && chart.detail.min === lo && chart.detail.max === hi) return;
  const generation = S.generation;
  const answers = await Promise.all(chart.lines.map((l) => S.source.series(S.project, l.run, [l.key], S.maxPoints, lo, hi)));
  if (generation !== S.generation || !chart.zoomed || S.charts.get(chart.key) !== chart) return;
  const lines = [];
  chart.lines.forEach((l, i) => {
    const c = answers[i].series[l.key];
    if (c && c.values.length) lines.push({ ...line(l.run, c, l.key), label: l.label, dash: l.dash });
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

// -- all charts ------------------------------------------------------------------------------------

function drawCharts() {
  for (const c of S.charts.values()) c.u.destroy();
  S.charts.clear();
  S.xColumns = new Map();
  S.highlighted = undefined;
  refreshChartControls();
  const root = $("tab-metrics");
  root.replaceChildren();
  const bySection = new Map();
  for (const spec of chartSpecs()) {
    if (!bySection.has(spec.section)) bySection.set(spec.section, []);
    bySection.get(spec.section).push(spec);
  }
  const order = [...bySection.keys()].sort((a, b) => (SECTION_ORDER.indexOf(a) + 1 || 99) - (SECTION_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const width = chartWidth(root);
  for (const s of order) {
    const grid = el("div", { class: "grid" });
    if (S.accordion) root.append(el("details", { class: "section", "data-section": s, open: true }, el("summary", { text: `${s} (${bySection.get(s).length})` }), grid));
    else root.append(el("div", { class: "section", "data-section": s }, grid));
    for (const spec of bySection.get(s)) S.charts.set(spec.key, makeChart(spec, grid, chartLines(spec), width));
  }
  if (!S.charts.size) root.append(el("p", { class: "muted", text: S.runs.length ? "No metrics match." : "No runs in this project yet." }));
  S.draws++;
  document.body.dataset.draws = String(S.draws);
}

// New points for `keys`: redraw the charts that draw them (all, when the x axis is one of them).
function updateCharts(keys) {
  S.xColumns = new Map();
  let added = false;
  const all = keys.has(S.xAxis);
  for (const key of keys) if (!S.charts.has(key) && metricKeys().includes(key)) added = true;
  for (const chart of S.charts.values()) {
    if (!all && !chart.spec.keys.some((k) => keys.has(k))) continue;
    const lines = chartLines(chart.spec);
    if (lines.length !== chart.lines.length) { added = true; continue; }
    chart.lines = lines;
    chart.u.setData(chartData(lines), !chart.zoomed);
  }
  if (added) drawCharts();
}

// The x-axis choices (step, times, every metric) and the group-by choices (group, the config keys
// that differ among the shown runs), kept in step with the runs and metrics shown.
function refreshChartControls() {
  const axis = $("x-axis");
  const metrics = allMetricKeys();
  const wanted = ["step", "wall", "relative", ...metrics].join("\u0000");
  if (axis.dataset.options !== wanted) {
    axis.replaceChildren(
      el("option", { value: "step", text: "Step" }), el("option", { value: "wall", text: "Wall time" }), el("option", { value: "relative", text: "Relative time" }),
      el("optgroup", { label: "Metric" }, ...metrics.map((k) => el("option", { value: k, text: k }))));
    axis.dataset.options = wanted;
  }
  if (metricAxis() && !metrics.includes(S.xAxis)) axis.append(el("option", { value: S.xAxis, text: `${S.xAxis} (not logged)` }));
  axis.value = S.xAxis;
  const groupBy = $("group-by");
  const keys = groupableKeys(visibleRuns());
  const choices = ["", "group", ...keys];
  if (S.groupBy && !choices.includes(S.groupBy)) choices.push(S.groupBy);
  if (groupBy.dataset.options !== choices.join("\u0000")) {
    groupBy.replaceChildren(...choices.map((k) => el("option", { value: k, text: k === "" ? "—" : k === "group" ? "run group" : k })));
    groupBy.dataset.options = choices.join("\u0000");
  }
  groupBy.value = S.groupBy;
  $("band").value = S.band;
  $("band-label").hidden = !S.groupBy;
}

// What the charts draw, for window.trackioDashboard.state().
function chartsState() {
  const charts = {};
  for (const [key, chart] of S.charts) {
    const lines = chart.lines;
    charts[key] = {
      title: chart.title, keys: chart.spec.keys,
      runs: lines.map((l) => l.run),
      labels: lines.map((l) => l.label),
      points: Object.fromEntries(lines.map((l) => [l.label, l.x.length])),
      last: Object.fromEntries(lines.map((l) => [l.label, l.raw[l.raw.length - 1]])),
      lastSmoothed: Object.fromEntries(lines.map((l) => [l.label, l.smoothed[l.smoothed.length - 1]])),
      firstSmoothed: Object.fromEntries(lines.map((l) => [l.label, l.smoothed[0]])),
      x: Object.fromEntries(lines.map((l) => [l.label, [l.x[0], l.x[l.x.length - 1]]])),
      max: Object.fromEntries(lines.map((l) => [l.label, Math.max(...l.raw.filter((v) => v !== null))])),
      groups: Object.fromEntries(lines.filter((l) => l.members).map((l) => [l.group, {
        runs: l.members, key: l.key, mean: l.raw, lo: l.band?.lo ?? null, hi: l.band?.hi ?? null, x: l.x }])),
      legend: [...chart.card.querySelectorAll(".legend .legend-entry")].map((e) => e.textContent),
      legendMore: chart.card.querySelector(".legend .legend-more")?.textContent ?? null,
      yTicks: chart.yTicks ? chart.yTicks.labels : [],
      ySplits: chart.yTicks ? chart.yTicks.splits : [],
      yAxisWidth: chart.u.axes[1]._size,
      yLabelWidth: chart.u.axes[1]._labelWidth ?? null,
      xScale: [chart.u.scales.x.min, chart.u.scales.x.max],
      series: chart.u.series.length - 1,
      yDistr: chart.u.scales.y.distr,
      xTime: !!chart.u.scales.x.time,
      section: chart.spec.section,
      zoom: chart.detail ? [chart.detail.min, chart.detail.max] : null,
    };
  }
  return charts;
}
