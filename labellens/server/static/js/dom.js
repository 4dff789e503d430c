// Small DOM builders and number formats shared by every part of the App (and the frozen snapshot,
// which bundles dom.js with grid.js).

import { classColor } from "./colors.js";

// A node of class `className` holding `children` (strings become text; null and undefined are left out).
export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// An <option> of a <select> (or a <datalist>, without text).
export function option(value, text) {
  return Object.assign(el("option", "", text), { value });
}

export function testid(node, id) {
  node.dataset.testid = id;
  return node;
}

// A class label in its colour ("None" when missing), optionally prefixed by the field it comes from.
export function chip(label, kind) {
  const node = el("span", "chip");
  if (label) node.style.setProperty("--c", classColor(label));
  if (kind) {
    node.append(el("span", "k", kind));
    node.title = `${kind}: ${label}`;
  }
  node.append(document.createTextNode(label ?? "None"));
  return node;
}

export function formatNumber(value) {
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(3);
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(0)}%`;
}

// A bar filled to `share` in [0, 1] (its width set through the CSSOM: the page's CSP allows no inline styles).
export function bar(share, className = "bar") {
  const fill = el("span");
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return el("div", className, fill);
}

// One row of a bar chart: the name, its bar and its value, marked as the given (gt) / predicted (pred) one.
export function barRow(name, share, value, { gt = false, pred = false } = {}) {
  const row = el("div", "bar-row", el("span", "name", name), bar(share), el("span", "v", value));
  row.classList.toggle("gt", gt);
  row.classList.toggle("pred", pred);
  return row;
}

// The label history of one sample (the server's entries, newest first) as a table.
export function historyTable(entries) {
  const box = testid(el("div", "history",
    el("h4", "", entries.length ? "Label history" : "Label history: no changes yet")), "sample-history");
  if (!entries.length) return box;
  box.append(el("table", "history-table", ...entries.map((entry) => el("tr", "",
    el("td", "", new Date(entry.time).toLocaleString()), el("td", "", entry.decision), el("td", "", entry.field),
    el("td", "", `${entry.old_label ?? "None"} → ${entry.new_label ?? "None"}`), el("td", "", entry.reviewer)))));
  return box;
}
