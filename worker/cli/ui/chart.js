// The dashboard's charts: small SVG drawings sized to their container in pixels, so
// text stays readable at a phone's width. Colours come from CSS classes (app.css);
// each chart has a text equivalent in its aria-label and per-column <title>s.

import { h, s } from "./dom.js";
import { duration, hourMinute } from "./format.js";

const M = { top: 10, right: 10, bottom: 22, left: 46 };

/// The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `v`.
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

const S = 1000;
const DURATIONS = [10, 20, 50, 100, 200, 500, S, 2 * S, 5 * S, 10 * S, 20 * S, 30 * S, 60 * S,
  120 * S, 300 * S, 600 * S, 1200 * S, 1800 * S, 3600 * S, 7200 * S, 4 * 3600 * S, 6 * 3600 * S,
  12 * 3600 * S, 86400 * S, 2 * 86400 * S, 4 * 86400 * S, 7 * 86400 * S, 14 * 86400 * S];

/// The smallest round duration (1s, 2s, 5s, 10s, 20s, 30s, 1m, ...) of at least `ms`,
/// so a delay axis reads 0 / 30s / 1m rather than 0 / 50s / 1m 40s.
export function niceDuration(ms) {
  return DURATIONS.find((d) => d >= ms) ?? niceMax(ms);
}

