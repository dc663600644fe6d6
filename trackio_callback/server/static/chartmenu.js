// Per-chart tools: a "⋯" menu in each metric chart's header with fullscreen, PNG and SVG downloads,
// and a link to this chart. app.js calls `chartMenu(chart)` from makeChart, `openFullscreen(key)` when
// the address names `chart=KEY`, and reports `chartToolsState()` in window.trackioDashboard.state().
// Reads app.js's globals at call time: S (charts, project, smoothing), el, color, chartLink.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const PAD = 12, TITLE_H = 24; // the exported image's margin and title band (CSS px)
  const tools = { fullscreen: null, lastExport: null, copied: null };
  let overlay = null; // {key, root, u, chart, timer, restoreFocus}

  // -- the menu ------------------------------------------------------------------------------------

  const ACTIONS = [
    ["fullscreen", "Fullscreen", "Show this chart over the whole window (Escape closes)", (chart) => openFullscreen(chart.key)],
    ["png", "Download PNG", "Download the chart as a PNG image", (chart) => downloadPng(chart, chart.u)],
    ["svg", "Download SVG", "Download the chart as an SVG vector image", (chart) => downloadSvg(chart, chart.u)],
    ["link", "Copy link", "Copy a link to the current view with this chart in fullscreen", (chart, item) => copyLink(chart.key, item)],
  ];

  function chartMenu(chart) {
    const button = el("button", { type: "button", class: "chart-menu-button", title: `Chart tools: ${chart.key}`,
      "aria-label": `Chart tools for ${chart.key}`, "aria-haspopup": "menu", "aria-expanded": "false", text: "⋯" });
    const menu = el("div", { class: "chart-menu", role: "menu", hidden: true });
    const wrap = el("span", { class: "chart-tools", "data-key": chart.key }, button, menu);
    const items = ACTIONS.map(([action, label, title, run]) => {
      const item = el("button", { type: "button", role: "menuitem", class: "chart-menu-item", "data-action": action, title, text: label, tabindex: "-1" });
      item.addEventListener("click", (e) => {
        e.stopPropagation();
        if (action !== "link") close();
        Promise.resolve(run(chart, item))
          .then(() => { if (action === "link") setTimeout(close, 1200); }) // after the "copied" feedback
          .catch((error) => console.warn(`chart ${action}`, error));
      });
      return item;
    });
    menu.append(...items);
    const onOutside = (e) => { if (!wrap.contains(e.target)) close(); };
    const onMove = () => close();
    // Fixed to the window under the button: the chart's header clips what overflows it.
    function place() {
      const at = button.getBoundingClientRect();
      menu.style.top = `${Math.round(at.bottom + 2)}px`;
      menu.style.right = `${Math.round(document.documentElement.clientWidth - at.right)}px`;
    }
    function open() {
      place();
      menu.hidden = false;
      window.addEventListener("scroll", onMove, true);
      window.addEventListener("resize", onMove);
      button.setAttribute("aria-expanded", "true");
      wrap.classList.add("open");
      document.addEventListener("pointerdown", onOutside, true);
      items[0].focus();
    }
    function close(refocus = false) {
      if (menu.hidden) return;
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
      wrap.classList.remove("open");
      document.removeEventListener("pointerdown", onOutside, true);
      window.removeEventListener("scroll", onMove, true);
      window.removeEventListener("resize", onMove);
      if (refocus) button.focus();
    }
    button.addEventListener("click", (e) => { e.stopPropagation(); menu.hidden ? open() : close(); });
    button.addEventListener("keydown", (e) => { if (e.key === "ArrowDown") { e.preventDefault(); open(); } });
    menu.addEventListener("keydown", (e) => {
      const i = items.indexOf(document.activeElement);
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(true); }
      else if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
      else if (e.key === "Home") { e.preventDefault(); items[0].focus(); }
      else if (e.key === "End") { e.preventDefault(); items[items.length - 1].focus(); }
      else if (e.key === "Tab") close();
    });
    return wrap;
  }

  // -- what a chart shows: its legend, its series as drawn ---------------------------------------------

  // One entry per label, in the chart's order (a smoothed chart's faint raw copies are not listed).
  function legendItems(chart) {
    const seen = new Set(), items = [];
    for (const l of chart.lines) {
      const label = l.label || l.run;
      if (seen.has(label)) continue;
      seen.add(label);
      items.push({ run: l.run, label, color: l.color || color(l.run) });
    }
    return items;
  }

  function seriesValue(u, i, value) {
    return typeof value === "function" ? value(u, i) : value;
  }

  // -- fullscreen ----------------------------------------------------------------------------------

  // A copy of uPlot options: plain objects and arrays copied, functions and other values shared, and
  // no "_" key (uPlot keeps its drawing state on the option objects it was given: paths, sizes, splits).
  function copyOptions(value) {
    if (Array.isArray(value)) return value.map(copyOptions);
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith("_")).map(([k, v]) => [k, copyOptions(v)]));
    }
    return value;
  }

  // The small chart's axis callbacks may remember what they drew on the chart object (its tick labels);
  // run for the big copy, they must leave the small chart's record as it was.
  function keepChartAsIs(fn, chart) {
    return function (...args) {
      const saved = Object.entries(chart);
      try {
        return fn.apply(this, args);
      } finally {
        for (const k of Object.keys(chart)) if (!saved.some(([s]) => s === k)) delete chart[k];
        for (const [k, v] of saved) chart[k] = v;
      }
    };
  }

  function bigOptions(chart, width, height) {
    const opts = copyOptions(chart.opts);
    opts.width = width;
    opts.height = height;
    opts.axes = (opts.axes || []).map((axis) => Object.fromEntries(Object.entries(axis).map(([k, v]) => [k, typeof v === "function" ? keepChartAsIs(v, chart) : v])));
    // The small chart's zoom hooks fetch detail for the small chart; the big copy zooms on its own.
    const hooks = { ...(opts.hooks || {}) };
    delete hooks.setSelect;
    delete hooks.setScale;
    opts.hooks = hooks;
    opts.cursor = { ...(opts.cursor || {}), sync: undefined }; // its hover must not drive the hidden charts
    return opts;
  }

  function fullscreenSize(root) {
    const body = root.querySelector(".chart-fullscreen-plot");
    const legend = root.querySelector(".chart-fullscreen-legend");
    const width = Math.max(320, body.clientWidth - 8);
    const height = Math.max(240, window.innerHeight - 48 - root.querySelector(".chart-fullscreen-head").offsetHeight - legend.offsetHeight - 40);
    return { width, height };
  }

  function legendNode(chart) {
    return el("div", { class: "chart-fullscreen-legend" }, ...legendItems(chart).map((item) =>
      el("span", { class: "legend-item", "data-run": item.run, title: item.label },
        el("span", { class: "swatch", style: `background:${item.color}` }), el("span", { text: item.label }))));
  }

  function openFullscreen(key) {
    const chart = S.charts.get(key);
    if (!chart || !chart.u) return false;
    closeFullscreen(false);
    const active = document.activeElement;
    const restoreFocus = active?.closest?.(".chart-tools")?.querySelector(".chart-menu-button") || active; // not the closed menu's item
    const closeButton = el("button", { type: "button", class: "chart-fullscreen-close", title: "Close (Escape)", "aria-label": "Close fullscreen", text: "✕" });
    const action = (name, label, title, run) => el("button", { type: "button", class: "chart-fullscreen-action", "data-action": name, title, text: label, onclick: run });
    const head = el("div", { class: "chart-fullscreen-head" },
      el("span", { class: "chart-fullscreen-title", text: chart.title || key }),
      el("span", { class: "chart-fullscreen-actions" },
        action("png", "PNG", "Download this view as a PNG image", () => downloadPng(overlay.chart, overlay.u)),
        action("svg", "SVG", "Download this view as an SVG vector image", () => downloadSvg(overlay.chart, overlay.u)),
        action("link", "Copy link", "Copy a link to this chart", (e) => copyLink(key, e.currentTarget)),
        closeButton));
    const plot = el("div", { class: "chart-fullscreen-plot" });
    const root = el("div", { class: "chart-fullscreen", role: "dialog", "aria-modal": "true", "aria-label": `${key} (fullscreen)`, "data-key": key },
      el("div", { class: "chart-fullscreen-panel" }, head, plot, legendNode(chart)));
    root.addEventListener("click", (e) => { if (e.target === root) closeFullscreen(); });
    closeButton.addEventListener("click", () => closeFullscreen());
    document.body.append(root);
    document.body.classList.add("chart-fullscreen-open");
    const { width, height } = fullscreenSize(root);
    const u = new uPlot(bigOptions(chart, width, height), chart.u.data, plot);
    u.over.addEventListener("mouseleave", () => { const tip = document.getElementById("tooltip"); if (tip) tip.hidden = true; });
    if (chart.zoomed) u.setScale("x", { min: chart.u.scales.x.min, max: chart.u.scales.x.max });
    overlay = { key, root, u, chart, data: chart.u.data, restoreFocus };
    // The page redraws its charts as runs log (a new chart object, or new data): follow them.
    overlay.timer = setInterval(followChart, 1000);
    tools.fullscreen = key;
    closeButton.focus();
    return true;
  }

  function followChart() {
    if (!overlay) return;
    const chart = S.charts.get(overlay.key);
    if (!chart || !chart.u) { closeFullscreen(false); return; } // filtered out, another project
    if (chart !== overlay.chart && chart.u.series.length !== overlay.u.series.length) { openFullscreen(overlay.key); return; }
    if (chart.u.data !== overlay.data) {
      overlay.chart = chart;
      overlay.data = chart.u.data;
      overlay.u.setData(chart.u.data);
      overlay.root.querySelector(".chart-fullscreen-legend").replaceWith(legendNode(chart));
    }
  }

  function closeFullscreen(refocus = true) {
    if (!overlay) return;
    clearInterval(overlay.timer);
    overlay.u.destroy();
    overlay.root.remove();
    document.body.classList.remove("chart-fullscreen-open");
    const tip = document.getElementById("tooltip");
    if (tip) tip.hidden = true;
    if (refocus && overlay.restoreFocus && document.contains(overlay.restoreFocus)) overlay.restoreFocus.focus();
    overlay = null;
    tools.fullscreen = null;
  }

  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && overlay) { e.preventDefault(); closeFullscreen(); } });
  window.addEventListener("resize", () => {
    if (!overlay) return;
    overlay.u.setSize(fullscreenSize(overlay.root));
  });

  // -- exports -------------------------------------------------------------------------------------

  function fileName(key, ext) {
    return `${S.project || "chart"}-${key.replace(/\//g, "_")}.${ext}`;
  }

  // Saves `blob` as a download named `name`, and records it (state().chartTools.lastExport).
  function downloadBlob(blob, name, key, format) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    tools.lastExport = { key, format, name, bytes: blob.size };
  }

  // The legend under an exported chart: items flowing in rows of `width`; `measure(text)` in px.
  function legendLayout(items, width, measure) {
    const ROW = 18, SWATCH = 10, GAP = 16;
    const placed = [];
    let x = 0, y = 0;
    for (const item of items) {
      const w = SWATCH + 6 + Math.min(measure(item.label), width - SWATCH - 6);
      if (x > 0 && x + w > width) { x = 0; y += ROW; }
      placed.push({ ...item, x, y, w });
      x += w + GAP;
    }
    return { placed, height: items.length ? y + ROW : 0, row: ROW, swatch: SWATCH };
  }

  function measurer(font) {
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = font;
    return (text) => ctx.measureText(text).width;
  }

  // The chart as drawn (uPlot draws its axes on its canvas), with its title and legend, at the
  // device's pixel ratio.
  async function downloadPng(chart, u) {
    const source = u.ctx.canvas;
    const ratio = window.devicePixelRatio || 1;
    const legend = legendLayout(legendItems(chart), u.width, measurer(`12px ${FONT}`));
    const width = u.width + 2 * PAD, height = PAD + TITLE_H + u.height + (legend.height ? 8 + legend.height : 0) + PAD;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#1d2330";
    ctx.font = `600 14px ${FONT}`;
    ctx.textBaseline = "middle";
    ctx.fillText(chart.title || chart.key, PAD, PAD + TITLE_H / 2);
    ctx.drawImage(source, PAD, PAD + TITLE_H, u.width, u.height);
    const top = PAD + TITLE_H + u.height + 8;
    ctx.font = `12px ${FONT}`;
    for (const item of legend.placed) {
      ctx.fillStyle = item.color;
      ctx.fillRect(PAD + item.x, top + item.y + (legend.row - legend.swatch) / 2, legend.swatch, legend.swatch);
      ctx.fillStyle = "#1d2330";
      ctx.save();
      ctx.beginPath();
      ctx.rect(PAD + item.x, top + item.y, item.w, legend.row);
      ctx.clip();
      ctx.fillText(item.label, PAD + item.x + legend.swatch + 6, top + item.y + legend.row / 2);
      ctx.restore();
    }
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    downloadBlob(blob, fileName(chart.key, "png"), chart.key, "png");
  }

  function svgNode(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const round = (v) => Math.round(v * 100) / 100;

  // A series' path: "M x y L x y ..." through its points, broken at missing values unless it spans gaps.
  function seriesPath(u, i, left, top) {
    const xs = u.data[0], ys = u.data[i], s = u.series[i];
    const xScale = u.series[0].scale || "x";
    const parts = [];
    let pen = "M";
    for (let j = 0; j < xs.length; j++) {
      const y = ys[j];
      if (y === null || y === undefined || !isFinite(y)) { if (!s.spanGaps) pen = "M"; continue; }
      const px = left + u.valToPos(xs[j], xScale), py = top + u.valToPos(y, s.scale || "y");
      if (!isFinite(px) || !isFinite(py)) continue;
      parts.push(`${pen}${round(px)} ${round(py)}`);
      pen = "L";
    }
    return parts.join("");
  }

  // A band (a group's min..max) as filled areas between its two series, one per stretch where both have values.
  function bandPath(u, band, left, top) {
    const [hi, lo] = band.series, xs = u.data[0];
    const xScale = u.series[0].scale || "x";
    const point = (j, i) => {
      const v = u.data[i][j];
      if (v === null || v === undefined || !isFinite(v)) return null;
      return [round(left + u.valToPos(xs[j], xScale)), round(top + u.valToPos(v, u.series[i].scale || "y"))];
    };
    const shapes = [];
    let upper = [], lower = [];
    const close = () => {
      if (upper.length > 1) shapes.push(`M${[...upper, ...lower.reverse()].map((p) => p.join(" ")).join("L")}Z`);
      upper = []; lower = [];
    };
    for (let j = 0; j < xs.length; j++) {
      const a = point(j, hi), b = point(j, lo);
      if (a && b) { upper.push(a); lower.push(b); } else if (!u.series[hi].spanGaps) close();
    }
    close();
    return shapes.join("");
  }

  // Ticks, labels and grid of one axis, placed as uPlot places them (axis._pos / _size, ticks, gap).
  function axisNodes(u, index, plot) {
    const axis = u.axes[index];
    const nodes = [];
    if (!axis.show || !axis._show || !axis._splits || !axis._values) return nodes;
    const horizontal = axis.side % 2 === 0; // 0 top, 2 bottom: an x axis
    const scale = u.scales[axis.scale];
    if (!scale || scale.distr === 2) return nodes;
    const stroke = seriesValue(u, index, axis.stroke) || "#000";
    const tick = axis.ticks && axis.ticks.show !== false ? axis.ticks.size ?? 10 : 0;
    const gap = axis.gap ?? 5;
    const fontSize = (axis.font && axis.font[1]) || 12;
    const fontPx = fontSize / ((u.ctx.canvas.width / u.width) || 1); // uPlot keeps the font scaled by its pixel ratio
    const gridStroke = (axis.grid && seriesValue(u, index, axis.grid.stroke)) || "rgba(0,0,0,0.07)";
    const tickStroke = (axis.ticks && seriesValue(u, index, axis.ticks.stroke)) || gridStroke;
    const group = svgNode("g", { class: `axis axis-${horizontal ? "x" : "y"}`, "data-axis": index, fill: stroke, "font-size": round(fontPx) });
    axis._splits.forEach((value, j) => {
      const label = axis._values[j];
      const at = u.valToPos(value, axis.scale) + (horizontal ? plot.left : plot.top);
      if (!isFinite(at)) return;
      if (horizontal) {
        if (at < plot.left - 0.5 || at > plot.left + plot.width + 0.5) return;
        if (axis.grid?.show !== false) group.append(svgNode("line", { x1: round(at), x2: round(at), y1: plot.top, y2: plot.top + plot.height, stroke: gridStroke }));
        const edge = axis.side === 2 ? plot.top + plot.height : plot.top;
        const dir = axis.side === 2 ? 1 : -1;
        if (tick) group.append(svgNode("line", { x1: round(at), x2: round(at), y1: edge, y2: edge + dir * tick, stroke: tickStroke }));
        if (label !== null && label !== undefined) {
          group.append(svgNode("text", { x: round(at), y: round(edge + dir * (tick + gap)), "text-anchor": "middle",
            "dominant-baseline": axis.side === 2 ? "hanging" : "auto", class: "tick-label" }, String(label)));
        }
      } else {
        if (at < plot.top - 0.5 || at > plot.top + plot.height + 0.5) return;
        if (axis.grid?.show !== false) group.append(svgNode("line", { x1: plot.left, x2: plot.left + plot.width, y1: round(at), y2: round(at), stroke: gridStroke }));
        const edge = axis.side === 3 ? plot.left : plot.left + plot.width;
        const dir = axis.side === 3 ? -1 : 1;
        if (tick) group.append(svgNode("line", { x1: edge, x2: edge + dir * tick, y1: round(at), y2: round(at), stroke: tickStroke }));
        if (label !== null && label !== undefined) {
          group.append(svgNode("text", { x: round(edge + dir * (tick + gap)), y: round(at), "text-anchor": axis.side === 3 ? "end" : "start",
            "dominant-baseline": "middle", class: "tick-label" }, String(label)));
        }
      }
    });
    return [group];
  }

  // A vector copy of the chart: its series as paths in their colours, its axes as uPlot drew them
  // (the same tick values and labels), the title and the legend.
  function chartSvg(chart, u) {
    const ratio = (u.ctx.canvas.width / u.width) || 1;
    const plot = { left: PAD + u.bbox.left / ratio, top: PAD + TITLE_H + u.bbox.top / ratio, width: u.bbox.width / ratio, height: u.bbox.height / ratio };
    const legend = legendLayout(legendItems(chart), u.width, measurer(`12px ${FONT}`));
    const width = u.width + 2 * PAD, height = PAD + TITLE_H + u.height + (legend.height ? 8 + legend.height : 0) + PAD;
    const svg = svgNode("svg", { xmlns: SVG_NS, width, height, viewBox: `0 0 ${width} ${height}`, "font-family": FONT, "font-size": 12 });
    svg.append(svgNode("title", {}, `${S.project || ""} ${chart.title || chart.key}`.trim()));
    svg.append(svgNode("rect", { x: 0, y: 0, width, height, fill: "#fff" }));
    svg.append(svgNode("text", { x: PAD, y: PAD + TITLE_H / 2, "dominant-baseline": "middle", "font-size": 14, "font-weight": 600, fill: "#1d2330", class: "chart-title" }, chart.title || chart.key));
    const clipId = `plot-${Math.random().toString(36).slice(2, 10)}`;
    const clip = svgNode("clipPath", { id: clipId });
    clip.append(svgNode("rect", { x: round(plot.left), y: round(plot.top), width: round(plot.width), height: round(plot.height) }));
    svg.append(svgNode("defs", {}));
    svg.lastChild.append(clip);
    u.axes.forEach((_, i) => svg.append(...axisNodes(u, i, plot)));
    const bands = svgNode("g", { class: "bands", "clip-path": `url(#${clipId})`, stroke: "none" });
    for (const band of u.bands || []) {
      const d = bandPath(u, band, plot.left, plot.top);
      if (d) bands.append(svgNode("path", { d, fill: seriesValue(u, band.series[0], band.fill) || "rgba(0,0,0,.1)" }));
    }
    if (bands.childNodes.length) svg.append(bands);
    const lines = svgNode("g", { class: "series", "clip-path": `url(#${clipId})`, fill: "none", "stroke-linejoin": "round", "stroke-linecap": "round" });
    for (let i = 1; i < u.series.length; i++) {
      const s = u.series[i];
      if (s.show === false) continue;
      const d = seriesPath(u, i, plot.left, plot.top);
      if (!d) continue;
      const dash = Array.isArray(s.dash) && s.dash.length ? s.dash.join(" ") : null;
      lines.append(svgNode("path", { d, stroke: seriesValue(u, i, s.stroke) || "#000", "stroke-width": s.width ?? 1, "stroke-dasharray": dash,
        opacity: s.alpha !== undefined && s.alpha !== 1 ? s.alpha : null, "data-series": s.label ?? "" }));
    }
    svg.append(lines);
    const top = PAD + TITLE_H + u.height + 8;
    const legendGroup = svgNode("g", { class: "legend" });
    for (const item of legend.placed) {
      const entry = svgNode("g", { "data-run": item.run });
      entry.append(svgNode("rect", { x: round(PAD + item.x), y: round(top + item.y + (legend.row - legend.swatch) / 2), width: legend.swatch, height: legend.swatch, rx: 2, fill: item.color }));
      entry.append(svgNode("text", { x: round(PAD + item.x + legend.swatch + 6), y: round(top + item.y + legend.row / 2), "dominant-baseline": "middle", fill: "#1d2330" }, item.label));
      legendGroup.append(entry);
    }
    svg.append(legendGroup);
    return svg;
  }

  function svgText(svg) {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}\n`;
  }

  function downloadSvg(chart, u) {
    const blob = new Blob([svgText(chartSvg(chart, u))], { type: "image/svg+xml" });
    downloadBlob(blob, fileName(chart.key, "svg"), chart.key, "svg");
  }

  // -- link ------------------------------------------------------------------------------------------

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
    } catch (e) {
      // denied (no permission, page not focused): the textarea route below still works on a click
    }
    const area = el("textarea", { readonly: true, style: "position:fixed;left:-9999px;top:0;opacity:0" });
    area.value = text;
    document.body.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } finally {
      area.remove();
    }
    return done;
  }

  async function copyLink(key, feedbackNode) {
    const url = chartLink(key);
    const done = await copyText(url);
    tools.copied = url;
    if (feedbackNode) {
      const before = feedbackNode.dataset.label || feedbackNode.textContent;
      feedbackNode.dataset.label = before;
      feedbackNode.textContent = done ? "Link copied ✓" : "Copy failed: see console";
      feedbackNode.classList.add("copied");
      if (!done) console.info("chart link:", url);
      clearTimeout(feedbackNode._copiedTimer);
      feedbackNode._copiedTimer = setTimeout(() => { feedbackNode.textContent = before; feedbackNode.classList.remove("copied"); }, 1600);
    }
    return url;
  }

  // What the tools show; `view` describes the fullscreen chart (its series, points, size, legend).
  function chartToolsState() {
    const view = overlay && {
      series: overlay.u.series.slice(1).map((s) => s.label),
      points: overlay.u.data[0].length,
      width: overlay.u.width, height: overlay.u.height,
      legend: [...overlay.root.querySelectorAll(".chart-fullscreen-legend .legend-item")].map((e) => e.textContent),
    };
    return { fullscreen: tools.fullscreen, lastExport: tools.lastExport && { ...tools.lastExport }, copied: tools.copied, view };
  }

  Object.assign(window, { chartMenu, openFullscreen, closeFullscreen, chartToolsState, chartSvg, downloadBlob, svgNode, svgText });
})();
