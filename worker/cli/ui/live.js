// Keeps the screen on show up to date by short polling.
//
// Why polling and not server-sent events: a poll every few seconds is a handful of
// small reads on a daemon that answers them from counters, needs no connection held
// open per tab, and goes through the same API (and token rules) as everything else.
// While the tab is hidden nothing is fetched at all; on return it refreshes at once.

import { relative } from "./format.js";

/// How often the screen on show is refreshed.
export const INTERVAL_MS = 3000;

let view = null;
let timer = null;
let running = false;
let again = false;
let ticker = null;
let refreshes = 0;

function indicator(state, text) {
  const el = document.getElementById("live");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text;
}

function notice(text) {
  const el = document.getElementById("notice");
  if (!el) return;
  el.hidden = !text;
  el.textContent = text || "";
}

/// Updates every element that shows a time relative to now (`data-rel` holds its
/// Unix milliseconds): countdowns to the next probe, "5m ago". A countdown that has
/// run out shows its `data-past` text instead ("due now").
export function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-rel]")) {
    const at = Number(el.dataset.rel);
    const text = el.dataset.past && at <= now + 500 ? el.dataset.past : relative(at, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

async function refresh() {
  if (!view || document.hidden) return;
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  try {
    await view.refresh();
    // For people nothing; for the browser tests, "the screen shows the API's data".
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    indicator("live", "live");
    notice("");
  } catch (err) {
    if (err && err.status === 401) return;
    indicator("error", "offline");
    notice(`Could not update: ${err && err.message ? err.message : err}. Retrying.`);
  } finally {
    running = false;
    tick();
    if (again) {
      again = false;
      queueMicrotask(refresh);
    } else if (!document.hidden) {
      timer = setTimeout(refresh, INTERVAL_MS);
    }
  }
}

/// Shows `next` (an object with an async `refresh`) and refreshes it now and then.
export function show(next) {
  view = next;
  clearTimeout(timer);
  return refresh();
}

/// Refreshes the screen now (after a change made from the page).
export function now() {
  return refresh();
}

function onVisibility() {
  if (document.hidden) {
    clearTimeout(timer);
    clearInterval(ticker);
    ticker = null;
    indicator("paused", "paused");
  } else {
    ticker = ticker || setInterval(tick, 1000);
    refresh();
  }
}

/// Starts the clock of relative times and the pause on hidden tabs.
export function start() {
  document.addEventListener("visibilitychange", onVisibility);
  if (!document.hidden) ticker = setInterval(tick, 1000);
}
