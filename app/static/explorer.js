// Graph explorer: search an actor, draw its neighbourhood, read the evidence behind each tie,
// find paths, move through time and colour alliance blocs. Vanilla JS, no build step.
//
// Every piece of data (names, quotes, titles, URLs) reaches the page as text: through
// textContent, attributes set one by one, or Cytoscape's canvas labels. Nothing from the API is
// ever parsed as HTML.

/* global cytoscape, cytoscapeFcose */

const FIRST_YEAR = 2020;
const LAST_YEAR = 2026;
const MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12;
const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const SUGGEST_DELAY_MS = 180;
const SLIDER_DELAY_MS = 250;
const COMFORT_ZOOM = 1.25;

const KIND_COLOURS = {
  state: "#3d6fc4",
  government_body: "#6f9be0",
  person: "#8e5bb5",
  armed_group: "#e07b24",
  political_group: "#c29b1c",
  organization: "#16a085",
  international_org: "#2bb3c0",
  think_tank: "#7d8a96",
  media: "#d0508c",
};
const KIND_SHAPES = {
  state: "round-rectangle",
  government_body: "cut-rectangle",
  person: "ellipse",
  armed_group: "diamond",
  political_group: "hexagon",
  organization: "round-pentagon",
  international_org: "octagon",
  think_tank: "round-triangle",
  media: "tag",
};
const OTHER_COLOUR = "#9aa3ad";
const NO_BLOC_COLOUR = "#c9ced4";
// Colour-blind-friendly-ish qualitative palette (Tableau 10 + extras); cycles past its end.
const BLOC_PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
  "#9c755f", "#ff9da7", "#2f4b7c", "#a05195", "#bab0ac",
];

// ---------------------------------------------------------------- small helpers

const $ = (id) => document.getElementById(id);

