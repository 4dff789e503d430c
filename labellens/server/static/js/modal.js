// The sample modal: the image large, every field of the sample, and each label's logits as a bar chart
// (bar lengths: the probabilities the server computed with labellens.probability's softmax).
// Arrow keys move to the previous / next sample of the grid, Esc closes.

import { api, dsPath, mediaUrl } from "./api.js";
import { barRow, el, formatNumber, historyTable, testid } from "./dom.js";
import { rendererOf } from "./labels/index.js";

function describe(value) {
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "number")) return `[${value.map(formatNumber).join(", ")}]`;
    return value.map(describe).join(", ");
  }
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A label whose logits the server sent with their probabilities (_probabilities, one per logit).
function charted(value) {
  return Boolean(value) && Array.isArray(value.logits) && value.logits.length > 0
    && Array.isArray(value._probabilities) && value._probabilities.length === value.logits.length;
}

export class Modal {
  constructor({ grid, getDataset, getClasses, getTotal, onNeedMore, onError }) {
    this.grid = grid;
    this.getTotal = getTotal;
    this.getDataset = getDataset;
    this.getClasses = getClasses;
    this.onNeedMore = onNeedMore;
    this.onError = onError;
    this.root = document.getElementById("modal");
    this.index = -1;
    this.request = 0;
    for (const node of this.root.querySelectorAll("[data-close]")) {
      node.addEventListener("click", () => this.close());
    }
    document.getElementById("modal-prev").addEventListener("click", () => this.move(-1));
    document.getElementById("modal-next").addEventListener("click", () => this.move(1));
    document.addEventListener("keydown", (event) => {
      if (this.root.hidden) return;
      if (event.key === "Escape") this.close();
      else if (event.key === "ArrowRight" || event.key === "ArrowDown") this.move(1);
      else if (event.key === "ArrowLeft" || event.key === "ArrowUp") this.move(-1);
      else return;
      event.preventDefault();
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  open(sampleId) {
    this.index = this.grid.samples.findIndex((s) => s.id === sampleId);
    this.root.hidden = false;
    this.show();
  }

  close() {
    this.root.hidden = true;
    this.index = -1;
  }

  async move(step) {
    const next = this.index + step;
    if (next < 0) return;
    if (next >= this.grid.samples.length) {
      await this.onNeedMore();
      if (next >= this.grid.samples.length) return;
    }
    this.index = next;
    this.show();
  }

  async show() {
    const sample = this.grid.samples[this.index];
    if (!sample) return;
    const dataset = this.getDataset();
    const request = ++this.request;
    document.getElementById("modal-title").textContent =
      `${this.index + 1} / ${this.getTotal() ?? this.grid.samples.length} · ${sample.filepath || sample.id}`;
    const img = document.getElementById("modal-img");
    img.src = mediaUrl(dataset, sample.id, false);
    img.classList.remove("pixelated");
    img.onload = () => img.classList.toggle("pixelated", img.naturalWidth < 96);
    // Until this sample's fields arrive, the previous sample's are dimmed (never shown as this one's).
    const side = this.root.querySelector(".modal-side");
    side.setAttribute("aria-busy", "true");
    let full;
    try {
      full = await api(dsPath(dataset, `/samples/${sample.id}`));
    } catch (err) {
      this.onError(err);
      return;
    }
    if (request !== this.request) return;
    this.renderFields(full);
    this.renderLogits(full);
    side.dataset.sampleId = sample.id;
    side.setAttribute("aria-busy", "false");
    api(dsPath(dataset, `/samples/${sample.id}/history`))
      .then(({ entries }) => {
        if (request === this.request) document.getElementById("modal-logits").append(historyTable(entries));
      })
      .catch(this.onError);
  }

  renderFields(doc) {
    const table = document.getElementById("modal-fields");
    const rows = [];
    const add = (name, value) => rows.push(el("tr", "", el("td", "", name), el("td", "", value)));
    const entries = Object.entries(doc).sort(([a], [b]) => (b === "id") - (a === "id"));
    for (const [name, value] of entries) {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [key, inner] of Object.entries(value)) {
          if (key.startsWith("_") || key === "logits") continue;
          add(`${name}.${key}`, describe(inner));
        }
        if (charted(value)) add(`${name}.logits`, `${value.logits.length} values (chart above)`);
        else if (value.logits !== null && value.logits !== undefined) add(`${name}.logits`, describe(value.logits));
      } else {
        add(name, describe(value));
      }
    }
    table.replaceChildren(...rows);
  }

  renderLogits(doc) {
    const root = document.getElementById("modal-logits");
    const classes = this.getClasses();
    const truthLabel = Object.values(doc).find((value) => rendererOf(value));
    const truth = truthLabel && rendererOf(truthLabel).classOf(truthLabel);
    const charts = [];
    for (const [name, value] of Object.entries(doc)) {
      if (!charted(value)) continue;
      const probs = value._probabilities;
      const best = value.logits.indexOf(Math.max(...value.logits));
      charts.push(testid(el("div", "chart", el("h4", "", `${name} · logits (bars: softmax)`),
        ...value.logits.map((logit, i) => {
          const label = classes[i] !== undefined ? classes[i] : String(i);
          const row = barRow(label, probs[i], formatNumber(logit), { gt: label === truth, pred: i === best });
          row.title = `${label}: logit ${formatNumber(logit)}, p=${probs[i].toFixed(3)}`;
          return row;
        })), "logits-chart"));
    }
    root.replaceChildren(...charts);
  }
}
