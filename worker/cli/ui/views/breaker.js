// Breaker: per served queue, its state, consecutive failures against the threshold,
// the next probe, the recovery ramp's current rate, and the outages of the last day.

import { get } from "../api.js";
import { append, h, replace, section } from "../dom.js";
import { clock, count, duration } from "../format.js";
import { failures, strip } from "../chart.js";
import { breakerBadge, changed, empty, pageHead, probeAt, widthOf } from "./common.js";

const DAY_MS = 24 * 3600 * 1000;

/// The outages of a breaker as spans (an open one ends now).
function outages(b, now) {
  return (b.outages || []).map((o) => ({
    start: o.opened_at_ms,
    end: o.closed_at_ms ?? now,
    open: o.closed_at_ms === null || o.closed_at_ms === undefined,
    cause: o.cause,
    cls: o.class,
    failedProbes: o.failed_probes || 0,
  }));
}

function ramp(b) {
  const rate = b.ramp_rate_per_sec;
  if (typeof rate !== "number") return "not ramping";
  return `${rate < 10 ? rate.toFixed(2) : Math.round(rate)} jobs/s, rising to full speed`;
}

function describe(o) {
  const parts = [`${clock(o.start)} to ${o.open ? "now" : clock(o.end)} (${duration(o.end - o.start)})`];
  if (o.cause) parts.push(o.cls ? `${o.cause} (${o.cls})` : o.cause);
  if (o.failedProbes) parts.push(`${o.failedProbes} failed probe${o.failedProbes === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

function panel(b, width) {
  const now = Date.now();
  const spans = outages(b, now);
  const probe = probeAt(b);
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
    b.outages
      ? [strip({
        width,
        from: now - DAY_MS,
        to: now,
        spans: spans.map((o) => ({ ...o, title: describe(o) })),
        label: `${spans.length} outages in the last 24 hours`,
      }),
      h("p", { class: "hint" }, spans.length ? `${spans.length} outage${spans.length === 1 ? "" : "s"}, ${duration(downtime)} open in all.` : "No outage in the last 24 hours."),
      spans.length ? h("ol", { class: "outages" }, spans.slice(-5).reverse().map((o) => h("li", { class: o.open ? "open" : null }, describe(o)))) : null]
      : empty("This daemon does not keep the breaker's outages."));
}

export function mount(main) {
  const list = h("div", { class: "cards", id: "breakers" });
  append(main, pageHead("Breaker"), h("p", { class: "lead" }, "A breaker opens after consecutive failures that count toward it, holds every job while open, lets a probe through after the recovery timeout, and closes when the probe succeeds."), list);
  const memo = {};
  async function refresh() {
    const breakers = await get("/v1/breaker");
    const width = widthOf(list.firstElementChild || list, 600) - 36;
    const queues = breakers.queues || [];
    // The outage strip moves with the clock: redraw at least once a minute.
    if (!changed(memo, "b", [queues, width, Math.floor(Date.now() / 60000)])) return;
    replace(list, queues.length ? queues.map((b) => panel(b, Math.max(220, width))) : empty("No queue is served."));
  }
  return { title: "Breaker", refresh };
}
