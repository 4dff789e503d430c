// The App: follows the session (what Python shows), loads pages of samples as the grid scrolls,
// applies the sidebar's filters and writes tags.

import { api, dsPath, openEvents } from "./api.js";
import { setClasses } from "./colors.js";
import { el } from "./dom.js";
import { Grid } from "./grid.js";
import { Modal } from "./modal.js";
import { Panels } from "./panels.js";
import { Review, bulkAccept, reviewRequest } from "./review.js";
import { Sidebar } from "./sidebar.js";

const PAGE = 60;

const app = {
  dataset: null,
  view: [],
  panelStages: [], // stages a panel adds to the view (a confusion-matrix cell, a lasso, an issue)
  version: -1,
  summary: null,
  nextOffset: 0,
  count: null,
  loading: null,
  generation: 0,
};

const $ = (id) => document.getElementById(id);

function toast(message, isError = true) {
  const node = $("toast");
  node.textContent = message instanceof Error ? message.message : String(message);
  node.classList.toggle("error", isError);
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
}

const grid = new Grid($("grid"), {
  onOpen: (id) => modal.open(id),
  onSelect: (ids) => selectionChanged(ids),
});

const modal = new Modal({
  grid,
  getDataset: () => app.dataset,
  getClasses: () => {
    const summary = app.summary || {};
    return (summary.default_classes && summary.default_classes.length) ? summary.default_classes : [];
  },
  getTotal: () => app.count,
  onNeedMore: () => loadMore(),
  onError: toast,
});

const review = new Review({
  getDataset: () => app.dataset,
  getBody: (extra) => requestBody(extra, false),
  onClose: () => { refreshTagCounts(); reload(); },
  onError: toast,
});

const sidebar = new Sidebar((filters) => {
  api("api/session/ui", { filters }).catch(() => {});
  reload();
}, {
  onCreateIndex: async (field) => {
    try {
      const done = await api(dsPath(app.dataset, "/indexes"), { field });
      toast(field === "tags" ? "Indexed tags: tag counts now come from the index"
        : `Indexed ${field}: sorting by it is now an index scan`, false);
      return done.indexed_fields;
    } catch (err) {
      toast(err.message, false);
      return (app.summary && app.summary.indexed_fields) || [];
    }
  },
  onHistogram: (field, range) => api(dsPath(app.dataset, "/histogram"), { view: app.view, field, range }),
});

function describeView(stages) {
  if (!stages.length) return "";
  return stages.map((stage) => {
    const args = Object.entries(stage.kwargs || {})
      .filter(([, v]) => v !== null && v !== false)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
    return `${stage._cls}(${args.join(", ")})`;
  }).join(" → ");
}

function scoreField() {
  const numbers = app.summary ? app.summary.numeric_fields : [];
  const sorted = sidebar.filters.sort && sidebar.filters.sort.field;
  if (sorted && numbers.includes(sorted)) return sorted;
  // The server picks the default by the one rule (labellens.brain.default_score.default_score_field).
  return (app.summary && app.summary.default_score_field) || null;
}

// What a request about the view's samples carries: the view, with the stages a panel set unless `panel`
// is false (review, and every panel but the map), and the sidebar's filters; then `extra`.
function requestBody(extra = {}, panel = true) {
  return { view: panel ? [...app.view, ...app.panelStages] : app.view, filters: sidebar.filters, ...extra };
}

const panels = new Panels({
  getDataset: () => app.dataset,
  getBody: requestBody,
  setStages: (stages) => { app.panelStages = stages; reload(); },
  select: (ids) => api("api/session/selected", { ids }).catch(toast),
  onError: toast,
});

async function applySession(state) {
  app.version = state.version;
  app.dataset = state.dataset;
  app.view = state.view || [];
  app.panelStages = [];
  sidebar.reset();
  modal.close();
  grid.setSelection([]);
  if (!app.dataset) {
    await showPicker();
    return;
  }
  $("picker").hidden = true;
  await loadSummary();
  await reload();
}

async function showPicker() {
  const { datasets } = await api("api/datasets");
  const picker = $("picker");
  $("dataset-name").textContent = "no dataset";
  grid.clear({});
  const buttons = datasets.map((name) => {
    const button = el("button", "", name);
    button.addEventListener("click", async () => {
      app.dataset = name;
      app.view = [];
      picker.hidden = true;
      await loadSummary();
      await reload();
    });
    return button;
  });
  picker.replaceChildren(el("h2", "", datasets.length ? "Choose a dataset" : "No datasets yet"), ...buttons);
  picker.hidden = false;
}

async function loadSummary() {
  try {
    app.summary = await api(dsPath(app.dataset, "/summary"), { view: app.view });
  } catch (err) {
    toast(err);
    return;
  }
  setClasses(app.summary.classes);
  $("dataset-name").textContent = app.summary.name;
  document.title = `${app.summary.name} · labellens`;
  const desc = describeView(app.view);
  $("view-desc").textContent = desc;
  $("view-desc").hidden = !desc;
  sidebar.render(app.summary);
}

