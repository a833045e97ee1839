// The last hour of `GET /v1/history` as chart series: completed, retried by class and
// buried, per minute, summed over the queues (or for one queue).

import { count, millis } from "../format.js";

/// Colour classes of the retry classes the default policy knows; others take turns.
const CLASS_COLOURS = { transient: "c-transient", unavailable: "c-unavailable", not_found: "c-not-found" };
const OTHER_COLOURS = ["c-other-1", "c-other-2", "c-other-3"];

function total(value) {
  if (typeof value === "number") return value;
  if (value && typeof value === "object") return Object.values(value).reduce((a, b) => a + total(b), 0);
  return 0;
}

function entries(queues) {
  if (Array.isArray(queues)) return queues;
  return Object.entries(queues || {}).map(([queue, q]) => ({ queue, ...(Array.isArray(q) ? { minutes: q } : q) }));
}

/// `{times, series, summary, classes}` of a history answer; `queue` picks one queue.
export function history(answer, queue = null) {
  const byTime = new Map();
  for (const q of entries(answer.queues)) {
    if (queue && q.queue !== queue) continue;
    for (const bucket of q.minutes || q.buckets || []) {
      const t = millis(bucket.at ?? bucket.minute ?? bucket.start ?? bucket.start_ms);
      const sum = byTime.get(t) || { completed: 0, buried: 0, released: 0, retried: {} };
      sum.completed += total(bucket.completed);
      sum.buried += total(bucket.buried);
      sum.released += total(bucket.released);
      const retried = bucket.retried || {};
      for (const [cls, n] of Object.entries(typeof retried === "number" ? { retried } : retried)) {
        sum.retried[cls] = (sum.retried[cls] || 0) + total(n);
      }
      byTime.set(t, sum);
    }
  }
  const times = [...byTime.keys()].filter(Number.isFinite).sort((a, b) => a - b);
  const classes = [...new Set(times.flatMap((t) => Object.keys(byTime.get(t).retried)))].sort();
  let other = 0;
  const series = [
    { label: "completed", cls: "c-completed", values: times.map((t) => byTime.get(t).completed) },
    ...classes.map((cls) => ({
      label: `retried: ${cls}`,
      cls: CLASS_COLOURS[cls] || OTHER_COLOURS[other++ % OTHER_COLOURS.length],
      values: times.map((t) => byTime.get(t).retried[cls] || 0),
    })),
    { label: "buried", cls: "c-buried", values: times.map((t) => byTime.get(t).buried) },
  ];
  const sums = series.map((se) => se.values.reduce((a, b) => a + b, 0));
  const retried = sums.slice(1, -1).reduce((a, b) => a + b, 0);
  const summary = `${count(sums[0])} completed, ${count(retried)} retried, ${count(sums[sums.length - 1])} buried`;
  return { times, series, summary, classes };
}
