// Axis tick labels that are always distinct and readable, and the axis width that fits them.
// uPlot's default labels round small values into duplicates (a learning rate reads "0.001, 0.001, 0")
// and its fixed axis width clips large ones ("000,000" for 1.2e9 tokens).
"use strict";

const SI_PREFIXES = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
const MAX_DIGITS = 12;

// The labels of `splits` (the tick values, ascending), one per value, distinct where the values are:
// plain decimals for magnitudes between 1e-3 and 1e5, SI prefixes (k, M, G, T) above, scientific
// notation below; digits are added until no two labels of different values read the same.
function tickLabels(splits) {
  const finite = splits.filter((v) => v !== null && isFinite(v));
  if (!finite.length) return splits.map((v) => (v === null ? "" : String(v)));
  const magnitude = Math.max(...finite.map((v) => Math.abs(v)));
  const format = magnitude >= 1e5 ? siLabel : magnitude > 0 && magnitude < 1e-3 ? sciLabel : fixedLabel;
  const smallest = smallestStep(finite);
  for (let digits = startDigits(format, smallest, magnitude); digits <= MAX_DIGITS; digits++) {
    const labels = splits.map((v) => (v === null || !isFinite(v) ? "" : format(v, digits)));
    if (distinct(finite, labels.filter((_, i) => splits[i] !== null && isFinite(splits[i])))) return labels;
  }
  return splits.map((v) => (v === null || !isFinite(v) ? "" : v.toPrecision(MAX_DIGITS)));
}

function smallestStep(values) {
  let step = Infinity;
  for (let i = 1; i < values.length; i++) {
    const d = Math.abs(values[i] - values[i - 1]);
    if (d > 0 && d < step) step = d;
  }
  return step;
}

// The digits the formats start from: what the tick spacing needs, so most axes need one pass.
function startDigits(format, step, magnitude) {
  if (!isFinite(step)) return 0;
  if (format === fixedLabel) return Math.max(0, -Math.floor(Math.log10(step)));
  const scale = format === siLabel ? siUnit(magnitude) : Math.pow(10, Math.floor(Math.log10(magnitude)));
  return Math.max(0, -Math.floor(Math.log10(step / scale)));
}

function distinct(values, labels) {
  const seen = new Map();
  for (let i = 0; i < labels.length; i++) {
    const before = seen.get(labels[i]);
    if (before !== undefined && before !== values[i]) return false;
    seen.set(labels[i], values[i]);
  }
  return true;
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

function fixedLabel(v, digits) {
  if (v === 0) return "0";
  return trimZeros(v.toFixed(digits));
}

function siUnit(magnitude) {
  for (const [unit] of SI_PREFIXES) if (magnitude >= unit) return unit;
  return 1;
}

function siLabel(v, digits) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  for (const [unit, prefix] of SI_PREFIXES) {
    if (a >= unit || unit === 1e3) {
      if (a < unit) return fixedLabel(v, digits);
      return `${trimZeros((v / unit).toFixed(digits))}${prefix}`;
    }
  }
  return fixedLabel(v, digits);
}

function sciLabel(v, digits) {
  if (v === 0) return "0";
  const [mantissa, exponent] = v.toExponential(Math.min(digits, 20)).split("e");
  return `${trimZeros(mantissa)}e${exponent.replace("+", "")}`;
}

// uPlot's axis `values`: readable distinct labels, remembered on the chart for state() and the SVG.
function axisValues(chart, which) {
  return (u, splits) => {
    const labels = tickLabels(splits);
    if (chart) chart[which] = { splits: [...splits], labels };
    return labels;
  };
}

// uPlot's axis `size`: as wide as the longest label drawn (plus the tick and a gap), so none is clipped.
// uPlot keeps its axis fonts scaled by the device pixel ratio, hence the division.
function axisSize(minimum = 40) {
  return (u, values, axisIdx, cycleNum) => {
    const axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size; // uPlot asks again while settling: keep the width it had
    let width = 0;
    if (values && values.length) {
      u.ctx.save();
      u.ctx.font = axis.font[0];
      for (const label of values) if (label) width = Math.max(width, u.ctx.measureText(String(label)).width / devicePixelRatio);
      u.ctx.restore();
    }
    axis._labelWidth = Math.ceil(width); // read by state(): the axis must be wider than this
    return Math.max(minimum, Math.ceil(width + (axis.ticks?.size || 10) + (axis.gap || 5) + 4));
  };
}
