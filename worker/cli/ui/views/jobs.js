// Jobs: one state at a time, filtered by queue, kind and class, a page at a time
// (the API's cursor), with bulk cancel or requeue of a selection or of everything the
// filter matches. Every bulk change first asks the API for a dry run and says how many
// jobs it will touch.

import { canChange, get, getOptional, query } from "../api.js";
import { append, field, h, replace, uid } from "../dom.js";
import { clip, count, millis, plural } from "../format.js";
import { navigate } from "../nav.js";
import { attempt, confirmAction, toast } from "../dialog.js";
import * as live from "../live.js";
import { changed, empty, pageHead, STATES } from "./common.js";
import { cancelJobs, requeueDead, deleteDead } from "./bulk.js";

const PAGE = 50;

function filters(q) {
  const state = STATES.includes(q.get("state")) ? q.get("state") : "waiting";
  return {
    state,
    queue: q.get("queue") || "",
    kind: q.get("kind") || "",
    class: q.get("class") || "",
    cursor: q.get("cursor") || "",
  };
}

function href(f, changes = {}) {
  const next = { ...f, cursor: "", ...changes };
  return `/ui/jobs${query(next)}`;
}

function when(job) {
  if (job.state === "dead") return ["died ", h("span", { "data-rel": millis(job.dead_at) })];
  if (job.state === "running") return ["was due ", h("span", { "data-rel": millis(job.run_at) })];
  return ["due ", h("span", { "data-rel": millis(job.run_at) })];
}

