// Review mode's view: one queued sample at a time, one key per decision, drawn from a review session
// (review-session.js: the leases, decisions and undo, without the DOM).
// Keys: Enter accept · K keep · 1-9, 0 pick a numbered class · X unusable · S skip · Z undo ·
// ← → move · / or any other letter: filter the classes · Esc: clear the filter, then leave.

import { api, dsPath, mediaUrl } from "./api.js";
import { barRow, chip, el, formatNumber, percent, testid } from "./dom.js";
import { ReviewSession } from "./review-session.js";

const NUMBERED = 10;
const COMMANDS = new Set(["k", "x", "s", "z"]);

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

// The classes offered for number keys: those matching the filter text (prefix matches first).
function matching(classes, filter) {
  const text = filter.trim().toLowerCase();
  if (!text) return classes;
  const starts = classes.filter((c) => c.toLowerCase().startsWith(text));
  const contains = classes.filter((c) => !c.toLowerCase().startsWith(text) && c.toLowerCase().includes(text));
  return [...starts, ...contains];
}

export class Review {
  // getDataset() names the dataset; getBody(extra) gives the view and filters a request carries.
  constructor({ getDataset, getBody, onClose, onError }) {
    this.getDataset = getDataset;
    this.getBody = getBody;
    this.onClose = onClose;
    this.onError = onError;
    this.reviewer = null;
    this.root = document.getElementById("review");
    this.session = null;
    document.addEventListener("keydown", (event) => this.key(event));
    window.addEventListener("pagehide", () => { if (this.session) this.session.releaseOnExit(); });
  }

  // -- opening and closing ---------------------------------------------------------------

  async open({ labelField = null, orderBy = null, includeReviewed = false } = {}) {
    const dataset = this.getDataset();
    if (!dataset) return;
    const request = this.getBody({ include_reviewed: includeReviewed });
    if (labelField) request.label_field = labelField;
    if (orderBy) request.order_by = orderBy;
    // a session's hooks draw only while it is the open one (a closed session's writes may still answer)
    const mine = (draw) => (...args) => { if (this.session === session) draw(...args); };
    const session = this.session = new ReviewSession(dataset, request, {
      show: mine(() => this.show()), progress: mine((p) => this.renderProgress(p)), error: this.onError,
      pending: mine((n) => { this.root.dataset.pending = String(n); }),
    });
    this.filter = "";
    this.build();
    this.root.hidden = false;
    this.renderWho();
    api("api/whoami").then(({ reviewer }) => { this.reviewer = reviewer; this.renderWho(); }).catch(() => {});
    try {
      await session.start();
      this.renderTitle();
      await session.fill();
    } catch (err) {
      this.onError(err);
      return;
    }
    this.show();
  }

  close() {
    if (!this.session) return;
    this.session.close();
    this.session = null;
    this.root.hidden = true;
    if (window.location.hash.startsWith("#review")) history.replaceState(null, "", window.location.pathname + window.location.search);
    this.onClose();
  }

  // -- keys --------------------------------------------------------------------------------

