// Building the DOM from data without ever parsing data as markup.
//
// Every string a page shows goes through a text node (or an attribute set with
// setAttribute), so a job payload such as "<img onerror=...>" is shown as those
// characters and never runs. Nothing in the dashboard assigns innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (key === "value" && "value" in el && el.namespaceURI !== SVG_NS) {
      el.value = String(value);
    } else if (key === "checked" || key === "selected") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/// Appends children: strings and numbers as text, nodes as they are, arrays flattened,
/// null / false / undefined skipped.
export function append(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, ...child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/// An HTML element: h("a", {href: "/ui/jobs", class: "x"}, "text", otherNode).
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/// An SVG element, as h.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/// Replaces every child of `node`.
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/// A labelled form control: the label's `for` points at the control's id.
export function field(label, control, hint) {
  return h("div", { class: "field" },
    h("label", { for: control.id }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null);
}

/// A section with a heading.
export function section(title, attrs, ...children) {
  return h("section", { class: "panel", ...attrs }, h("h2", {}, title), ...children);
}

let ids = 0;
/// A fresh element id, for label/control pairs.
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