export function mount(main, { query: q }) {
  const f = filters(q);
  const admin = canChange();
  const selected = new Set();
  const memo = {};
  const page = { jobs: [], next: null };

  const tabs = h("nav", { class: "tabs", "aria-label": "Job states" });
  const queueSelect = h("select", { id: uid("queue"), name: "queue" }, h("option", { value: "" }, "all queues"));
  const kindInput = h("input", { id: uid("kind"), name: "kind", value: f.kind, autocomplete: "off", placeholder: "any" });
  const classList = h("datalist", { id: uid("classes") });
  const classInput = h("input", { id: uid("class"), name: "class", value: f.class, list: classList.id, autocomplete: "off", placeholder: "any" });
  const form = h("form", { class: "filters", role: "search" },
    field("Queue", queueSelect),
    field("Kind", kindInput),
    field("Error class", classInput),
    classList,
    h("div", { class: "filter-actions" },
      h("button", { type: "submit", class: "primary" }, "Filter"),
      f.queue || f.kind || f.class ? h("a", { href: href({ state: f.state }), class: "button quiet" }, "Clear") : null));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(href(f, { queue: queueSelect.value, kind: kindInput.value.trim(), class: classInput.value.trim() }));
  });

  const selectedCount = h("span", { class: "muted", id: "selected-count" }, "none selected");
  const verb = f.state === "dead" ? "Requeue" : "Cancel";
  const selectionButton = h("button", { type: "button", id: "bulk-selected", disabled: true }, `${verb} selected`);
  const filterButton = h("button", { type: "button", id: "bulk-filter", class: f.state === "dead" ? "primary" : "danger" },
    `${verb} all matching…`);
  const deleteButton = f.state === "dead" ? h("button", { type: "button", id: "bulk-delete", class: "danger", disabled: true }, "Delete selected") : null;
  const bulk = admin
    ? h("div", { class: "bulk", role: "group", "aria-label": "Bulk actions" }, selectedCount, selectionButton, deleteButton, filterButton)
    : null;

  const tableBox = h("div", { class: "table-wrap", id: "jobs-table" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  append(main, pageHead("Jobs"), tabs, form, bulk, tableBox, pager);

  function syncSelection() {
    if (!admin) return;
    const n = selected.size;
    selectedCount.textContent = n ? `${plural(n, "job")} selected` : "none selected";
    selectionButton.disabled = n === 0;
    if (deleteButton) deleteButton.disabled = n === 0;
    for (const box of tableBox.querySelectorAll("input[data-id]")) box.checked = selected.has(Number(box.dataset.id));
    const all = tableBox.querySelector("#select-all");
    if (all) {
      all.checked = n > 0 && n === page.jobs.length;
      all.indeterminate = n > 0 && n < page.jobs.length;
    }
  }

  function describe() {
    const parts = [f.queue && `queue ${f.queue}`, f.kind && `kind ${f.kind}`, f.class && `class ${f.class}`].filter(Boolean);
    return parts.length ? ` (${parts.join(", ")})` : "";
  }

  const filterSpec = () => Object.fromEntries(Object.entries({ queue: f.queue, kind: f.kind, class: f.class }).filter(([, v]) => v));

  async function run(selector, label) {
    const act = f.state === "dead" ? requeueDead : (sel, dry) => cancelJobs(sel, dry, f.state);
    const dry = await attempt(() => act(selector, true));
    if (!dry) return;
    if (dry.count === 0) {
      toast(`No ${f.state} job matches${describe()}; nothing to do.`);
      return;
    }
    const yes = await confirmAction({
      title: `${verb} ${plural(dry.count, "job")}?`,
      body: [
        h("p", {}, `This will ${verb.toLowerCase()} `, dry.more ? "at least " : null, h("strong", { id: "confirm-count", "data-count": dry.count }, plural(dry.count, `${f.state} job`)), ` ${label}.`),
        dry.first_ids && dry.first_ids.length ? h("p", { class: "hint" }, `First: ${dry.first_ids.join(", ")}${dry.count > dry.first_ids.length ? ", …" : ""}`) : null,
        f.state === "dead"
          ? h("p", { class: "hint" }, "Requeued jobs start again with their attempts reset.")
          : h("p", { class: "hint" }, "Waiting and retrying jobs move to the dead letters as cancelled; a running one when its attempt ends."),
      ],
      confirm: `${verb} ${plural(dry.count, "job")}`,
      danger: f.state !== "dead",
    });
    if (!yes) return;
    const done = await attempt(() => act(selector, false));
    if (done) {
      toast(`${verb === "Requeue" ? "Requeued" : "Cancelled"} ${plural(done.count, "job")}.`);
      selected.clear();
      live.now();
    }
  }

  if (admin) {
    selectionButton.addEventListener("click", () => run({ ids: [...selected] }, "that you selected"));
    filterButton.addEventListener("click", () =>
      run(Object.keys(filterSpec()).length ? { filter: filterSpec() } : { all: true }, describe() ? `matching${describe()}` : "in every queue"));
    deleteButton?.addEventListener("click", async () => {
      const ids = [...selected];
      const yes = await confirmAction({
        title: `Delete ${plural(ids.length, "dead letter")}?`,
        body: h("p", {}, `Deleted jobs are gone for good: ${ids.join(", ")}.`),
        confirm: `Delete ${plural(ids.length, "job")}`,
        danger: true,
      });
      if (!yes) return;
      const done = await attempt(() => deleteDead(ids));
      if (done !== undefined) {
        toast(`Deleted ${plural(done, "dead letter")}.`);
        selected.clear();
        live.now();
      }
    });
  }

  function table() {
    if (page.jobs.length === 0) {
      return empty(page.next ? "No job on this page matches; the listing goes on (next page)." : `No ${f.state} jobs${describe()}.`);
    }
    const all = admin ? h("input", { type: "checkbox", id: "select-all", "aria-label": "Select every job on this page" }) : null;
    all?.addEventListener("change", () => {
      if (all.checked) page.jobs.forEach((j) => selected.add(j.id));
      else selected.clear();
      syncSelection();
    });
    return h("table", { class: "data jobs" },
      h("thead", {}, h("tr", {},
        admin ? h("th", { class: "check" }, all) : null,
        h("th", { scope: "col" }, "Job"),
        h("th", { scope: "col" }, "Queue"),
        h("th", { scope: "col" }, "Kind"),
        h("th", { scope: "col", class: "num" }, "Attempt"),
        h("th", { scope: "col" }, "When"),
        h("th", { scope: "col" }, "Last error"))),
      h("tbody", {}, page.jobs.map((job) => {
        const box = admin ? h("input", { type: "checkbox", "data-id": job.id, "aria-label": `Select job ${job.id}`, checked: selected.has(job.id) }) : null;
        box?.addEventListener("change", () => {
          if (box.checked) selected.add(job.id);
          else selected.delete(job.id);
          syncSelection();
        });
        const error = job.last_error;
        return h("tr", { "data-job": job.id },
          admin ? h("td", { class: "check" }, box) : null,
          h("td", { class: "id" }, h("a", { href: `/ui/jobs/${job.id}` }, `#${job.id}`)),
          h("td", { class: "queue" }, job.queue),
          h("td", { class: "kind" }, job.kind),
          h("td", { class: "num attempt" }, count(job.attempt)),
          h("td", { class: "nowrap when" }, when(job)),
          h("td", { class: "error-cell" }, error
            ? [h("span", { class: "chip" }, error.class), " ", h("span", { title: error.message }, clip(error.message, 90))]
            : h("span", { class: "muted" }, "–")));
      })));
  }

  async function refresh() {
    const [stats, policy, answer] = await Promise.all([
      get("/v1/stats"),
      getOptional("/v1/policy"),
      get(`/v1/jobs${query({ state: f.state, queue: f.queue, kind: f.kind, class: f.class, cursor: f.cursor, limit: PAGE })}`),
    ]);
    const names = Object.keys(stats.queues);
    if (changed(memo, "queues", names)) {
      replace(queueSelect, h("option", { value: "" }, "all queues"),
        names.map((n) => h("option", { value: n, selected: n === f.queue }, n)));
      if (f.queue && !names.includes(f.queue)) queueSelect.append(h("option", { value: f.queue, selected: true }, f.queue));
    }
    const classes = (policy?.report?.schedules || []).map((sc) => sc.class);
    if (changed(memo, "classes", classes)) replace(classList, classes.map((c) => h("option", { value: c })));
    const counts = f.queue ? stats.queues[f.queue] || {} : stats.total;
    if (changed(memo, "tabs", [counts, f])) {
      replace(tabs, STATES.map((state) => h("a", {
        href: href(f, { state }),
        class: "tab",
        "aria-current": state === f.state ? "page" : null,
        "data-tab": state,
      }, state, " ", h("span", { class: "tab-count" }, count(counts[state] || 0)))));
    }
    if (changed(memo, "jobs", answer)) {
      page.jobs = answer.jobs;
      page.next = answer.next;
      const ids = new Set(page.jobs.map((j) => j.id));
      for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
      const focused = document.activeElement?.dataset?.id;
      replace(tableBox, table());
      if (focused) tableBox.querySelector(`input[data-id="${CSS.escape(focused)}"]`)?.focus();
      replace(pager,
        f.cursor ? h("a", { href: href(f), class: "button quiet" }, "← First page") : null,
        h("span", { class: "muted" }, `${plural(page.jobs.length, "job")} on this page`),
        page.next ? h("a", { href: href(f, { cursor: page.next }), class: "button", id: "next-page" }, "Next page →") : null);
      syncSelection();
    }
  }
  return { title: `Jobs: ${f.state}`, refresh };
}