  key(event) {
    const session = this.session;
    if (!session || event.ctrlKey || event.metaKey || event.altKey) return;
    const inFilter = event.target === this.filterInput;
    const key = event.key;
    const lower = key.length === 1 ? key.toLowerCase() : key;
    const item = session.current;
    if (key === "Escape") {
      if (this.filter) this.setFilter("");
      else this.close();
    } else if (key === "Enter") {
      if (!item) return;
      if (this.filter) {
        const first = this.matches()[0];
        if (first) this.pick(first);
      } else if (item.suggestion || item.prediction) {
        session.decide("accept", item.suggestion || item.prediction);
      }
    } else if (/^[0-9]$/.test(key)) {
      const choice = this.matches()[key === "0" ? 9 : Number(key) - 1];
      if (choice) this.pick(choice);
    } else if (key === "ArrowRight" && !inFilter) {
      session.move(1);
    } else if (key === "ArrowLeft" && !inFilter) {
      session.move(-1);
    } else if (inFilter) {
      return;  // typing in the filter box
    } else if (COMMANDS.has(lower) && !this.filter) {
      if (lower === "k" && item) session.decide("keep");
      else if (lower === "x" && item) session.decide("unusable");
      else if (lower === "s") session.skip();
      else if (lower === "z") session.undo();
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
    if (!this.session.current) return;
    this.setFilter("");
    this.session.decide("pick", label);
  }

  setFilter(text) {
    this.filter = text;
    this.filterInput.value = text;
    if (!text) this.filterInput.blur();
    this.renderClasses();
  }

  matches() {
    const { config } = this.session;
    return matching((config && config.classes) || [], this.filter);
  }

  // -- drawing -----------------------------------------------------------------------------

  build() {
    const exit = testid(el("button", "small", "✕ Exit review (Esc)"), "review-exit");
    exit.addEventListener("click", () => this.close());
    this.titleNode = el("span", "review-title");
    this.whoNode = testid(el("span", "review-who muted"), "review-reviewer");
    this.progressNode = testid(el("div", "review-progress"), "review-progress");
    const head = el("header", "review-head",
      exit, this.titleNode, this.whoNode, el("span", "spacer"), this.progressNode);

    this.img = testid(el("img"), "review-img");
    this.img.alt = "";
    this.img.addEventListener("load", () => this.img.classList.toggle("pixelated", this.img.naturalWidth < 96));

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
    const side = el("div", "review-side",
      this.facts, this.conflictNode, this.top, this.filterInput, this.classList, keys, this.statusNode);
    this.root.replaceChildren(head, el("div", "review-body", el("div", "review-media", this.img), side));
  }

  // Who the history records, when the URL's token names a reviewer (the server ignores any other name).
  renderWho() {
    this.whoNode.textContent = this.reviewer ? `signed in as ${this.reviewer}` : "";
    this.whoNode.hidden = !this.reviewer;
  }

  renderTitle() {
    const { dataset, config: { label_field: field, score_field: score } } = this.session;
    this.titleNode.textContent = `Review · ${dataset} · ${field}${score ? ` by ${score} ↓` : ""}`;
  }

  renderProgress(p) {
    const parts = [
      ["reviewed", `${p.reviewed.toLocaleString()} reviewed / ${p.in_queue.toLocaleString()} in queue`],
      ["kept", `kept ${p.kept}`], ["changed", `changed ${p.changed}`], ["unusable", `unusable ${p.unusable}`],
      ["share", `${percent(p.changed_share)} of reviewed changed`],
      ["left", p.wrong_left === null ? "" : `≈ ${formatNumber(Math.round(p.wrong_left))} wrong labels left`],
    ];
    this.progressNode.replaceChildren(
      ...parts.filter(([, text]) => text).map(([name, text]) => el("span", `p-${name}`, text)));
    this.progressNode.title = `${p.reviewed + p.in_queue} samples in this view`;
    Object.assign(this.progressNode.dataset, {
      reviewed: p.reviewed, inQueue: p.in_queue, kept: p.kept, changed: p.changed, unusable: p.unusable,
    });
  }

  show() {
    const session = this.session;
    if (!session) return;
    const item = session.current;
    this.root.dataset.sampleId = item ? item.id : "";
    if (!item) {
      this.img.removeAttribute("src");
      const done = session.exhausted || session.fetching === null;
      this.facts.replaceChildren(el("h3", "", done ? "The queue is empty: every sample here is reviewed or held by another reviewer." : "loading…"));
      this.top.replaceChildren();
      this.classList.replaceChildren();
      this.statusNode.textContent = "";
      this.conflictNode.hidden = true;
      return;
    }
    this.img.src = mediaUrl(session.dataset, item.id, false);
    this.renderFacts(item);
    this.renderTop(item);
    this.renderClasses();
    this.conflictNode.textContent = item.conflict || "";
    this.conflictNode.hidden = !item.conflict;
    const state = item.entry ? `decided: ${item.entry.decision}` : item.decision ? `saving: ${item.decision}…`
      : item.skipped ? "skipped" : "";
    this.statusNode.textContent = `${session.pos + 1} of ${session.items.length} fetched${state ? " · " + state : ""}`;
  }

  renderFacts(item) {
    const rows = [];
    const add = (name, ...value) => rows.push(el("div", "fact", el("span", "k", name), ...value));
    add("given", testid(chip(item.given), "review-given"));
    if (item.label !== item.given) add("now", testid(chip(item.label), "review-label"));
    if (item.prediction) {
      add("prediction", testid(chip(item.prediction), "review-prediction"),
        el("span", "muted", item.confidence === null || item.confidence === undefined ? "" : ` ${percent(item.confidence)}`));
    }
    if (item.suggestion) add("suggestion", testid(chip(item.suggestion), "review-suggestion"));
    if (item.score !== null && item.score !== undefined) {
      add(this.session.config.score_field, testid(el("span", "score-v", formatNumber(item.score)), "review-score"));
    }
    this.facts.replaceChildren(...rows);
  }

  renderTop(item) {
    const rows = (item.top || []).map(({ label, p }) => barRow(label, p, p.toFixed(3),
      { gt: label === item.given, pred: label === item.prediction }));
    this.top.replaceChildren(...(rows.length ? [el("h4", "", "top classes"), ...rows] : []));
  }

  renderClasses() {
    const item = this.session.current;
    const matches = this.matches();
    const nodes = matches.slice(0, NUMBERED).map((label, i) => {
      const li = el("li", label === (item && item.label) ? "current" : "",
        el("kbd", "", String((i + 1) % 10)), chip(label));
      li.addEventListener("click", () => this.pick(label));
      return li;
    });
    if (matches.length > NUMBERED) nodes.push(el("li", "muted", `+ ${matches.length - NUMBERED} more: type to filter`));
    if (!matches.length) nodes.push(el("li", "muted", "no class matches"));
    this.classList.replaceChildren(...nodes);
  }
}
