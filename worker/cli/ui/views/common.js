// Pieces several screens share: badges, the page heading, empty states.

import { h } from "../dom.js";
import { count, millis } from "../format.js";

/// The job states the API lists, in the order a job moves through them.
export const STATES = ["waiting", "retrying", "running", "dead"];

/// A breaker as a badge: closed / OPEN with the time to the next probe / half-open.
/// `view` is a breaker of `GET /v1/breaker` (or just `{state}`).
export function breakerBadge(view) {
  const state = (view && view.state) || "closed";
  const badge = h("span", { class: ["badge", `breaker-${state}`], "data-breaker": state });
  if (state === "open") {
    badge.append("OPEN");
    const probe = probeAt(view);
    if (Number.isFinite(probe)) {
      badge.append(" · probe ", h("span", { "data-rel": probe, "data-past": "due now" }, ""));
    }
  } else if (state === "half_open") {
    badge.append("half-open");
  } else {
    badge.append("closed");
  }
  return badge;
}

/// When the next probe may start, in this browser's clock: from the server's
/// `probe_in_secs` (immune to a skewed clock here) when given, else `probe_at_ms`.
export function probeAt(view) {
  if (typeof view.probe_in_secs === "number") return (view.fetched_at ?? Date.now()) + view.probe_in_secs * 1000;
  return millis(view.probe_at_ms);
}

/// The last reload failure of a policy answer as text ("line 3, column 5: ..."), or null.
export function reloadError(policy) {
  const e = policy && policy.last_reload_error;
  if (e && typeof e === "object") {
    const where = e.line ? `line ${e.line}${e.column ? `, column ${e.column}` : ""}: ` : "";
    return where + e.message;
  }
  return (policy && policy.last_error) || null;
}

/// A job state as a badge.
export function stateBadge(state) {
  return h("span", { class: ["badge", `state-${state}`], "data-job-state": state }, state);
}

/// "paused" with its reason as the tooltip, or nothing.
export function pausedBadge(steering) {
  if (!steering || !steering.paused) return null;
  return h("span", { class: "badge paused", title: steering.paused_reason || "paused" }, "paused");
}

/// The heading row of a screen: a title and, at the right, optional actions.
export function pageHead(title, ...actions) {
  return h("div", { class: "page-head" }, h("h1", {}, title), actions.length ? h("div", { class: "head-actions" }, actions) : null);
}

/// A number in a table cell, right-aligned, linking to the jobs it counts when `href`.
export function countCell(n, href, attrs = {}) {
  const text = count(n);
  return h("td", { class: ["num", n ? null : "zero"], ...attrs }, href && n ? h("a", { href }, text) : text);
}

/// A message for an empty list.
export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/// Width in pixels available to a chart inside `el` (its content box).
export function widthOf(el, fallback = 600) {
  const w = el.clientWidth;
  if (!w) return fallback;
  const style = getComputedStyle(el);
  return Math.max(200, Math.floor(w - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)));
}

/// Runs `draw` only when `data` differs from the last call's (a refresh that found
/// nothing new leaves the DOM, the focus and any selection alone).
export function changed(memo, key, data) {
  const text = JSON.stringify(data);
  if (memo[key] === text) return false;
  memo[key] = text;
  return true;
}
