// Where the dashboard's data comes from: the local server's JSON API (ServerSource), or a
// trackio-callback Hub dataset read directly in the browser with hyparquet (HubSource, for the
// static Space). Both answer the same calls with the same shapes, so app.js does not care which.
//
//   runs(project)                      [{name, uid, group, status, end_reason, created_at, finished_at, last_step, config, summary,
//                                        checkpoints, tags: [str], notes: str}]
//   keys(project, runs)                {run: {metrics: {key: {last, min, max, count, ...}}, system: [..], tables: [..], texts: [..]}}
//   series(project, run, keys, max[, minStep, maxStep])
//                                      {cursor, series: {key: {steps, timestamps, values}}}  (downsampled, min/max kept)
//   seriesOfRuns(project, runs, keys, max[, minStep, maxStep])
//                                      {run: series(...)'s answer}: several runs in one request (keys null: all)
//   poll(project, cursors, max)        [{run, cursor, status, last_step, series: {key: columns}}]: only what is new
//   system(project, run, cursor)       {cursor, series: {key: {node: {timestamps, steps, values}}}}: only what is new
//   tables(project, run), alerts(project, run), download(project, run, key, format)
//   texts(project, run)                [{key, step, timestamp, value, kind}]: the strings the run logged (kind: text,
//                                      markdown or html), oldest first
//   media(project, run)                [{key, step, item, kind, caption, digest, format, size, width, height, duration,
//                                      timestamp, url}]: images, audio, video, 3D objects, oldest first
//   histograms(project, run, keys)     {key: {steps, edges: [[...]], counts: [[...]]}} (the Hub: every key)
//   traces(project, run)               [{key, step, timestamp, value: {messages, metadata, spans} or a list of those}]
//   src(url)                           what an <img>/<audio>/<video> loads for a file's url (a private dataset's file
//                                      is fetched with the visitor's token, then shown from memory)
// A table's image cells ({"_type": "trackio.image", digest, format, ...}) come with their url.
"use strict";

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function num(v) {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.getTime() / 1000;
  if (v === null || v === undefined) return null;
  return v in NON_FINITE ? NON_FINITE[v] : Number(v);
}

function numbers(column) {
  const out = new Array(column.length);
  for (let i = 0; i < column.length; i++) out[i] = num(column[i]);
  return out;
}

function columns(c) {
  return { steps: numbers(c.steps), timestamps: numbers(c.timestamps), values: numbers(c.values) };
}

// The min/max-preserving downsampling of the Python reader (store/downsample.py's minmax_indices),
// for the Hub source and for live series that grew past the limit: per bucket its first point (or
// its first NaN), last point, lowest and highest value; the last point always stays. null when
// nothing needs to go (values.length <= maxPoints); else the same indices as the Python function
// (tests/test_static_js.py checks it).
function minmaxIndices(values, maxPoints) {
  const n = values.length;
  if (n <= maxPoints) return null;
  const buckets = Math.floor(maxPoints / 4);
  const keep = new Set();
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets), hi = Math.floor(((b + 1) * n) / buckets);
    keep.add(hi - 1);
    let firstNaN = -1, min = -1, max = -1;
    for (let i = lo; i < hi; i++) {
      const v = values[i];
      if (v !== v) { if (firstNaN < 0) firstNaN = i; continue; }
      if (min < 0 || v < values[min]) min = i;
      if (max < 0 || v > values[max]) max = i;
    }
    keep.add(firstNaN >= 0 ? firstNaN : lo);
    if (min >= 0) { keep.add(min); keep.add(max); }
  }
  return Array.from(keep).sort((a, b) => a - b);
}

function downsample(c, maxPoints) {
  const idx = minmaxIndices(c.values, maxPoints);
  if (!idx) return c;
  const out = {};
  for (const name of Object.keys(c)) out[name] = idx.map((i) => c[name][i]);
  return out;
}

function parseJSON(text) {
  if (typeof text !== "string") return text ?? {};
  try {
    return JSON.parse(text);
  } catch (e) { // Python's json.dumps writes bare NaN / Infinity
    return JSON.parse(text.replace(/(-?Infinity|NaN)(?=[,\]}\s])/g, '"$1"'));
  }
}

// A runs file's tags column (JSON text of a list of strings): [] when absent (files before it) or unreadable.
function runTags(text) {
  if (typeof text !== "string" || !text) return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value.filter((t) => typeof t === "string") : [];
  } catch (e) {
    return [];
  }
}