/** Build an element; string children become text nodes (never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

function monthOf(index) {
  const year = FIRST_YEAR + Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${year}-${String(month).padStart(2, "0")}`;
}

function indexOfMonth(isoDate) {
  const match = /^(\d{4})-(\d{2})/.exec(isoDate || "");
  if (!match) return null;
  const index = (Number(match[1]) - FIRST_YEAR) * 12 + Number(match[2]) - 1;
  return index >= 0 && index < MONTHS ? index : null;
}

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function apiGet(path, params = {}, { signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("The server cannot be reached.", 0);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(detail, response.status);
  }
  return response.json();
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------- state

const state = {
  asOf: null, // "YYYY-MM-DD" or null for all dates
  anchors: [], // actor ids whose neighbourhoods are drawn, in the order they were added
  hoods: new Map(), // anchor id -> {nodes, edges, truncated}
  pathQuery: null, // {from, to, mode}
  paths: null, // the /v1/paths items for pathQuery at asOf
  blocs: false,
  selected: null, // {group: "nodes"|"edges", id}
};
const actors = new Map(); // actor id -> {id, name, kind}
const actorDetails = new Map(); // actor id -> Promise<full actor>
const relationships = new Map(); // relationship id -> relationship
const sources = new Map(); // source id -> Promise<source>
const blocCache = new Map(); // as_of key -> Promise<blocs>

let pending = 0;
let reloadToken = 0;
let layoutRun = null;

function asOfKey(asOf = state.asOf) {
  return asOf || "all";
}

function rememberActor(actor) {
  if (actor && actor.id) {
    actors.set(actor.id, { id: actor.id, name: actor.name, kind: actor.kind });
  }
}

function actorName(id) {
  return actors.get(id)?.name ?? id;
}

async function track(promise) {
  pending += 1;
  $("graph").dataset.busy = String(pending);
  setStatus("Loading…");
  try {
    return await promise;
  } finally {
    pending -= 1;
    $("graph").dataset.busy = String(pending);
    if (pending === 0 && !statusIsError) setStatus("");
  }
}

let statusIsError = false;
let statusTimer = null;

function setStatus(text, { error = false } = {}) {
  const box = $("status");
  clearTimeout(statusTimer);
  statusIsError = error;
  box.textContent = text;
  box.classList.toggle("error", error);
  if (error) {
    statusTimer = setTimeout(() => {
      statusIsError = false;
      box.classList.remove("error");
      box.textContent = pending ? "Loading…" : "";
    }, 6000);
  }
}

function reportError(err) {
  if (err && err.name === "AbortError") return;
  setStatus(err instanceof ApiError ? err.message : "Something went wrong.", { error: true });
}

// ---------------------------------------------------------------- cytoscape

function graphStyle() {
  const style = [
    {
      selector: "node",
      style: {
        label: "data(name)",
        "background-color": OTHER_COLOUR,
        shape: "ellipse",
        width: 28,
        height: 28,
        "border-width": 1,
        "border-color": "#ffffff",
        "font-size": 11,
        color: "#1d232b",
        "text-valign": "bottom",
        "text-halign": "center",
        "text-margin-y": 4,
        "text-wrap": "wrap",
        "text-max-width": "120px",
        "text-background-color": "#fbfcfd",
        "text-background-opacity": 0.75,
        "text-background-padding": "1px",
        "min-zoomed-font-size": 6,
      },
    },
  ];
  for (const [kind, colour] of Object.entries(KIND_COLOURS)) {
    style.push({
      selector: `node[kind = "${kind}"]`,
      style: { "background-color": colour, shape: KIND_SHAPES[kind] },
    });
  }
  style.push(
    { selector: "node.by-bloc[blocColor]", style: { "background-color": "data(blocColor)" } },
    {
      selector: "node.anchor",
      style: { width: 36, height: 36, "border-width": 3, "border-color": "#16212e",
        "font-weight": "bold" },
    },
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "control-point-step-size": 28,
        "line-color": "#8a8f98",
        label: "data(type)",
        "font-size": 9,
        color: "#3d4550",
        "text-rotation": "autorotate",
        "text-background-color": "#fbfcfd",
        "text-background-opacity": 0.85,
        "text-background-padding": "1px",
        "min-zoomed-font-size": 7,
        "target-arrow-shape": "none",
        "arrow-scale": 1.1,
      },
    },
    { selector: "edge.positive", style: { "line-color": "#2e9d4a", "target-arrow-color": "#2e9d4a" } },
    { selector: "edge.negative", style: { "line-color": "#d0342c", "target-arrow-color": "#d0342c" } },
    {
      selector: "edge.neutral",
      style: { "line-color": "#8a8f98", "target-arrow-color": "#8a8f98", "line-style": "dashed",
        "line-dash-pattern": [6, 4] },
    },
    { selector: "edge.directed", style: { "target-arrow-shape": "triangle" } },
    {
      selector: "edge.highlighted",
      style: { width: 7, "line-color": "#f5c400", "target-arrow-color": "#f5c400",
        "z-index": 20, "line-style": "solid" },
    },
    {
      selector: "node.highlighted",
      style: { "border-width": 5, "border-color": "#f5c400", "z-index": 20 },
    },
    {
      selector: "node:selected",
      style: { "overlay-color": "#1f5fbf", "overlay-opacity": 0.18, "overlay-padding": 6 },
    },
    {
      selector: "edge:selected",
      style: { "overlay-color": "#1f5fbf", "overlay-opacity": 0.2, "overlay-padding": 4 },
    },
  );
  return style;
}

function ensureFcose() {
  // cytoscape-fcose registers itself on window.cytoscape when loaded after it.
  if (!cytoscape("layout", "fcose") && typeof cytoscapeFcose !== "undefined") {
    cytoscape.use(cytoscapeFcose);
  }
}

ensureFcose();
const cy = cytoscape({
  container: $("graph"),
  elements: [],
  style: graphStyle(),
  minZoom: 0.2,
  maxZoom: 3,
  wheelSensitivity: 0.3,
  selectionType: "single",
  boxSelectionEnabled: false,
});
window.cy = cy;

function runLayout({ fresh }) {
  if (layoutRun) layoutRun.stop();
  if (cy.nodes().length === 0) return;
  const container = $("graph");
  container.dataset.layout = "running";
  layoutRun = cy.layout({
    name: "fcose",
    quality: "proof",
    randomize: fresh,
    animate: !fresh,
    animationDuration: 450,
    fit: true,
    padding: 50,
    nodeDimensionsIncludeLabels: true,
    nodeRepulsion: () => 20000,
    idealEdgeLength: () => 160,
    edgeElasticity: () => 0.4,
    nodeSeparation: 90,
    numIter: 2500,
  });
  const run = layoutRun;
  run.one("layoutstop", () => {
    if (layoutRun !== run) return;
    // A small graph fitted to the window would be drawn huge: cap the zoom.
    if (cy.zoom() > COMFORT_ZOOM) {
      cy.zoom(COMFORT_ZOOM);
      cy.center();
    }
    container.dataset.layout = "idle";
  });
  run.run();
}

function layoutIdle() {
  if ($("graph").dataset.layout !== "running" || !layoutRun) return Promise.resolve();
  return layoutRun.promiseOn("layoutstop");
}

/** Animate the viewport onto some elements, never closer than a comfortable zoom. */
function focus(eles, padding = 80) {
  const bb = eles.boundingBox();
  const fitZoom = Math.min((cy.width() - 2 * padding) / Math.max(bb.w, 1),
    (cy.height() - 2 * padding) / Math.max(bb.h, 1));
  const zoom = Math.max(cy.minZoom(), Math.min(COMFORT_ZOOM, fitZoom));
  cy.animate({ zoom, center: { eles }, duration: 300 });
}

