// Breaker: per served queue, its state, consecutive failures against the threshold,
// the next probe, the recovery ramp's current rate, and the outages of the last day.

import { get } from "../api.js";
import { h, replace, section } from "../dom.js";
import { clock, count, duration, millis } from "../format.js";
import { failures, strip } from "../chart.js";
import { breakerBadge, changed, empty, pageHead, widthOf } from "./common.js";

const DAY_MS = 24 * 3600 * 1000;

/// The outages of a breaker as spans [{start, end}] (an open one ends now).
function outages(b, now) {
  const list = b.outages || b.outages_24h || [];
  return list.map((o) => {
    const start = millis(o.opened_at_ms ?? o.opened_at ?? o.start_ms ?? o.start);
    const endRaw = o.closed_at_ms ?? o.closed_at ?? o.end_ms ?? o.end;
    const end = endRaw === null || endRaw === undefined ? now : millis(endRaw);
    return { start, end, open: endRaw === null || endRaw === undefined };
  }).filter((o) => Number.isFinite(o.start));
}

function ramp(b) {
  const r = b.ramp;
  if (!r) return "no ramp in progress";
  const rate = r.rate_per_sec ?? r.current_rate_per_sec ?? r.rate;
  const until = millis(r.until_ms ?? r.ends_at_ms ?? r.until);
  return [`${typeof rate === "number" ? rate.toFixed(rate < 10 ? 2 : 0) : rate} jobs/s`,
    Number.isFinite(until) ? [", full speed ", h("span", { "data-rel": until })] : null];
}

function panel(b, width) {
  const now = Date.now();
  const spans = outages(b, now);
  const probe = millis(b.probe_at_ms);
  const rows = [
    ["Consecutive failures", [
      failures({ count: b.consecutive_failures, threshold: b.failure_threshold, label: `${b.consecutive_failures} of ${b.failure_threshold} failures` }),
      h("span", { class: "meter-text" }, `${count(b.consecutive_failures)} of ${count(b.failure_threshold)}`)]],
    ["Next probe", b.state === "open" && Number.isFinite(probe) ? [clock(probe), " (", h("span", { "data-rel": probe, "data-past": "due now" }), ")"] : b.state === "half_open" ? `${count(b.probes_in_flight)} probe(s) running` : "–"],
    ["Recovery ramp", ramp(b)],
    ["Openings", count(b.openings)],
    ["Last opened", b.opened_at_ms ? [clock(b.opened_at_ms), " (", h("span", { "data-rel": b.opened_at_ms }), ")"] : "never"],
    ["Last closed", b.closed_at_ms ? [clock(b.closed_at_ms), " (", h("span", { "data-rel": b.closed_at_ms }), ")"] : "–"],
  ];
  const downtime = spans.reduce((sum, o) => sum + (Math.min(o.end, now) - Math.max(o.start, now - DAY_MS)), 0);
  return h("article", { class: "panel breaker-card", "data-queue": b.queue },
    h("div", { class: "card-head" }, h("h2", {}, b.queue), breakerBadge(b)),
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h3", {}, "Outages, last 24 hours"),
    b.outages || b.outages_24h
      ? [strip({
        width,
        from: now - DAY_MS,
        to: now,
        spans: spans.map((o) => ({ ...o, title: `${clock(o.start)} to ${o.open ? "now" : clock(o.end)} (${duration(o.end - o.start)})` })),
        label: `${spans.length} outages in the last 24 hours`,
      }),
      h("p", { class: "hint" }, spans.length ? `${spans.length} outage${spans.length === 1 ? "" : "s"}, ${duration(downtime)} open in all.` : "No outage in the last 24 hours.")]
      : empty("This daemon does not keep the breaker's outages."));
}

export function mount(main) {
  const list = h("div", { class: "cards", id: "breakers" });
  main.append(pageHead("Breaker"), h("p", { class: "lead" }, "A breaker opens after consecutive failures that count toward it, holds every job while open, lets a probe through after the recovery timeout, and closes when the probe succeeds."), list);
  const memo = {};
  async function refresh() {
    const breakers = await get("/v1/breaker");
    const width = widthOf(list.firstElementChild || list, 600) - 36;
    const queues = breakers.queues || [];
    if (!changed(memo, "b", [queues, width, Math.floor(Date.now() / 60000)])) return;
    replace(list, queues.length ? queues.map((b) => panel(b, Math.max(220, width))) : empty("No queue is served."));
  }
  return { title: "Breaker", refresh };
}
