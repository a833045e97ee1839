// Queues: pause and resume, the rate limit, concurrency and depth of each served
// queue. The controls are built once per queue and only the figures are redrawn, so a
// refresh never wipes what someone is typing.

import { canChange, get, send } from "../api.js";
import { append, field, h, replace, uid } from "../dom.js";
import { clock, count, millis } from "../format.js";
import { attempt, toast } from "../dialog.js";
import * as live from "../live.js";
import { breakerBadge, changed, empty, pageHead } from "./common.js";

function rateText(q) {
  if (!q.rate_limit) return q.rate_limit_source === "off" ? "none (switched off at run time)" : "none";
  const r = q.rate_limit;
  return `${r.per_second}/s, burst ${r.burst}${q.rate_limit_source ? ` (${q.rate_limit_source})` : ""}`;
}

function card(name, admin) {
  const enc = encodeURIComponent(name);
  const figures = h("div", { class: "figures" });
  const badges = h("div", { class: "badges" });
  const reason = h("input", { id: uid("reason"), name: "reason", maxlength: 500, autocomplete: "off", placeholder: "ops: maintenance" });
  const pauseButton = h("button", { type: "submit", "data-action": "pause" }, "Pause");
  const pauseForm = h("form", { class: "inline-form pause-form" }, field("Reason (optional)", reason), pauseButton);
  const resumeButton = h("button", { type: "button", class: "primary", "data-action": "resume", hidden: true }, "Resume");
  const perSecond = h("input", { id: uid("rate"), name: "per_second", type: "number", min: "0.01", step: "any", inputmode: "decimal", required: true });
  const burst = h("input", { id: uid("burst"), name: "burst", type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "1" });
  const rateForm = h("form", { class: "inline-form rate-form" },
    field("Jobs per second", perSecond), field("Burst", burst),
    h("button", { type: "submit", "data-action": "limit" }, "Set limit"));
  const offButton = h("button", { type: "button", class: "quiet", "data-action": "limit-off" }, "No limit");
  const policyButton = h("button", { type: "button", class: "quiet", "data-action": "limit-policy" }, "Follow policy");

  const change = async (path, body, message) => {
    const done = await attempt(() => send("POST", `/v1/queues/${enc}/${path}`, body));
    if (done) {
      toast(message);
      live.now();
    }
  };
  pauseForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const why = reason.value.trim();
    change("pause", why ? { reason: why } : {}, `Queue ${name} paused: no job starts until it is resumed.`).then(() => (reason.value = ""));
  });
  resumeButton.addEventListener("click", () => change("resume", undefined, `Queue ${name} resumed.`));
  rateForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { per_second: Number(perSecond.value) };
    if (burst.value) body.burst = Number(burst.value);
    change("limit", body, `Queue ${name}: at most ${body.per_second} jobs per second.`);
  });
  offButton.addEventListener("click", () => change("limit", { off: true }, `Queue ${name}: no rate limit.`));
  policyButton.addEventListener("click", () => change("limit", { policy: true }, `Queue ${name} follows its policy's rate limit.`));

  const controls = admin
    ? h("div", { class: "controls" },
      h("div", { class: "control-group" }, h("h3", {}, "Pause"), pauseForm, resumeButton),
      h("div", { class: "control-group" }, h("h3", {}, "Rate limit"), rateForm, h("div", { class: "button-row" }, offButton, policyButton)))
    : null;
  const el = h("article", { class: "panel queue-card", "data-queue": name },
    h("div", { class: "card-head" }, h("h2", {}, h("a", { href: `/ui/jobs?queue=${enc}` }, name)), badges),
    figures, controls);
  return { el, figures, badges, pauseForm, resumeButton };
}

export function mount(main) {
  const admin = canChange();
  const list = h("div", { class: "cards", id: "queue-cards" });
  append(main, pageHead("Queues"), list);
  const cards = new Map();
  const memo = {};

  async function refresh() {
    const [queues, stats, breakers] = await Promise.all([get("/v1/queues"), get("/v1/stats"), get("/v1/breaker")]);
    const served = queues.queues || [];
    if (served.length === 0) {
      replace(list, empty("This daemon serves no queue."));
      return;
    }
    if (changed(memo, "names", served.map((q) => q.name))) {
      cards.clear();
      replace(list, served.map((q) => {
        const c = card(q.name, admin);
        cards.set(q.name, c);
        return c.el;
      }));
    }
    const byQueue = Object.fromEntries((breakers.queues || []).map((b) => [b.queue, b]));
    for (const q of served) {
      const c = cards.get(q.name);
      const counts = stats.queues[q.name] || {};
      const breaker = byQueue[q.name] || { state: q.breaker };
      if (!changed(memo, q.name, [q, counts, breaker])) continue;
      replace(c.badges,
        q.default ? h("span", { class: "badge neutral" }, "default") : null,
        q.paused ? h("span", { class: "badge paused", "data-paused": "true" }, "paused") : h("span", { class: "badge running", "data-paused": "false" }, "running"),
        breakerBadge(breaker));
      const depth = (counts.waiting ?? 0) + (counts.retrying ?? 0);
      const stat = (label, value, small) => h("div", { class: "stat", "data-stat": label.toLowerCase() },
        h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value, small ? h("small", {}, ` ${small}`) : null));
      const rows = [
        ["Next due", counts.next_due ? [clock(counts.next_due.run_at), " (", h("span", { "data-rel": millis(counts.next_due.run_at) }), ")"] : "–"],
        ["Rate limit", rateText(q)],
      ];
      if (q.paused) {
        rows.unshift(["Paused", [q.paused_since ? `since ${clock(q.paused_since)}` : "", q.paused_reason ? ` · ${q.paused_reason}` : ""]]);
      }
      replace(c.figures,
        h("div", { class: "stats" },
          stat("Depth", count(depth)),
          stat("Waiting", count(counts.waiting ?? 0)),
          stat("Retrying", count(counts.retrying ?? 0)),
          stat("Running", count(counts.running ?? 0), q.concurrency ? `of ${count(q.concurrency)}` : null)),
        h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { "data-fact": k.toLowerCase() }, v)])));
      c.pauseForm.hidden = q.paused;
      c.resumeButton.hidden = !q.paused;
    }
  }
  return { title: "Queues", refresh };
}