/** Where a new node first appears: next to a neighbour already drawn, else near the middle. */
function seedPosition(nodeId, edges) {
  for (const edge of edges) {
    const other = edge.source === nodeId ? edge.target : edge.target === nodeId ? edge.source : null;
    if (!other) continue;
    const existing = cy.getElementById(other);
    if (existing.nonempty() && existing.isNode()) {
      // Outward from the drawing's centre, beyond the neighbour, so it lands on free ground.
      const p = existing.position();
      const bb = cy.nodes().boundingBox();
      const cx = (bb.x1 + bb.x2) / 2;
      const cyy = (bb.y1 + bb.y2) / 2;
      const away = Math.hypot(p.x - cx, p.y - cyy) > 1 ? Math.atan2(p.y - cyy, p.x - cx)
        : Math.random() * 2 * Math.PI;
      const angle = away + (Math.random() - 0.5) * (Math.PI / 2);
      return { x: p.x + 130 * Math.cos(angle), y: p.y + 130 * Math.sin(angle) };
    }
  }
  const ext = cy.extent();
  return {
    x: (ext.x1 + ext.x2) / 2 + (Math.random() - 0.5) * 200,
    y: (ext.y1 + ext.y2) / 2 + (Math.random() - 0.5) * 200,
  };
}

/** The nodes and edges the current view should show (anchors' neighbourhoods + paths). */
function wanted() {
  const nodes = new Map();
  const edges = new Map();
  for (const anchor of state.anchors) {
    const hood = state.hoods.get(anchor);
    if (!hood) continue;
    for (const node of hood.nodes) nodes.set(node.id, node);
    for (const edge of hood.edges) edges.set(edge.id, edge);
  }
  for (const path of state.paths || []) {
    for (const id of path.nodes) nodes.set(id, actors.get(id) || { id, name: id, kind: "" });
    for (const hop of path.hops) edges.set(hop.relationship.id, hop.relationship);
  }
  return { nodes, edges };
}

function edgeClasses(rel) {
  return [rel.polarity, rel.directed ? "directed" : "undirected"].join(" ");
}

/** Bring the graph in line with the state: remove what went, add what came, keep positions. */
function sync() {
  const { nodes, edges } = wanted();
  const wasEmpty = cy.nodes().length === 0;
  const added = [];
  cy.batch(() => {
    cy.edges().forEach((edge) => {
      if (!edges.has(edge.data("rid"))) edge.remove();
    });
    cy.nodes().forEach((node) => {
      if (!nodes.has(node.id())) node.remove();
    });
    const edgeList = [...edges.values()];
    for (const node of nodes.values()) {
      const existing = cy.getElementById(node.id);
      const data = { id: node.id, name: node.name, kind: node.kind || "" };
      if (existing.nonempty()) {
        existing.data(data);
      } else {
        added.push(cy.add({ group: "nodes", data, position: seedPosition(node.id, edgeList) }));
      }
    }
    for (const rel of edgeList) {
      relationships.set(rel.id, rel);
      const id = `r${rel.id}`;
      const data = { id, rid: rel.id, source: rel.source, target: rel.target, type: rel.type,
        polarity: rel.polarity, directed: rel.directed };
      const existing = cy.getElementById(id);
      if (existing.nonempty()) {
        existing.data({ type: rel.type, polarity: rel.polarity, directed: rel.directed });
        existing.classes(edgeClasses(rel));
      } else if (nodes.has(rel.source) && nodes.has(rel.target)) {
        cy.add({ group: "edges", data, classes: edgeClasses(rel) });
      }
    }
    cy.nodes().removeClass("anchor");
    for (const anchor of state.anchors) cy.getElementById(anchor).addClass("anchor");
    highlightPaths();
  });
  $("empty-hint").hidden = cy.nodes().length > 0;
  if (added.length > 0) runLayout({ fresh: wasEmpty });
  refreshSelection();
  applyBlocs().catch(reportError);
  renderLegend();
  saveHash();
}

function highlightPaths() {
  cy.elements().removeClass("highlighted");
  for (const path of state.paths || []) {
    for (const id of path.nodes) cy.getElementById(id).addClass("highlighted");
    for (const hop of path.hops) cy.getElementById(`r${hop.relationship.id}`).addClass("highlighted");
  }
}

