// The numbers behind a chart's lines, apart from drawing them: smoothing, another metric as the x axis
// (aligned per run by step), and a group's mean with its min/max or standard-deviation band.
"use strict";

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

// trackio's `smoothing` link parameter is a moving-average window (0 = none, its page's default 10);
// this page smooths with an exponential average. The weight whose average spans the same window
// (pandas' `span`: alpha = 2 / (N + 1)). A value below 1 is this page's own weight.
function smoothingFromLink(text) {
  const n = Number(text);
  if (!isFinite(n) || n <= 0) return 0;
  if (n < 1) return Math.min(0.99, n);
  return Math.min(0.99, +((n - 1) / (n + 1)).toFixed(2));
}

// A metric's value at `step`, from its (steps, values) columns sorted by step: linear between the two
// nearest logged steps, null outside them. A downsampled x metric (train/num_tokens) keeps its
// shape, so the interpolation is as close as the points drawn.
function valueAtStep(column, step) {
  const steps = column.steps;
  let lo = 0, hi = steps.length - 1;
  if (hi < 0 || step < steps[0] || step > steps[hi]) return null;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < step) lo = mid + 1; else hi = mid;
  }
  if (steps[lo] === step) return column.values[lo];
  const s0 = steps[lo - 1], s1 = steps[lo], v0 = column.values[lo - 1], v1 = column.values[lo];
  if (v0 === null || v1 === null || !isFinite(v0) || !isFinite(v1)) return null;
  return v0 + ((v1 - v0) * (step - s0)) / (s1 - s0);
}

// A column sorted by step, the last value kept per step (a resumed run logs some steps twice).
function byStep(column) {
  const order = column.steps.map((_, i) => i).sort((a, b) => column.steps[a] - column.steps[b] || a - b);
  const steps = [], values = [];
  for (const i of order) {
    if (steps.length && steps[steps.length - 1] === column.steps[i]) values[values.length - 1] = column.values[i];
    else { steps.push(column.steps[i]); values.push(column.values[i]); }
  }
  return { steps, values };
}

// One line: points (x, y) sorted by x, the last y kept per x; y not drawable (NaN, inf, or not > 0
// on a log scale) becomes a gap.
function linePoints(xs, ys, logY) {
  const order = [];
  for (let i = 0; i < xs.length; i++) if (xs[i] !== null && isFinite(xs[i])) order.push(i);
  order.sort((a, b) => xs[a] - xs[b] || a - b);
  const x = [], y = [];
  for (const i of order) {
    let v = ys[i];
    if (logY && !(v > 0)) v = null;
    else if (v !== null && !isFinite(v)) v = null;
    if (x.length && x[x.length - 1] === xs[i]) y[y.length - 1] = v;
    else { x.push(xs[i]); y.push(v); }
  }
  return { x, y };
}

// Evenly spaced x values across the lines' common span, at most `points` of them.
function gridOf(lines, points) {
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const l of lines) {
    if (!l.x.length) continue;
    lo = Math.min(lo, l.x[0]);
    hi = Math.max(hi, l.x[l.x.length - 1]);
    n = Math.max(n, l.x.length);
  }
  if (!isFinite(lo)) return [];
  if (hi === lo) return [lo];
  const count = Math.max(2, Math.min(points, n));
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

// y of a line at x: linear between its two nearest points, null outside its span or across a gap.
function yAt(line, values, x) {
  const xs = line.x;
  if (!xs.length || x < xs[0] || x > xs[xs.length - 1]) return null;
  let lo = 0, hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1; else hi = mid;
  }
  if (xs[lo] === x) return values[lo];
  const v0 = values[lo - 1], v1 = values[lo];
  if (v0 === null || v1 === null) return null;
  return v0 + ((v1 - v0) * (x - xs[lo - 1])) / (xs[lo] - xs[lo - 1]);
}

// The lines of one group as its mean over the runs that have a value at each x of a common grid,
// with the band: min/max ("minmax"), mean ± one standard deviation ("std"), or none.
function aggregate(lines, band, points, useSmoothed) {
  const grid = gridOf(lines, points);
  const mean = [], lo = [], hi = [], count = [];
  for (const x of grid) {
    const ys = [];
    for (const l of lines) {
      const v = yAt(l, useSmoothed ? l.smoothed : l.raw, x);
      if (v !== null && isFinite(v)) ys.push(v);
    }
    count.push(ys.length);
    if (!ys.length) { mean.push(null); lo.push(null); hi.push(null); continue; }
    const m = ys.reduce((a, b) => a + b, 0) / ys.length;
    mean.push(m);
    if (band === "std") {
      const sd = Math.sqrt(ys.reduce((a, b) => a + (b - m) * (b - m), 0) / ys.length);
      lo.push(m - sd); hi.push(m + sd);
    } else {
      lo.push(Math.min(...ys)); hi.push(Math.max(...ys));
    }
  }
  return { x: grid, mean, lo, hi, count };
}

// A config value as a group's label: numbers as they read, objects as JSON, missing as "(none)".
function groupValue(run, groupBy) {
  const value = groupBy === "group" ? run.group : (run.config || {})[groupBy];
  if (value === undefined || value === null || value === "") return "(none)";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// The config keys worth grouping by: those with at least two values among the runs, and fewer
// values than runs (a key unique per run, such as the output directory, groups nothing).
function groupableKeys(runs) {
  const values = new Map();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.config || {})) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k).add(typeof v === "object" ? JSON.stringify(v) : String(v));
    }
  }
  return [...values.entries()].filter(([, s]) => s.size >= 2 && s.size < runs.length).map(([k]) => k).sort();
}

// Regex-escaped alternatives matching exactly these metric keys: the pattern of a merged chart.
function exactPattern(keys) {
  return `^(${keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`;
}
