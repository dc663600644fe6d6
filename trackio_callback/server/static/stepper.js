// A panel per key with a step slider: every step the shown runs logged the key at, and the runs side by side,
// each showing its value at the chosen step (or its last one before it). Used by the Media, Histograms and
// Reports tabs (media.js, histograms.js, reports.js); app.js's helpers (el, S, color, fmt) are in scope.
"use strict";

// The entries of one key grouped per run and step: Map(run -> [{step, rows}]) with steps ascending, and the
// sorted union of the steps. `rows` are in logged order.
function byRunAndStep(rowsByRun) {
  const runs = new Map();
  const steps = new Set();
  for (const [run, rows] of rowsByRun) {
    const perStep = new Map();
    for (const row of rows) {
      if (!perStep.has(row.step)) perStep.set(row.step, []);
      perStep.get(row.step).push(row);
      steps.add(row.step);
    }
    runs.set(run, [...perStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, list]) => ({ step, rows: list })));
  }
  return { runs, steps: [...steps].sort((a, b) => a - b) };
}

// The entry of `entries` (ascending steps) at `step` or the last before it; null when the run starts later.
function entryAtOrBefore(entries, step) {
  let lo = 0, hi = entries.length - 1, best = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].step <= step) { best = entries[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

// The panel. `id`: where the chosen step is kept (S.stepChoice, across redraws; absent: follow the newest step);
// `draw(entry, run, setStep)` returns {node, info} for one run's cell (info goes to the state API); `record`:
// the object the state API reads for this panel ({step, steps, runs: {run: {step, ...info}}}).
function stepPanel({ id, key, kind, grouped, draw, record }) {
  const { runs, steps } = grouped;
  const panel = el("div", { class: `step-panel ${kind}-panel`, "data-key": key, "data-kind": kind });
  const slider = el("input", { type: "range", class: "step-slider", min: 0, max: Math.max(0, steps.length - 1), step: 1,
    hidden: steps.length < 2, "aria-label": `step of ${key}` });
  const label = el("output", { class: "step-label" });
  const cells = el("div", { class: "step-runs" });
  panel.append(el("div", { class: "chart-head" }, el("span", { class: "chart-title", text: key }),
    el("label", { class: "inline step-control" }, slider, label)));
  panel.append(cells);
  record.steps = steps.length;
  const show = (step) => {
    record.step = step;
    record.runs = {};
    panel.dataset.step = step;
    slider.value = String(Math.max(0, steps.indexOf(step)));
    label.textContent = `step ${fmt(step)}${steps.length > 1 ? ` (${steps.indexOf(step) + 1} of ${steps.length})` : ""}`;
    cells.replaceChildren();
    for (const [run, entries] of runs) {
      const entry = entryAtOrBefore(entries, step);
      const cell = el("div", { class: "step-cell", "data-run": run, "data-step": entry ? entry.step : "" },
        el("div", { class: "text-run-name" }, el("span", { class: "swatch", style: `background:${color(run)}` }),
          ` ${run}`, el("span", { class: "muted", text: entry ? ` · step ${fmt(entry.step)}` : "" })));
      if (!entry) {
        cell.append(el("p", { class: "muted", text: `nothing logged at or before step ${fmt(step)}` }));
        record.runs[run] = { step: null };
      } else {
        const drawn = draw(entry, run, choose);
        cell.append(drawn.node);
        record.runs[run] = { step: entry.step, ...drawn.info };
      }
      cells.append(cell);
    }
  };
  const choose = (step) => {
    S.stepChoice[id] = step === steps[steps.length - 1] ? undefined : step; // the newest: keep following it
    show(step);
  };
  slider.addEventListener("input", () => choose(steps[Number(slider.value)]));
  const wanted = S.stepChoice[id];
  show(steps.includes(wanted) ? wanted : steps[steps.length - 1]);
  return panel;
}

// Has what a tab would draw changed since it was drawn? (A redraw restarts players and reloads frames, so a poll
// that brought nothing new must not redraw.)
function unchanged(tab, signature) {
  const text = JSON.stringify(signature);
  if (S.drawn[tab] === text) return true;
  S.drawn[tab] = text;
  return false;
}