// ---------------------------------------------------------------- loading

async function fetchHood(actorId, asOf) {
  const hood = await apiGet(`/v1/actors/${enc(actorId)}/neighborhood`, { depth: 1, as_of: asOf });
  for (const node of hood.nodes) rememberActor(node);
  return hood;
}

async function fetchPaths(query, asOf) {
  const result = await apiGet("/v1/paths", {
    from: query.from, to: query.to, mode: query.mode, k: 3, max_hops: 4, as_of: asOf,
  });
  const unknown = new Set();
  for (const path of result.items) {
    for (const id of path.nodes) if (!actors.has(id)) unknown.add(id);
  }
  await Promise.all([...unknown].map(async (id) => rememberActor(await actorDetail(id))));
  return result.items;
}

function actorDetail(id) {
  if (!actorDetails.has(id)) {
    const promise = apiGet(`/v1/actors/${enc(id)}`);
    promise.catch(() => actorDetails.delete(id));
    actorDetails.set(id, promise);
  }
  return actorDetails.get(id);
}

function markLoaded() {
  $("graph").dataset.loadedAsOf = asOfKey();
}

/** Start a new view centred on one actor. */
async function showActor(actorId) {
  const asOf = state.asOf;
  const token = ++reloadToken;
  try {
    const hood = await track(fetchHood(actorId, asOf));
    if (token !== reloadToken || asOf !== state.asOf) return;
    state.anchors = [actorId];
    state.hoods = new Map([[actorId, hood]]);
    state.pathQuery = null;
    state.paths = null;
    renderPaths();
    cy.elements().remove();
    sync();
    markLoaded();
    if (hood.truncated) setStatus("The neighbourhood was cut at the server's node limit.");
    select({ group: "nodes", id: actorId });
  } catch (err) {
    reportError(err);
  }
}

/** Merge an actor's neighbourhood into the view. */
async function expand(actorId) {
  const asOf = state.asOf;
  const token = reloadToken;
  try {
    const hood = await track(fetchHood(actorId, asOf));
    if (token !== reloadToken || asOf !== state.asOf) return;
    if (!state.anchors.includes(actorId)) state.anchors.push(actorId);
    state.hoods.set(actorId, hood);
    sync();
    markLoaded();
    const extra = hood.nodes.length - 1;
    setStatus(extra > 0 ? "" : `${actorName(actorId)} has no other ties on this date.`);
  } catch (err) {
    reportError(err);
  }
}

/** Reload every part of the view for the current date. */
async function reload() {
  const asOf = state.asOf;
  const token = ++reloadToken;
  const anchors = [...state.anchors];
  const query = state.pathQuery;
  try {
    const [hoods, paths] = await track(Promise.all([
      Promise.all(anchors.map((id) => fetchHood(id, asOf))),
      query ? fetchPaths(query, asOf) : Promise.resolve(null),
    ]));
    if (token !== reloadToken) return;
    state.hoods = new Map(anchors.map((id, i) => [id, hoods[i]]));
    state.paths = paths;
    renderPaths();
    sync();
    markLoaded();
  } catch (err) {
    reportError(err);
  }
}

