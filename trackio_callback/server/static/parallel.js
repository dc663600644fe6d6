// The parallel-coordinates view (tab "Parallel"): one vertical axis per config key that differs between
// the shown runs (numbers on a linear or log scale, anything else as categories) and a last axis for a
// chosen metric's final value; one polyline per run in its colour. Dragging along an axis keeps the
// runs in that range (brushing); hovering a line names its run and values. app.js calls
// `renderParallel(root, {runs, keys, color, fmt})` from selectTab; state() reports `parallelState()`.
// Uses el and num (app.js, sources.js) and svgNode / svgText / downloadBlob (chartmenu.js).
"use strict";

(() => {
  const MAX_AXES = 12;
  const HEIGHT = 420;
  const MARGIN = { top: 64, bottom: 46 }; // left and right: as wide as the outer axes' labels
  const LABEL_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const MISSING_GAP = 24; // the "missing" mark sits this far below an axis
  const MISSING = "\u0000missing";
  const DEFAULT_METRICS = ["train/loss", "eval/loss"];

  // What the person chose, kept across redraws (the tab redraws whenever the runs change).
  const view = { metric: null, chosen: null, brushes: new Map(), filter: "" };
  let drawn = null; // what the last render drew: parallelState() reports it

  // -- the data ------------------------------------------------------------------------------------

  function configValue(run, key) {
    const config = run.config || {};
    if (!(key in config)) return undefined;
    const v = config[key];
    return v === null ? undefined : v;
  }

  function valueId(v) {
    return v === undefined ? MISSING : JSON.stringify(v);
  }

  // An axis's value of one run: a number on a numeric axis, the value itself (objects as JSON) on a
  // categorical one, null where the run has none.
  function axisValue(v, kind) {
    if (v === undefined || v === null) return null;
    if (kind === "numeric") return typeof v === "number" && isFinite(v) ? v : null;
    return typeof v === "object" ? JSON.stringify(v) : v;
  }

  // The config keys whose values are not all the same across `runs` (a key missing from some runs
  // differs), ranked so the default axes are the ones a sweep varies: numbers first, then categories
  // shared by several runs, then values unique to each run (output_dir, run_name) last.
  function differingKeys(runs) {
    const all = new Set();
    for (const r of runs) for (const k of Object.keys(r.config || {})) all.add(k);
    const keys = [];
    for (const key of all) {
      const values = runs.map((r) => configValue(r, key));
      if (new Set(values.map(valueId)).size < 2) continue;
      const present = values.filter((v) => v !== undefined);
      const kind = present.length && present.every((v) => typeof v === "number" && isFinite(v)) ? "numeric" : "categorical";
      const distinct = new Set(present.map(valueId)).size;
      const rank = kind === "numeric" ? 0 : distinct < present.length ? 1 : 2;
      keys.push({ key, kind, rank });
    }
    return keys.sort((a, b) => a.rank - b.rank || a.key.localeCompare(b.key));
  }

  function metricKeysOf(runs, keys) {
    const metrics = new Set();
    for (const r of runs) for (const k of Object.keys(keys[r.name]?.metrics || {})) metrics.add(k);
    return [...metrics].sort();
  }

  function pickMetric(metrics) {
    if (view.metric && metrics.includes(view.metric)) return view.metric;
    return DEFAULT_METRICS.find((m) => metrics.includes(m)) || metrics[0] || null;
  }

  function lastValue(keys, run, metric) {
    const v = num(keys[run]?.metrics?.[metric]?.last);
    return v === null || !isFinite(v) ? null : v;
  }

  // -- scales ----------------------------------------------------------------------------------------

  // About `count` round tick values covering [lo, hi].
  function niceTicks(lo, hi, count = 5) {
    if (lo === hi) return [lo];
    const raw = (hi - lo) / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }

  function logTicks(lo, hi) {
    const ticks = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = +(m * Math.pow(10, e)).toPrecision(12);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
      }
    }
    if (ticks.length > 7) return ticks.filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    return ticks.length >= 2 ? ticks : [lo, hi];
  }

  function labelsOf(values, fmt) {
    return typeof tickLabels === "function" ? tickLabels(values) : values.map(fmt); // axes.js: distinct, readable
  }

  // Labels of the values themselves (ticks at a sweep's values): 4 significant digits, more where two
  // different values would read the same.
  function valueLabels(values) {
    for (let digits = 4; digits <= 15; digits++) {
      const labels = values.map((v) => String(+v.toPrecision(digits)));
      if (new Set(labels).size === new Set(values).size) return labels;
    }
    return values.map(String);
  }

  // Category labels without the start they all share (paths, model ids): "…run-1" rather than
  // "/scratch/exp…" cut the same way on every tick. The full values are in state() and the tooltip.
  function shortLabels(labels) {
    if (labels.length < 2) return labels;
    let n = 0;
    while (labels.every((l) => l.length > n + 1 && l[n] === labels[0][n])) n++;
    const cut = labels[0].slice(0, n).search(/[/_.\-:][^/_.\-:]*$/); // at the last separator of the shared start
    return cut >= 5 ? labels.map((l) => `…${l.slice(cut + 1)}`) : labels;
  }

  const naturalOrder = (a, b) => {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  };

  // An axis: its kind and scale, where each value sits (pos: value -> y), its ticks.
  function makeAxis(key, kind, values, top, bottom, fmt, isMetric) {
    const present = values.filter((v) => v !== null);
    const axis = { key, kind, isMetric, values, top, bottom, missing: present.length < values.length };
    if (kind === "numeric") {
      let lo = present.length ? Math.min(...present) : 0, hi = present.length ? Math.max(...present) : 1;
      const log = lo > 0 && hi / lo >= 50;
      axis.scale = log ? "log" : "linear";
      const t = log ? (v) => Math.log10(v) : (v) => v;
      const distinct = [...new Set(present)].sort((a, b) => a - b);
      if (lo === hi) { // one value: in the middle of the axis
        axis.pos = () => (top + bottom) / 2;
        axis.tickValues = [lo];
      } else {
        axis.pos = (v) => bottom - ((t(v) - t(lo)) / (t(hi) - t(lo))) * (bottom - top);
        // A sweep's few values are the ticks themselves (1e-5, 1e-4, 3e-3), unless two would touch.
        const apart = distinct.every((v, i) => !i || axis.pos(distinct[i - 1]) - axis.pos(v) >= 16);
        axis.tickValues = distinct.length <= 6 && apart ? distinct : log ? logTicks(lo, hi) : niceTicks(lo, hi);
      }
      axis.domain = [lo, hi];
      axis.ticks = axis.tickValues === distinct || lo === hi ? valueLabels(axis.tickValues) : labelsOf(axis.tickValues, fmt);
      axis.invert = (y) => (lo === hi ? lo : log
        ? Math.pow(10, t(lo) + ((bottom - y) / (bottom - top)) * (t(hi) - t(lo)))
        : lo + ((bottom - y) / (bottom - top)) * (hi - lo));
    } else {
      const byId = new Map(present.map((v) => [valueId(v), v]));
      const categories = [...byId.values()].sort(naturalOrder);
      const ids = categories.map(valueId);
      const span = bottom - top;
      axis.scale = "categorical";
      axis.categories = categories;
      axis.pos = (v) => (categories.length === 1 ? (top + bottom) / 2 : bottom - (ids.indexOf(valueId(v)) / (categories.length - 1)) * span);
      axis.tickValues = categories;
      axis.ticks = shortLabels(categories.map((c) => String(c)));
    }
    axis.y = (v) => (v === null ? bottom + MISSING_GAP : axis.pos(v));
    return axis;
  }

  // -- brushing --------------------------------------------------------------------------------------

  // A brush is kept in values (not pixels): a [lo, hi] range on a numeric axis, the chosen categories on a
  // categorical one; a run passes when its value is inside every brush (a missing value never is).
  function brushFromPixels(axis, y0, y1) {
    const a = Math.min(y0, y1), b = Math.max(y0, y1);
    if (axis.kind === "numeric") {
      const lo = axis.invert(Math.min(b, axis.bottom)), hi = axis.invert(Math.max(a, axis.top));
      return { range: [Math.min(lo, hi), Math.max(lo, hi)] };
    }
    return { categories: axis.categories.filter((c) => { const y = axis.pos(c); return y >= a - 4 && y <= b + 4; }).map(valueId) };
  }

  function passes(brush, axis, v) {
    if (v === null) return false;
    if (brush.range) {
      const [lo, hi] = brush.range, slack = 1e-9 * (Math.abs(hi - lo) || Math.abs(hi) || 1); // float round trips
      return v >= lo - slack && v <= hi + slack;
    }
    return brush.categories.includes(valueId(v));
  }

  function brushPixels(axis, brush) {
    if (brush.range) {
      const ys = brush.range.map((v) => axis.pos(Math.min(Math.max(v, axis.domain[0]), axis.domain[1])));
      return [Math.min(...ys) - 5, Math.max(...ys) + 5];
    }
    const ys = axis.categories.filter((c) => brush.categories.includes(valueId(c))).map((c) => axis.pos(c));
    return ys.length ? [Math.min(...ys) - 8, Math.max(...ys) + 8] : null;
  }

  // -- drawing ---------------------------------------------------------------------------------------

  function message(root, text) {
    drawn = { metric: null, axes: [], lines: {}, selected: [], brushes: {}, differing: [], message: text };
    root.replaceChildren(el("p", { class: "muted parallel-empty", text }));
  }

  function textMeasure() {
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = LABEL_FONT;
    return (text) => ctx.measureText(text).width;
  }

  // `text` cut with an ellipsis to fit `px`.
  function fit(text, px, measure) {
    if (measure(text) <= px) return text;
    let n = text.length;
    while (n > 1 && measure(`${text.slice(0, n)}…`) > px) n--;
    return `${text.slice(0, n)}…`;
  }

  // A key as an axis title of at most `room` px: one line, or two split after a "_", "/" or "." (the
  // second cut with an ellipsis if it is still too long). `measure` is for the title's font.
  function titleLines(key, room, measure) {
    if (measure(key) <= room) return [key];
    const breaks = [...key.matchAll(/[_/.]/g)].map((m) => m.index + 1).filter((i) => measure(key.slice(0, i)) <= room);
    if (!breaks.length) return [fit(key, room, measure)];
    const at = breaks[breaks.length - 1];
    return [key.slice(0, at), fit(key.slice(at), room, measure)];
  }

  function renderParallel(root, { runs, keys, color, fmt }) {
    const scroll = window.scrollY;
    if (runs.length < 2) {
      message(root, `The parallel view compares the config of several runs against a metric: show at least 2 runs (${runs.length} shown).`);
      return;
    }
    const differing = differingKeys(runs);
    if (!differing.length) {
      message(root, `The ${runs.length} shown runs have the same config: no config key differs between them.`);
      return;
    }
    const metrics = metricKeysOf(runs, keys);
    const metric = pickMetric(metrics);
    const chosenKeys = view.chosen ? differing.filter((d) => view.chosen.has(d.key)) : differing.slice(0, MAX_AXES);
    const shown = chosenKeys.length ? chosenKeys : differing.slice(0, MAX_AXES); // none of the chosen keys differ here

    const width = Math.max(560, (root.clientWidth || 900) - 8);
    const top = MARGIN.top, bottom = HEIGHT - MARGIN.bottom;
    const axes = shown.map((d) => makeAxis(d.key, d.kind, runs.map((r) => axisValue(configValue(r, d.key), d.kind)), top, bottom, fmt, false));
    if (metric) axes.push(makeAxis(metric, "numeric", runs.map((r) => lastValue(keys, r.name, metric)), top, bottom, fmt, true));
    const measure = textMeasure();
    const widest = (axis) => Math.max(0, ...axis.ticks.map(measure), axis.missing ? measure("missing") : 0);
    const maxLabel = Math.max(60, Math.min(180, width / (axes.length + 1)));
    const left = Math.max(40, Math.min(maxLabel, widest(axes[0])) + 14);
    const right = Math.max(40, Math.min(maxLabel, widest(axes[axes.length - 1])) + 14);
    const spacing = axes.length > 1 ? (width - left - right) / (axes.length - 1) : 0;
    axes.forEach((axis, i) => { axis.x = axes.length > 1 ? left + i * spacing : width / 2; });
    const labelRoom = (i) => (i === 0 ? left - 12 : i === axes.length - 1 ? right - 12 : Math.min(maxLabel, spacing - 24));
    for (const key of [...view.brushes.keys()]) if (!axes.some((a) => a.key === key)) view.brushes.delete(key);

    const svg = svgNode("svg", { class: "parallel-plot", width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
      "font-family": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', "font-size": 11, role: "img",
      "aria-label": `Parallel coordinates of ${runs.length} runs: ${axes.map((a) => a.key).join(", ")}` });
    svg.append(svgNode("rect", { x: 0, y: 0, width, height: HEIGHT, fill: "#fff" }));
    const linesGroup = svgNode("g", { class: "parallel-lines", fill: "none" });
    const axesGroup = svgNode("g", { class: "parallel-axes" });
    svg.append(linesGroup, axesGroup);

    const runLines = runs.map((r, i) => {
      const values = axes.map((a) => a.values[i]);
      const points = axes.map((a, j) => `${a.x.toFixed(1)},${a.y(values[j]).toFixed(1)}`).join(" ");
      const visible = svgNode("polyline", { class: "parallel-line", points, stroke: color(r.name), "stroke-width": 2, "data-run": r.name });
      const hit = svgNode("polyline", { class: "parallel-hit", points, stroke: "transparent", "stroke-width": 10, "data-run": r.name });
      const legend = el("span", { class: "legend-item", "data-run": r.name, title: r.name },
        el("span", { class: "swatch", style: `background:${color(r.name)}` }), el("span", { text: r.name }));
      return { run: r.name, values, visible, hit, legend };
    });
    const hover = (l) => { for (const x of runLines) { x.visible.classList.toggle("hover", x === l); x.legend.classList.toggle("hover", x === l); } };
    for (const l of runLines) {
      l.legend.addEventListener("mouseenter", () => hover(l));
      l.legend.addEventListener("mouseleave", () => hover(null));
    }

    function applyBrushes() {
      const selected = [];
      for (const l of runLines) {
        const ok = [...view.brushes.entries()].every(([key, brush]) => {
          const j = axes.findIndex((a) => a.key === key);
          return j < 0 || passes(brush, axes[j], l.values[j]);
        });
        l.visible.classList.toggle("dimmed", !ok);
        l.legend.classList.toggle("dim", !ok);
        if (ok) selected.push(l.run);
      }
      // The kept lines drawn over the dimmed ones, and only they answer the pointer.
      const kept = new Set(selected);
      linesGroup.replaceChildren(...runLines.filter((l) => !kept.has(l.run)).map((l) => l.visible),
        ...runLines.filter((l) => kept.has(l.run)).flatMap((l) => [l.visible, l.hit]));
      drawn.selected = selected;
      drawn.brushes = Object.fromEntries([...view.brushes.entries()].map(([k, b]) => [k, b.range ? [...b.range] : axes.find((a) => a.key === k).categories.filter((c) => b.categories.includes(valueId(c)))]));
      for (const axis of axes) {
        const brush = view.brushes.get(axis.key);
        const span = brush && brushPixels(axis, brush);
        axis.brushRect.setAttribute("visibility", span ? "visible" : "hidden");
        if (span) { axis.brushRect.setAttribute("y", span[0].toFixed(1)); axis.brushRect.setAttribute("height", (span[1] - span[0]).toFixed(1)); }
      }
      clearButton.hidden = !view.brushes.size;
      count.textContent = view.brushes.size ? `${selected.length} of ${runs.length} runs in range` : `${runs.length} runs`;
    }

    const titleMeasure = (text) => measure(text) * 1.15; // 12px bold, measured at 11px
    const titleRoom = Math.max(60, Math.min(axes.length > 1 ? spacing - 10 : width, 220));
    for (const axis of axes) {
      const g = svgNode("g", { class: `parallel-axis${axis.isMetric ? " metric" : ""}`, "data-key": axis.key, "data-kind": axis.kind, transform: `translate(${axis.x.toFixed(1)},0)` });
      g.append(svgNode("title", {}, axis.isMetric ? `${axis.key} (last value)` : `config.${axis.key}`));
      const lines = titleLines(axis.key, titleRoom, titleMeasure);
      const below = axis.isMetric ? 13 : 0; // room for "last value" under a metric's name
      const half = Math.max(...lines.map(titleMeasure)) / 2;
      const cx = Math.min(Math.max(0, half + 4 - axis.x), width - 4 - half - axis.x).toFixed(1); // inside the picture
      const title = svgNode("text", { class: "axis-title", x: cx, y: top - 14 - below - (lines.length - 1) * 13, "text-anchor": "middle", "font-weight": 600, "font-size": 12, fill: axis.isMetric ? "#b45309" : "#1d2330" });
      lines.forEach((text, i) => title.append(svgNode("tspan", { x: cx, dy: i ? 13 : 0 }, text)));
      g.append(title);
      if (axis.isMetric) g.append(svgNode("text", { x: cx, y: top - 14, "text-anchor": "middle", fill: "#6b7280" }, "last value"));
      g.append(svgNode("line", { x1: 0, x2: 0, y1: top, y2: bottom, stroke: "#374151", "stroke-width": 1 }));
      const last = axes.indexOf(axis) === axes.length - 1;
      const every = Math.ceil(axis.tickValues.length / Math.max(1, Math.floor((bottom - top) / 14) + 1)); // labels 14 px apart
      axis.tickValues.forEach((v, i) => {
        const y = axis.pos(v);
        g.append(svgNode("line", { x1: -4, x2: 0, y1: y.toFixed(1), y2: y.toFixed(1), stroke: "#374151" }));
        if (i % every) return; // many categories: every category marked, every few named
        const label = fit(axis.ticks[i], labelRoom(axes.indexOf(axis)), measure);
        g.append(svgNode("text", { class: "tick-label", x: last ? 7 : -7, y: y.toFixed(1), "text-anchor": last ? "start" : "end", "dominant-baseline": "middle", fill: "#374151", stroke: "#fff", "stroke-width": 3, "paint-order": "stroke" }, label));
      });
      if (axis.missing) {
        const y = bottom + MISSING_GAP;
        g.append(svgNode("circle", { cx: 0, cy: y, r: 3, fill: "#fff", stroke: "#9ca3af" }));
        g.append(svgNode("text", { x: last ? 7 : -7, y, "text-anchor": last ? "start" : "end", "dominant-baseline": "middle", fill: "#6b7280", "font-style": "italic", stroke: "#fff", "stroke-width": 3, "paint-order": "stroke" }, "missing"));
      }
      axis.brushRect = svgNode("rect", { class: "parallel-brush", x: -9, width: 18, y: top, height: 0, rx: 3, visibility: "hidden" });
      g.append(axis.brushRect);
      const grip = svgNode("rect", { class: "parallel-grip", x: -12, width: 24, y: top - 12, height: bottom - top + 24, fill: "transparent" });
      grip.append(svgNode("title", {}, `Drag along ${axis.key} to keep the runs in that range; click to clear`));
      g.append(grip);
      wireBrush(svg, grip, axis, applyBrushes);
      axesGroup.append(g);
    }

    // Hover: the run's name and its value on every axis.
    const tip = document.getElementById("tooltip");
    svg.addEventListener("pointermove", (e) => {
      const name = e.target?.dataset?.run;
      const l = name && runLines.find((x) => x.run === name);
      hover(l);
      if (!l || !tip) { if (tip) tip.hidden = true; return; }
      tip.replaceChildren(el("div", { class: "tip-title" }, el("span", { class: "swatch", style: `background:${color(l.run)}` }), ` ${l.run}`),
        ...axes.map((a, j) => el("div", { class: "tip-row" }, el("span", { class: "muted", text: `${a.key}${a.isMetric ? " (last)" : ""}: ` }),
          el("b", { text: l.values[j] === null ? "missing" : typeof l.values[j] === "number" ? fmt(l.values[j]) : String(l.values[j]) }))));
      tip.style.left = `${Math.min(e.pageX + 16, window.innerWidth - 330)}px`;
      tip.style.top = `${e.pageY + 16}px`;
      tip.hidden = false;
    });
    svg.addEventListener("pointerleave", () => { hover(null); if (tip) tip.hidden = true; });

    // -- controls: the metric, the axes, clear, download.
    const metricSelect = el("select", { class: "parallel-metric", title: "The metric whose last value is the last axis" },
      ...metrics.map((m) => el("option", { value: m, text: m, selected: m === metric })));
    metricSelect.addEventListener("change", () => { view.metric = metricSelect.value; view.brushes.delete(metric); rerender(); });
    const rerender = () => renderParallel(root, { runs, keys, color, fmt });
    const chooser = axisChooser(differing, new Set(shown.map((d) => d.key)), rerender);
    const clearButton = el("button", { type: "button", class: "parallel-clear", text: "Clear filters", title: "Show every run again", hidden: true,
      onclick: () => { view.brushes.clear(); applyBrushes(); } });
    const download = el("button", { type: "button", class: "parallel-download", text: "Download SVG", title: "Download this view as an SVG vector image",
      onclick: () => downloadBlob(new Blob([svgText(exported(svg, runLines, width, color))], { type: "image/svg+xml" }), `${S.project || "runs"}-parallel.svg`, "parallel", "svg") });
    const count = el("span", { class: "muted parallel-count" });
    const controls = el("div", { class: "parallel-controls" },
      metrics.length ? el("label", {}, "Metric ", metricSelect) : el("span", { class: "muted", text: "No metrics logged yet" }),
      chooser, count, clearButton, download);
    const hint = el("p", { class: "muted parallel-hint", text: `${shown.length} of ${differing.length} config keys that differ between the shown runs${differing.length > shown.length ? " (choose others under Axes)" : ""}. Drag along an axis to keep the runs in a range; click the axis to clear it. Hover a line for its run.` });

    drawn = {
      metric,
      axes: axes.map((a) => ({ key: a.key, kind: a.kind, scale: a.scale, ticks: [...a.ticks], metric: a.isMetric })),
      lines: Object.fromEntries(runLines.map((l) => [l.run, [...l.values]])),
      selected: [], brushes: {}, differing: differing.map((d) => d.key), message: null,
    };
    root.replaceChildren(controls, el("div", { class: "parallel-frame" }, svg, el("div", { class: "parallel-legend" }, ...runLines.map((l) => l.legend))), hint);
    applyBrushes();
    window.scrollTo(window.scrollX, scroll);
  }

  // The view as a file: what the page styles (dimmed and hovered lines) written out, the pointer targets
  // left out, the runs' legend added under the plot.
  function exported(svg, runLines, width, color) {
    const copy = svg.cloneNode(true);
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    for (const node of copy.querySelectorAll(".parallel-hit, .parallel-grip")) node.remove();
    for (const line of copy.querySelectorAll(".parallel-line")) {
      line.classList.remove("hover");
      if (line.classList.contains("dimmed")) { line.setAttribute("stroke", "#d1d5db"); line.setAttribute("stroke-width", 1); }
      else line.setAttribute("stroke-opacity", 0.85);
    }
    const measure = document.createElement("canvas").getContext("2d");
    measure.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const legend = svgNode("g", { class: "legend", "font-size": 12 });
    let x = 12, y = HEIGHT + 8;
    for (const l of runLines) {
      const w = 16 + measure.measureText(l.run).width;
      if (x > 12 && x + w > width - 12) { x = 12; y += 18; }
      const entry = svgNode("g", { "data-run": l.run, opacity: l.visible.classList.contains("dimmed") ? 0.4 : 1 });
      entry.append(svgNode("rect", { x, y: y + 4, width: 10, height: 10, rx: 2, fill: color(l.run) }),
        svgNode("text", { x: x + 16, y: y + 9, "dominant-baseline": "middle", fill: "#1d2330" }, l.run));
      legend.append(entry);
      x += w + 16;
    }
    const height = y + 26;
    copy.setAttribute("height", height);
    copy.setAttribute("viewBox", `0 0 ${width} ${height}`);
    copy.querySelector("rect").setAttribute("height", height); // the white background
    copy.append(legend);
    return copy;
  }

  // A pointer drag along an axis sets its brush; a click (no drag) clears it.
  function wireBrush(svg, grip, axis, apply) {
    grip.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      grip.setPointerCapture(e.pointerId);
      const toY = (ev) => {
        const point = svg.createSVGPoint();
        point.x = ev.clientX;
        point.y = ev.clientY;
        return point.matrixTransform(svg.getScreenCTM().inverse()).y;
      };
      const start = toY(e);
      let moved = false;
      const move = (ev) => {
        const y = toY(ev);
        if (Math.abs(y - start) < 3 && !moved) return;
        moved = true;
        view.brushes.set(axis.key, brushFromPixels(axis, start, y));
        apply();
      };
      const up = (ev) => {
        grip.removeEventListener("pointermove", move);
        grip.removeEventListener("pointerup", up);
        if (!moved) view.brushes.delete(axis.key);
        else view.brushes.set(axis.key, brushFromPixels(axis, start, toY(ev)));
        apply();
      };
      grip.addEventListener("pointermove", move);
      grip.addEventListener("pointerup", up);
    });
  }

  // The axes chooser: every differing key with a checkbox (at most MAX_AXES checked), a filter box
  // for long lists, and "default" to go back to the ranked first ones.
  function axisChooser(differing, shown, rerender) {
    const summary = el("summary", { text: `Axes (${shown.size} of ${differing.length})`, title: "Choose which differing config keys are axes" });
    const filter = el("input", { type: "search", class: "parallel-axes-filter", placeholder: "Filter keys", value: view.filter, spellcheck: "false" });
    const list = el("div", { class: "parallel-axes-list" });
    const boxes = differing.map((d) => {
      const box = el("input", { type: "checkbox", value: d.key, checked: shown.has(d.key) });
      box.addEventListener("change", () => {
        const chosen = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
        view.chosen = chosen;
        rerender();
        const again = document.querySelector(".parallel-axes-chooser");
        if (again) again.open = true;
      });
      el("label", { class: "parallel-axis-option", "data-key": d.key, title: d.key }, box, el("span", { text: d.key }),
        el("span", { class: "muted", text: d.kind === "numeric" ? " (number)" : "" }));
      return box; // its label is its parent
    });
    const full = shown.size >= MAX_AXES;
    for (const b of boxes) b.disabled = full && !b.checked;
    const show = () => {
      const re = view.filter.toLowerCase();
      for (const b of boxes) b.parentElement.hidden = !!re && !b.value.toLowerCase().includes(re);
    };
    filter.addEventListener("input", () => { view.filter = filter.value; show(); });
    list.append(...boxes.map((b) => b.parentElement));
    show();
    const reset = el("button", { type: "button", text: "Default", title: `The first ${MAX_AXES} keys: numbers first, per-run unique values last`,
      onclick: () => { view.chosen = null; rerender(); } });
    return el("details", { class: "parallel-axes-chooser" }, summary,
      el("div", { class: "parallel-axes-popup" }, el("div", { class: "parallel-axes-tools" }, filter, reset),
        full ? el("p", { class: "muted", text: `At most ${MAX_AXES} axes: uncheck one to choose another.` }) : null, list));
  }

  // The axes list closes when the pointer goes down anywhere else.
  document.addEventListener("pointerdown", (e) => {
    for (const open of document.querySelectorAll(".parallel-axes-chooser[open]")) if (!open.contains(e.target)) open.open = false;
  });

  function parallelState() {
    if (!drawn) return null;
    return JSON.parse(JSON.stringify(drawn));
  }

  Object.assign(window, { renderParallel, parallelState });
})();
