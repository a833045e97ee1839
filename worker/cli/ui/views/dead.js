// Dead letters, grouped by final error class and by message, with requeue, delete and
// purge. Each change states its count from a dry run before it is made.

import { canChange, get, getOptional, send } from "../api.js";
import { append, field, h, replace, section, uid } from "../dom.js";
import { clip, count, plural } from "../format.js";
import { attempt, confirmAction, toast } from "../dialog.js";
import * as live from "../live.js";
import { changed, empty, pageHead } from "./common.js";
import { requeueDead } from "./bulk.js";

/// `{byClass: [{class, count, example_id}], byMessage: [{class, message, count,
/// example_id}], scanned, complete}` of `GET /v1/dead/groups`.
function groups(answer) {
  const list = (v) => (Array.isArray(v) ? v : []);
  return {
    byClass: list(answer.by_class),
    byMessage: list(answer.by_message),
    scanned: answer.scanned,
    complete: answer.complete !== false,
  };
}

/// "e.g. #42", linking to a job of the group.
function example(id) {
  return id ? h("a", { href: `/ui/jobs/${id}` }, `e.g. #${id}`) : "–";
}

export function mount(main) {
  const admin = canChange();
  const total = h("span", { class: "muted", id: "dead-total" });
  const classBox = h("div", { id: "by-class" });
  const messageBox = h("div", { id: "by-message" });
  const scope = h("p", { class: "hint" });
  const ageInput = h("input", { id: uid("age"), name: "older_than", value: "7d", size: 8, autocomplete: "off", pattern: "\\s*\\d+.*" });
  const purgeForm = h("form", { class: "inline-form", id: "purge-form" },
    field("Older than", ageInput),
    h("button", { type: "submit", class: "danger" }, "Purge…"));
  append(main, 
    pageHead("Dead letters", total, h("a", { href: "/ui/jobs?state=dead", class: "button" }, "List them")),
    h("div", { class: "grid-2" },
      section("By class", {}, classBox),
      admin ? section("Purge", {}, h("p", { class: "hint" }, "Deletes dead letters that died longer ago than the given age (7d, 12h, 30m; 0s: all), for good. A dry run counts them first."), purgeForm) : null),
    section("By message", {}, messageBox, scope),
  );
  const memo = {};

  async function requeueClass(cls) {
    const selector = { filter: { class: cls } };
    const dry = await attempt(() => requeueDead(selector, true));
    if (!dry) return;
    if (dry.count === 0) return toast(`No dead letter of class ${cls} is left.`);
    const yes = await confirmAction({
      title: `Requeue ${plural(dry.count, "job")}?`,
      body: h("p", {}, "This will requeue ", h("strong", { id: "confirm-count", "data-count": dry.count }, plural(dry.count, "dead job")), ` of class ${cls}, attempts reset.`),
      confirm: `Requeue ${plural(dry.count, "job")}`,
    });
    if (!yes) return;
    const done = await attempt(() => requeueDead(selector, false));
    if (done) {
      toast(`Requeued ${plural(done.count, "job")} of class ${cls}.`);
      live.now();
    }
  }

  purgeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const age = ageInput.value.trim();
    const path = (dry) => `/v1/dead?older_than=${encodeURIComponent(age)}${dry ? "&dry_run=true" : ""}`;
    const dry = await attempt(() => send("DELETE", path(true)));
    if (!dry) return;
    const n = dry.would_purge.count;
    if (n === 0) return toast(`No dead letter is older than ${age}.`);
    const yes = await confirmAction({
      title: `Purge ${plural(n, "dead letter")}?`,
      body: h("p", {}, "This deletes ", h("strong", { id: "confirm-count", "data-count": n }, plural(n, "dead letter")), ` older than ${age}. They cannot be requeued afterwards.`),
      confirm: `Purge ${plural(n, "job")}`,
      danger: true,
    });
    if (!yes) return;
    const done = await attempt(() => send("DELETE", path(false)));
    if (done) {
      toast(`Purged ${plural(done.purged, "dead letter")}.`);
      live.now();
    }
  });

  function classTable(list) {
    if (list.length === 0) return empty("The dead letter queue is empty.");
    return h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Class"), h("th", { scope: "col", class: "num" }, "Jobs"), h("th", { scope: "col" }, "Example"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, list.map((g) => h("tr", { "data-class": g.class },
        h("th", { scope: "row" }, h("a", { href: `/ui/jobs?state=dead&class=${encodeURIComponent(g.class)}` }, h("span", { class: "chip" }, g.class))),
        h("td", { class: "num" }, count(g.count)),
        h("td", { class: "nowrap" }, example(g.example_id)),
        h("td", { class: "row-actions" }, admin ? h("button", { type: "button", class: "small", "data-requeue-class": g.class, onclick: () => requeueClass(g.class) }, `Requeue ${count(g.count)}`) : null))))));
  }

  function messageTable(list) {
    if (list.length === 0) return empty("No messages to group.");
    return h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Message"), h("th", { scope: "col" }, "Class"), h("th", { scope: "col", class: "num" }, "Jobs"), h("th", { scope: "col" }, "Example"))),
      h("tbody", {}, list.map((g) => h("tr", {},
        h("td", { class: "message-cell", title: g.message }, clip(g.message, 160)),
        h("td", {}, g.class ? h("a", { href: `/ui/jobs?state=dead&class=${encodeURIComponent(g.class)}` }, h("span", { class: "chip" }, g.class)) : "–"),
        h("td", { class: "num" }, count(g.count)),
        h("td", { class: "nowrap" }, example(g.example_id)))))));
  }

  async function refresh() {
    const [stats, answer] = await Promise.all([get("/v1/stats"), getOptional("/v1/dead/groups")]);
    total.textContent = `${plural(stats.total.dead, "dead letter")} in all queues`;
    const g = answer ? groups(answer) : { byClass: [], byMessage: [] };
    if (changed(memo, "classes", g.byClass)) replace(classBox, answer ? classTable(g.byClass) : empty("This daemon does not group dead letters."));
    if (changed(memo, "messages", g.byMessage)) replace(messageBox, messageTable(g.byMessage));
    scope.textContent = answer && !g.complete ? `Counted over the oldest ${count(g.scanned)} dead letters only.` : "";
  }
  return { title: "Dead letters", refresh };
}
