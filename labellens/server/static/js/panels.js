// The panels beside the grid: evaluation (confusion matrix, per-class bars, accuracy), the embeddings
// map (a canvas scatter with hover thumbnails and lasso selection) and the data issues. Each reads the
// current view from the server; a click sets extra stages on the grid's view through `setStages`.

import { api, dsPath, mediaUrl } from "./api.js";
import { classColor } from "./colors.js";
import { bar, el, option, testid } from "./dom.js";

const MAP_SIZE = 400;
const HOVER_PX = 6;

function select(options, value, onChange, id) {
  const node = testid(el("select", "", ...options.map((name) => option(name, name))), id);
  if (value !== null && value !== undefined) node.value = value;
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

// Whether point (x, y) lies inside the polygon `points` ([[x, y], ...]), by ray casting.
function inside(x, y, points) {
  let hit = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

export class Panels {
  constructor({ getDataset, getBody, setStages, select: selectIds, onError }) {
    this.getDataset = getDataset;
    this.getBody = getBody;
    this.setStages = setStages;
    this.selectIds = selectIds;
    this.onError = onError;
    this.root = document.getElementById("panels");
    this.tab = "evaluation";
    this.options = { evaluation: {}, map: {}, issues: {} };
    this.active = null; // description of the stages this panel set on the grid
    this.map = null;
    document.getElementById("panels-toggle").addEventListener("click", () => this.toggle());
    for (const button of this.root.querySelectorAll("[data-tab]")) {
      button.addEventListener("click", () => { this.tab = button.dataset.tab; this.refresh(); });
    }
    document.getElementById("panel-clear").addEventListener("click", () => this.apply([], null));
  }

  toggle() {
    this.root.hidden = !this.root.hidden;
    document.body.classList.toggle("panels-open", !this.root.hidden);
    if (!this.root.hidden) this.refresh();
  }

  apply(stages, description) {
    this.active = description;
    const clear = document.getElementById("panel-clear");
    clear.hidden = !description;
    clear.textContent = description ? `✕ ${description}` : "";
    this.setStages(stages);
  }

  async refresh() {
    if (this.root.hidden || !this.getDataset()) return;
    for (const button of this.root.querySelectorAll("[data-tab]")) {
      button.classList.toggle("on", button.dataset.tab === this.tab);
    }
    const body = document.getElementById("panel-body");
    const generation = (this.generation = (this.generation || 0) + 1);
    try {
      const path = { evaluation: "/evaluation", map: "/embeddings", issues: "/issues" }[this.tab];
      const withPanel = this.tab === "map";
      const data = await api(dsPath(this.getDataset(), path), this.getBody(this.options[this.tab], withPanel));
      if (generation !== this.generation) return;
      const render = { evaluation: this.renderEvaluation, map: this.renderMap, issues: this.renderIssues };
      body.replaceChildren(data.available ? render[this.tab].call(this, data)
        : el("p", "muted", data.reason));
      body.dataset.ready = String(generation);
    } catch (err) {
      this.onError(err);
    }
  }

  // -- evaluation ---------------------------------------------------------------------------------

  renderEvaluation(data) {
    const pick = (key) => (value) => { this.options.evaluation[key] = value; this.refresh(); };
    const head = el("div", "row panel-row",
      el("span", "muted", "truth"), select(data.label_fields, data.gt_field, pick("gt_field"), "eval-gt"),
      el("span", "muted", "pred"), select(data.label_fields, data.pred_field, pick("pred_field"), "eval-pred"));
    const accuracy = testid(el("div", "eval-accuracy",
      `accuracy ${(100 * data.accuracy).toFixed(1)}% on ${data.count.toLocaleString()} samples`), "eval-accuracy");
    accuracy.dataset.value = String(data.accuracy);
    const names = data.classes;
    const titled = (node, title) => Object.assign(node, { title });
    const table = testid(el("table", "confusion", el("tr", "", el("th", "", "true \\ pred"),
      ...names.map((n) => titled(el("th", "col", n), n)))), "confusion");
    data.matrix.forEach((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const tr = el("tr", "", titled(el("th", "", names[i]), names[i]));
      row.forEach((count, j) => {
        const cell = titled(el("td", "", count ? String(count) : ""), `${names[i]} → ${names[j]}: ${count}`);
        Object.assign(cell.dataset, { testid: "eval-cell", true: names[i], pred: names[j], count: String(count) });
        const share = count / total;
        cell.style.background = i === j ? `rgba(62, 207, 142, ${0.15 + 0.75 * share})`
          : `rgba(255, 77, 94, ${count ? 0.12 + 0.88 * Math.min(1, share * 3) : 0})`;
        cell.addEventListener("click", () => this.cell(data, names[i], names[j]));
        tr.append(cell);
      });
      table.append(tr);
    });
    const bars = testid(el("div", "pr-bars"), "pr-bars");
    for (const name of names) {
      const metrics = data.per_class[name];
      if (!metrics) continue;
      const metric = (value, kind) => titled(bar(value, `bar ${kind}`), `${kind} ${value.toFixed(3)}`);
      const swatch = el("span", "swatch");
      swatch.style.background = classColor(name);
      bars.append(el("div", "pr-row", swatch, el("span", "pr-name", name),
        metric(metrics.precision, "precision"), metric(metrics.recall, "recall")));
    }
    const legend = el("div", "muted small", "bars: precision (top), recall (bottom)");
    return el("div", "", head, accuracy, el("div", "confusion-wrap", table), legend, bars);
  }

  cell(data, truth, pred) {
    const value = (name) => (name === data.missing ? null : name);
    const filter = { [`${data.gt_field}.label`]: value(truth), [`${data.pred_field}.label`]: value(pred) };
    this.apply([{ _cls: "Match", kwargs: { filter } }], `${data.gt_field} ${truth} → ${data.pred_field} ${pred}`);
  }

  // -- embeddings map -----------------------------------------------------------------------------

  renderMap(data) {
    const pick = (key) => (value) => { this.options.map[key] = value; this.refresh(); };
    const head = el("div", "row panel-row",
      select(data.brain_keys, data.brain_key, pick("brain_key"), "map-key"),
      el("span", "muted", "colour"), select(data.color_fields, data.color_by, pick("color_by"), "map-color"));
    const canvas = testid(Object.assign(el("canvas"), { width: MAP_SIZE, height: MAP_SIZE }), "map-canvas");
    const tip = el("div", "map-tip", Object.assign(el("img"), { alt: "" }), el("span"));
    tip.hidden = true;
    const status = testid(el("div", "muted small",
      `${data.ids.length.toLocaleString()} points; drag to lasso, the grid shows the selection`), "map-status");
    const wrap = el("div", "map-wrap", canvas, tip);
    this.map = this.layout(data);
    this.drawMap(canvas, null);
    this.wireMap(canvas, tip, status);
    return el("div", "", head, wrap, status);
  }

  layout(data) {
    const n = data.ids.length;
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, data.x[i]); x1 = Math.max(x1, data.x[i]);
      y0 = Math.min(y0, data.y[i]); y1 = Math.max(y1, data.y[i]);
    }
    const pad = 8;
    const scale = (MAP_SIZE - 2 * pad) / Math.max(x1 - x0, y1 - y0, 1e-9);
    const px = new Float32Array(n);
    const py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = pad + (data.x[i] - x0) * scale;
      py[i] = MAP_SIZE - pad - (data.y[i] - y0) * scale;
    }
    const numeric = data.colors.filter((c) => typeof c === "number");
    const lo = numeric.length ? Math.min(...numeric.slice(0, 200000)) : 0;
    const hi = numeric.length ? Math.max(...numeric.slice(0, 200000)) : 1;
    const color = (value) => {
      if (value === null || value === undefined) return "#5a6070";
      if (typeof value === "boolean") return value ? "#3ecf8e" : "#ff4d5e";
      if (typeof value === "number") {
        const t = hi > lo ? (value - lo) / (hi - lo) : 0.5;
        return `hsl(${(240 - 240 * t).toFixed(0)}, 80%, 58%)`;
      }
      return classColor(value);
    };
    const colors = data.colors.map(color);
    // a coarse grid of point indices for hover look-ups
    const cells = new Map();
    for (let i = 0; i < n; i++) {
      const key = `${Math.floor(px[i] / HOVER_PX)},${Math.floor(py[i] / HOVER_PX)}`;
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(i);
    }
    return { data, px, py, colors, cells, lasso: null };
  }

  drawMap(canvas, lasso) {
    const { data, px, py, colors } = this.map;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, MAP_SIZE, MAP_SIZE);
    const dim = data.in_view;
    const n = data.ids.length;
    const size = n > 20000 ? 1.5 : n > 2000 ? 3 : 6;
    const pass = (wanted) => {
      for (let i = 0; i < px.length; i++) {
        const shown = !dim || dim[i] === 1;
        if (shown !== wanted) continue;
        ctx.fillStyle = colors[i];
        ctx.fillRect(px[i] - size / 2, py[i] - size / 2, size, size);
      }
    };
    ctx.globalAlpha = 0.2;
    if (dim) pass(false);
    ctx.globalAlpha = 0.9;
    pass(true);
    ctx.globalAlpha = 1;
    if (lasso && lasso.length > 1) {
      ctx.strokeStyle = "#ff8a3d";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(...lasso[0]);
      for (const point of lasso.slice(1)) ctx.lineTo(...point);
      ctx.closePath();
      ctx.stroke();
    }
  }

  nearest(x, y) {
    const { px, py, cells } = this.map;
    let best = -1;
    let bestDistance = HOVER_PX * HOVER_PX;
    const cx = Math.floor(x / HOVER_PX);
    const cy = Math.floor(y / HOVER_PX);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const i of cells.get(`${cx + dx},${cy + dy}`) || []) {
          const d = (px[i] - x) ** 2 + (py[i] - y) ** 2;
          if (d < bestDistance) { best = i; bestDistance = d; }
        }
      }
    }
    return best;
  }

  wireMap(canvas, tip, status) {
    const position = (event) => {
      const rect = canvas.getBoundingClientRect();
      return [(event.clientX - rect.left) * (MAP_SIZE / rect.width),
        (event.clientY - rect.top) * (MAP_SIZE / rect.height)];
    };
    let lasso = null;
    canvas.addEventListener("mousedown", (event) => { lasso = [position(event)]; tip.hidden = true; });
    canvas.addEventListener("mousemove", (event) => {
      const [x, y] = position(event);
      if (lasso) {
        lasso.push([x, y]);
        this.drawMap(canvas, lasso);
        return;
      }
      const i = this.nearest(x, y);
      if (i < 0) { tip.hidden = true; return; }
      const { data } = this.map;
      tip.querySelector("img").src = mediaUrl(this.getDataset(), data.ids[i], true);
      tip.querySelector("span").textContent = data.colors[i] === null ? "" : String(data.colors[i]);
      tip.style.left = `${Math.min(x + 12, MAP_SIZE - 90)}px`;
      tip.style.top = `${Math.min(y + 12, MAP_SIZE - 100)}px`;
      tip.dataset.id = data.ids[i];
      tip.hidden = false;
    });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
    window.addEventListener("mouseup", () => {
      if (!lasso) return;
      const polygon = lasso;
      lasso = null;
      if (polygon.length < 3) { this.drawMap(canvas, null); return; }
      const { data, px, py } = this.map;
      const ids = [];
      for (let i = 0; i < px.length; i++) if (inside(px[i], py[i], polygon)) ids.push(data.ids[i]);
      this.drawMap(canvas, polygon);
      status.textContent = `${ids.length.toLocaleString()} points selected`;
      status.dataset.selected = String(ids.length);
      if (!ids.length) return;
      this.selectIds(ids);
      this.apply([{ _cls: "Select", kwargs: { sample_ids: ids, ordered: false } }],
        `${ids.length} from the map`);
    });
  }

  // -- issues -------------------------------------------------------------------------------------

  renderIssues(data) {
    const list = testid(el("div", "issue-list"), "issue-list");
    for (const row of data.rows) {
      const button = Object.assign(el("button", "issue-row",
        el("span", "issue-name", row.issue.replaceAll("_", " ")), bar(row.fraction, "issue-bar"),
        el("span", "n", `${row.count.toLocaleString()} (${(100 * row.fraction).toFixed(1)}%)`)),
      { disabled: row.count === 0, title: row.description });
      Object.assign(button.dataset, { testid: "issue-row", issue: row.issue, count: String(row.count) });
      button.addEventListener("click", () => {
        const stages = [{ _cls: "Match", kwargs: { filter: row.query } }];
        if (row.score_field) {
          stages.push({ _cls: "SortBy", kwargs: { field_or_expr: row.score_field, reverse: !row.low_is_worse } });
        }
        this.apply(stages, `issue: ${row.issue.replaceAll("_", " ")}`);
      });
      list.append(button);
    }
    const skipped = Object.entries(data.skipped || {}).map(([name, why]) => `${name}: ${why}`).join("; ");
    return el("div", "",
      el("div", "muted small", `report ${data.key}, counted on the current view of ` +
        `${data.view_count.toLocaleString()} samples`),
      list, skipped ? el("div", "muted small", `not run: ${skipped}`) : null);
  }
}
