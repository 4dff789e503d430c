// The sidebar: dataset facts, tag checkboxes, range sliders for numbers, class checkboxes, sort.
// It owns the filter object sent to the server: {tags, ranges, labels, sort}.

import { classColor } from "./colors.js";
import { el, formatNumber, option } from "./dom.js";

const STEPS = 1000;

function checkbox(label, count, checked, color, onToggle) {
  const input = el("input");
  input.type = "checkbox";
  input.checked = checked;
  input.value = label;
  input.addEventListener("change", () => onToggle(input.checked));
  const swatch = color ? el("span", "swatch") : null;
  if (swatch) swatch.style.background = color;
  return el("label", "", input, swatch, el("span", "name", label), el("span", "n", count === undefined ? "" : count));
}

export class Sidebar {
  // onCreateIndex(field) resolves to the new list of indexed fields (the offer below the sort);
  // onHistogram(field, [low, high]) to {counts, edges}, drawn above the field's range slider.
  constructor(onChange, { onCreateIndex, onHistogram } = {}) {
    this.onChange = onChange;
    this.onCreateIndex = onCreateIndex;
    this.onHistogram = onHistogram;
    this.filters = Sidebar.empty();
    this.summary = null;
    document.getElementById("sort-field").addEventListener("change", (event) => {
      const field = event.target.value;
      this.filters.sort = field ? { field, reverse: this.reverse() } : null;
      this.renderSortNotice();
      this.changed();
    });
    document.getElementById("sort-index").addEventListener("click", async (event) => {
      const field = this.filters.sort && this.filters.sort.field;
      if (!field || !this.onCreateIndex) return;
      document.getElementById("sort-notice-text").textContent = `Indexing ${field}…`;
      await this.createIndex(event.target, field, () => this.renderSortNotice());
    });
    document.getElementById("tags-index").addEventListener("click", async (event) => {
      if (!this.onCreateIndex) return;
      await this.createIndex(event.target, "tags", () => this.renderTagsNotice());
    });
    document.getElementById("sort-dir").addEventListener("click", () => {
      const reverse = !this.reverse();
      this.paintDirection(reverse);
      if (this.filters.sort) {
        this.filters.sort = { ...this.filters.sort, reverse };
        this.changed();
      }
    });
    document.getElementById("reset-filters").addEventListener("click", () => {
      this.reset();
      this.render(this.summary);
      this.changed();
    });
    this.paintDirection(true);
  }

  static empty() {
    return { tags: [], ranges: {}, labels: {}, sort: null };
  }

  reverse() {
    return document.getElementById("sort-dir").dataset.reverse === "1";
  }

  paintDirection(reverse) {
    const button = document.getElementById("sort-dir");
    button.dataset.reverse = reverse ? "1" : "0";
    button.textContent = reverse ? "↓ desc" : "↑ asc";
  }

  reset() {
    this.filters = Sidebar.empty();
  }

  changed() {
    this.onChange(this.filters);
  }

  render(summary) {
    this.summary = summary;
    if (!summary) return;
    this.renderSort(summary);
    this.renderTags(summary.tags);
    this.renderTagsNotice();
    this.renderRanges(summary);
    this.renderLabels(summary);
  }

  renderSort(summary) {
    const select = document.getElementById("sort-field");
    select.replaceChildren(option("", "(view order)"), ...summary.sort_fields.map((field) => option(field, field)));
    select.value = this.filters.sort ? this.filters.sort.field : "";
    this.renderSortNotice();
  }

  // On a large dataset, a sort without an index makes MongoDB sort every sample for every page:
  // say so and offer the index instead of letting the grid crawl.
  renderSortNotice() {
    const notice = document.getElementById("sort-notice");
    const field = this.filters.sort && this.filters.sort.field;
    const summary = this.summary || {};
    const unindexed = field && summary.index_hint && !(summary.indexed_fields || []).includes(field);
    notice.hidden = !unindexed;
    if (unindexed) {
      document.getElementById("sort-notice-text").textContent =
        `${field} has no index: each page sorts all ${summary.total.toLocaleString()} samples.`;
    }
  }

  // Index `field` (its button disabled meanwhile), keep the new list of indexed fields, re-render.
  async createIndex(button, field, render) {
    button.disabled = true;
    try {
      this.summary = { ...this.summary, indexed_fields: await this.onCreateIndex(field) };
    } finally {
      button.disabled = false;
      render();
    }
  }

  // On a large dataset, tag counts without a tags index read every sample: offer the index.
  renderTagsNotice() {
    const summary = this.summary || {};
    document.getElementById("tags-notice").hidden =
      !summary.index_hint || (summary.indexed_fields || []).includes("tags");
  }

