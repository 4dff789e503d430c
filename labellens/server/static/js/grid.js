// The grid of thumbnails: one tile per sample with its labels, score, tags and a selection box.
// The one tile renderer: the live App and the frozen snapshot (server/snapshot.py) both draw with it.

import { mediaUrl } from "./api.js";
import { el, formatNumber, testid } from "./dom.js";
import { tileRenderer } from "./labels/index.js";

export function get(doc, path) {
  let value = doc;
  for (const part of path.split(".")) {
    if (value === null || value === undefined) return undefined;
    value = value[part];
  }
  return value;
}

export class Grid {
  constructor(root, { onOpen, onSelect }) {
    this.root = root;
    this.onOpen = onOpen;
    this.onSelect = onSelect;
    this.samples = [];
    this.ids = new Set();
    this.selected = new Set();
    this.lastClicked = null;
    // media(sample) gives an image URL (null: no image); selectable: false drops the selection box.
    this.config = { dataset: "", labelFields: [], scoreField: null, hotTag: "", media: null, selectable: true };
  }

  clear(config) {
    this.config = { ...this.config, ...config };
    this.samples = [];
    this.ids = new Set();
    this.root.replaceChildren();
  }

  append(samples) {
    const fragment = document.createDocumentFragment();
    for (const sample of samples) {
      if (this.ids.has(sample.id)) continue;
      this.ids.add(sample.id);
      this.samples.push(sample);
      fragment.append(this.tile(sample));
    }
    this.root.append(fragment);
  }

  tile(sample) {
    const { dataset, labelFields, scoreField } = this.config;
    const tile = testid(el("div", "tile"), "tile");
    tile.dataset.id = sample.id;
    if (this.selected.has(sample.id)) tile.classList.add("selected");

    const thumb = el("div", "thumb");
    const src = this.config.media ? this.config.media(sample) : mediaUrl(dataset, sample.id, true);
    if (src) {
      const img = el("img");
      img.loading = "lazy";
      img.alt = sample.filepath ? sample.filepath.split("/").pop() : sample.id;
      img.src = src;
      img.addEventListener("load", () => {
        if (img.naturalWidth && img.naturalWidth < 96) img.classList.add("pixelated");
      });
      thumb.append(img);
    } else {
      thumb.append(el("div", "missing", "missing image"));
    }
    tile.append(thumb);

    if (this.config.selectable) {
      const check = el("input", "tile-check");
      check.type = "checkbox";
      check.checked = this.selected.has(sample.id);
      check.title = "select (shift-click for a range)";
      check.addEventListener("click", (event) => {
        event.stopPropagation();
        this.toggle(sample.id, event.shiftKey);
      });
      tile.append(check);
    }

    if (scoreField) {
      const score = get(sample, scoreField);
      if (typeof score === "number") {
        const badge = testid(el("span", "score", formatNumber(score)), "score");
        badge.title = scoreField;
        const heat = Math.max(0, Math.min(1, score));
        badge.style.color = `hsl(${(1 - heat) * 120}, 80%, 65%)`;
        tile.append(badge);
      }
    }

    const labels = el("div", "labels");
    const values = labelFields.map((field, i) => {
      const renderer = tileRenderer(sample[field]);
      labels.append(...renderer.chips(sample[field], i === 0 && labelFields.length > 1 ? "gt" : field));
      return renderer.classOf(sample[field]);
    });
    tile.append(labels);
    const truth = values[0];
    const disagree = labelFields.length > 1 && typeof truth === "string"
      && values.slice(1).some((v) => typeof v === "string" && v !== truth);
    if (disagree) {
      tile.classList.add("mismatch");
      const mark = el("span", "mismatch-mark", "≠");
      mark.title = "the prediction disagrees with the ground truth";
      tile.append(mark);
    }

    this.renderTags(tile, sample.tags || []);
    tile.addEventListener("click", (event) => {
      if (event.shiftKey || event.ctrlKey || event.metaKey) {
        this.toggle(sample.id, event.shiftKey);
      } else {
        this.onOpen(sample.id);
      }
    });
    return tile;
  }

  renderTags(tile, tags) {
    tile.querySelector(".tags")?.remove();
    if (!tags.length) return;
    const box = el("div", "tags");
    for (const tag of tags.slice(0, 4)) {
      box.append(el("span", tag === this.config.hotTag ? "tag hot" : "tag", tag));
    }
    tile.append(box);
  }

  setTags(ids, tag, remove) {
    for (const sample of this.samples) {
      if (!ids.has(sample.id)) continue;
      const tags = new Set(sample.tags || []);
      if (remove) tags.delete(tag);
      else tags.add(tag);
      sample.tags = [...tags];
      const tile = this.root.querySelector(`.tile[data-id="${sample.id}"]`);
      if (tile) this.renderTags(tile, sample.tags);
    }
  }

  toggle(id, range) {
    const ids = [id];
    if (range && this.lastClicked) {
      const order = this.samples.map((s) => s.id);
      const [a, b] = [order.indexOf(this.lastClicked), order.indexOf(id)].sort((x, y) => x - y);
      if (a >= 0) ids.push(...order.slice(a, b + 1));
    }
    const on = !this.selected.has(id);
    for (const each of ids) {
      if (on) this.selected.add(each);
      else this.selected.delete(each);
    }
    this.lastClicked = id;
    this.paintSelection();
    this.onSelect(this.selected);
  }

  setSelection(ids) {
    this.selected = new Set(ids);
    this.paintSelection();
    this.onSelect(this.selected);
  }

  paintSelection() {
    for (const tile of this.root.children) {
      const on = this.selected.has(tile.dataset.id);
      tile.classList.toggle("selected", on);
      const check = tile.querySelector(".tile-check");
      if (check) check.checked = on;
    }
  }
}