// A table's rows with a url in each image cell (lists of images, and lists of lists, included).
function withImageUrls(value, urlOf) {
  if (Array.isArray(value)) return value.map((v) => withImageUrls(v, urlOf));
  if (value && typeof value === "object" && value._type === "trackio.image" && typeof value.digest === "string") {
    return { ...value, url: urlOf(value) };
  }
  return value;
}

// One entry per logged row: a compacted file repeats the rows of the files it replaced (same seq, key, item).
function uniqueRows(rows) {
  const seen = new Map();
  for (const row of rows) seen.set(`${row.seq}\u0000${row.key}\u0000${row.item ?? 0}`, row);
  return [...seen.values()].sort((a, b) => a.seq - b.seq || (a.item ?? 0) - (b.item ?? 0));
}

// The packed /api/series answer (server/packed.py): "TCS1", a uint32 header length, the JSON header, zero bytes to a
// multiple of 8, then per series its steps (unless the header holds them), timestamps (microseconds) and values as
// float64. Columns come back as plain arrays (live polls append to them), timestamps in seconds as the JSON answer's.
function unpackSeries(buffer) {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "TCS1") throw new Error("not a packed series answer");
  const length = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  let offset = Math.ceil((8 + length) / 8) * 8;
  const column = (n, scale = 1) => {
    const packed = new Float64Array(buffer, offset, n);
    offset += 8 * n;
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = packed[i] / scale;
    return out;
  };
  for (const s of header.series) {
    const n = s.points;
    s.steps = s.steps ? numbers(s.steps) : column(n);
    s.timestamps = column(n, 1e6); // as Python's micros / 1_000_000: the same float
    s.values = column(n);
    delete s.points;
  }
  return header;
}

class ServerSource {
  constructor(base = "", writeToken = null) {
    this.base = base;
    this.mode = "server";
    this.writeToken = writeToken || null; // the local page's write API (runedit.js); a Space's server has none
    this.bytes = 0; // bytes of JSON received, for the live-poll measurements
  }

  async get(path, params = {}) {
    const response = await this.fetch(path, params);
    const text = await response.text();
    this.bytes += text.length;
    const body = text ? JSON.parse(text) : {};
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  fetch(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined && v !== null) query.append(name, v);
    }
    return fetch(`${this.base}api/${path}?${query}`, { cache: "no-store" });
  }

  // /api/series in its packed form (server/packed.py): float64 columns the page reads without parsing text.
  async getPacked(params) {
    const response = await this.fetch("series", { ...params, format: "packed" });
    if (!response.ok) {
      const text = await response.text();
      this.bytes += text.length;
      throw new Error((text && JSON.parse(text).error) || `${response.status} ${response.statusText}`);
    }
    const buffer = await response.arrayBuffer();
    this.bytes += buffer.byteLength;
    return unpackSeries(buffer);
  }

  // `wanted`: the project the page's link names. Its runs are asked for at once, beside the projects and the
  // info; else, once the info names the default project, that one's (runs() hands this answer out once).
  async info(wanted = null) {
    const ask = (project) => ({ project, runs: this.get("runs", { project }).catch(() => null) });
    const early = wanted ? ask(wanted) : null;
    const projects = this.get("projects");
    const info = await this.get("info");
    this.early = early || (info.project ? ask(info.project) : null);
    info.projects = (await projects).projects;
    return info;
  }

  async runs(project) {
    const early = this.early;
    this.early = null;
    const body = early && early.project === project ? await early.runs : null;
    return (body || (await this.get("runs", { project }))).runs;
  }

  async keys(project, runs) {
    return (await this.get("keys", { project, run: runs })).runs;
  }

  async series(project, run, keys, maxPoints, minStep, maxStep) {
    return (await this.seriesOfRuns(project, [run], keys, maxPoints, minStep, maxStep))[run];
  }

  // series() of several runs in one request: {run: {cursor, series}}; keys null: every metric each run logs.
  async seriesOfRuns(project, runs, keys, maxPoints, minStep, maxStep) {
    const which = keys ? { key: keys } : { keys: "all" };
    const body = await this.getPacked({ project, run: runs, ...which, max_points: maxPoints, min_step: minStep, max_step: maxStep });
    const out = {};
    for (const run of runs) out[run] = { cursor: body.cursors[run], series: {} };
    for (const s of body.series) out[s.run].series[s.key] = { steps: s.steps, timestamps: s.timestamps, values: s.values };
    return out;
  }

  async poll(project, cursors, maxPoints) {
    const runs = Object.keys(cursors);
    if (!runs.length) return [];
    const before = this.bytes;
    const body = await this.get("poll", { project, run: runs, after: runs.map((r) => cursors[r]), max_points: maxPoints });
    this.lastPollBytes = this.bytes - before;
    return body.runs.map((r) => {
      const series = {};
      for (const [key, c] of Object.entries(r.series)) series[key] = columns(c);
      return { ...r, series };
    });
  }

  async system(project, run, cursor) {
    const body = await this.get("system", { project, run, after: cursor ?? -1 });
    for (const nodes of Object.values(body.series)) {
      for (const node of Object.keys(nodes)) nodes[node] = columns(nodes[node]);
    }
    return body;
  }

  async tables(project, run) {
    return (await this.get("tables", { project, run })).tables;
  }

  async alerts(project, run) {
    return (await this.get("alerts", { project, run })).alerts;
  }

  async texts(project, run) {
    return (await this.get("texts", { project, run })).texts;
  }

  async media(project, run) {
    return (await this.get("media", { project, run })).media;
  }

  async histograms(project, run, keys) {
    const out = {};
    await mapLimit(keys, 4, async (key) => {
      const body = await this.get("histograms", { project, run, key });
      out[key] = { steps: numbers(body.steps), edges: body.edges.map(numbers), counts: body.counts.map(numbers) };
    });
    return out;
  }

  async traces(project, run) {
    return (await this.get("traces", { project, run })).traces;
  }

  async src(url) {
    return this.base + url.replace(/^\//, "");
  }

  downloadLinks(project, run, key) {
    const q = (format) => `${this.base}api/download?${new URLSearchParams({ project, run, key, format })}`;
    return [{ label: "CSV", href: q("csv") }, { label: "Parquet", href: q("parquet") }];
  }
}