  renderTags(counts) {
    const root = document.getElementById("tag-filters");
    const names = new Set([...Object.keys(counts), ...this.filters.tags]);
    if (!names.size) {
      root.replaceChildren(el("div", "muted", "no tags"));
      return;
    }
    root.replaceChildren(...[...names].sort().map((tag) => checkbox(
      tag, counts[tag] || 0, this.filters.tags.includes(tag), null, (on) => {
        this.filters.tags = on ? [...this.filters.tags, tag] : this.filters.tags.filter((t) => t !== tag);
        this.changed();
      })));
    document.getElementById("tag-options").replaceChildren(
      ...[...names].map((tag) => option(tag)));
  }

  updateTagCounts(counts) {
    this.summary = { ...this.summary, tags: counts };
    this.renderTags(counts);
  }

  renderRanges(summary) {
    const root = document.getElementById("range-filters");
    const fields = summary.numeric_fields.filter((f) => {
      const [lo, hi] = summary.bounds[f] || [];
      return typeof lo === "number" && typeof hi === "number";
    });
    document.getElementById("range-section").hidden = !fields.length;
    root.replaceChildren(...fields.map((field) => this.slider(field, ...summary.bounds[field])));
  }

  slider(field, min, max) {
    const box = el("div", "range");
    box.dataset.field = field;
    const values = el("span", "range-values");
    const head = el("div", "range-head", el("span", "", field), values);
    const bars = el("div", "range-hist");
    bars.setAttribute("aria-label", `${field} histogram`);
    const track = el("div", "range-track");
    const fill = el("div", "range-fill");
    const [low, high] = [el("input"), el("input")];
    for (const input of [low, high]) {
      input.type = "range";
      input.min = "0";
      input.max = String(STEPS);
      input.step = "1";
      input.setAttribute("aria-label", `${field} ${input === low ? "minimum" : "maximum"}`);
    }
    const span = max - min || 1;
    const toValue = (step) => min + (span * Number(step)) / STEPS;
    const toStep = (value) => Math.round(((value - min) / span) * STEPS);
    const current = this.filters.ranges[field];
    low.value = String(current ? toStep(current[0]) : 0);
    high.value = String(current ? toStep(current[1]) : STEPS);
    low.classList.add("lo");
    high.classList.add("hi");
    const paint = () => {
      if (Number(low.value) > Number(high.value)) [low.value, high.value] = [high.value, low.value];
      fill.style.left = `${(Number(low.value) / STEPS) * 100}%`;
      fill.style.right = `${100 - (Number(high.value) / STEPS) * 100}%`;
      values.textContent = `${formatNumber(toValue(low.value))} – ${formatNumber(toValue(high.value))}`;
      const [from, to] = [Number(low.value) / STEPS, Number(high.value) / STEPS];
      bars.childNodes.forEach((bar, i, all) => {
        const middle = (i + 0.5) / all.length;
        bar.classList.toggle("in", middle >= from && middle <= to);
      });
    };
    const commit = () => {
      paint();
      if (Number(low.value) === 0 && Number(high.value) === STEPS) delete this.filters.ranges[field];
      else this.filters.ranges[field] = [toValue(low.value), toValue(high.value)];
      this.changed();
    };
    for (const input of [low, high]) {
      input.addEventListener("input", paint);
      input.addEventListener("change", commit);
    }
    track.append(fill, low, high);
    box.append(head, bars, track);
    paint();
    this.drawHistogram(bars, field, min, max).then(paint);
    return box;
  }

  // Bars of the field's histogram over the view (bins of equal width from min to max); a bar's
  // title gives its range and count. A failed request leaves the slider without bars.
  async drawHistogram(bars, field, min, max) {
    if (!this.onHistogram) return;
    try {
      const { counts, edges } = await this.onHistogram(field, [min, max]);
      const top = Math.max(1, ...counts);
      bars.replaceChildren(...counts.map((n, i) => {
        const bar = el("div", "bar");
        bar.style.height = n ? `${Math.max(8, (100 * n) / top)}%` : "0";
        bar.title = `${formatNumber(edges[i])} – ${formatNumber(edges[i + 1])}: ${n.toLocaleString()}`;
        return bar;
      }));
    } catch (err) {
      bars.hidden = true;
    }
  }

  renderLabels(summary) {
    const root = document.getElementById("label-filters");
    document.getElementById("label-section").hidden = !summary.label_fields.length;
    root.replaceChildren(...summary.label_fields.map((field) => {
      const counts = summary.label_counts[field] || {};
      const list = el("div", "class-list");
      const box = el("div", "label-field", el("div", "label-field-name", field), list);
      box.dataset.field = field;
      const chosen = this.filters.labels[field] || [];
      const classes = summary.classes.filter((c) => c in counts || chosen.includes(c));
      list.append(...classes.map((name) => checkbox(
        name, counts[name] || 0, chosen.includes(name), classColor(name), (on) => {
          const now = new Set(this.filters.labels[field] || []);
          if (on) now.add(name);
          else now.delete(name);
          if (now.size) this.filters.labels[field] = [...now];
          else delete this.filters.labels[field];
          this.changed();
        })));
      return box;
    }));
  }
}
