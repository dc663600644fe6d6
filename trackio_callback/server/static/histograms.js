// The Histograms tab: per key and run, a step × value heatmap (as TensorBoard's distributions: one column per
// logged step, darker where more of that step's values fall) and, under it, the distribution at the chosen
// step (the slider, or a click on a column). app.js's helpers and stepper.js are in scope.
"use strict";

const HEATMAP = { width: 360, height: 160, rows: 48, left: 56, bottom: 16, top: 6, right: 6 };
const DISTRIBUTION = { width: 360, height: 104, bottom: 14 }; // bottom: the value axis's labels

async function renderHistograms() {
  const generation = S.generation;
  const runs = visibleRuns().filter((r) => (S.keys[r.name]?.histograms || []).length);
  await mapLimit(runs.filter((r) => !(r.name in S.histograms) || r.status === "running"), 4, async (r) => {
    S.histograms[r.name] = await S.source.histograms(S.project, r.name, S.keys[r.name].histograms);
  });
  if (generation !== S.generation) return;
  const byKey = new Map(); // key -> Map(run -> [{step, edges, counts}])
  for (const r of runs) {
    for (const [key, h] of Object.entries(S.histograms[r.name] || {})) {
      if (!byKey.has(key)) byKey.set(key, new Map());
      byKey.get(key).set(r.name, h.steps.map((step, i) => ({ step, edges: h.edges[i], counts: h.counts[i] })));
    }
  }
  const filter = regex(S.metricFilter);
  const keys = [...byKey.keys()].filter((k) => !filter || filter.test(k)).sort();
  const sizes = runs.map((r) => [r.name, Object.values(S.histograms[r.name] || {}).map((h) => h.steps.length)]);
  if (unchanged("histograms", [keys, sizes])) return;
  const view = $("histograms-view");
  S.histogramPanels = {};
  if (!keys.length) {
    view.replaceChildren(el("p", { class: "muted", text: "No histograms logged by the shown runs (log trackio.Histogram(values))." }));
    return;
  }
  view.replaceChildren(...keys.map((key) => histogramPanel(key, byKey.get(key))));
}

function histogramPanel(key, perRun) {
  const range = valueRange([...perRun.values()].flat());
  const heatmaps = new Map(); // run -> the heatmap drawn once (each step change copies it and marks the column)
  const record = (S.histogramPanels[key] = {});
  return stepPanel({
    id: `histograms:${key}`, key, kind: "histogram", grouped: byRunAndStep(perRun), record,
    draw: (entry, run, setStep) => {
      const series = perRun.get(run);
      if (!heatmaps.has(run)) heatmaps.set(run, heatmapImage(series, range));
      const column = series.findIndex((h) => h.step === entry.step);
      const heat = el("canvas", { class: "heatmap", width: HEATMAP.width, height: HEATMAP.height, title: "click: the distribution at that step" });
      drawHeatmap(heat, heatmaps.get(run), series, column, range);
      heat.addEventListener("click", (e) => {
        const x = (e.offsetX * heat.width) / heat.clientWidth - HEATMAP.left;
        const plot = HEATMAP.width - HEATMAP.left - HEATMAP.right;
        if (x < 0 || x >= plot) return;
        setStep(series[Math.min(series.length - 1, Math.floor((x * series.length) / plot))].step);
      });
      const h = series[column];
      const bars = el("canvas", { class: "distribution", width: DISTRIBUTION.width, height: DISTRIBUTION.height });
      drawDistribution(bars, h, range, color(run));
      const total = h.counts.reduce((a, b) => a + b, 0);
      return {
        node: el("div", { class: "histogram" }, heat, bars,
          el("div", { class: "muted", text: `step ${fmt(h.step)} · ${fmt(total)} values · ${h.counts.length} bins` })),
        info: { columns: series.length, rows: HEATMAP.rows, column, bins: h.counts.length, counts: h.counts, edges: h.edges, range },
      };
    },
  });
}

// The value range every run's heatmap of a key shares: first edge to last edge over all steps.
function valueRange(histograms) {
  let lo = Infinity, hi = -Infinity;
  for (const h of histograms) {
    for (const e of h.edges) if (Number.isFinite(e)) { lo = Math.min(lo, e); hi = Math.max(hi, e); }
  }
  if (!(lo <= hi)) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

// One step's counts spread over `rows` equal value bins of `range` (a count spread uniformly over its own bin).
function rebin(h, range, rows) {
  const [lo, hi] = range, span = hi - lo;
  const out = new Float64Array(rows);
  const row = (v) => Math.min(rows - 1, Math.max(0, Math.floor(((v - lo) / span) * rows)));
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i], a = h.edges[i], b = h.edges[i + 1];
    if (!(n > 0) || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    if (b <= a) { out[row(a)] += n; continue; }
    for (let r = row(a); r <= row(b); r++) {
      const overlap = Math.min(b, lo + ((r + 1) * span) / rows) - Math.max(a, lo + (r * span) / rows);
      if (overlap > 0) out[r] += (n * overlap) / (b - a);
    }
  }
  return out;
}

