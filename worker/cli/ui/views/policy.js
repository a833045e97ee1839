// Policy: what the policy in force will do, class by class (the delay before each
// retry with its jitter band, the time until a job is buried), its values against the
// built-in defaults, and a draft box: a script pasted there is checked by the daemon
// in its sandbox and charted here, and never applied.

import { getOptional, send } from "../api.js";
import { append, field, h, replace, section, uid } from "../dom.js";
import { clock, count, duration, plural } from "../format.js";
import { delayBand, legend } from "../chart.js";
import { attempt } from "../dialog.js";
import { changed, empty, pageHead, reloadError, widthOf } from "./common.js";

function spanText(sp) {
  return sp.min_ms === sp.max_ms ? duration(sp.max_ms) : `${duration(sp.min_ms)} to ${duration(sp.max_ms)}`;
}

/// What happens to a job of the class in the end.
function burial(c) {
  if (c.end === "never_retried" || c.max_retries === 0) return "Never retried: buried at the first failure.";
  if (c.truncated || !c.buried_after) return `Buried after more than ${duration(c.retries.at(-1)?.cumulative_min_ms ?? 0)} (the first ${count(c.retries.length)} retries are drawn).`;
  if (c.end === "script_said_dead") return `Buried ${spanText(c.buried_after)} after the first failure: the script ends it at attempt ${c.end_attempt}.`;
  return `Buried ${spanText(c.buried_after)} after the first failure.`;
}

/// `value`, and the default beside it when they differ.
function versus(label, value, fallback, format = String) {
  const differs = fallback !== undefined && fallback !== value;
  return h("span", { class: ["value", differs ? "differs" : null] },
    h("span", { class: "muted" }, `${label} `), format(value),
    differs ? h("span", { class: "default" }, ` (default ${format(fallback)})`) : null);
}

/// One class as a card: its values against the default's, the delay chart, burial.
function classCard(name, c, d, width) {
  const rows = c.retries.map((r) => ({ retry: r.attempt, min: r.min_ms, max: r.max_ms }));
  const sameCurve = d && JSON.stringify(d.retries.slice(0, rows.length)) === JSON.stringify(c.retries);
  return h("article", { class: "class-card", "data-class": name },
    h("div", { class: "card-head" },
      h("h3", {}, h("span", { class: "chip" }, name)),
      h("span", { class: "muted" }, c.counts_toward_breaker ? "counts toward the breaker" : "does not count toward the breaker")),
    h("p", { class: "values" },
      versus("base", c.base_ms, d?.base_ms, duration), " · ",
      versus("cap", c.cap_ms, d?.cap_ms, duration), " · ",
      versus("retries", c.max_retries, d?.max_retries, count), " · ",
      versus("jitter", c.jitter, d?.jitter),
      d ? null : h("span", { class: "muted" }, " · a class of this policy's own")),
    rows.length
      ? delayBand({
        width,
        rows,
        reference: d && !sameCurve ? d.retries.map((r) => r.max_ms) : null,
        label: `Delay before each retry of ${name}: ${rows.slice(0, 12).map((r) => `retry ${r.retry} ${duration(r.min)} to ${duration(r.max)}`).join("; ")}${rows.length > 12 ? "; …" : ""}`,
      })
      : null,
    h("p", { class: "bury", "data-bury": name }, burial(c)));
}

function classGrid(shape, defaults, box) {
  const names = Object.keys(shape?.classes || {});
  if (names.length === 0) return empty("No class is declared.");
  const full = widthOf(box);
  const width = Math.max(220, Math.min(600, full < 760 ? full - 30 : (full - 16) / 2 - 30));
  return [
    legend([{ label: "jitter band (each delay is drawn inside it)", cls: "band" }, { label: "the default's longest delay", cls: "reference" }]),
    h("div", { class: "class-grid" }, names.map((n) => classCard(n, shape.classes[n], defaults?.classes?.[n], width))),
  ];
}

/// The values that differ from the defaults, and every value behind a disclosure.
function settingsPanel(settings) {
  if (!settings || settings.length === 0) return empty("No settings.");
  const differ = settings.filter((r) => r.differs);
  return [
    differ.length ? settingsTable(differ) : h("p", { class: "hint" }, "Every value is the built-in default."),
    h("details", { class: "all-values" }, h("summary", {}, `All ${settings.length} values, with their defaults and bounds`), settingsTable(settings)),
  ];
}

function settingsTable(settings) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data settings" },
    h("thead", {}, h("tr", {}, ["Key", "In force", "Default", "Bounds"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, settings.map((row) => h("tr", { class: row.differs ? "differs" : null },
      h("th", { scope: "row", class: "mono" }, row.key),
      h("td", { class: "mono" }, row.value),
      h("td", { class: "mono muted" }, row.default),
      h("td", { class: "muted" }, row.bounds))))));
}

