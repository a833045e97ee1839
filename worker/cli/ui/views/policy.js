// Policy: what the policy in force will do, class by class (the delay before each
// retry with its jitter band, the time until a job is buried), its values against the
// built-in defaults, and a draft box: a script pasted there is checked by the daemon
// in its sandbox and charted here, and never applied.

import { getOptional, send } from "../api.js";
import { field, h, replace, section, uid } from "../dom.js";
import { clock, duration, parseDuration, plural } from "../format.js";
import { delayBand } from "../chart.js";
import { attempt } from "../dialog.js";
import { changed, empty, pageHead, widthOf } from "./common.js";

const span = (sp) => ({ min: parseDuration(sp?.min), max: parseDuration(sp?.max) });

function spanText(sp) {
  const { min, max } = span(sp);
  return min === max ? duration(max) : `${duration(min)} to ${duration(max)}`;
}

/// One class's schedule as a card: facts and the delay chart.
function classCard(sc, width) {
  const rows = [...(sc.head || []), ...(sc.tail || [])].map((r) => ({ retry: r.retry, ...span(r.delay) }));
  const end = sc.end === "never_retried" || sc.max_retries === 0
    ? "Never retried: buried at the first failure."
    : `Buried ${spanText(sc.dead_after)} after the first failure${sc.end && sc.end.script_said_dead ? ` (the script ends it at attempt ${sc.end.script_said_dead.attempt})` : ""}.`;
  return h("article", { class: "class-card", "data-class": sc.class },
    h("div", { class: "card-head" },
      h("h3", {}, h("span", { class: "chip" }, sc.class)),
      h("span", { class: "muted" }, `${plural(sc.max_retries, "retry", "retries")}${sc.counts_toward_breaker ? " · counts toward the breaker" : ""}`)),
    rows.length
      ? delayBand({
        width,
        rows,
        gapAfter: (sc.head || []).length - 1,
        omitted: sc.omitted || 0,
        label: `Delay before each retry of ${sc.class}: ${rows.map((r) => `retry ${r.retry} ${duration(r.min)} to ${duration(r.max)}`).join("; ")}`,
      })
      : null,
    h("p", { class: "bury", "data-bury": sc.class }, end));
}

function schedules(list, box) {
  if (!list || list.length === 0) return empty("No class is declared.");
  const width = Math.max(220, Math.min(560, widthOf(box) < 700 ? widthOf(box) - 28 : (widthOf(box) - 60) / 2));
  return h("div", { class: "class-grid" }, list.map((sc) => classCard(sc, width)));
}

/// The values that differ from the defaults, and every value behind a disclosure.
function settingsPanel(settings) {
  if (!settings || settings.length === 0) return empty("No settings.");
  const differ = settings.filter((r) => r.differs);
  return [
    differ.length ? settingsTable(differ) : h("p", { class: "hint" }, "Every value is the built-in default."),
    h("details", { class: "all-values" }, h("summary", {}, `All ${settings.length} values`), settingsTable(settings)),
  ];
}

function settingsTable(settings) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data settings" },
    h("thead", {}, h("tr", {}, ["Key", "In force", "Default", "Bounds"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, settings.map((row) => h("tr", { class: row.differs ? "differs" : null },
      h("th", { scope: "row", class: "mono" }, row.key),
      h("td", { class: "mono" }, row.value, row.differs ? h("span", { class: "badge neutral" }, "changed") : null),
      h("td", { class: "mono muted" }, row.default),
      h("td", { class: "muted" }, row.bounds))))));
}

/// The line of `text` numbered `line` (from 1), for showing where an error is.
function lineOf(text, line) {
  return text.split("\n")[line - 1] ?? "";
}

