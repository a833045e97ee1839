// Overview: counts per queue and state, the last hour's throughput and failures, each
// queue's breaker, and the policy in force.

import { get, getOptional } from "../api.js";
import { append, h, replace, section } from "../dom.js";
import { clock, count, millis, relative } from "../format.js";
import { stackedBars } from "../chart.js";
import { breakerBadge, changed, reloadError, countCell, empty, pageHead, pausedBadge, STATES, widthOf } from "./common.js";
import { history } from "./history.js";

const COUNTED = [...STATES, "completed"];

function tiles(total) {
  return COUNTED.map((state) =>
    h("a", { class: ["tile", `state-${state}`], href: state === "completed" ? "/ui/queues" : `/ui/jobs?state=${state}`, "data-total": state },
      h("span", { class: "tile-label" }, state),
      h("span", { class: "tile-value" }, count(total[state]))));
}

function queueTable(stats, breakers) {
  const names = Object.keys(stats.queues);
  if (names.length === 0) return empty("No queue has seen a job yet.");
  const byQueue = Object.fromEntries((breakers.queues || []).map((b) => [b.queue, b]));
  return h("div", { class: "table-wrap" },
    h("table", { class: "data", id: "queue-counts" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Queue"),
        COUNTED.map((s) => h("th", { scope: "col", class: "num" }, s)),
        h("th", { scope: "col" }, "Breaker"))),
      h("tbody", {}, names.map((name) => {
        const q = stats.queues[name];
        const enc = encodeURIComponent(name);
        return h("tr", { "data-queue": name },
          h("th", { scope: "row" }, h("span", { class: "queue-name" }, name), " ", pausedBadge(q.steering)),
          COUNTED.map((state) => countCell(q[state], state === "completed" ? null : `/ui/jobs?state=${state}&queue=${enc}`, { "data-state": state })),
          h("td", {}, byQueue[name] || q.steering ? breakerBadge(byQueue[name] || { state: q.steering.breaker }) : h("span", { class: "muted" }, "not served")));
      }))));
}

function policyPanel(policy) {
  if (!policy) return empty("The policy is not available.");
  const rows = [
    ["Version", String(policy.version)],
    ["Source", policy.source || policy.origin || "–"],
    ["Fingerprint", policy.fingerprint || "–"],
    ["Loaded", policy.loaded_at ? `${clock(policy.loaded_at)} (${relative(policy.loaded_at)})` : "–"],
  ];
  const error = reloadError(policy);
  return [
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { class: k === "Fingerprint" ? "mono" : null }, v)])),
    error
      ? h("div", { class: "callout error", id: "policy-error" }, h("strong", {}, "Last reload failed: "), error,
        h("p", { class: "hint" }, `Version ${policy.version} stays in force until the file is fixed.`))
      : h("p", { class: "hint ok-text" }, "The last reload succeeded."),
    h("p", {}, h("a", { href: "/ui/policy" }, "Retry schedules and the draft checker →")),
  ];
}

export function mount(main) {
  const updated = h("span", { class: "muted", id: "updated" });
  const tileBox = h("div", { class: "tiles", id: "totals" });
  const chartBox = h("div", { class: "chart-box", id: "throughput" });
  const chartSummary = h("p", { class: "hint" });
  const queuesBox = h("div");
  const policyBox = h("div", { id: "policy" });
  append(main, 
    pageHead("Overview", updated),
    tileBox,
    h("div", { class: "grid-2" },
      section("Last hour", { class: "panel wide" }, chartSummary, chartBox),
      section("Policy", {}, policyBox)),
    section("Queues", {}, queuesBox),
  );
  const memo = {};

  async function refresh() {
    const [stats, breakers, policy, hist] = await Promise.all([
      get("/v1/stats"),
      get("/v1/breaker"),
      getOptional("/v1/policy"),
      getOptional("/v1/history?minutes=60"),
    ]);
    updated.textContent = `updated ${clock(millis(stats.at))}`;
    if (changed(memo, "tiles", stats.total)) replace(tileBox, tiles(stats.total));
    if (changed(memo, "queues", [stats.queues, breakers])) replace(queuesBox, queueTable(stats, breakers));
    if (changed(memo, "policy", policy)) replace(policyBox, policyPanel(policy));
    const width = widthOf(chartBox);
    if (changed(memo, "history", [hist, width])) {
      if (!hist) {
        replace(chartBox, empty("This daemon keeps no history."));
      } else {
        const series = history(hist);
        replace(chartSummary, series.summary);
        replace(chartBox, stackedBars({
          width,
          times: series.times,
          series: series.series,
          label: `Jobs per minute over the last hour: ${series.summary}`,
        }));
      }
    }
  }
  return { title: "Overview", refresh };
}
