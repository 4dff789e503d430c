// Review mode: one queued sample at a time, one key per decision, written at once, with undo.
//
// The tab leases the next few samples of the queue (prefetching their images), shows the current
// one and renews the leases while it holds them. A decision is sent to the server and the next
// sample is shown without waiting for the write; Z waits for the last write, then undoes it.
// Each decision carries the label the card showed and an id made here: the server refuses it (409)
// when the label changed meanwhile, and a retry after a lost answer (same id) is written once.
// Keys: Enter accept · K keep · 1-9, 0 pick a numbered class · X unusable · S skip · Z undo ·
// ← → move · / or any other letter: filter the classes · Esc: clear the filter, then leave.

import { ApiError, api, dsPath, mediaUrl, tokenHeaders } from "./api.js";
import { chip, el } from "./dom.js";
import { formatNumber } from "./grid.js";

const PREFETCH = 4;
const PROGRESS_MS = 1500;  // the header's counts are re-read from the server this long after the last write
const RENEW_MS = 10000;
const NUMBERED = 10;
const COMMANDS = new Set(["k", "x", "s", "z"]);
const RETRY_MS = [500, 1500, 4000];  // waits before resending a decision whose answer was lost
const RETRY_STATUS = new Set([502, 503, 504]);

function testid(node, id) {
  node.dataset.testid = id;
  return node;
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(0)}%`;
}

// A random id ([a-z0-9-]); crypto.getRandomValues, since crypto.randomUUID is missing on plain-http pages.
function randomId(prefix, size) {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return prefix + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// send() again (the same request, so the same decision id) while the network or a proxy fails.
async function retried(send) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send();
    } catch (err) {
      const lost = !(err instanceof ApiError) || RETRY_STATUS.has(err.status);
      if (!lost || attempt >= RETRY_MS.length) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
    }
  }
}

// "#review" or "#review?field=ground_truth&order=label_issue&reviewed=1": what labellens.review() asks.
export function reviewRequest(hash) {
  if (!hash.startsWith("#review")) return null;
  const params = new URLSearchParams(hash.slice("#review".length).replace(/^\?/, ""));
  return {
    labelField: params.get("field") || null,
    orderBy: params.get("order") || null,
    includeReviewed: params.get("reviewed") === "1",
  };
}

// Accept the suggestions of the selected samples, after a confirmation that says how many labels change.
export async function bulkAccept(dataset, ids, labelField, onDone, onError) {
  const body = { ids, label_field: labelField || undefined };
  try {
    const plan = await api(dsPath(dataset, "/review/bulk"), body);
    const message = `Accept the suggested label of ${plan.samples} of ${plan.selected} selected samples? `
      + `${plan.changes} label${plan.changes === 1 ? "" : "s"} will change; all ${plan.samples} are tagged "reviewed".`;
    if (!plan.samples || !window.confirm(message)) return;
    const done = await api(dsPath(dataset, "/review/bulk"), { ...body, confirm: true });
    onDone(`accepted ${done.written} suggestions (${plan.changes} labels changed)`);
  } catch (err) {
    onError(err);
  }
}

// The label history of one sample as a table (for the sample modal).
export async function historyTable(dataset, sampleId) {
  const { entries } = await api(dsPath(dataset, `/samples/${sampleId}/history`));
  const box = testid(el("div", "history"), "sample-history");
  box.append(el("h4", "", entries.length ? "Label history" : "Label history: no changes yet"));
  if (!entries.length) return box;
  const table = el("table", "history-table");
  for (const entry of entries) {
    const row = el("tr");
    const when = new Date(entry.time).toLocaleString();
    row.append(el("td", "", when), el("td", "", entry.decision), el("td", "", entry.field),
      el("td", "", `${entry.old_label ?? "None"} → ${entry.new_label ?? "None"}`), el("td", "", entry.reviewer));
    table.append(row);
  }
  box.append(table);
  return box;
}

export class Review {
  constructor({ getDataset, getView, getFilters, onClose, onError }) {
    this.getDataset = getDataset;
    this.getView = getView;
    this.getFilters = getFilters;
    this.onClose = onClose;
    this.onError = onError;
    this.client = randomId("tab-", 9);
    this.reviewer = null;
    this.root = document.getElementById("review");
    this.isOpen = false;
    document.addEventListener("keydown", (event) => this.key(event));
    // a closed tab gives its samples back at once (else its leases run out within 30 s)
    window.addEventListener("pagehide", () => {
      if (!this.isOpen) return;
      const ids = this.items.filter((item) => !item.entry).map((item) => item.id);
      fetch(dsPath(this.dataset, "/review/release"), {
        method: "POST", keepalive: true, headers: { ...tokenHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify({ client: this.client, ids }),
      }).catch(() => {});
    });
  }

  // -- opening and closing ---------------------------------------------------------------

  async open({ labelField = null, orderBy = null, includeReviewed = false } = {}) {
    this.dataset = this.getDataset();
    if (!this.dataset) return;
    this.request = { view: this.getView(), filters: this.getFilters(), include_reviewed: includeReviewed };
    if (labelField) this.request.label_field = labelField;
    if (orderBy) this.request.order_by = orderBy;
    this.items = [];
    this.pos = 0;
    this.undoStack = [];
    this.pending = 0;
    this.exhausted = false;
    this.fetching = null;
    this.filter = "";
    this.isOpen = true;
    this.build();
    this.root.hidden = false;
    this.renderWho();
    api("api/whoami").then(({ reviewer }) => { this.reviewer = reviewer; this.renderWho(); }).catch(() => {});
    try {
      const queue = await this.post("/review/queue", {});
      this.config = queue;
      this.request.label_field = queue.label_field;
      this.renderProgress(queue.progress);
      this.renderTitle();
      await this.fill();
    } catch (err) {
      this.onError(err);
      return;
    }
    this.show();
    this.renewTimer = setInterval(() => this.renew(), RENEW_MS);
  }

  async close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    clearInterval(this.renewTimer);
    clearTimeout(this.progressTimer);
    this.root.hidden = true;
    const held = this.items.filter((item) => !item.entry).map((item) => item.id);
    if (held.length) this.post("/review/release", { ids: held }).catch(() => {});
    if (window.location.hash.startsWith("#review")) history.replaceState(null, "", window.location.pathname + window.location.search);
    this.onClose();
  }

  post(rest, body) {
    return api(dsPath(this.dataset, rest), { ...this.request, client: this.client, ...body });
  }

  // -- the queue ---------------------------------------------------------------------------

  // Lease samples until PREFETCH are waiting after the current one (or the queue runs out).
  fill() {
    if (this.fetching) return this.fetching;
    const waiting = this.items.length - this.pos - 1;
    if (this.exhausted || waiting >= PREFETCH) return Promise.resolve();
    const count = PREFETCH - Math.max(waiting, 0) + (this.pos >= this.items.length ? 1 : 0);
    this.fetching = this.post("/review/next", { count, exclude: this.items.map((item) => item.id) })
      .then(({ samples }) => {
        if (samples.length < count) this.exhausted = true;
        for (const card of samples) {
          this.items.push({ ...card, given: card.label, entry: null, write: Promise.resolve(null) });
          new Image().src = mediaUrl(this.dataset, card.id, false);  // prefetch
        }
      })
      .finally(() => { this.fetching = null; });
    return this.fetching;
  }

  async renew() {
    // the shown sample and the prefetched ones (skipped samples stay free for others)
    const ids = this.items.filter((item, i) => i >= this.pos && !item.entry && (!item.skipped || i === this.pos))
      .map((item) => item.id);
    if (!ids.length) return;
    try {
      const { held } = await this.post("/review/renew", { ids });
      const kept = new Set(held);
      const current = this.items[this.pos];
      // a sample whose lease ran out (and went to another tab) leaves this tab's queue
      this.items = this.items.filter((item, i) => i <= this.pos || item.entry || kept.has(item.id));
      if (current && !current.entry && !kept.has(current.id)) this.onError("another reviewer now holds this sample");
    } catch (err) {
      this.onError(err);
    }
  }

  // -- decisions ---------------------------------------------------------------------------

  decide(decision, label = null) {
    const item = this.items[this.pos];
    if (!item) return;
    // the server writes only if the label is still the one this card shows (seen_label)
    const body = { sample_id: item.id, decision, label, seen_label: item.label ?? null,
      decision_id: randomId("d-", 12), score: item.score, suggestion: item.suggestion };
    this.pending += 1;
    this.paintPending();
    item.decision = decision;
    item.conflict = null;
    item.label = decision === "keep" || decision === "unusable" ? item.label : label;
    // writes of one sample go in order; the next sample shows at once
    item.write = item.write.then(() => retried(() => this.post("/review/decide", body)))
      .then(({ entry }) => { this.count(item, entry, 1); item.entry = entry; return entry; })
      .catch((err) => { this.refused(item, err); return null; })
      .finally(() => { this.pending -= 1; this.paintPending(); this.scheduleProgress(); this.showIf(item); });
    this.undoStack.push(item);
    this.move(1);
  }

  // A decision not written: say why; on a conflict (409) the card is undecided again with the label now stored.
  refused(item, err) {
    item.decision = null;
    if (!(err instanceof ApiError) || err.status !== 409) {
      this.onError(err);
      return;
    }
    item.entry = null;
    this.conflict(item, `Not decided: ${err.message}`);
  }

  conflict(item, message) {
    item.conflict = message;
    this.onError(message);
    this.showIf(item);
    return this.refreshLabel(item);
  }

  async refreshLabel(item) {
    try {
      const sample = await api(dsPath(this.dataset, `/samples/${item.id}`));
      const stored = sample[this.request.label_field];
      item.label = stored && stored.label !== undefined ? stored.label : null;
    } catch (err) {
      this.onError(err);
    }
    this.showIf(item);
  }

  showIf(item) {
    if (this.items[this.pos] === item) this.show();
  }

  async undo() {
    const item = this.undoStack.pop();
    if (!item) {
      this.onError("nothing to undo");
      return;
    }
    this.pending += 1;
    this.paintPending();
    const index = this.items.indexOf(item);
    if (index >= 0) this.pos = index;
    const entry = await item.write;
    try {
      if (entry) {
        const result = await this.post("/review/undo", { sample_id: item.id, entry_id: entry.id });
        item.label = result.entry.new_label;
        this.count(item, entry, -1);
      }
      item.entry = null;
      item.decision = null;
      item.conflict = null;
    } catch (err) {
      // 409: the label changed after this decision; the decision stays and the card shows the label now
      if (err instanceof ApiError && err.status === 409) await this.conflict(item, `Not undone: ${err.message}`);
      else this.onError(err);
    } finally {
      this.pending -= 1;
      this.paintPending();
      this.scheduleProgress();
    }
    this.show();
  }

  async move(step) {
    const next = this.pos + step;
    if (next < 0) return;
    if (next >= this.items.length) {
      this.pos = this.items.length;
      this.show();
      await this.fill();
      if (!this.isOpen || this.pos >= this.items.length) {
        this.show();
        return;
      }
    } else {
      this.pos = next;
    }
    this.show();
    this.fill().catch((err) => this.onError(err));
  }

  skip() {
    const item = this.items[this.pos];
    if (item && !item.entry) {
      item.skipped = true;
      this.post("/review/release", { ids: [item.id] }).catch(() => {});
    }
    this.move(1);
  }

  // Count a first decision on a sample (or its undo) in the header at once; the server's counts follow.
  count(item, entry, sign) {
    const p = this.progress;
    const first = !(entry.old_tags || []).includes("reviewed");
    if (!p || !first || (sign > 0 && item.entry)) return;
    const kind = entry.new_tags.includes("unusable") ? "unusable" : entry.new_tags.includes("relabeled") ? "changed" : "kept";
    p.reviewed += sign;
    p.in_queue -= sign;
    p[kind] += sign;
    if (p.wrong_left !== null && typeof item.score === "number") p.wrong_left -= sign * item.score;
    p.changed_share = p.reviewed ? p.changed / p.reviewed : null;
    this.renderProgress(p);
  }

  scheduleProgress() {
    clearTimeout(this.progressTimer);
    this.progressTimer = setTimeout(async () => {
      try {
        this.renderProgress(await this.post("/review/progress", {}));
      } catch (err) {
        this.onError(err);
      }
    }, PROGRESS_MS);
  }

  // -- keys --------------------------------------------------------------------------------

  key(event) {
    if (!this.isOpen || event.ctrlKey || event.metaKey || event.altKey) return;
    const inFilter = event.target === this.filterInput;
    const key = event.key;
    const lower = key.length === 1 ? key.toLowerCase() : key;
    if (key === "Escape") {
      if (this.filter) this.setFilter("");
      else this.close();
    } else if (key === "Enter") {
      const item = this.items[this.pos];
      if (!item) return;
      if (this.filter) {
        const first = this.matches()[0];
        if (first) this.pick(first);
      } else if (item.suggestion || item.prediction) {
        this.decide("accept", item.suggestion || item.prediction);
      }
    } else if (/^[0-9]$/.test(key)) {
      const index = key === "0" ? 9 : Number(key) - 1;
      const choice = this.matches()[index];
      if (choice) this.pick(choice);
    } else if (key === "ArrowRight" && !inFilter) {
      this.move(1);
    } else if (key === "ArrowLeft" && !inFilter) {
      this.move(-1);
    } else if (inFilter) {
      return;  // typing in the filter box
    } else if (COMMANDS.has(lower) && !this.filter) {
      if (lower === "k" && this.items[this.pos]) this.decide("keep");
      else if (lower === "x" && this.items[this.pos]) this.decide("unusable");
      else if (lower === "s") this.skip();
      else if (lower === "z") this.undo();
    } else if (key === "/" || (key.length === 1 && /\p{L}/u.test(key))) {
      this.filterInput.focus();
      if (key !== "/") this.setFilter(this.filter + key);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  pick(label) {
    const item = this.items[this.pos];
    if (!item) return;
    this.setFilter("");
    this.decide("pick", label);
  }

  setFilter(text) {
    this.filter = text;
    this.filterInput.value = text;
    if (!text) this.filterInput.blur();
    this.renderClasses();
  }

  classes() {
    return (this.config && this.config.classes && this.config.classes.length) ? this.config.classes : [];
  }

  // The classes offered for number keys: those matching the filter (prefix matches first).
  matches() {
    const text = this.filter.trim().toLowerCase();
    const all = this.classes();
    if (!text) return all;
    const starts = all.filter((c) => c.toLowerCase().startsWith(text));
    const contains = all.filter((c) => !c.toLowerCase().startsWith(text) && c.toLowerCase().includes(text));
    return [...starts, ...contains];
  }

  // -- drawing -----------------------------------------------------------------------------

  build() {
    const head = el("header", "review-head");
    const exit = testid(el("button", "small", "✕ Exit review (Esc)"), "review-exit");
    exit.addEventListener("click", () => this.close());
    this.titleNode = el("span", "review-title");
    this.whoNode = testid(el("span", "review-who muted"), "review-reviewer");
    this.progressNode = testid(el("div", "review-progress"), "review-progress");
    head.append(exit, this.titleNode, this.whoNode, el("span", "spacer"), this.progressNode);

    this.img = testid(el("img"), "review-img");
    this.img.alt = "";
    this.img.addEventListener("load", () => this.img.classList.toggle("pixelated", this.img.naturalWidth < 96));
    const media = el("div", "review-media");
    media.append(this.img);

    this.facts = testid(el("div", "review-facts"), "review-facts");
    this.top = testid(el("div", "review-top"), "review-top");
    this.filterInput = testid(el("input", "review-filter"), "review-filter");
    this.filterInput.placeholder = "type to filter classes (/)";
    this.filterInput.addEventListener("input", () => {
      this.filter = this.filterInput.value;
      this.renderClasses();
    });
    this.classList = testid(el("ol", "review-classes"), "review-classes");
    const keys = el("div", "review-keys muted",
      "Enter accept · K keep · 1–9, 0 pick · X unusable · S skip · Z undo · ← → move · type to filter · Esc exit");
    this.statusNode = testid(el("div", "review-status muted"), "review-status");
    this.conflictNode = testid(el("div", "review-conflict"), "review-conflict");
    const side = el("div", "review-side");
    side.append(this.facts, this.conflictNode, this.top, this.filterInput, this.classList, keys, this.statusNode);
    const body = el("div", "review-body");
    body.append(media, side);
    this.root.replaceChildren(head, body);
  }

  // Who the history records, when the URL's token names a reviewer (the server ignores any other name).
  renderWho() {
    this.whoNode.textContent = this.reviewer ? `signed in as ${this.reviewer}` : "";
    this.whoNode.hidden = !this.reviewer;
  }

  renderTitle() {
    const { label_field: field, score_field: score } = this.config;
    this.titleNode.textContent = `Review · ${this.dataset} · ${field}${score ? ` by ${score} ↓` : ""}`;
  }

  renderProgress(p) {
    this.progress = p;
    const done = p.reviewed + p.in_queue;
    const parts = [
      ["reviewed", `${p.reviewed.toLocaleString()} reviewed / ${p.in_queue.toLocaleString()} in queue`],
      ["kept", `kept ${p.kept}`], ["changed", `changed ${p.changed}`], ["unusable", `unusable ${p.unusable}`],
      ["share", `${percent(p.changed_share)} of reviewed changed`],
      ["left", p.wrong_left === null ? "" : `≈ ${formatNumber(Math.round(p.wrong_left))} wrong labels left`],
    ];
    this.progressNode.replaceChildren(...parts.filter(([, text]) => text).map(([name, text]) => {
      const span = el("span", `p-${name}`, text);
      return span;
    }));
    this.progressNode.title = `${done} samples in this view`;
    Object.assign(this.progressNode.dataset, {
      reviewed: p.reviewed, inQueue: p.in_queue, kept: p.kept, changed: p.changed, unusable: p.unusable,
    });
  }

  paintPending() {
    this.root.dataset.pending = String(this.pending);
  }

  show() {
    if (!this.isOpen) return;
    const item = this.items[this.pos];
    this.root.dataset.sampleId = item ? item.id : "";
    if (!item) {
      this.img.removeAttribute("src");
      const done = this.exhausted || this.fetching === null;
      this.facts.replaceChildren(el("h3", "", done ? "The queue is empty: every sample here is reviewed or held by another reviewer." : "loading…"));
      this.top.replaceChildren();
      this.classList.replaceChildren();
      this.statusNode.textContent = "";
      this.conflictNode.hidden = true;
      return;
    }
    this.img.src = mediaUrl(this.dataset, item.id, false);
    this.renderFacts(item);
    this.renderTop(item);
    this.renderClasses();
    this.conflictNode.textContent = item.conflict || "";
    this.conflictNode.hidden = !item.conflict;
    const state = item.entry ? `decided: ${item.entry.decision}` : item.decision ? `saving: ${item.decision}…`
      : item.skipped ? "skipped" : "";
    this.statusNode.textContent = `${this.pos + 1} of ${this.items.length} fetched${state ? " · " + state : ""}`;
  }

  renderFacts(item) {
    const rows = [];
    const add = (name, ...value) => {
      const row = el("div", "fact");
      row.append(el("span", "k", name), ...value);
      rows.push(row);
    };
    add("given", testid(chip(item.given), "review-given"));
    if (item.label !== item.given) add("now", testid(chip(item.label), "review-label"));
    if (item.prediction) {
      add("prediction", testid(chip(item.prediction), "review-prediction"),
        el("span", "muted", item.confidence === null || item.confidence === undefined ? "" : ` ${percent(item.confidence)}`));
    }
    if (item.suggestion) add("suggestion", testid(chip(item.suggestion), "review-suggestion"));
    if (item.score !== null && item.score !== undefined) {
      add(this.config.score_field, testid(el("span", "score-v", formatNumber(item.score)), "review-score"));
    }
    this.facts.replaceChildren(...rows);
  }

  renderTop(item) {
    const rows = (item.top || []).map(({ label, p }) => {
      const row = el("div", "bar-row");
      if (label === item.given) row.classList.add("gt");
      if (label === item.prediction) row.classList.add("pred");
      const bar = el("div", "bar");
      const fill = el("span");
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      bar.append(fill);
      row.append(el("span", "name", label), bar, el("span", "v", p.toFixed(3)));
      return row;
    });
    this.top.replaceChildren(...(rows.length ? [el("h4", "", "top classes"), ...rows] : []));
  }

  renderClasses() {
    const item = this.items[this.pos];
    const matches = this.matches();
    const nodes = matches.slice(0, NUMBERED).map((label, i) => {
      const li = el("li", label === (item && item.label) ? "current" : "");
      li.append(el("kbd", "", String((i + 1) % 10)), chip(label));
      li.addEventListener("click", () => this.pick(label));
      return li;
    });
    if (matches.length > NUMBERED) nodes.push(el("li", "muted", `+ ${matches.length - NUMBERED} more: type to filter`));
    if (!matches.length) nodes.push(el("li", "muted", "no class matches"));
    this.classList.replaceChildren(...nodes);
  }
}