// The dataset's path layout, read back: the JS copy of hub/layout.py (`parse`, which reads what
// `shard_path` and `run_path` write; tests/test_static_js.py checks the two agree).
//   metrics|system|tables|alerts|texts|media|histograms|traces/<project>/<run uid>[/<node>]/<first seq>-<last seq>.parquet
//     (a node: system only)
//   runs/<project>/<run uid>.parquet
// Media files (media/<project>/files/<sha256[:2]>/<sha256>.<format>) are not shards: the media rows' `file` names them.
const SHARD = /^(metrics|system|tables|alerts|texts|media|histograms|traces)\/([^/]+)\/([^/]+)\/(?:([^/]+)\/)?(\d+)-(\d+)\.parquet$/;
const RUN_FILE = /^runs\/([^/]+)\/([^/]+)\.parquet$/;

// {kind, project, uid, node, first, last} (node null without a node folder; node, first and last null for
// a runs file), or null for a path outside the layout (the card, .gitattributes).
function parseDatasetPath(path) {
  let m = SHARD.exec(path);
  if (m) {
    if (m[4] !== undefined && m[1] !== "system") return null;
    return { kind: m[1], project: m[2], uid: m[3], node: m[4] ?? null, first: Number(m[5]), last: Number(m[6]) };
  }
  m = RUN_FILE.exec(path);
  if (m) return { kind: "runs", project: m[1], uid: m[2], node: null, first: null, last: null };
  return null;
}

class HubSource {
  // config: {dataset_id, hub, revision?, project?}: the dataset the Space shows, the Hub it lives on, and for a
  // snapshot (trackio.freeze) the dataset commit it is pinned to and the project it opens.
  constructor(config, token) {
    this.mode = "hub";
    this.dataset = config.dataset_id;
    this.revision = encodeURIComponent(config.revision || "main");
    this.pinnedProject = config.project || null;
    this.hub = (config.hub || "https://huggingface.co").replace(/\/$/, "");
    this.token = token;
    this.bytes = 0;
    this.files = new Map(); // path -> oid
    this.parsed = new Map(); // path + oid -> rows
    this.layout = {};
    this.data = new Map(); // uid -> {cursor, keys: {key: {seqs, steps, timestamps, values}}, loaded: Set(path)}
    this.names = new Map(); // project -> {name: uid}
    this.objectUrls = new Map(); // file url -> Promise(object URL): a private dataset's files, fetched once
  }

