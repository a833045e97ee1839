// The dashboard's entry: reads the session, routes paths under /ui to screens, and
// keeps the screen on show fresh (live.js).
//
// Routing is by path (/ui/jobs/42), so links are real links: they open in a new tab,
// can be bookmarked and shared, and the server serves the same page for each.

import { loadSession, session, logout } from "./api.js";
import { h, replace } from "./dom.js";
import { navigate } from "./nav.js";
import * as live from "./live.js";
import * as overview from "./views/overview.js";
import * as jobs from "./views/jobs.js";
import * as job from "./views/job.js";
import * as dead from "./views/dead.js";
import * as queues from "./views/queues.js";
import * as breaker from "./views/breaker.js";
import * as policy from "./views/policy.js";

/// Path patterns and their screens; `:id` is a parameter.
const ROUTES = [
  ["/ui", overview, "overview"],
  ["/ui/jobs", jobs, "jobs"],
  ["/ui/jobs/:id", job, "jobs"],
  ["/ui/dead", dead, "dead"],
  ["/ui/queues", queues, "queues"],
  ["/ui/breaker", breaker, "breaker"],
  ["/ui/policy", policy, "policy"],
];

function match(pathname) {
  const path = pathname.replace(/\/+$/, "") || "/ui";
  for (const [pattern, view, nav] of ROUTES) {
    const want = pattern.split("/");
    const got = path.split("/");
    if (want.length !== got.length) continue;
    const params = {};
    if (want.every((part, i) => (part.startsWith(":") ? ((params[part.slice(1)] = decodeURIComponent(got[i])), true) : part === got[i]))) {
      return { view, nav, params };
    }
  }
  return null;
}

let generation = 0;

async function render() {
  generation += 1;
  const mine = generation;
  const main = document.getElementById("main");
  const found = match(location.pathname);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (found && link.dataset.nav === found.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!found) {
    document.title = "Not found · tenax";
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No screen lives at this address. ", h("a", { href: "/ui/" }, "Go to the overview.")));
    live.show(null);
    return;
  }
  replace(main);
  const params = { ...found.params, query: new URLSearchParams(location.search) };
  const screen = found.view.mount(main, params);
  document.title = `${screen.title} · tenax`;
  if (mine === generation) await live.show(screen);
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui")) return;
  if (url.pathname.startsWith("/ui/assets") || url.pathname.startsWith("/ui/log")) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

async function start() {
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", () => render());
  window.addEventListener("tenax:navigate", (event) => {
    render().then(() => {
      if (event.detail && event.detail.focus) document.getElementById("main").focus();
    });
  });
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => live.now(), 150);
  });
  try {
    await loadSession();
  } catch (err) {
    if (err && err.status === 401) return;
  }
  document.body.dataset.role = session.role;
  document.getElementById("role").hidden = session.role !== "read";
  const out = document.getElementById("logout");
  out.hidden = !session.token_required;
  out.addEventListener("click", () => logout());
  live.start();
  await render();
}

start();