function report(answer, script, box) {
  const errors = answer.errors || [];
  const warnings = answer.warnings || [];
  const parts = [];
  if (answer.ok && errors.length === 0) {
    parts.push(h("p", { class: "callout ok", id: "draft-ok" }, "The draft is valid. It was checked in the sandbox and not applied: save it to the policy file to use it."));
  } else {
    parts.push(h("div", { class: "callout error", id: "draft-errors" },
      h("strong", {}, `The draft has ${plural(errors.length, "error")}:`),
      h("ul", {}, errors.map((e) => h("li", { "data-line": e.line ?? "" },
        e.line ? h("span", { class: "where" }, `line ${e.line}${e.column ? `, column ${e.column}` : ""}: `) : null,
        e.message,
        e.line ? h("pre", { class: "code excerpt" }, `${String(e.line).padStart(4)} | ${lineOf(script, e.line)}${e.column ? `\n       ${" ".repeat(Math.max(0, e.column - 1))}^` : ""}`) : null)))));
  }
  if (warnings.length) {
    parts.push(h("div", { class: "callout warn" }, h("strong", {}, "Warnings:"),
      h("ul", {}, warnings.map((w) => h("li", {}, typeof w === "string" ? w : w.message)))));
  }
  const classes = answer.classes ?? answer.report?.schedules ?? answer.schedules;
  if (classes && classes.length) parts.push(h("h3", {}, "The draft's retry schedules"), schedules(classes, box));
  const settings = answer.settings ?? answer.report?.settings;
  if (settings && settings.length) parts.push(h("h3", {}, "The draft against the defaults"), settingsPanel(settings));
  return parts;
}

export function mount(main) {
  const factsBox = h("div", { id: "policy-facts" });
  const classesBox = h("div", { id: "policy-classes" });
  const settingsBox = h("div");
  const draft = h("textarea", {
    id: uid("draft"), name: "script", rows: 12, spellcheck: "false", autocapitalize: "off", autocomplete: "off",
    placeholder: '#{\n    classes: #{\n        not_found: #{ base: "1m", cap: "30m", max_retries: 24 },\n    },\n}',
  });
  const checkButton = h("button", { type: "submit", class: "primary", id: "check-draft" }, "Check draft");
  const result = h("div", { id: "draft-report", "aria-live": "polite" });
  const form = h("form", { class: "draft" },
    field("Draft policy script (Rhai)", draft, "Checked by the daemon in its sandbox; never saved or applied."),
    h("div", { class: "button-row" }, checkButton));
  main.append(
    pageHead("Policy"),
    section("In force", {}, factsBox),
    section("Retry schedules", {}, h("p", { class: "hint" }, "The delay before each retry; the band is the jitter's range (each delay is drawn inside it)."), classesBox),
    section("Values against the defaults", {}, settingsBox),
    section("Try a draft", { id: "draft" }, form, result),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const script = draft.value;
    checkButton.disabled = true;
    replace(result, h("p", { class: "muted" }, "Checking…"));
    const answer = await attempt(() => send("POST", "/v1/policy/check", { script }));
    checkButton.disabled = false;
    replace(result, answer ? report(answer, script, result) : null);
  });
  const memo = {};

  async function refresh() {
    const policy = await getOptional("/v1/policy");
    if (!policy) {
      replace(factsBox, empty("The policy is not available."));
      return;
    }
    const width = widthOf(classesBox);
    if (changed(memo, "facts", [policy.version, policy.origin, policy.source, policy.fingerprint, policy.loaded_at, policy.last_error])) {
      const error = policy.last_error || policy.last_reload_error;
      replace(factsBox,
        h("dl", { class: "facts" },
          [["Version", String(policy.version)], ["Source", policy.source || policy.origin], ["Fingerprint", policy.fingerprint], ["Loaded", clock(policy.loaded_at)]]
            .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "–")])),
        error ? h("div", { class: "callout error" }, h("strong", {}, "Last reload failed: "), error) : null);
    }
    const rep = policy.report || {};
    if (changed(memo, "classes", [rep.schedules, width])) replace(classesBox, schedules(rep.schedules, classesBox));
    if (changed(memo, "settings", rep.settings)) replace(settingsBox, settingsPanel(rep.settings));
  }
  return { title: "Policy", refresh };
}