  headers() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  async fetchOk(url) {
    const response = await fetch(url, { headers: this.headers(), cache: "no-store" });
    if (!response.ok) {
      const hint = response.status === 401 || response.status === 404 ? " (private? sign in with Hugging Face)" : "";
      throw new Error(`${response.status} reading ${url}${hint}`);
    }
    return response;
  }

  async listFiles() {
    const files = new Map();
    let url = `${this.hub}/api/datasets/${this.dataset}/tree/${this.revision}?recursive=true&expand=false`;
    while (url) {
      const response = await this.fetchOk(url);
      const text = await response.text();
      this.bytes += text.length;
      for (const entry of JSON.parse(text)) if (entry.type === "file") files.set(entry.path, entry.oid);
      const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "");
      url = next ? next[1] : null;
    }
    this.files = files;
    const layout = {};
    for (const path of files.keys()) {
      const file = parseDatasetPath(path);
      if (!file) continue;
      const run = ((layout[file.project] ??= {})[file.uid] ??= { shards: {} });
      if (file.kind === "runs") run.runFile = path;
      else (run.shards[file.kind] ??= []).push({ path, node: file.node ?? "", first: file.first, last: file.last });
    }
    for (const runs of Object.values(layout)) {
      for (const run of Object.values(runs)) for (const list of Object.values(run.shards)) list.sort((a, b) => a.first - b.first);
    }
    this.layout = layout;
  }

  fileUrl(path) {
    return `${this.hub}/datasets/${this.dataset}/resolve/${this.revision}/${path.split("/").map(encodeURIComponent).join("/")}`;
  }

  // The rows of a Parquet file; `skip`: columns not decoded (the media config's thumbnails: the page shows the files).
  async read(path, skip = []) {
    const id = `${path}@${this.files.get(path)}@${skip.join(",")}`;
    if (!this.parsed.has(id)) {
      this.parsed.set(id, (async () => {
        const [response] = await Promise.all([this.fetchOk(this.fileUrl(path)), loadVendor("hyparquet.min.js")]);
        const buffer = await response.arrayBuffer();
        this.bytes += buffer.byteLength;
        const options = { file: buffer, compressors: hyparquet.compressors };
        if (skip.length) {
          options.metadata = await hyparquet.parquetMetadataAsync(buffer);
          options.columns = hyparquet.parquetSchema(options.metadata).children.map((c) => c.element.name).filter((n) => !skip.includes(n));
        }
        return hyparquet.parquetReadObjects(options);
      })());
    }
    return this.parsed.get(id);
  }

  // Every row of the run's files of `kind`, once each, in logged order, with seq and step as numbers.
  async rows(project, run, kind, skip = []) {
    const uid = this.uid(project, run);
    const rows = [];
    for (const s of this.layout[project]?.[uid]?.shards[kind] || []) {
      for (const row of await this.read(s.path, skip)) rows.push({ ...row, seq: num(row.seq), step: num(row.step), timestamp: num(row.timestamp) });
    }
    return uniqueRows(rows);
  }

  // Where the dataset holds a media file (hub/layout.py writes it there, once per digest).
  mediaUrl(project, digest, format, file) {
    return this.fileUrl(file || `media/${project}/files/${digest.slice(0, 2)}/${digest}.${format}`);
  }

  async src(url) {
    if (!this.token) return url; // a public dataset: the browser loads (and caches) the file itself
    if (!this.objectUrls.has(url)) {
      this.objectUrls.set(url, (async () => {
        const blob = await (await this.fetchOk(url)).blob();
        this.bytes += blob.size;
        return URL.createObjectURL(blob);
      })());
    }
    return this.objectUrls.get(url);
  }

  async info() {
    await this.listFiles();
    const projects = Object.keys(this.layout).sort();
    const project = projects.includes(this.pinnedProject) ? this.pinnedProject : projects[projects.length - 1];
    return { mode: "hub", dataset_id: this.dataset, projects, project, poll_ms: 15000, max_points: 1000 };
  }

  async projects() {
    await this.listFiles();
    return Object.keys(this.layout).sort();
  }

  async refresh() {
    await this.listFiles();
  }

  uid(project, name) {
    const uid = (this.names.get(project) || {})[name];
    if (!uid) throw new Error(`no run ${name} in project ${project}`);
    return uid;
  }

  async runs(project) {
    const entries = Object.entries(this.layout[project] || {}).filter(([, r]) => r.runFile);
    const rows = await mapLimit(entries, 8, async ([uid, r]) => ({ uid, row: (await this.read(r.runFile))[0] }));
    const names = {};
    const runs = rows.map(({ uid, row }) => {
      let name = row.run_name;
      if (names[name]) name = `${name} (${uid.slice(0, 6)})`;
      names[name] = uid;
      const data = this.data.get(uid);
      return {
        name, uid, group: row.group, status: row.status,
        created_at: num(row.created_at), finished_at: num(row.finished_at), last_step: num(row.last_step),
        num_logs: num(row.num_logs), config: parseJSON(row.config), summary: parseJSON(row.summary),
        end_reason: row.end_reason ? parseJSON(row.end_reason) : null, // absent from runs files written before it
        checkpoints: row.checkpoints ? parseJSON(row.checkpoints) : [], // [{step, path, time, metrics, best_metric, repo, revision}]
        tags: runTags(row.tags), notes: typeof row.notes === "string" ? row.notes : "", // absent before schema 10
        cursor: data ? data.cursor : -1,
      };
    });
    this.names.set(project, names);
    return runs.sort((a, b) => a.created_at - b.created_at);
  }

  // Reads the run's metric shards not read yet; returns the points of calls after `after`, per key.
  async load(project, uid, after) {
    const data = this.data.get(uid) ?? { cursor: -1, keys: {}, loaded: new Set() };
    this.data.set(uid, data);
    const shards = ((this.layout[project] || {})[uid]?.shards.metrics || []).filter((s) => s.last > data.cursor && !data.loaded.has(s.path));
    const fresh = {};
    const tables = await mapLimit(shards, 6, (s) => this.read(s.path));
    shards.forEach((s, i) => {
      data.loaded.add(s.path);
      for (const row of tables[i]) {
        const seq = num(row.seq);
        if (seq <= data.cursor) continue; // a compacted shard repeats calls already read
        for (const target of [data.keys, fresh]) {
          if (target === fresh && seq <= after) continue;
          const c = (target[row.key] ??= { seqs: [], steps: [], timestamps: [], values: [] });
          c.seqs.push(seq); c.steps.push(num(row.step)); c.timestamps.push(num(row.timestamp)); c.values.push(num(row.value));
        }
      }
    });
    for (const s of shards) data.cursor = Math.max(data.cursor, s.last);
    return fresh;
  }

  async keys(project, runs) {
    const result = {};
    for (const name of runs) {
      const uid = this.uid(project, name);
      await this.load(project, uid, Infinity);
      const metrics = {};
      for (const [key, c] of Object.entries(this.data.get(uid).keys)) {
        const finite = c.values.filter((v) => v === v);
        metrics[key] = {
          count: c.values.length, last: c.values[c.values.length - 1], last_step: c.steps[c.steps.length - 1],
          min: finite.length ? Math.min(...finite) : NaN, max: finite.length ? Math.max(...finite) : NaN,
        };
      }
      const shards = this.layout[project]?.[uid]?.shards || {};
      const tableKeys = new Set();
      for (const s of shards.tables || []) for (const row of await this.read(s.path)) tableKeys.add(row.key);
      const some = (kind) => ((shards[kind] || []).length ? ["*"] : []); // read when their tab opens (they may be large)
      result[name] = {
        metrics, system: some("system"), tables: [...tableKeys].sort(), texts: some("texts"),
        media: some("media"), histograms: some("histograms"), traces: some("traces"),
      };
    }
    return result;
  }

  async seriesOfRuns(project, runs, keys, maxPoints, minStep, maxStep) {
    const out = {};
    for (const run of runs) {
      const uid = this.uid(project, run);
      await this.load(project, uid, Infinity);
      out[run] = await this.series(project, run, keys || Object.keys(this.data.get(uid).keys), maxPoints, minStep, maxStep);
    }
    return out;
  }

  async series(project, run, keys, maxPoints, minStep, maxStep) {
    const uid = this.uid(project, run);
    await this.load(project, uid, Infinity);
    const data = this.data.get(uid);
    const series = {};
    for (const key of keys) {
      let c = data.keys[key];
      if (!c) continue;
      if (minStep !== undefined) {
        const keep = c.steps.map((s, i) => i).filter((i) => c.steps[i] >= minStep && c.steps[i] <= maxStep);
        c = { steps: keep.map((i) => c.steps[i]), timestamps: keep.map((i) => c.timestamps[i]), values: keep.map((i) => c.values[i]) };
      }
      series[key] = downsample({ steps: c.steps, timestamps: c.timestamps, values: c.values }, maxPoints);
    }
    return { cursor: data.cursor, series };
  }

  async poll(project, cursors, maxPoints) {
    const before = this.bytes;
    await this.listFiles();
    const fresh = await this.runs(project);
    const byName = Object.fromEntries(fresh.map((r) => [r.name, r]));
    const answer = [];
    for (const [name, after] of Object.entries(cursors)) {
      const info = byName[name];
      if (!info) continue;
      const points = await this.load(project, info.uid, after);
      const series = {};
      for (const [key, c] of Object.entries(points)) {
        series[key] = downsample({ steps: c.steps, timestamps: c.timestamps, values: c.values }, maxPoints);
      }
      answer.push({ run: name, cursor: this.data.get(info.uid).cursor, status: info.status, last_step: info.last_step, series });
    }
    this.lastPollBytes = this.bytes - before;
    return answer;
  }

  async system(project, run, cursor) {
    const uid = this.uid(project, run);
    const seen = new Set(cursor || []);
    const shards = (this.layout[project]?.[uid]?.shards.system || []).filter((s) => !seen.has(s.path));
    const series = {};
    for (const s of shards) {
      for (const row of await this.read(s.path)) {
        const node = row.node || s.node || "";
        const c = ((series[row.key] ??= {})[node] ??= { timestamps: [], steps: [], values: [] });
        c.timestamps.push(num(row.timestamp)); c.steps.push(num(row.step)); c.values.push(num(row.value));
      }
      seen.add(s.path);
    }
    return { cursor: [...seen], series };
  }

  async tables(project, run) {
    const uid = this.uid(project, run);
    const out = [];
    for (const s of this.layout[project]?.[uid]?.shards.tables || []) {
      for (const row of await this.read(s.path)) {
        const table = parseJSON(row.data);
        if (Array.isArray(table.rows)) table.rows = withImageUrls(table.rows, (cell) => this.mediaUrl(project, cell.digest, cell.format));
        out.push({ key: row.key, step: num(row.step), timestamp: num(row.timestamp), ...table });
      }
    }
    return out;
  }

  async texts(project, run) {
    return (await this.rows(project, run, "texts")).map((row) => ({
      key: row.key, step: row.step, timestamp: row.timestamp, value: row.value, kind: row.kind ?? "text", // files before schema 8: text
    }));
  }

  async media(project, run) {
    return (await this.rows(project, run, "media", ["image"])).map((row) => ({
      key: row.key, step: row.step, timestamp: row.timestamp, seq: row.seq, item: num(row.item), kind: row.kind,
      caption: row.caption ?? null, digest: row.digest, format: row.format, size: num(row.size), width: num(row.width),
      height: num(row.height), duration: num(row.duration), url: this.mediaUrl(project, row.digest, row.format, row.file),
    }));
  }

  async histograms(project, run) {
    const out = {};
    for (const row of await this.rows(project, run, "histograms")) {
      const h = (out[row.key] ??= { steps: [], edges: [], counts: [] });
      h.steps.push(row.step); h.edges.push(numbers(row.edges)); h.counts.push(numbers(row.counts));
    }
    return out;
  }

  async traces(project, run) {
    return (await this.rows(project, run, "traces")).map((row) => ({
      key: row.key, step: row.step, timestamp: row.timestamp, seq: row.seq, value: parseJSON(row.value),
    }));
  }

  async alerts(project, run) {
    const uid = this.uid(project, run);
    const out = [];
    for (const s of this.layout[project]?.[uid]?.shards.alerts || []) {
      for (const row of await this.read(s.path)) {
        // Files synced before schema 7 hold a health alert's kind and message (hub/pull.py maps them alike).
        const old = row.title === undefined;
        out.push({
          step: num(row.step), timestamp: num(row.timestamp), value: num(row.value),
          level: old ? (row.kind === "storage_failure" ? "error" : "warn") : row.level,
          title: old ? row.kind : row.title, text: old ? row.message : row.text,
        });
      }
    }
    return out;
  }

  downloadLinks(project, run, key) {
    return [{ label: "CSV", csv: () => this.csv(project, run, key) }];
  }

  csv(project, run, key) {
    const c = this.data.get(this.uid(project, run))?.keys[key];
    const lines = ["step,timestamp,value"];
    if (c) for (let i = 0; i < c.values.length; i++) lines.push(`${c.steps[i]},${c.timestamps[i]},${c.values[i]}`);
    return lines.join("\n") + "\n";
  }
}