function frame(width, height, label) {
  return s("svg", {
    class: "chart",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
}

function yAxis(svg, width, height, max, format) {
  const plotH = height - M.top - M.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = M.top + plotH * (1 - f);
    svg.append(
      s("line", { class: "grid", x1: M.left, x2: width - M.right, y1: y, y2: y }),
      s("text", { class: "tick", x: M.left - 6, y: y + 4, "text-anchor": "end" }, format(max * f)),
    );
  }
}

/// A legend of swatches: [{label, cls}].
export function legend(items) {
  return h("ul", { class: "legend" },
    items.map((item) => h("li", {}, h("span", { class: ["swatch", item.cls] }), item.label)));
}

/// Stacked bars over time: `times` (Unix ms, one per bar), `series` [{label, cls,
/// values}], one value per time. Returns a figure with the chart and its legend.
export function stackedBars({ width, height = 190, times, series, label }) {
  const svg = frame(width, height, label);
  const n = Math.max(times.length, 1);
  const totals = times.map((_, i) => series.reduce((sum, se) => sum + (se.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  yAxis(svg, width, height, max, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)));
  const band = plotW / n;
  const barW = Math.max(1, band * 0.72);
  const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 64))));
  times.forEach((t, i) => {
    const x = M.left + i * band + (band - barW) / 2;
    let y = M.top + plotH;
    const parts = [];
    const column = s("g", { class: "column" });
    for (const se of series) {
      const v = se.values[i] || 0;
      if (v <= 0) continue;
      const bh = (v / max) * plotH;
      y -= bh;
      column.append(s("rect", { class: ["bar", se.cls], x, y, width: barW, height: Math.max(bh, 0.5) }));
      parts.push(`${se.label} ${v}`);
    }
    column.prepend(s("rect", { class: "hit", x: M.left + i * band, y: M.top, width: band, height: plotH }));
    column.append(s("title", {}, `${hourMinute(t)}: ${parts.length ? parts.join(", ") : "nothing"}`));
    svg.append(column);
    if (i % every === 0) {
      svg.append(s("text", { class: "tick", x: x + barW / 2, y: height - 6, "text-anchor": "middle" }, hourMinute(t)));
    }
  });
  svg.append(s("line", { class: "axis", x1: M.left, x2: width - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  if (totals.every((v) => v === 0)) {
    svg.append(s("text", { class: "empty-note", x: M.left + plotW / 2, y: M.top + plotH / 2, "text-anchor": "middle" }, "nothing happened in this hour"));
  }
  return h("figure", { class: "figure" }, svg, legend(series));
}

/// The delay before each retry of a class, with its jitter band: rows [{retry, min,
/// max}] in ms. `reference` (the built-in default's longest delay per retry, when the
/// class differs from it) is drawn as a dashed line for comparison.
export function delayBand({ width, height = 170, rows, reference = null, label }) {
  const svg = frame(width, height, label);
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  const ref = reference ? reference.slice(0, rows.length) : [];
  const max = niceDuration(Math.max(...rows.map((r) => r.max), ...ref, 1));
  yAxis(svg, width, height, max, duration);
  // A long schedule (hundreds of retries) on a linear axis squashes the rise into
  // its first pixels: beyond 40 retries the axis is logarithmic in the retry number.
  const log = rows.length > 40;
  const step = plotW / Math.max(rows.length, 1);
  const xOf = log
    ? (i) => M.left + 8 + ((plotW - 16) * Math.log(i + 1)) / Math.log(rows.length)
    : (i) => M.left + step * (i + 0.5);
  const yOf = (v) => M.top + plotH * (1 - Math.min(v, max) / max);
  const pts = (list) => list.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  // One retry is a short flat band, so it does not vanish into a line.
  const half = rows.length === 1 ? Math.min(step * 0.3, 14) : 0;
  const edge = (v) => (half ? [[xOf(0) - half, yOf(v(rows[0]))], [xOf(0) + half, yOf(v(rows[0]))]] : rows.map((r, i) => [xOf(i), yOf(v(r))]));
  const top = edge((r) => r.max);
  const bottom = edge((r) => r.min);
  svg.append(
    s("polygon", { class: "band", points: pts([...top, ...bottom.slice().reverse()]) }),
    s("polyline", { class: "edge max", points: pts(top) }),
    s("polyline", { class: "edge min", points: pts(bottom) }),
  );
  if (ref.length > 1) {
    svg.append(s("polyline", { class: "reference", points: pts(ref.map((v, i) => [xOf(i), yOf(v)])) }));
  }
  if (!log) {
    rows.forEach((r, i) => {
      svg.append(s("g", { class: "point" },
        s("rect", { class: "hit", x: xOf(i) - step / 2, y: M.top, width: step, height: plotH }),
        s("circle", { cx: xOf(i), cy: yOf(r.max), r: 2.5 }),
        s("title", {}, `retry ${r.retry}: ${duration(r.min)} to ${duration(r.max)}`)));
    });
  }
  const every = Math.max(1, Math.ceil(rows.length / Math.max(2, Math.floor(plotW / 44))));
  const ticks = log
    ? [0, 9, 99, 999, 9999].filter((i) => i < rows.length - 1).concat([rows.length - 1])
    : rows.map((_, i) => i).filter((i) => i % every === 0);
  for (const i of ticks) {
    svg.append(s("text", { class: "tick", x: xOf(i), y: height - 6, "text-anchor": "middle" }, `#${rows[i].retry}`));
  }
  svg.append(s("line", { class: "axis", x1: M.left, x2: width - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  return svg;
}

/// A time strip from `from` to `to` (Unix ms) with `spans` [{start, end, title}]
/// drawn over it: the outages of a breaker's last day.
export function strip({ width, height = 46, from, to, spans, label }) {
  const svg = frame(width, height, label);
  const left = 8;
  const right = 8;
  const plotW = width - left - right;
  const xOf = (t) => left + (plotW * (Math.min(Math.max(t, from), to) - from)) / (to - from);
  svg.append(s("rect", { class: "track", x: left, y: 6, width: plotW, height: 18, rx: 3 }));
  for (const span of spans) {
    const x = xOf(span.start);
    const w = Math.max(2, xOf(span.end) - x);
    svg.append(s("g", { class: "outage" },
      s("rect", { x, y: 6, width: w, height: 18, rx: 2 }),
      s("title", {}, span.title)));
  }
  const hours = (to - from) / 3600000;
  const stepH = hours > 12 ? (plotW < 400 ? 6 : 3) : 1;
  const first = Math.ceil(from / (stepH * 3600000)) * stepH * 3600000;
  for (let t = first; t <= to; t += stepH * 3600000) {
    const x = xOf(t);
    svg.append(
      s("line", { class: "grid", x1: x, x2: x, y1: 24, y2: 29 }),
      s("text", { class: "tick", x, y: height - 4, "text-anchor": "middle" }, hourMinute(t)),
    );
  }
  return svg;
}

/// Consecutive failures against the threshold, one segment per failure allowed.
export function failures({ count, threshold, label }) {
  const n = Math.max(1, Math.min(threshold, 50));
  const width = Math.max(120, Math.min(320, n * 22));
  const gap = 3;
  const w = (width - gap * (n - 1)) / n;
  const svg = frame(width, 14, label);
  const filled = Math.round((Math.min(count, threshold) / threshold) * n);
  for (let i = 0; i < n; i += 1) {
    svg.append(s("rect", { class: ["segment", i < filled ? "on" : null], x: i * (w + gap), y: 0, width: w, height: 14, rx: 2 }));
  }
  return svg;
}
