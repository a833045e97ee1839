// Confirmations before changes, and short messages after them.

import { h } from "./dom.js";

/// Asks before a change. `body` is text or nodes; resolves true on confirm, false on
/// cancel (the Cancel button, Escape, or a click outside). Focus starts on Cancel, so
/// an Enter pressed by habit changes nothing.
export function confirmAction({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const cancelButton = h("button", { type: "button", class: "quiet", value: "cancel" }, "Cancel");
    const confirmButton = h("button", {
      type: "button",
      class: danger ? "danger" : "primary",
      "data-confirm": "",
    }, confirm);
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("div", { class: "confirm-body" }, body),
      h("div", { class: "actions" }, cancelButton, confirmButton));
    let answered = false;
    const finish = (yes) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(yes);
    };
    cancelButton.addEventListener("click", () => finish(false));
    confirmButton.addEventListener("click", () => finish(true));
    dialog.addEventListener("cancel", () => finish(false));
    dialog.addEventListener("close", () => finish(false));
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) finish(false);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancelButton.focus();
  });
}

/// A short message in the corner; errors stay until dismissed.
export function toast(text, kind = "ok") {
  const box = document.getElementById("toasts");
  const close = h("button", { type: "button", class: "quiet", "aria-label": "Dismiss" }, "×");
  const item = h("div", { class: ["toast", kind], role: kind === "error" ? "alert" : "status" },
    h("span", {}, text), close);
  close.addEventListener("click", () => item.remove());
  box.appendChild(item);
  if (kind !== "error") setTimeout(() => item.remove(), 6000);
}

/// Runs a change, reporting its error as a toast; returns its result or undefined.
export async function attempt(change) {
  try {
    return await change();
  } catch (err) {
    toast(err && err.message ? err.message : String(err), "error");
    return undefined;
  }
}
