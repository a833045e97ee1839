// Numbers, durations and times as people read them.

const UNITS = {
  ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, sec: 1000, secs: 1000, second: 1000,
  seconds: 1000, m: 60000, min: 60000, mins: 60000, minute: 60000, minutes: 60000,
  h: 3600000, hr: 3600000, hrs: 3600000, hour: 3600000, hours: 3600000,
  d: 86400000, day: 86400000, days: 86400000, w: 604800000, week: 604800000,
  weeks: 604800000, M: 2630016000, month: 2630016000, months: 2630016000,
  y: 31557600000, year: 31557600000, years: 31557600000,
};

/// Milliseconds of a duration as the API writes it ("1h 30m 30s", "250ms"), or of a
/// number of milliseconds; NaN for anything else.
export function parseDuration(value) {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return NaN;
  let total = 0;
  let matched = false;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)\s*([a-zA-Zµ]+)/g)) {
    const factor = UNITS[unit] ?? UNITS[unit.toLowerCase()];
    if (factor === undefined) return NaN;
    total += Number(amount) * factor;
    matched = true;
  }
  return matched ? total : NaN;
}

/// A duration in at most two units: "1h 5m", "42s", "250ms", "3d 2h".
export function duration(ms) {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    const n = Math.floor(rest / size);
    if (n > 0 || (unit === "s" && parts.length === 0)) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  // "1h 0m" reads worse than "1h".
  return parts.filter((p, i) => i === 0 || !p.startsWith("0")).join(" ");
}

/// Milliseconds since the epoch of an RFC 3339 string or a number of milliseconds.
export function millis(value) {
  if (value === null || value === undefined) return NaN;
  if (typeof value === "number") return value;
  return Date.parse(value);
}

/// "in 3m", "5m ago", "now".
export function relative(at, now = Date.now()) {
  const t = millis(at);
  if (!Number.isFinite(t)) return "–";
  const delta = t - now;
  if (Math.abs(delta) < 1000) return "now";
  return delta > 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
}

/// Local wall-clock time; the date too when it is not today.
export function clock(at) {
  const t = millis(at);
  if (!Number.isFinite(t)) return "–";
  const d = new Date(t);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

/// "14:05" of a time, for chart axes.
export function hourMinute(at) {
  const d = new Date(millis(at));
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

/// A count with thousands separators.
export function count(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return "–";
  return Number(n).toLocaleString("en-US");
}

/// "1 job", "3 jobs".
export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/// A long text cut to `max` characters with an ellipsis.
export function clip(text, max) {
  const t = String(text ?? "");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
