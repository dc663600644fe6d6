// The view in the address bar's query string, in trackio's link parameters where trackio has one
// (project, metrics / metric_filter, runs / run_ids, sidebar, navbar, x_axis, smoothing, xmin, xmax,
// accordion), so a trackio embed or a model card's link opens the same view here, locally and in a
// Space; this page's own settings (tab, log_y, latest, run_filter, group_by, band, merge, chart) beside
// them. Links of older versions of this page kept the view in the hash: still read.
"use strict";

const TABS = ["metrics", "system", "runs", "parallel", "tables", "alerts", "media", "histograms", "reports"];

// trackio's `metrics`: a comma-separated list of metric names (each exactly), or else a regex.
function metricsFromLink(text) {
  const parts = (text || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (!parts.length) return "";
  return parts.every((p) => /^[\w./-]+$/.test(p)) ? exactPattern(parts) : text.trim();
}

function namesFromLink(text) {
  const names = (text || "").split(",").map((s) => s.trim()).filter(Boolean);
  return names.length ? new Set(names) : null;
}

function linkParams() {
  const p = new URLSearchParams();
  if (S.project) p.set("project", S.project);
  p.set("x_axis", S.xAxis === "relative" ? "time" : S.xAxis);
  if (S.smoothing) p.set("smoothing", S.smoothing);
  if (S.metricFilter) p.set("metric_filter", S.metricFilter);
  if (S.runFilter) p.set("run_filter", S.runFilter);
  if (S.runLimit !== 20) p.set("latest", S.runLimit);
  const shown = shownRuns();
  if (shown.some((r) => S.hidden.has(r.name))) p.set("runs", shown.filter((r) => !S.hidden.has(r.name)).map((r) => r.name).join(","));
  if (S.tab !== "metrics") p.set("tab", S.tab);
  if (S.logY) p.set("log_y", "1");
  if (S.groupBy) { p.set("group_by", S.groupBy); p.set("band", S.band); }
  for (const pattern of S.merges) p.append("merge", pattern);
  if (S.xRange) { p.set("xmin", S.xRange[0]); p.set("xmax", S.xRange[1]); }
  if (S.sidebar !== "open") p.set("sidebar", S.sidebar);
  if (!S.accordion) p.set("accordion", "hidden");
  if (document.body.dataset.navbar === "hidden") p.set("navbar", "hidden");
  return p;
}

function saveView() {
  history.replaceState(null, "", `${location.pathname}?${linkParams()}`);
}

// The view a link asks for; returns the project it names.
function loadView() {
  const legacy = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const get = (name, old) => (query.has(name) ? query.get(name) : old !== undefined && legacy.has(old) ? legacy.get(old) : null);
  const axis = (get("x_axis", "x") || query.get("x-axis") || "step").trim();
  S.xAxis = axis === "time" ? "relative" : axis || "step";
  S.smoothing = query.has("smoothing") ? smoothingFromLink(query.get("smoothing")) : Math.min(0.99, Math.max(0, Number(legacy.get("smoothing")) || 0));
  S.logY = (get("log_y", "logy") || "") === "1";
  S.metricFilter = query.get("metric_filter") || (query.has("metrics") ? metricsFromLink(query.get("metrics")) : legacy.get("metrics") || "");
  S.runFilter = query.get("run_filter") || (query.has("runs") ? "" : legacy.get("runs") || "");
  S.linkRuns = query.has("runs") ? namesFromLink(query.get("runs")) : null;
  S.linkRunIds = namesFromLink(query.get("run_ids"));
  S.runLimit = Math.max(1, Number(get("latest", "latest")) || 20);
  const tab = get("tab", "tab") === "texts" ? "reports" : get("tab", "tab"); // links from before the Reports tab
  S.tab = TABS.includes(tab) ? tab : "metrics";
  S.groupBy = query.get("group_by") || "";
  S.band = ["minmax", "std", "none"].includes(query.get("band")) ? query.get("band") : "minmax";
  S.merges = query.getAll("merge").filter(Boolean);
  const lo = parseFloat(query.get("xmin")), hi = parseFloat(query.get("xmax"));
  S.xRange = isFinite(lo) && isFinite(hi) && lo < hi ? [lo, hi] : null;
  S.sidebar = ["hidden", "collapsed"].includes(query.get("sidebar")) ? query.get("sidebar") : "open";
  S.accordion = query.get("accordion") !== "hidden";
  S.focusChart = query.get("chart");
  if (query.get("navbar") === "hidden") document.body.dataset.navbar = "hidden";
  document.body.dataset.sidebar = S.sidebar;
  $("smoothing").value = S.smoothing;
  $("smoothing-value").textContent = S.smoothing;
  $("log-y").checked = S.logY;
  $("run-filter").value = S.runFilter;
  $("metric-filter").value = S.metricFilter;
  $("run-limit").value = S.runLimit;
  return get("project", "project");
}

// The runs a link names (`runs=a,b` or trackio's `run_ids=`), once the project's runs are known:
// those shown, the others unticked, the sidebar's "latest N" widened to reach the oldest of them.
function applyLinkRuns() {
  const names = S.linkRuns, ids = S.linkRunIds;
  S.linkRuns = S.linkRunIds = null;
  if (!names && !ids) return;
  const wanted = new Set(S.runs.filter((r) => (names && names.has(r.name)) || (ids && ids.has(r.uid))).map((r) => r.name));
  if (!wanted.size) return;
  for (const r of S.runs) if (!wanted.has(r.name)) S.hidden.add(r.name);
  const newest = [...S.runs].sort((a, b) => b.created_at - a.created_at).map((r) => r.name);
  const reach = Math.max(...[...wanted].map((name) => newest.indexOf(name))) + 1;
  if (reach > S.runLimit) { S.runLimit = reach; $("run-limit").value = reach; }
}

function setSidebar(state) {
  S.sidebar = state;
  document.body.dataset.sidebar = state;
  saveView();
  setTimeout(() => drawCharts(), 0); // the charts take the width the sidebar gives back
}