async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

// Sign-in with Hugging Face (OAuth authorization code + PKCE), for a static Space that shows a
// private dataset: the visitor's own token, kept in this tab's sessionStorage, never in the Space.
const OAuth = {
  variables() {
    return (window.huggingface && window.huggingface.variables) || null;
  },
  token() {
    const saved = sessionStorage.getItem("trackio-oauth");
    if (!saved) return null;
    const { token, expires } = JSON.parse(saved);
    return Date.now() < expires ? token : null;
  },
  redirectUri() {
    return window.location.origin + window.location.pathname;
  },
  async signIn() {
    const v = this.variables();
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    sessionStorage.setItem("trackio-oauth-pending", JSON.stringify({ verifier, state }));
    const query = new URLSearchParams({
      client_id: v.OAUTH_CLIENT_ID, redirect_uri: this.redirectUri(), response_type: "code",
      scope: v.OAUTH_SCOPES || "openid profile", state, code_challenge: challenge, code_challenge_method: "S256",
    });
    window.location.assign(`${v.OPENID_PROVIDER_URL.replace(/\/$/, "")}/oauth/authorize?${query}`);
  },
  // After the redirect back: trade the code for a token, and clean the address bar.
  async complete() {
    const params = new URLSearchParams(window.location.search);
    const code = params.get("code");
    const pending = JSON.parse(sessionStorage.getItem("trackio-oauth-pending") || "null");
    const v = this.variables();
    if (!code || !pending || !v) return;
    sessionStorage.removeItem("trackio-oauth-pending");
    if (params.get("state") !== pending.state) throw new Error("sign-in failed: the state does not match");
    const response = await fetch(`${v.OPENID_PROVIDER_URL.replace(/\/$/, "")}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", code, redirect_uri: this.redirectUri(),
        client_id: v.OAUTH_CLIENT_ID, code_verifier: pending.verifier,
      }),
    });
    if (!response.ok) throw new Error(`sign-in failed: ${response.status}`);
    const body = await response.json();
    const expires = Date.now() + 1000 * (body.expires_in || 3600);
    sessionStorage.setItem("trackio-oauth", JSON.stringify({ token: body.access_token, expires }));
    window.history.replaceState(null, "", this.redirectUri() + window.location.hash);
  },
  signOut() {
    sessionStorage.removeItem("trackio-oauth");
    window.location.reload();
  },
};

function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Asked for as soon as this script runs, while the page's other scripts still load: the page's first wait.
const EARLY_CONFIG = fetch("config.json", { cache: "no-store" })
  .then((response) => (response.ok ? response.json() : null))
  .catch(() => null); // no config: the local server

// A vendored library only some views need (Parquet in a Space, Markdown in Reports), loaded on first use, so the
// page opens without parsing it.
const VENDOR_LOADS = new Map();
function loadVendor(file) {
  if (!VENDOR_LOADS.has(file)) {
    VENDOR_LOADS.set(file, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = `static/vendor/${file}`;
      script.onload = resolve;
      script.onerror = () => { VENDOR_LOADS.delete(file); reject(new Error(`could not load static/vendor/${file}`)); };
      document.head.append(script);
    }));
  }
  return VENDOR_LOADS.get(file);
}

// The page decides its source: a Space ships config.json naming the dataset; the local server has the API.
async function openSource() {
  const config = await EARLY_CONFIG;
  if (config && config.mode === "hub") {
    await OAuth.complete();
    return new HubSource(config, OAuth.token());
  }
  return new ServerSource("", config && config.mode === "server" ? config.write_token : null);
}

// The pure functions the Python tests check against their Python originals (tests/test_static_js.py).
window.trackioSources = { minmaxIndices, parseDatasetPath };
