// The Media tab: per key a step slider and the shown runs side by side (images, audio and video players, 3D
// objects as a download); the full-size image overlay (click an image); images inside Tables cells.
// app.js's helpers (el, $, S, visibleRuns, regex, fmt, mapLimit) and stepper.js are in scope.
"use strict";

async function renderMedia() {
  const generation = S.generation;
  const runs = visibleRuns().filter((r) => (S.keys[r.name]?.media || []).length);
  await mapLimit(runs.filter((r) => !(r.name in S.media) || r.status === "running"), 4, async (r) => {
    S.media[r.name] = await S.source.media(S.project, r.name);
  });
  if (generation !== S.generation) return;
  const byKey = new Map(); // key -> Map(run -> rows)
  for (const r of runs) {
    for (const row of S.media[r.name] || []) {
      if (!byKey.has(row.key)) byKey.set(row.key, new Map());
      const perRun = byKey.get(row.key);
      if (!perRun.has(r.name)) perRun.set(r.name, []);
      perRun.get(r.name).push(row);
    }
  }
  const filter = regex(S.metricFilter);
  const keys = [...byKey.keys()].filter((k) => !filter || filter.test(k)).sort();
  if (unchanged("media", [keys, runs.map((r) => [r.name, (S.media[r.name] || []).length])])) return;
  const view = $("media-view");
  S.mediaPanels = {};
  if (!keys.length) {
    view.replaceChildren(el("p", { class: "muted", text: "No media logged by the shown runs (log trackio.Image, Audio, Video or Object3D values)." }));
    return;
  }
  view.replaceChildren(...keys.map((key) => stepPanel({
    id: `media:${key}`, key, kind: "media", grouped: byRunAndStep(byKey.get(key)), record: (S.mediaPanels[key] = {}),
    draw: (entry) => ({ node: el("div", { class: "media-items" }, ...entry.rows.map(mediaNode)), info: {} }),
  })));
}

// One logged file: <img> (click: full size), <audio>/<video> with controls, or a download link (3D objects and
// what a browser cannot show); its caption under it.
function mediaNode(row) {
  const figure = el("figure", { class: "media-item", "data-kind": row.kind, "data-format": row.format, "data-src": row.url, "data-item": row.item });
  let node;
  if ((row.kind === "image" && row.format !== "tiff") || (row.kind === "video" && row.format === "gif")) { // browsers show no TIFF
    node = el("img", { class: "media-image", alt: row.caption || row.key, title: `${row.width}×${row.height} · click: full size` });
    node.addEventListener("click", () => zoom(row.url, row.caption));
  } else if (row.kind === "audio") {
    node = el("audio", { controls: true, preload: "metadata" });
  } else if (row.kind === "video") {
    node = el("video", { controls: true, preload: "metadata", playsinline: true, class: "media-video" });
  } else {
    const what = row.kind === "object3d" ? "3D object" : row.kind;
    node = el("a", { class: "media-download", download: `${row.key}-${row.step}.${row.format}`.replace(/[^\w.-]+/g, "_"),
      text: `Download ${what} (${row.format}, ${bytes(row.size)})` });
  }
  S.source.src(row.url).then((src) => { if (node.tagName === "A") node.href = src; else node.src = src; }, showError);
  figure.append(node);
  if (row.caption) figure.append(el("figcaption", { text: row.caption }));
  return figure;
}

function bytes(n) {
  if (n === null || n === undefined) return "?";
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 ** 2).toFixed(1)} MB`;
}

// -- the full-size overlay ---------------------------------------------------------------------------

async function zoom(url, caption) {
  const overlay = $("zoom");
  const image = overlay.querySelector("img");
  overlay.dataset.src = url;
  image.removeAttribute("src");
  overlay.querySelector("figcaption").textContent = caption || "";
  overlay.hidden = false;
  image.src = await S.source.src(url);
}

function closeZoom() {
  const overlay = $("zoom");
  overlay.hidden = true;
  delete overlay.dataset.src;
}

function wireZoom() {
  $("zoom").addEventListener("click", closeZoom);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("zoom").hidden) closeZoom(); });
}

// -- images in tables --------------------------------------------------------------------------------

function isImageCell(v) {
  return !!v && typeof v === "object" && v._type === "trackio.image";
}

// A table cell's content: its images as thumbnails (click: full size), anything else as text.
function tableCell(v, row, column) {
  const images = isImageCell(v) ? [v] : Array.isArray(v) && v.length && v.every(isImageCell) ? v : null;
  if (!images) return typeof v === "string" ? v : fmt(v);
  return el("span", { class: "cell-images" }, ...images.map((image) => {
    const thumb = el("img", { class: "cell-image", alt: image.caption || "image", title: image.caption || `${image.width}×${image.height}`,
      "data-src": image.url, "data-row": row, "data-column": column });
    S.source.src(image.url).then((src) => (thumb.src = src), showError);
    thumb.addEventListener("click", () => zoom(image.url, image.caption));
    return thumb;
  }));
}

// -- the state API -----------------------------------------------------------------------------------

// What the Media tab shows, read from the page: per key the chosen step and per run its step and elements.
function mediaState() {
  const panels = {};
  for (const panel of document.querySelectorAll("#media-view .step-panel")) {
    const record = S.mediaPanels[panel.dataset.key] || {};
    const runs = {};
    for (const cell of panel.querySelectorAll(".step-cell")) {
      runs[cell.dataset.run] = {
        step: cell.dataset.step === "" ? null : Number(cell.dataset.step),
        items: [...cell.querySelectorAll(".media-item")].map(elementState),
      };
    }
    panels[panel.dataset.key] = { step: record.step, steps: record.steps, runs };
  }
  return panels;
}

function elementState(figure) {
  const node = figure.querySelector("img, audio, video, a");
  return {
    kind: figure.dataset.kind, format: figure.dataset.format, item: Number(figure.dataset.item), tag: node.tagName.toLowerCase(),
    src: figure.dataset.src, caption: figure.querySelector("figcaption")?.textContent ?? null,
    width: node.naturalWidth ?? node.videoWidth ?? null, height: node.naturalHeight ?? node.videoHeight ?? null,
    duration: Number.isFinite(node.duration) ? node.duration : null, ready: node.tagName === "IMG" ? node.complete && node.naturalWidth > 0 : node.readyState ?? null,
    controls: !!node.controls, href: node.tagName === "A" ? node.getAttribute("href") : null,
  };
}

function tableImagesState() {
  return [...document.querySelectorAll("#tables-view img.cell-image")].map((img) => ({
    row: Number(img.dataset.row), column: img.dataset.column, src: img.dataset.src, caption: img.alt,
    width: img.naturalWidth, height: img.naturalHeight,
  }));
}

function zoomState() {
  const overlay = $("zoom");
  if (overlay.hidden) return null;
  const image = overlay.querySelector("img");
  return { src: overlay.dataset.src, width: image.naturalWidth, height: image.naturalHeight,
    caption: overlay.querySelector("figcaption").textContent, shownWidth: image.clientWidth };
}
