// Small DOM builders shared by every part of the App (and the frozen snapshot, which bundles grid.js).

import { classColor } from "./colors.js";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
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