/// The line of `text` numbered `line` (from 1), for showing where an error is.
function lineOf(text, line) {
  return text.split("\n")[line - 1] ?? "";
}

function report(answer, script, defaults, box) {
  const errors = answer.errors || [];
  const parts = [];
  if (answer.ok) {
    parts.push(h("p", { class: "callout ok", id: "draft-ok" }, "The draft is valid. It was checked in the sandbox and not applied: save it to the policy file to use it."));
  } else {
    parts.push(h("div", { class: "callout error", id: "draft-errors" },
      h("strong", {}, `The draft has ${plural(errors.length, "error")}:`),
      h("ul", {}, errors.map((e) => h("li", { "data-line": e.line ?? "" },
        e.line ? h("span", { class: "where" }, `Line ${e.line}${e.column ? `, column ${e.column}` : ""}: `) : null,
        e.message,
        e.line ? h("pre", { class: "code excerpt" }, `${String(e.line).padStart(4)} | ${lineOf(script, e.line)}${e.column ? `\n       ${" ".repeat(Math.max(0, e.column - 1))}^` : ""}`) : null)))));
  }
  if ((answer.warnings || []).length) {
    parts.push(h("div", { class: "callout warn" }, h("strong", {}, "Warnings:"), h("ul", {}, answer.warnings.map((w) => h("li", {}, w)))));
  }
  if (answer.ok && answer.classes) {
    parts.push(h("h3", {}, "What the draft would do"), classGrid(answer, defaults, box));
  }
  return parts;
}

export function mount(main) {
  const factsBox = h("div", { id: "policy-facts" });
  const classesBox = h("div", { id: "policy-classes" });
  const settingsBox = h("div");
  const draft = h("textarea", {
    id: uid("draft"), name: "script", rows: 10, spellcheck: "false", autocapitalize: "off", autocomplete: "off",
    placeholder: '#{\n    classes: #{\n        not_found: #{ base: "1m", cap: "30m", max_retries: 24 },\n    },\n}',
  });
  const checkButton = h("button", { type: "submit", class: "primary", id: "check-draft" }, "Check draft");
  const result = h("div", { id: "draft-report", "aria-live": "polite" });
  const form = h("form", { class: "draft" },
    field("Draft policy script (Rhai)", draft, "Checked by the daemon in its sandbox; never saved or applied."),
    h("div", { class: "button-row" }, checkButton));
  append(main, 
    pageHead("Policy"),
    section("In force", {}, factsBox),
    section("Retry schedules", {}, h("p", { class: "hint" }, "The delay before each retry of each class, and when a job is buried."), classesBox),
    section("Try a draft", { id: "draft" }, form, result),
    section("Values against the defaults", {}, settingsBox),
  );
  let defaults = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const script = draft.value;
    checkButton.disabled = true;
    replace(result, h("p", { class: "muted" }, "Checking…"));
    const answer = await attempt(() => send("POST", "/v1/policy/check", { script }));
    checkButton.disabled = false;
    replace(result, answer ? report(answer, script, defaults, result) : null);
  });
  const memo = {};

  async function refresh() {
    const policy = await getOptional("/v1/policy");
    if (!policy) {
      replace(factsBox, empty("The policy is not available."));
      return;
    }
    defaults = policy.defaults;
    const width = widthOf(classesBox);
    const error = reloadError(policy);
    if (changed(memo, "facts", [policy.version, policy.source, policy.fingerprint, policy.loaded_at, error])) {
      replace(factsBox,
        h("dl", { class: "facts" },
          [["Version", String(policy.version)], ["Source", policy.source ?? policy.origin], ["Fingerprint", policy.fingerprint], ["Loaded", clock(policy.loaded_at)]]
            .map(([k, v]) => [h("dt", {}, k), h("dd", { class: k === "Fingerprint" ? "mono" : null }, v ?? "–")])),
        error
          ? h("div", { class: "callout error", id: "reload-error" }, h("strong", {}, "The last reload failed: "), error,
            h("p", { class: "hint" }, `Version ${policy.version} stays in force until the file is fixed.`))
          : null);
    }
    // The answer holds the policy's shape at its top level: `classes` and the rest.
    if (changed(memo, "classes", [policy.classes, width])) replace(classesBox, classGrid(policy, policy.defaults, classesBox));
    if (changed(memo, "settings", policy.report?.settings)) replace(settingsBox, settingsPanel(policy.report?.settings));
  }
  return { title: "Policy", refresh };
}
