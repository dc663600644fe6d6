// Run tags and notes on the page, and the local page's write actions (rename, tags, notes, delete).
//
// Every page shows tags (chips in the sidebar and the Runs tab) and notes, and filters runs by them: the
// sidebar filter matches a run's name, group or tags, and `tag:NAME` keeps the runs tagged NAME exactly
// (clicking a chip sets it). Only the local server's page has a write token (config.json's `write_token`,
// made by `show` for this session): then the Runs tab has a menu per run whose actions call the write
// API (server/writes.py) and reload the runs. A static Space has no token: no action control at all.
// The page's state and helpers are app.js's (`S`, `el`, `$`, `refresh`, ...).
"use strict";

const RUN_EDIT = { dialog: null, last: null, busy: false }; // the open dialog's action; the last action's outcome
const TAG_FILTER = /^tag:(.*)$/i;

// -- showing and filtering -------------------------------------------------------------------------

// The sidebar filter as a test of a run: `tag:NAME` a tag exactly; else a regex (or, if it is not one, a
// case-insensitive substring) searched in the run's name, group and tags.
function runMatcher(text) {
  const wanted = (text || "").trim();
  if (!wanted) return () => true;
  const tag = TAG_FILTER.exec(wanted);
  if (tag) {
    const name = tag[1].trim();
    return (r) => (r.tags || []).includes(name);
  }
  const filter = regex(wanted);
  return (r) => filter.test(r.name) || filter.test(r.group || "") || (r.tags || []).some((t) => filter.test(t));
}

function setTagFilter(tag) {
  S.runFilter = `tag:${tag}`;
  $("run-filter").value = S.runFilter;
  refresh();
}