async function refreshTagCounts() {
  if (!app.dataset) return;
  try {
    const { tags } = await api(dsPath(app.dataset, "/tags"), { view: app.view });
    app.summary = { ...app.summary, tags };
    sidebar.updateTagCounts(tags);
  } catch (err) {
    toast(err);
  }
}

async function updateCount(generation) {
  try {
    const { count } = await api(dsPath(app.dataset, "/count"), requestBody());
    if (generation !== app.generation) return;
    app.count = count;
    const inView = app.summary ? app.summary.count : count;
    const filtered = count !== inView ? ` of ${inView.toLocaleString()}` : "";
    $("sample-count").textContent = `${count.toLocaleString()}${filtered} samples`;
    $("sample-count").dataset.count = String(count);
  } catch (err) {
    toast(err);
  }
}

async function reload() {
  if (!app.dataset || !app.summary) return;
  const generation = ++app.generation;
  app.loading = null;
  app.nextOffset = 0;
  app.count = null;
  grid.clear({
    dataset: app.dataset,
    labelFields: app.summary.label_fields,
    scoreField: scoreField(),
    hotTag: $("tag-input").value.trim(),
  });
  $("main").scrollTop = 0;
  updateCount(generation);
  panels.refresh();
  await loadMore();
}

function loadMore() {
  if (app.loading) return app.loading;
  if (app.nextOffset === null || !app.dataset) return Promise.resolve();
  const generation = app.generation;
  $("status").textContent = "loading…";
  app.loading = api(dsPath(app.dataset, "/samples"), requestBody({ offset: app.nextOffset, limit: PAGE }))
    .then((page) => {
      if (generation !== app.generation) return;
      grid.append(page.samples);
      app.nextOffset = page.next_offset;
      $("status").textContent = grid.samples.length ? "" : "no samples match";
      $("grid").dataset.loaded = String(grid.samples.length);
    })
    .catch((err) => {
      if (generation === app.generation) app.nextOffset = null;
      toast(err);
    })
    .finally(() => {
      if (generation === app.generation) app.loading = null;
      if (generation === app.generation && app.nextOffset !== null && sentinelNear()) loadMore();
    });
  return app.loading;
}

function sentinelNear() {
  const main = $("main");
  return $("sentinel").getBoundingClientRect().top < main.getBoundingClientRect().bottom + 800;
}

let selectionTimer = null;
function selectionChanged(ids) {
  $("selection-count").textContent = `${ids.size} selected`;
  paintTagButtons();
  clearTimeout(selectionTimer);
  selectionTimer = setTimeout(() => api("api/session/selected", { ids: [...ids] }).catch(toast), 150);
}

function paintTagButtons() {
  const none = $("tag-scope").value === "selected" && grid.selected.size === 0;
  $("bulk-accept").disabled = grid.selected.size === 0;
  $("tag-add").disabled = none;
  $("tag-remove").disabled = none;
}

async function writeTag(remove) {
  const tag = $("tag-input").value.trim();
  if (!tag) {
    toast("type a tag first");
    return;
  }
  const byIds = $("tag-scope").value === "selected";
  const ids = [...grid.selected];
  const body = byIds ? { tag, remove, ids } : requestBody({ tag, remove });
  try {
    const result = await api(dsPath(app.dataset, "/tag"), body);
    grid.setTags(new Set(byIds ? ids : grid.samples.map((s) => s.id)), tag, remove);
    toast(`${remove ? "removed" : "added"} "${tag}" on ${result.changed} of ${result.samples} samples`, false);
  } catch (err) {
    toast(err);
  }
  await refreshTagCounts();
}

function wire() {
  $("tag-add").addEventListener("click", () => writeTag(false));
  $("tag-remove").addEventListener("click", () => writeTag(true));
  $("tag-scope").addEventListener("change", paintTagButtons);
  $("select-page").addEventListener("click", () => grid.setSelection(grid.samples.map((s) => s.id)));
  $("clear-selection").addEventListener("click", () => grid.setSelection([]));
  $("review-open").addEventListener("click", () => { modal.close(); review.open(); });
  $("bulk-accept").addEventListener("click", () => bulkAccept(app.dataset, [...grid.selected],
    app.summary && app.summary.label_fields[0], (message) => { toast(message, false); reload(); }, toast));
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { root: $("main"), rootMargin: "800px" }).observe($("sentinel"));
  paintTagButtons();
}

async function start() {
  wire();
  try {
    await applySession(await api("api/session"));
    const asked = reviewRequest(window.location.hash);
    if (asked && app.dataset) await review.open(asked);
  } catch (err) {
    toast(err);
  }
  openEvents({
    state: (state) => { if (state.version !== app.version) applySession(state); },
    refresh: async (state) => {
      app.version = state.version;
      await loadSummary();
      await reload();
    },
    tagged: () => refreshTagCounts(),
  });
  document.body.dataset.ready = "1";
}

start();
