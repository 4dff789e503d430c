// A review session, without the DOM: the samples this tab leases from the queue, the decisions it
// writes (retried, refused on a conflict) and their undo. The review view (review.js) draws it.
//
// The tab leases the next few samples of the queue (prefetching their images) and renews the leases
// while it holds them. A decision is sent to the server and the next sample is current at once;
// undo waits for the last write, then undoes it. Each decision carries the label the card showed
// and an id made here: the server refuses it (409) when the label changed meanwhile, and a retry
// after a lost answer (same id) is written once.

import { ApiError, api, dsPath, mediaUrl, tokenHeaders } from "./api.js";

const PREFETCH = 4;
const PROGRESS_MS = 1500;  // the counts are re-read from the server this long after the last write
const RENEW_MS = 10000;
const RETRY_MS = [500, 1500, 4000];  // waits before resending a decision whose answer was lost
const RETRY_STATUS = new Set([502, 503, 504]);

// A random id ([a-z0-9-]); crypto.getRandomValues, since crypto.randomUUID is missing on plain-http pages.
function randomId(prefix, size) {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return prefix + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const CLIENT = randomId("tab-", 9);  // this tab, the holder of its leases

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

export class ReviewSession {
  // `request`: what every call carries (view, filters, label_field, order_by, include_reviewed);
  // `on`: the view's hooks show() (the current sample changed), progress(p), pending(n), error(err).
  constructor(dataset, request, on) {
    this.dataset = dataset;
    this.request = request;
    this.on = on;
    this.items = [];
    this.pos = 0;
    this.undoStack = [];
    this.pending = 0;
    this.exhausted = false;
    this.fetching = null;
    this.isOpen = true;
  }

  get current() {
    return this.items[this.pos];
  }

  // Read the queue's settings (label and score field, classes, progress); from now on the leases are renewed.
  async start() {
    const queue = await this.post("/review/queue", {});
    this.config = queue;
    this.request.label_field = queue.label_field;
    this.on.progress(this.progress = queue.progress);
    this.renewTimer = setInterval(() => this.renew(), RENEW_MS);
  }

  // The samples this tab holds and has not decided.
  held() {
    return this.items.filter((item) => !item.entry).map((item) => item.id);
  }

  close() {
    this.isOpen = false;
    clearInterval(this.renewTimer);
    clearTimeout(this.progressTimer);
    const held = this.held();
    if (held.length) this.post("/review/release", { ids: held }).catch(() => {});
  }

  // A closed tab gives its samples back at once (else its leases run out within 30 s).
  releaseOnExit() {
    fetch(dsPath(this.dataset, "/review/release"), {
      method: "POST", keepalive: true, headers: { ...tokenHeaders(), "Content-Type": "application/json" },
      body: JSON.stringify({ client: CLIENT, ids: this.held() }),
    }).catch(() => {});
  }

  post(rest, body) {
    return api(dsPath(this.dataset, rest), { ...this.request, client: CLIENT, ...body });
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
    // the current sample and the prefetched ones (skipped samples stay free for others)
    const ids = this.items.filter((item, i) => i >= this.pos && !item.entry && (!item.skipped || i === this.pos))
      .map((item) => item.id);
    if (!ids.length) return;
    try {
      const { held } = await this.post("/review/renew", { ids });
      const kept = new Set(held);
      const current = this.current;
      // a sample whose lease ran out (and went to another tab) leaves this tab's queue
      this.items = this.items.filter((item, i) => i <= this.pos || item.entry || kept.has(item.id));
      if (current && !current.entry && !kept.has(current.id)) this.on.error("another reviewer now holds this sample");
    } catch (err) {
      this.on.error(err);
    }
  }

  async move(step) {
    const next = this.pos + step;
    if (next < 0) return;
    if (next >= this.items.length) {
      this.pos = this.items.length;
      this.on.show();
      await this.fill();
      if (!this.isOpen || this.pos >= this.items.length) {
        this.on.show();
        return;
      }
    } else {
      this.pos = next;
    }
    this.on.show();
    this.fill().catch((err) => this.on.error(err));
  }

  skip() {
    const item = this.current;
    if (item && !item.entry) {
      item.skipped = true;
      this.post("/review/release", { ids: [item.id] }).catch(() => {});
    }
    this.move(1);
  }

  // -- decisions ---------------------------------------------------------------------------

  decide(decision, label = null) {
    const item = this.current;
    if (!item) return;
    // the server writes only if the label is still the one this card shows (seen_label)
    const body = { sample_id: item.id, decision, label, seen_label: item.label ?? null,
      decision_id: randomId("d-", 12), score: item.score, suggestion: item.suggestion };
    this.setPending(1);
    item.decision = decision;
    item.conflict = null;
    item.label = decision === "keep" || decision === "unusable" ? item.label : label;
    // writes of one sample go in order; the next sample is current at once
    item.write = item.write.then(() => retried(() => this.post("/review/decide", body)))
      .then(({ entry }) => { this.count(item, entry, 1); item.entry = entry; return entry; })
      .catch((err) => { this.refused(item, err); return null; })
      .finally(() => { this.setPending(-1); this.showIf(item); });
    this.undoStack.push(item);
    this.move(1);
  }

  // A decision not written: say why; on a conflict (409) the card is undecided again with the label now stored.
  refused(item, err) {
    item.decision = null;
    if (!(err instanceof ApiError) || err.status !== 409) {
      this.on.error(err);
      return;
    }
    item.entry = null;
    this.conflict(item, `Not decided: ${err.message}`);
  }

  conflict(item, message) {
    item.conflict = message;
    this.on.error(message);
    this.showIf(item);
    return this.refreshLabel(item);
  }

  async refreshLabel(item) {
    try {
      const sample = await api(dsPath(this.dataset, `/samples/${item.id}`));
      const stored = sample[this.request.label_field];
      item.label = stored && stored.label !== undefined ? stored.label : null;
    } catch (err) {
      this.on.error(err);
    }
    this.showIf(item);
  }

  showIf(item) {
    if (this.current === item) this.on.show();
  }

  async undo() {
    const item = this.undoStack.pop();
    if (!item) {
      this.on.error("nothing to undo");
      return;
    }
    this.setPending(1);
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
      else this.on.error(err);
    } finally {
      this.setPending(-1);
    }
    this.on.show();
  }

  // -- progress ----------------------------------------------------------------------------

  // One more (+1) or one fewer (-1) write in flight; when one ends, the server's counts are re-read soon.
  setPending(change) {
    this.pending += change;
    this.on.pending(this.pending);
    if (change < 0) this.scheduleProgress();
  }

  // Count a first decision on a sample (or its undo) at once; the server's counts follow.
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
    this.on.progress(p);
  }

  scheduleProgress() {
    clearTimeout(this.progressTimer);
    this.progressTimer = setTimeout(async () => {
      try {
        this.on.progress(this.progress = await this.post("/review/progress", {}));
      } catch (err) {
        this.on.error(err);
      }
    }, PROGRESS_MS);
  }
}