// A tag's colours: a pale hue of its own, the same on every page load.
function tagHue(tag) {
  let h = 0;
  for (const ch of tag) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

// The chips of a run's tags (null when it has none); clicking one filters the runs by it.
function tagChips(run) {
  const tags = run.tags || [];
  if (!tags.length) return null;
  return el("span", { class: "tag-chips" }, ...tags.map((tag) => {
    const hue = tagHue(tag);
    const chip = el("button", {
      type: "button", class: "tag-chip", "data-tag": tag, text: tag, title: `Show the runs tagged ${tag}`,
      style: `background:hsl(${hue},70%,92%);color:hsl(${hue},55%,28%);border-color:hsl(${hue},45%,78%)`,
    });
    chip.addEventListener("click", (e) => { e.preventDefault(); e.stopPropagation(); setTagFilter(tag); });
    return chip;
  }));
}

// The notes of a run in a table cell: all of it, in a box of bounded size that scrolls.
function notesCell(run) {
  const notes = run.notes || "";
  return notes ? el("div", { class: "run-notes", title: notes, text: notes }) : "";
}

// -- the Runs tab's layout (app.js renderRunsTable) ------------------------------------------------------

const ALL_CONFIG_COLUMNS_UP_TO = 12; // this many config keys or fewer: every one a column
const MAX_CONFIG_COLUMNS = 16; // differing keys past these are listed in the row's last cell

// A column header that may wrap after "/", "." and "_" only (metric and config names), never inside a word.
function columnHeader(text) {
  const parts = String(text).split(/(?<=[/._])/);
  const th = el("th", { title: text });
  parts.forEach((part, i) => { if (i) th.append(el("wbr")); th.append(part); });
  return th;
}

// A cell's text in a box at most `max-width` wide (long values wrap inside it), so a column never shrinks to
// a letter per line nor grows to a path's length.
function boundedText(text) {
  return text === "" ? "" : el("div", { class: "bounded", text });
}

// Config values as "key: value" lines, in a box of bounded size that scrolls.
function configList(keys, config) {
  return el("dl", { class: "config-list" }, ...keys.flatMap((k) => [el("dt", { text: k }), el("dd", { text: fmt(config[k]) })]));
}

// -- writing ---------------------------------------------------------------------------------------

function canWrite() {
  return Boolean(S.source && S.source.mode === "server" && S.source.writeToken);
}

async function postRunAction(action, body) {
  const response = await fetch(`api/runs/${action}`, {
    method: "POST",
    cache: "no-store",
    headers: { "Content-Type": "application/json", "X-Trackio-Token": S.source.writeToken },
    body: JSON.stringify({ project: S.project, ...body }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `${response.status} ${response.statusText}`);
  return answer.run;
}

// After a change: the runs as the server has them now. A rename or a delete changes the names everything
// is keyed by, so the project is opened again; tags and notes only need the runs list.
async function reloadRuns(action) {
  if (action === "rename" || action === "delete") {
    await openProject(S.project);
    return;
  }
  setRuns(await S.source.runs(S.project));
  renderSidebar();
  if (S.tab === "runs") renderRunsTable();
}

const ACTIONS = {
  rename: {
    label: "Rename…", title: (r) => `Rename run ${r.name}`, button: "Rename",
    field: (r) => el("input", { type: "text", class: "run-edit-input", value: r.name, spellcheck: "false", "aria-label": "New name" }),
    body: (r, input) => ({ run: r.name, new_name: input.value.trim() }),
  },
  tags: {
    label: "Edit tags…", title: (r) => `Tags of ${r.name}`, button: "Save tags",
    help: "Comma-separated, e.g. baseline, lr-sweep (each at most 64 characters).",
    field: (r) => el("input", { type: "text", class: "run-edit-input", value: (r.tags || []).join(", "), spellcheck: "false", "aria-label": "Tags" }),
    body: (r, input) => ({ run: r.name, tags: input.value.split(",").map((t) => t.trim()).filter(Boolean) }),
  },
  notes: {
    label: "Edit notes…", title: (r) => `Notes of ${r.name}`, button: "Save notes",
    field: (r) => { const area = el("textarea", { class: "run-edit-input", rows: "8", "aria-label": "Notes" }); area.value = r.notes || ""; return area; },
    body: (r, input) => ({ run: r.name, notes: input.value }),
  },
  delete: {
    label: "Delete…", title: (r) => `Delete run ${r.name}`, button: "Delete", danger: true,
    help: "This deletes the run and all it logged (a Hub dataset loses its files at the next sync). Type the run's name to confirm:",
    field: () => el("input", { type: "text", class: "run-edit-input", value: "", spellcheck: "false", autocomplete: "off", "aria-label": "Run name" }),
    body: (r, input) => ({ run: r.name, confirm: input.value }),
    ready: (r, input) => input.value === r.name,
  },
};

function closeRunEditor() {
  const dialog = document.getElementById("run-edit");
  if (dialog) { if (dialog.open) dialog.close(); dialog.remove(); }
  RUN_EDIT.dialog = null;
}

// A dialog for one action on one run; its button calls the API, then the runs are reloaded.
function openRunEditor(runName, action) {
  const run = S.byName.get(runName);
  const spec = ACTIONS[action];
  if (!run || !spec || !canWrite()) return;
  closeRunEditor();
  const input = spec.field(run);
  const error = el("p", { class: "run-edit-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: `run-edit-submit${spec.danger ? " danger" : ""}`, text: spec.button });
  const cancel = el("button", { type: "button", class: "run-edit-cancel", text: "Cancel", onclick: closeRunEditor });
  const sync = () => { submit.disabled = RUN_EDIT.busy || (spec.ready ? !spec.ready(run, input) : false); };
  input.addEventListener("input", sync);
  const form = el("form", { class: "run-edit-form", method: "dialog" },
    el("h3", { text: spec.title(run) }), spec.help ? el("p", { class: "muted", text: spec.help }) : null,
    input, error, el("div", { class: "run-edit-buttons" }, cancel, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (spec.ready && !spec.ready(run, input)) return;
    RUN_EDIT.busy = true;
    sync();
    try {
      const row = await postRunAction(action, spec.body(run, input));
      RUN_EDIT.last = { action, run: run.name, ok: true, result: row ? row.name : null, error: null };
      closeRunEditor();
      await reloadRuns(action);
    } catch (failure) {
      RUN_EDIT.last = { action, run: run.name, ok: false, result: null, error: String(failure.message || failure) };
      error.textContent = RUN_EDIT.last.error;
      error.hidden = false;
    } finally {
      RUN_EDIT.busy = false;
      sync();
    }
  });
  const dialog = el("dialog", { id: "run-edit", class: "run-edit", "data-action": action, "data-run": run.name }, form);
  dialog.addEventListener("close", () => { if (RUN_EDIT.dialog) { dialog.remove(); RUN_EDIT.dialog = null; } });
  document.body.append(dialog);
  RUN_EDIT.dialog = action;
  sync();
  dialog.showModal();
  input.focus();
  if (input.select && action !== "delete") input.select();
}

// The per-run menu of the Runs tab (only with a write token): rename, tags, notes, delete.
function runActions(run) {
  const menu = el("div", { class: "run-actions-menu", role: "menu", hidden: true },
    ...Object.entries(ACTIONS).map(([action, spec]) => el("button", {
      type: "button", role: "menuitem", class: `run-action${spec.danger ? " danger" : ""}`, "data-action": action, text: spec.label,
      onclick: (e) => { e.stopPropagation(); menu.hidden = true; openRunEditor(run.name, action); },
    })));
  const toggle = el("button", { type: "button", class: "run-actions-button", title: `Rename, tag, annotate or delete ${run.name}`, "aria-haspopup": "menu", text: "⋯" });
  toggle.addEventListener("click", (e) => {
    e.stopPropagation();
    const wasHidden = menu.hidden;
    for (const other of document.querySelectorAll(".run-actions-menu")) other.hidden = true;
    menu.hidden = !wasHidden;
    const box = toggle.getBoundingClientRect(); // fixed: the table's scroll box would clip it
    menu.style.left = `${box.left}px`;
    menu.style.top = `${box.bottom + 2}px`;
  });
  return el("div", { class: "run-actions", "data-run": run.name }, toggle, menu);
}

document.addEventListener("click", () => { for (const m of document.querySelectorAll(".run-actions-menu")) m.hidden = true; });

// What the browser tests read (state().tags).
function runEditState() {
  return {
    writable: canWrite(),
    runTags: Object.fromEntries(S.runs.map((r) => [r.name, [...(r.tags || [])]])),
    runNotes: Object.fromEntries(S.runs.map((r) => [r.name, r.notes || ""])),
    filter: S.runFilter,
    actionControls: document.querySelectorAll(".run-actions").length,
    dialog: RUN_EDIT.dialog,
    last: RUN_EDIT.last,
  };
}
