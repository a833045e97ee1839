// Job detail: the payload as the API shows it (secrets already redacted by the
// server), and the attempt history as a timeline: each attempt's outcome, class,
// status, message and the delay the policy chose before the next one.

import { ApiError, canChange, getOptional, send } from "../api.js";
import { append, h, replace, section } from "../dom.js";
import { clock, count, duration, millis } from "../format.js";
import { attempt, confirmAction, toast } from "../dialog.js";
import * as live from "../live.js";
import { changed, empty, pageHead, stateBadge } from "./common.js";

function facts(job) {
  const rows = [
    ["Queue", h("a", { href: `/ui/jobs?state=${job.state}&queue=${encodeURIComponent(job.queue)}` }, job.queue)],
    ["Kind", job.kind],
    ["Attempts", count(job.attempt)],
    ["Crashes", count(job.crashes)],
    ["Enqueued", [clock(job.enqueued_at), " (", h("span", { "data-rel": millis(job.enqueued_at) }), ")"]],
    job.state === "dead"
      ? ["Died", [clock(job.dead_at), " (", h("span", { "data-rel": millis(job.dead_at) }), ")"]]
      : ["Runs at", [clock(job.run_at), " (", h("span", { "data-rel": millis(job.run_at) }), ")"]],
    job.dedup_key ? ["Dedup key", h("code", {}, job.dedup_key)] : null,
  ].filter(Boolean);
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function timeline(job) {
  const attempts = job.attempts || [];
  if (attempts.length === 0) return empty(job.state === "running" ? "The first attempt is running." : "No attempt has ended yet.");
  const first = Math.max(1, job.attempt - attempts.length + 1);
  return h("ol", { class: "timeline", id: "attempts" }, attempts.map((a, i) => h("li", { class: ["event", `outcome-${a.outcome}`], "data-attempt": first + i },
    h("div", { class: "event-head" },
      h("strong", {}, `Attempt ${first + i}`),
      h("span", { class: ["badge", `outcome-${a.outcome}`] }, a.outcome),
      h("span", { class: "chip" }, a.class),
      a.status ? h("span", { class: "chip status" }, `HTTP ${a.status}`) : null,
      h("span", { class: "muted" }, `${clock(a.started_at)} · ran ${duration(a.duration_ms)}`)),
    h("p", { class: "message" }, a.message || "(no message)"),
    a.delay_ms !== null && a.delay_ms !== undefined
      ? h("p", { class: "delay" }, `The policy${a.policy_version ? ` (version ${a.policy_version})` : ""} chose to wait `, h("strong", {}, duration(a.delay_ms)), " before the next attempt.")
      : null)));
}

export function mount(main, { id }) {
  const admin = canChange();
  const head = h("div");
  const factsBox = h("div");
  const errorBox = h("div");
  const timelineBox = h("div");
  const payloadBox = h("pre", { class: "code", id: "payload", tabindex: "0" });
  append(main, head,
    h("div", { class: "grid-2 detail" },
      section("Job", {}, factsBox, errorBox),
      section("Payload", {}, h("p", { class: "hint" }, "As the API shows it: secret headers and query parameters read ***."), payloadBox)),
    section("Attempts", {}, timelineBox));
  const memo = {};

  async function act(label, change, done) {
    const yes = await confirmAction({ title: `${label} job #${id}?`, body: h("p", {}, done.explain), confirm: label, danger: done.danger });
    if (!yes) return;
    const result = await attempt(change);
    if (result !== undefined) {
      toast(done.toast);
      live.now();
    }
  }

  function actions(job) {
    if (!admin) return [];
    if (job.state === "dead") {
      return [
        h("button", { type: "button", class: "primary", id: "requeue-job", onclick: () => act("Requeue", () => send("POST", "/v1/dead/requeue", { ids: [job.id] }), { explain: "It starts again with its attempts reset.", toast: `Job #${job.id} requeued.` }) }, "Requeue"),
        h("button", { type: "button", class: "danger", id: "delete-job", onclick: () => act("Delete", () => send("DELETE", `/v1/dead/${job.id}`), { explain: "A deleted job is gone for good.", toast: `Job #${job.id} deleted.`, danger: true }) }, "Delete"),
      ];
    }
    return [h("button", { type: "button", class: "danger", id: "cancel-job", onclick: () => act("Cancel", () => send("DELETE", `/v1/jobs/${job.id}`), { explain: job.state === "running" ? "It is buried as cancelled when its attempt ends (a success still completes)." : "It moves to the dead letters as cancelled.", toast: `Job #${job.id} cancelled.`, danger: true }) }, "Cancel")];
  }

  async function refresh() {
    let job;
    try {
      job = await getOptional(`/v1/jobs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) job = null;
      else throw err;
    }
    if (!changed(memo, "job", job)) return;
    if (!job) {
      replace(head, pageHead(`Job #${id}`));
      replace(factsBox, empty("This job is not in the store: completed jobs are not kept, and purged or deleted dead letters are gone."));
      replace(errorBox);
      replace(timelineBox);
      payloadBox.textContent = "";
      return;
    }
    replace(head, pageHead(`Job #${job.id}`, stateBadge(job.state), ...actions(job)));
    replace(factsBox, facts(job));
    replace(errorBox, job.last_error
      ? h("div", { class: "callout error" }, h("strong", {}, `Last error (${job.last_error.class}): `), job.last_error.message)
      : null);
    replace(timelineBox, timeline(job));
    payloadBox.textContent = typeof job.payload === "string" ? job.payload : JSON.stringify(job.payload, null, 2);
  }
  return { title: `Job #${id}`, refresh };
}