// Shade of a cell: white (nothing) to dark blue (the step's fullest value bin).
function shade(t) {
  const from = [247, 251, 255], to = [8, 48, 107];
  return from.map((c, i) => Math.round(c + (to[i] - c) * t));
}

function heatmapImage(series, range) {
  const width = HEATMAP.width - HEATMAP.left - HEATMAP.right, height = HEATMAP.height - HEATMAP.top - HEATMAP.bottom;
  const columns = series.map((h) => {
    const grid = rebin(h, range, HEATMAP.rows);
    const max = Math.max(...grid);
    return max > 0 ? grid.map((v) => v / max) : grid;
  });
  const image = new ImageData(width, height);
  for (let x = 0; x < width; x++) {
    const grid = columns[Math.min(columns.length - 1, Math.floor((x * columns.length) / width))];
    for (let y = 0; y < height; y++) {
      const t = grid[HEATMAP.rows - 1 - Math.floor((y * HEATMAP.rows) / height)];
      const [r, g, b] = t > 0 ? shade(0.15 + 0.85 * t) : [255, 255, 255];
      const p = 4 * (y * width + x);
      image.data[p] = r; image.data[p + 1] = g; image.data[p + 2] = b; image.data[p + 3] = 255;
    }
  }
  return image;
}

function drawHeatmap(canvas, image, series, column, range) {
  const g = canvas.getContext("2d");
  const width = HEATMAP.width - HEATMAP.left - HEATMAP.right, height = HEATMAP.height - HEATMAP.top - HEATMAP.bottom;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.putImageData(image, HEATMAP.left, HEATMAP.top);
  const x = HEATMAP.left + ((column + 0.5) * width) / series.length;
  g.strokeStyle = "#ff9d00";
  g.lineWidth = 2;
  g.beginPath(); g.moveTo(x, HEATMAP.top); g.lineTo(x, HEATMAP.top + height); g.stroke();
  g.fillStyle = "#6b7280";
  g.font = "10px system-ui, sans-serif";
  g.textAlign = "right";
  g.fillText(fmt(range[1]), HEATMAP.left - 4, HEATMAP.top + 8);
  g.fillText(fmt(range[0]), HEATMAP.left - 4, HEATMAP.top + height);
  g.textAlign = "left";
  g.fillText(`step ${fmt(series[0].step)}`, HEATMAP.left, HEATMAP.height - 3);
  g.textAlign = "right";
  g.fillText(`${fmt(series[series.length - 1].step)}`, HEATMAP.width - HEATMAP.right, HEATMAP.height - 3);
}

// The chosen step's counts as bars in the run's colour, over the value range the heatmap's rows span.
function drawDistribution(canvas, h, range, fill) {
  const g = canvas.getContext("2d");
  const [lo, hi] = range, left = HEATMAP.left, width = DISTRIBUTION.width - left - HEATMAP.right;
  const base = DISTRIBUTION.height - DISTRIBUTION.bottom, height = base - 4;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(...h.counts.filter(Number.isFinite), 0);
  const x = (v) => left + ((v - lo) / (hi - lo)) * width;
  g.fillStyle = fill;
  for (let i = 0; i < h.counts.length; i++) {
    if (!(h.counts[i] > 0) || !(max > 0)) continue;
    const x0 = x(h.edges[i]), x1 = x(h.edges[i + 1]), bar = (h.counts[i] / max) * height;
    g.fillRect(x0, base - bar, Math.max(1, x1 - x0 - 0.5), bar);
  }
  g.strokeStyle = "#d1d5db";
  g.beginPath(); g.moveTo(left, base + 0.5); g.lineTo(left + width, base + 0.5); g.stroke();
  g.fillStyle = "#6b7280";
  g.font = "10px system-ui, sans-serif";
  g.textAlign = "right";
  g.fillText(fmt(max), left - 4, 12);
  g.fillText("count", left - 4, 24);
  g.textAlign = "left";
  g.fillText(fmt(lo), left, DISTRIBUTION.height - 3);
  g.textAlign = "right";
  g.fillText(fmt(hi), left + width, DISTRIBUTION.height - 3);
}

function histogramState() {
  const panels = {};
  for (const [key, record] of Object.entries(S.histogramPanels)) panels[key] = { step: record.step, steps: record.steps, runs: record.runs };
  return panels;
}
