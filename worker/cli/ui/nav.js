// Moving between screens without reloading: views call `navigate`, app.js renders.

/// Goes to `url` (a path under /ui); `replace` swaps the history entry (a filter change
/// is not worth a Back press).
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new CustomEvent("tenax:navigate", { detail: { focus: !replace } }));
}