async function findPaths(query) {
  const asOf = state.asOf;
  const token = reloadToken;
  const button = $("find-paths");
  button.disabled = true;
  try {
    const paths = await track(fetchPaths(query, asOf));
    if (token !== reloadToken || asOf !== state.asOf) return;
    state.pathQuery = query;
    state.paths = paths;
    renderPaths();
    sync();
    markLoaded();
    const highlighted = cy.$(".highlighted");
    if (highlighted.nonempty()) layoutIdle().then(() => focus(cy.elements(), 50));
  } catch (err) {
    reportError(err);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- blocs and legend

async function applyBlocs() {
  if (!state.blocs) {
    cy.nodes().removeClass("by-bloc");
    renderLegend();
    return;
  }
  const key = asOfKey();
  if (!blocCache.has(key)) {
    const promise = track(apiGet("/v1/analytics/blocs", { as_of: state.asOf }));
    promise.catch(() => blocCache.delete(key));
    blocCache.set(key, promise);
  }
  const data = await blocCache.get(key);
  if (!state.blocs || key !== asOfKey()) return;
  const blocOf = new Map();
  data.items.forEach((bloc, i) => {
    const colour = BLOC_PALETTE[i % BLOC_PALETTE.length];
    for (const member of bloc.members) blocOf.set(member, { id: bloc.id, colour, members: bloc.members });
  });
  cy.batch(() => {
    cy.nodes().forEach((node) => {
      const bloc = blocOf.get(node.id());
      node.data({ bloc: bloc ? bloc.id : null, blocColor: bloc ? bloc.colour : NO_BLOC_COLOUR });
      node.addClass("by-bloc");
    });
  });
  renderLegend(data, blocOf);
}

let lastBlocs = null;

function renderLegend(blocData, blocOf) {
  if (blocData) lastBlocs = { blocData, blocOf };
  const legend = $("legend");
  const ties = el("ul", {},
    el("li", {}, el("span", { class: "line positive" }), "positive"),
    el("li", {}, el("span", { class: "line negative" }), "negative"),
    el("li", {}, el("span", { class: "line neutral" }), "neutral (contact)"),
    el("li", {}, el("span", { class: "line highlighted" }), "path found"),
    el("li", {}, "arrow: directed (source → target)"));
  const parts = [el("div", { class: "group" }, el("h4", { text: "Ties" }), ties)];

  if (state.blocs && lastBlocs && cy.nodes().some((n) => n.hasClass("by-bloc"))) {
    const shown = new Map();
    let unassigned = 0;
    cy.nodes().forEach((node) => {
      const bloc = lastBlocs.blocOf.get(node.id());
      if (!bloc) { unassigned += 1; return; }
      if (!shown.has(bloc.id)) shown.set(bloc.id, { bloc, names: [] });
      shown.get(bloc.id).names.push(node.data("name"));
    });
    const list = el("ul", { id: "bloc-legend" });
    for (const { bloc, names } of shown.values()) {
      const more = bloc.members.length - names.length;
      const label = `${bloc.id}: ${names.slice(0, 4).join(", ")}` +
        (names.length > 4 ? ` +${names.length - 4}` : "") +
        (more > 0 ? ` (+${more} not shown)` : "");
      list.append(el("li", { class: "bloc", "data-bloc": bloc.id },
        el("span", { class: "swatch", style: null }), el("span", { text: label })));
      list.lastChild.firstChild.style.backgroundColor = bloc.colour;
    }
    if (unassigned) {
      const li = el("li", { class: "bloc none" }, el("span", { class: "swatch" }),
        el("span", { text: "in no bloc" }));
      li.firstChild.style.backgroundColor = NO_BLOC_COLOUR;
      list.append(li);
    }
    parts.push(el("div", { class: "group wide" },
      el("h4", { text: `Blocs${state.asOf ? ` (as of ${state.asOf})` : ""}` }), list));
  } else {
    const kinds = new Set(cy.nodes().map((n) => n.data("kind")));
    if (kinds.size) {
      const list = el("ul", {});
      for (const kind of [...kinds].sort()) {
        const li = el("li", {}, el("span", { class: "swatch" }),
          el("span", { text: kind ? kind.replace(/_/g, " ") : "other" }));
        li.firstChild.style.backgroundColor = KIND_COLOURS[kind] || OTHER_COLOUR;
        list.append(li);
      }
      parts.push(el("div", { class: "group" }, el("h4", { text: "Actors by kind" }), list));
    }
  }
  legend.replaceChildren(...parts);
}

// ---------------------------------------------------------------- selection panel

function select(selection) {
  state.selected = selection;
  cy.elements().unselect();
  if (selection) {
    const target = cy.getElementById(selection.group === "edges" ? `r${selection.id}` : selection.id);
    if (target.nonempty()) target.select();
  }
  renderSelection();
}

function refreshSelection() {
  const sel = state.selected;
  if (!sel) return;
  const id = sel.group === "edges" ? `r${sel.id}` : sel.id;
  if (cy.getElementById(id).empty()) select(null);
  else renderSelection();
}

function setActions(nodeId) {
  for (const id of ["expand", "use-from", "use-to"]) $(id).hidden = !nodeId;
  $("expand").dataset.actor = nodeId || "";
}

function dateRange(rel) {
  const from = rel.valid_from || "…";
  const to = rel.valid_to || "…";
  if (!rel.valid_from && !rel.valid_to) return "no dates given (always counts)";
  return `${from} – ${to}`;
}

function attributeText(value) {
  if (Array.isArray(value)) return value.length ? value.join(", ") : "(none stated)";
  if (value === null) return "—";
  return String(value);
}

let selectionToken = 0;

function renderSelection() {
  const details = $("details");
  const evidence = $("evidence");
  const token = ++selectionToken;
  const sel = state.selected;
  evidence.replaceChildren();
  $("evidence-title").hidden = true;
  if (!sel) {
    details.replaceChildren(el("p", { class: "muted", text: "Nothing selected. Click an actor " +
      "or a tie; double-click an actor to expand it." }));
    setActions(null);
    return;
  }
  if (sel.group === "nodes") {
    renderActor(sel.id, token);
    return;
  }
  setActions(null);
  const rel = relationships.get(sel.id);
  if (!rel) return;
  const arrow = rel.directed ? "→" : "—";
  const rows = [
    ["Type", el("span", {}, `${rel.type} `, el("span", { class: `pill ${rel.polarity}`, text: rel.polarity }))],
    [rel.directed ? "From" : "Between", `${actorName(rel.source)} (${rel.source})`],
    [rel.directed ? "To" : "And", `${actorName(rel.target)} (${rel.target})`],
    ["Directed", rel.directed ? "yes" : "no"],
    ["Valid", dateRange(rel)],
    ["Confidence", typeof rel.confidence === "number" ? rel.confidence.toFixed(2) : String(rel.confidence)],
  ];
  for (const [key, value] of Object.entries(rel.attributes || {})) {
    const label = key.replace(/_/g, " ");
    rows.push([label.charAt(0).toUpperCase() + label.slice(1), attributeText(value)]);
  }
  rows.push(["Id", String(rel.id)]);
  details.replaceChildren(
    el("p", { class: "title", text: `${actorName(rel.source)} ${arrow} ${rel.type} ${arrow} ${actorName(rel.target)}` }),
    definitionList(rows));
  $("evidence-title").hidden = false;
  $("evidence-title").textContent = `Evidence (${rel.evidence.length})`;
  for (const item of rel.evidence) {
    const cite = el("div", { class: "cite", text: `Source: ${item.source}` });
    evidence.append(el("li", {}, el("blockquote", { class: "quote", text: item.quote }), cite));
    sourceOf(item.source).then((source) => {
      if (token === selectionToken) renderCitation(cite, source);
    }, () => {
      if (token === selectionToken) cite.textContent = `Source: ${item.source} (details unavailable)`;
    });
  }
}

function definitionList(rows) {
  const dl = el("dl");
  for (const [key, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", { text: key }), el("dd", {}, value));
  }
  return dl;
}

function sourceOf(id) {
  if (!sources.has(id)) {
    const promise = apiGet(`/v1/sources/${enc(id)}`);
    promise.catch(() => sources.delete(id));
    sources.set(id, promise);
  }
  return sources.get(id);
}

function safeHttpUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function renderCitation(box, source) {
  const bits = [];
  if (source.publisher) bits.push(source.publisher);
  if (source.title) bits.push(`“${source.title}”`);
  if (source.published) bits.push(source.published);
  const children = [`Source: ${bits.length ? bits.join(", ") : source.id}`];
  if (source.url) {
    const href = safeHttpUrl(source.url);
    children.push(el("br"));
    children.push(href
      ? el("a", { href, rel: "noopener noreferrer", target: "_blank", referrerpolicy: "no-referrer",
        text: source.url })
      : el("span", { text: source.url }));
  }
  box.replaceChildren(...children.map((c) => (c instanceof Node ? c : document.createTextNode(c))));
}

function renderActor(actorId, token) {
  const details = $("details");
  const basic = actors.get(actorId) || { id: actorId, name: actorId, kind: "" };
  const draw = (actor) => {
    const rows = [
      ["Id", actor.id],
      ["Kind", actor.kind ? actor.kind.replace(/_/g, " ") : ""],
      ["Country", actor.country || ""],
      ["Aliases", actor.aliases && actor.aliases.length ? actor.aliases.join(", ") : ""],
    ];
    const node = cy.getElementById(actorId);
    if (node.nonempty()) {
      rows.push(["Ties shown", String(node.connectedEdges().length)]);
      if (node.data("bloc") && node.hasClass("by-bloc")) rows.push(["Bloc", node.data("bloc")]);
    }
    const parts = [el("p", { class: "title", text: actor.name }), definitionList(rows)];
    if (actor.description) parts.push(el("p", { class: "desc", text: actor.description }));
    details.replaceChildren(...parts);
  };
  draw(basic);
  setActions(actorId);
  actorDetail(actorId).then((full) => {
    if (token === selectionToken) draw(full);
  }, () => { /* the basic view stays */ });
}

// ---------------------------------------------------------------- paths panel

function renderPaths() {
  const list = $("paths");
  list.replaceChildren();
  if (!state.pathQuery || state.paths === null) return;
  if (state.paths.length === 0) {
    const when = state.asOf ? ` as of ${state.asOf}` : "";
    list.append(el("li", { class: "none", text: `No path (${state.pathQuery.mode}${when}).` }));
    return;
  }
  state.paths.forEach((path, index) => {
    let text = actorName(path.nodes[0]);
    for (const hop of path.hops) {
      const rel = hop.relationship;
      let link = `—${rel.type}—`;
      if (rel.directed) link = rel.source === hop.from ? `—${rel.type}→` : `←${rel.type}—`;
      text += ` ${link} ${actorName(hop.to)}`;
    }
    const li = el("li", { "data-index": index, title: "Show this path" },
      el("span", { text }), " ",
      el("span", { class: "hops", text: `(${path.length} hop${path.length === 1 ? "" : "s"})` }));
    li.addEventListener("click", () => {
      const eles = cy.collection();
      for (const id of path.nodes) eles.merge(cy.getElementById(id));
      for (const hop of path.hops) eles.merge(cy.getElementById(`r${hop.relationship.id}`));
      focus(eles);
    });
    list.append(li);
  });
}

async function resolveActor(value) {
  const text = value.trim();
  if (!text) return null;
  const hits = await apiGet("/v1/actors", { q: text, limit: 8 });
  for (const hit of hits.items) rememberActor(hit);
  const lower = text.toLowerCase();
  const match = hits.items.find((a) => a.id === text) ||
    hits.items.find((a) => a.name.toLowerCase() === lower);
  if (match) return match.id;
  if (SLUG.test(text)) return text;
  return hits.items.length ? hits.items[0].id : null;
}

async function submitPaths(event) {
  event.preventDefault();
  for (const combo of pathCombos) combo.close();
  try {
    const [from, to] = await track(Promise.all([
      resolveActor($("path-from").value), resolveActor($("path-to").value)]));
    if (!from || !to) {
      setStatus(`No actor matches “${(!from ? $("path-from") : $("path-to")).value.trim()}”.`,
        { error: true });
      return;
    }
    $("path-from").value = from;
    $("path-to").value = to;
    await findPaths({ from, to, mode: $("path-mode").value });
  } catch (err) {
    reportError(err);
  }
}

// ---------------------------------------------------------------- suggestions

function autocomplete(input, list, onChoose) {
  let items = [];
  let active = -1;
  let controller = null;
  let lastQuery = null;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0 && list.children[index]) {
      input.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    }
  };

  const choose = (index) => {
    const actor = items[index];
    if (!actor) return;
    close();
    onChoose(actor);
  };

  const render = () => {
    list.replaceChildren();
    if (items.length === 0) {
      list.append(el("li", { class: "none", role: "option", "aria-disabled": "true",
        text: "No actor matches." }));
    }
    items.forEach((actor, i) => {
      const li = el("li", { id: `${list.id}-${i}`, role: "option", "aria-selected": "false",
        "data-id": actor.id },
      el("span", { class: "name", text: actor.name }),
      el("span", { class: "meta", text: `${(actor.kind || "").replace(/_/g, " ")} · ${actor.id}` }));
      li.addEventListener("mousedown", (ev) => ev.preventDefault());
      li.addEventListener("click", () => choose(i));
      list.append(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  };

  const lookup = async () => {
    const q = input.value.trim();
    if (!q) {
      items = [];
      lastQuery = null;
      close();
      return items;
    }
    if (q === lastQuery && !list.hidden) return items;
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await apiGet("/v1/actors", { q, limit: 8 }, { signal: controller.signal });
      if (input.value.trim() !== q) return items;
      items = data.items;
      for (const actor of items) rememberActor(actor);
      lastQuery = q;
      if (document.activeElement === input) render();
      return items;
    } catch (err) {
      reportError(err);
      return items;
    }
  };
  const lookupSoon = debounce(lookup, SUGGEST_DELAY_MS);

  input.addEventListener("input", () => {
    lastQuery = null;
    lookupSoon();
  });
  input.addEventListener("focus", () => {
    if (items.length && input.value.trim() === lastQuery) render();
  });
  input.addEventListener("blur", () => setTimeout(close, 120));
  input.addEventListener("keydown", async (ev) => {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      if (list.hidden) return;
      ev.preventDefault();
      const n = items.length;
      if (!n) return;
      highlight(ev.key === "ArrowDown" ? (active + 1) % n : (active - 1 + n) % n);
    } else if (ev.key === "Escape") {
      close();
    } else if (ev.key === "Enter") {
      if (!list.hidden && active >= 0) {
        ev.preventDefault();
        choose(active);
      } else if (input.id === "search") {
        ev.preventDefault();
        lookupSoon.cancel();
        const found = await lookup();
        if (found.length) choose(0);
      }
    }
  });
  return {
    close() {
      lookupSoon.cancel();
      if (controller) controller.abort();
      close();
    },
  };
}

// ---------------------------------------------------------------- date slider

const slider = $("date-slider");
const allDates = $("all-dates");

function sliderDate() {
  return `${monthOf(Number(slider.value))}-01`;
}

function showDateLabel() {
  const label = $("date-label");
  label.textContent = allDates.checked ? "no date filter" : `as of ${sliderDate()}`;
  slider.classList.toggle("inactive", allDates.checked);
}

function setAsOf(asOf) {
  if (asOf === state.asOf) return;
  state.asOf = asOf;
  if (state.anchors.length || state.pathQuery) reload();
  else {
    markLoaded();
    saveHash();
  }
  if (state.blocs && !state.anchors.length) applyBlocs().catch(reportError);
}

const applySliderSoon = debounce(() => setAsOf(allDates.checked ? null : sliderDate()),
  SLIDER_DELAY_MS);

slider.addEventListener("input", () => {
  allDates.checked = false;
  showDateLabel();
  applySliderSoon();
});
slider.addEventListener("change", () => {
  applySliderSoon.cancel();
  allDates.checked = false;
  showDateLabel();
  setAsOf(sliderDate());
});
allDates.addEventListener("change", () => {
  applySliderSoon.cancel();
  showDateLabel();
  setAsOf(allDates.checked ? null : sliderDate());
});

// ---------------------------------------------------------------- URL hash (shareable views)

function saveHash() {
  const params = new URLSearchParams();
  if (state.anchors.length) params.set("actors", state.anchors.join(","));
  if (state.asOf) params.set("as_of", state.asOf);
  if (state.blocs) params.set("blocs", "1");
  if (state.pathQuery) {
    params.set("path", `${state.pathQuery.from},${state.pathQuery.to},${state.pathQuery.mode}`);
  }
  const hash = params.toString();
  const url = `${window.location.pathname}${window.location.search}${hash ? `#${hash}` : ""}`;
  window.history.replaceState(null, "", url);
}

async function restoreHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const asOf = params.get("as_of");
  const index = indexOfMonth(asOf);
  if (index !== null) {
    slider.value = String(index);
    allDates.checked = false;
    state.asOf = sliderDate();
  }
  showDateLabel();
  if (params.get("blocs") === "1") {
    state.blocs = true;
    $("blocs-toggle").checked = true;
  }
  const anchors = (params.get("actors") || "").split(",").filter((id) => SLUG.test(id));
  const path = (params.get("path") || "").split(",");
  if (path.length === 3 && SLUG.test(path[0]) && SLUG.test(path[1]) &&
      ["alliance", "proxy", "hostile", "any"].includes(path[2])) {
    state.pathQuery = { from: path[0], to: path[1], mode: path[2] };
    $("path-from").value = path[0];
    $("path-to").value = path[1];
    $("path-mode").value = path[2];
  }
  if (anchors.length || state.pathQuery) {
    state.anchors = anchors;
    await reload();
  } else {
    markLoaded();
  }
}

// ---------------------------------------------------------------- wiring

autocomplete($("search"), $("suggestions"), (actor) => {
  $("search").value = actor.name;
  showActor(actor.id);
});
const pathCombos = ["path-from", "path-to"].map((id) =>
  autocomplete($(id), $(`${id}-suggestions`), (actor) => {
    $(id).value = actor.id;
    $(id).title = actor.name;
  }));
$("paths-form").addEventListener("submit", submitPaths);

$("blocs-toggle").addEventListener("change", (ev) => {
  state.blocs = ev.target.checked;
  applyBlocs().then(() => { renderSelection(); saveHash(); }, reportError);
});

$("expand").addEventListener("click", () => {
  const id = $("expand").dataset.actor;
  if (id) expand(id);
});
$("use-from").addEventListener("click", () => {
  if (state.selected?.group === "nodes") $("path-from").value = state.selected.id;
});
$("use-to").addEventListener("click", () => {
  if (state.selected?.group === "nodes") $("path-to").value = state.selected.id;
});
$("fit").addEventListener("click", () => focus(cy.elements(), 50));
$("clear").addEventListener("click", () => {
  reloadToken += 1;
  state.anchors = [];
  state.hoods = new Map();
  state.pathQuery = null;
  state.paths = null;
  renderPaths();
  select(null);
  cy.elements().remove();
  sync();
});

cy.on("tap", "node", (ev) => select({ group: "nodes", id: ev.target.id() }));
cy.on("tap", "edge", (ev) => select({ group: "edges", id: ev.target.data("rid") }));
cy.on("tap", (ev) => {
  if (ev.target === cy) select(null);
});
cy.on("dbltap", "node", (ev) => expand(ev.target.id()));

window.explorer = { state, showActor, expand, reload, findPaths };

renderLegend();
renderSelection();
restoreHash();
