// kflow UI: vanilla JavaScript, no build step, nothing loaded from elsewhere.
// Pages are drawn from the server's JSON API; one EventSource per tab brings live changes.
"use strict";

const TERMINAL = new Set(["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"]);
const STATES = ["CREATED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRYING"];
let config = null;
let events = null;
let onChange = null; // the current page's reaction to a live change
let eventsOpenedAt = null, lastEventAt = 0; // when the stream (re)opened and last brought a change
let pageToken = 0; // a page drawn for an older route ignores its late answers

// -- DOM helpers ----------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "style") el.setAttribute("style", value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const main = () => document.getElementById("main");
function kids(nodes) { return nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false); }
function fill(el, ...nodes) { el.replaceChildren(...kids(nodes)); return el; }
function show(...nodes) { fill(main(), ...nodes); }
function link(href, ...text) { return h("a", { href, "data-link": true }, ...text); }
function badge(state, href) {
  const attrs = { class: "badge" + (TERMINAL.has(state) ? "" : " live-run"), style: `--state: var(--${state}, var(--CREATED))`, "data-state": state };
  return href ? h("a", { ...attrs, href, "data-link": true }, state) : h("span", attrs, state);
}
function labels(map) { return Object.entries(map || {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`)); }
function when(iso) { if (!iso) return "–"; const d = new Date(iso); return isNaN(d) ? iso : d.toLocaleString(); }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 10) return seconds.toFixed(1) + "s";
  if (seconds < 60) return Math.round(seconds) + "s";
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message; el.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.hidden = true; }, 7000);
}
function fileLinks(value, base) {
  const uris = [];
  const walk = (v) => { if (typeof v === "string" && v.startsWith("kestra://")) uris.push(v); else if (v && typeof v === "object") Object.values(v).forEach(walk); };
  walk(value);
  if (!uris.length) return null;
  return h("ul", { class: "files", "aria-label": "Files" }, uris.map((u) => h("li", {}, h("a", { href: `${base}/file?uri=${encodeURIComponent(u)}`, download: u.split("/").pop() }, "⬇ ", u.split("/").pop()))));
}
function json(value) { return typeof value === "string" ? value : JSON.stringify(value, null, 2); }
// One run of `fn` at a time (it may be async), runs at least `ms` apart from start to start; a call
// meanwhile runs it once more afterwards: the last change is always drawn, and an older answer
// never lands after a newer one.
function throttle(fn, ms) {
  let busy = false, again = false;
  const run = async () => {
    busy = true;
    const started = Date.now();
    try { await fn(); } catch (err) { toast(err.message); }
    setTimeout(() => { busy = false; if (again) { again = false; run(); } }, Math.max(ms - (Date.now() - started), 0));
  };
  return () => { if (busy) { again = true; return; } run(); };
}

// -- API ------------------------------------------------------------------------------------------
class ApiError extends Error { constructor(status, body) { super(body.error || `HTTP ${status}`); this.status = status; this.body = body; } }
async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options, headers: { "X-Kflow-UI": "1", ...(options.headers || {}) } };
  if (init.body && !(init.body instanceof FormData) && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body); init.headers["Content-Type"] = "application/json";
  }
  let response;
  try { response = await fetch(path, init); } catch (err) {
    // A reused keep-alive connection the server just closed fails at once: a read is safe to ask again.
    if ((init.method || "GET") !== "GET") throw err;
    await new Promise((resolve) => setTimeout(resolve, 250));
    response = await fetch(path, init);
  }
  const body = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : {};
  if (response.status === 401 && config && config.auth === "token" && !path.startsWith("/api/signin")) { navigate("/signin"); }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
function nsQuery() { return config && config.auth === "token" && config.allNamespaces ? `namespace=${encodeURIComponent(currentNamespace())}` : ""; }
function currentNamespace() { return localStorage.getItem("kflow.namespace") || config.namespace; }

// -- live updates -----------------------------------------------------------------------------------
function connectEvents() {
  if (events) events.close();
  const status = document.getElementById("live");
  const query = nsQuery();
  events = new EventSource("/api/events" + (query ? "?" + query : ""));
  events.onopen = () => {
    status.textContent = "● live"; status.classList.add("on");
    eventsOpenedAt = Date.now();
    if (onChange) onChange({ type: "reset" }); // changes made before the stream (re)opened were not sent: redraw
  };
  events.onerror = () => { status.textContent = "○ reconnecting"; status.classList.remove("on"); };
  events.onmessage = (message) => {
    const data = JSON.parse(message.data);
    lastEventAt = Date.now();
    if (onChange) onChange(data);
  };
}

// -- routing ----------------------------------------------------------------------------------------
function navigate(path, replace) {
  if (replace) history.replaceState(null, "", path); else history.pushState(null, "", path);
  route();
}
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

async function route() {
  const token = ++pageToken;
  const started = Date.now();
  onChange = null;
  const path = location.pathname;
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("[data-nav]").forEach((a) => a.removeAttribute("aria-current"));
  const current = (name) => { const a = document.querySelector(`[data-nav="${name}"]`); if (a) a.setAttribute("aria-current", "page"); };
  try {
    if (config.auth === "token" && !config.signedIn && parts[0] !== "signin") return navigate("/signin", true);
    if (parts[0] === "signin") return signInPage();
    if (parts[0] === "executions" && parts.length === 3) { current("executions"); return await executionPage(parts[1], parts[2], token); }
    if (parts[0] === "executions") { current("executions"); return await executionsPage(token); }
    if (parts[0] === "flows" && parts.length === 3) { current("flows"); return await flowPage(parts[1], parts[2], token); }
    if (parts[0] === "dashboard") { current("dashboard"); return await dashboardPage(token); }
    current("flows"); return await flowsPage(token);
  } catch (err) {
    if (token !== pageToken) return;
    show(h("h1", {}, "Something went wrong"), h("div", { class: "error-box", role: "alert" }, err.message));
  } finally {
    if (token === pageToken) {
      main().focus({ preventScroll: true });
      // The page read its data, then set onChange: a change in between (or before the stream
      // opened) reached no page. Read once more; the stream brings every later one.
      if (onChange && eventsOpenedAt !== null && (eventsOpenedAt >= started || lastEventAt >= started)) onChange({ type: "reset" });
    }
  }
}

// -- sign in (token mode) -----------------------------------------------------------------------------
function signInPage() {
  document.title = "Sign in · kflow";
  const error = h("p", { class: "error-text", role: "alert", id: "signin-error" });
  const area = h("textarea", { id: "token", name: "token", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "token-help signin-error" });
  const form = h("form", { class: "field", onsubmit: async (event) => {
    event.preventDefault(); error.textContent = "";
    try {
      const answer = await api("/api/signin", { method: "POST", body: { token: area.value } });
      config.signedIn = true; config.user = answer.user; setupHeader(); connectEvents(); navigate("/");
    } catch (err) { error.textContent = err.message; }
  } },
    h("label", { for: "token" }, "Kubernetes bearer token"),
    area,
    h("p", { class: "help", id: "token-help" }, "Your own token (for example kubectl create token NAME); what you may see and do is what Kubernetes RBAC allows it. It is kept in this server's memory only, for this session."),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  show(h("h1", {}, "Sign in"), form);
}

// -- flows ---------------------------------------------------------------------------------------------
async function flowsPage(token) {
  document.title = "Flows · kflow";
  const query = nsQuery();
  const data = await api("/api/flows" + (query ? "?" + query : ""));
  if (token !== pageToken) return;
  const rows = data.flows.map((f) => h("tr", { "data-flow": f.name },
    h("td", {}, link(`/flows/${encodeURIComponent(f.namespace)}/${encodeURIComponent(f.name)}`, f.name),
      f.problem ? h("div", { class: "error-text" }, f.problem) : null),
    h("td", { class: "hide-narrow" }, `${f.kestraNamespace || "–"}.${f.id}`),
    config.allNamespaces ? h("td", { class: "hide-narrow" }, f.namespace) : null,
    h("td", { class: "hide-narrow" }, labels(f.labels)),
    h("td", {}, f.revision ?? "–"),
    h("td", {}, f.lastExecutions.length ? f.lastExecutions.map((e) => [badge(e.state, `/executions/${encodeURIComponent(f.namespace)}/${encodeURIComponent(e.name)}`), " "]) : h("span", { class: "muted" }, "none yet"))));
  show(
    h("h1", {}, "Flows"),
    rows.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Flows" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Flow"), h("th", { scope: "col", class: "hide-narrow" }, "Kestra id"),
        config.allNamespaces ? h("th", { scope: "col", class: "hide-narrow" }, "Namespace") : null,
        h("th", { scope: "col", class: "hide-narrow" }, "Labels"), h("th", { scope: "col" }, "Revision"), h("th", { scope: "col" }, "Last executions"))),
      h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No flows yet: kflow apply FILE creates them."));
  onChange = throttle(() => (token === pageToken ? flowsPage(token) : undefined), 1000);
}

async function flowPage(namespace, name, token) {
  document.title = `${name} · kflow`;
  const f = await api(`/api/flows/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
  if (token !== pageToken) return;
  const executions = h("div", { id: "flow-executions" });
  const drawExecutions = (list) => fill(executions, executionTable(list, false));
  drawExecutions(f.executions);
  show(
    h("h1", {}, name, f.valid === "False" ? badge("FAILED") : null),
    h("p", { class: "muted" }, `${f.kestraNamespace || "–"}.${f.id} · revision ${f.revision ?? "–"} · namespace ${f.namespace}`, " ", labels(f.labels)),
    f.description ? h("p", {}, f.description) : null,
    f.problem ? h("div", { class: "error-box", role: "alert" }, f.problem) : null,
    f.executable && f.topology ? executeForm(f) : null,
    h("h2", {}, "Executions"), executions,
    f.topology ? [h("h2", {}, "Topology"), topologyGraph(f.topology, { id: "flow-graph", open: f.executions.length ? (task) => navigate(`/executions/${encodeURIComponent(namespace)}/${encodeURIComponent(f.executions[0].name)}?task=${encodeURIComponent(task)}`) : null, openLabel: ": open its runs in the latest execution" })] : null,
    h("h2", {}, "Source"), yamlBlock(f.yaml));
  onChange = throttle(async () => {
    const again = await api(`/api/flows/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    if (token === pageToken) drawExecutions(again.executions);
  }, 500);
}

function yamlBlock(text) {
  const pre = h("pre", { class: "yaml", tabindex: "0", "aria-label": "Flow YAML" });
  for (const line of text.split("\n")) {
    const comment = line.match(/^(\s*)(#.*)$/);
    const pair = line.match(/^(\s*-?\s*)([^\s:#][^:#]*?)(:)(\s.*|)$/);
    if (comment) pre.append(comment[1], h("span", { class: "c" }, comment[2]));
    else if (pair) {
      pre.append(pair[1], h("span", { class: "k" }, pair[2]), pair[3]);
      const rest = pair[4];
      if (/^\s*(["'].*|[^{[\d].*\S.*)$/.test(rest) && !/^\s*(true|false|null|[|>][-+]?)\s*$/.test(rest)) pre.append(h("span", { class: "s" }, rest));
      else pre.append(rest);
    } else pre.append(line);
    pre.append("\n");
  }
  return pre;
}

// -- topology graph ------------------------------------------------------------------------------------
// The server lays the graph out (kflow/ui/topology.py); this only draws it, as SVG, and keeps
// each task's state up to date. Every task is a focusable button: Enter opens its runs and log.
const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) if (value !== null && value !== undefined && value !== false) el.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}
const BRANCH_TITLES = { errors: "errors · if a task fails", finally: "finally · always" };
function clip(text, width, charWidth) { const n = Math.max(Math.floor(width / charWidth), 3); return text.length > n ? text.slice(0, n - 1) + "…" : text; }

function topologyGraph(topo, options = {}) {
  const g = topo.graph;
  const describe = (n, st) => `${n.group ? "group" : "task"} ${n.id}, ${n.type}${st ? `, ${st.state}${st.runs > 1 ? `, ${st.runs} runs` : ""}` : ""}${options.open ? (options.openLabel || "") : ""}`;
  const nodeEl = (n) => {
    const attrs = { class: "node" + (n.group ? " group" : "") + (n.disabled ? " disabled" : "") + (n.subflow ? " subflow" : ""), "data-node": n.id, tabindex: "0", role: "button", "aria-label": describe(n) };
    const title = svg("title", {}, `${n.id} (${n.type})${n.subflow ? ` → flow ${n.subflow}` : ""}`);
    const open = () => options.open && options.open(n.id);
    let el;
    if (n.group) {
      el = svg("g", attrs, title,
        svg("rect", { class: "box", x: n.x, y: n.y, width: n.w, height: n.h, rx: 8 }),
        svg("rect", { class: "head", x: n.x, y: n.y, width: n.w, height: 26, rx: 8 }),
        svg("circle", { class: "dot", cx: n.x + 13, cy: n.y + 13, r: 5 }),
        svg("text", { class: "name", x: n.x + 24, y: n.y + 17 }, clip(`${n.id} · ${n.type}`, n.w - 70, 7.2)),
        svg("text", { class: "runs", x: n.x + n.w - 8, y: n.y + 17, "text-anchor": "end" }));
    } else {
      el = svg("g", attrs, title,
        svg("rect", { class: "box", x: n.x, y: n.y, width: n.w, height: n.h, rx: 6 }),
        svg("rect", { class: "stripe", x: n.x, y: n.y, width: 6, height: n.h, rx: 3 }),
        svg("text", { class: "name", x: n.x + 14, y: n.y + 18 }, clip(n.id, n.w - 20, 7.6)),
        svg("text", { class: "type", x: n.x + 14, y: n.y + 35 }, clip(n.subflow ? `Subflow → ${n.subflow}` : n.type, n.w - 60, 6.4)),
        svg("text", { class: "runs", x: n.x + n.w - 8, y: n.y + 35, "text-anchor": "end" }));
    }
    el.addEventListener("click", open);
    el.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } });
    return el;
  };
  const groups = g.nodes.filter((n) => n.group).sort((a, b) => b.w * b.h - a.w * a.h); // outer first: inner ones on top
  const root = svg("svg", { class: "graph", width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: "group", "aria-label": options.label || "Topology of the flow's tasks" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
    g.branches.map((b) => svg("g", { class: `branch ${b.kind}`, "data-branch": b.name, "data-owner": b.owner || "" },
      svg("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 8 }),
      svg("text", { x: b.x + 8, y: b.y + 14 }, BRANCH_TITLES[b.kind] || b.name))),
    groups.map(nodeEl),
    g.edges.map((e) => svg("polyline", { class: `edge ${e.kind}`, "data-from": e.from, "data-to": e.to, points: e.points.map((p) => p.join(",")).join(" "), "marker-end": "url(#arrow)" })),
    g.nodes.filter((n) => !n.group).map(nodeEl));
  root.updateStates = (states) => {
    for (const el of root.querySelectorAll("[data-node]")) {
      const n = g.nodes.find((x) => x.id === el.dataset.node);
      const st = states && states[n.id];
      if (st) { el.dataset.state = st.state; el.style.setProperty("--state", `var(--${st.state})`); } else { delete el.dataset.state; el.style.removeProperty("--state"); }
      el.setAttribute("aria-label", describe(n, st));
      el.querySelector(".runs").textContent = st && st.runs > 1 ? `×${st.runs}` : "";
    }
  };
  root.updateStates(options.states);
  return h("div", { class: "graph-wrap", id: options.id || null }, root);
}

// The Execute form, one field per declared input; the server checks values as `kflow execute` does.
function executeForm(f) {
  const errors = {};
  const fields = f.inputs.map((input) => {
    const id = `input-${input.id}`;
    const help = [input.description, input.required === false ? "optional" : "required", input.type].filter(Boolean).join(" · ");
    let control;
    const common = { id, name: `input.${input.id}`, "aria-describedby": `${id}-help ${id}-error`, "data-type": input.type };
    const def = input.defaults;
    switch (input.type) {
      case "BOOLEAN": case "BOOL":
        control = h("select", common, h("option", { value: "" }, "(default)"), h("option", { value: "true", selected: def === true }, "true"), h("option", { value: "false", selected: def === false }, "false"));
        break;
      case "SELECT":
        control = h("select", common, h("option", { value: "" }, "(choose)"), (input.values || []).map((v) => h("option", { value: v, selected: v === def }, v)));
        break;
      case "MULTISELECT":
        control = h("select", { ...common, multiple: true, size: Math.min((input.values || []).length, 6) }, (input.values || []).map((v) => h("option", { value: v, selected: Array.isArray(def) && def.includes(v) }, v)));
        break;
      case "INT": case "FLOAT":
        control = h("input", { ...common, type: "text", inputmode: input.type === "INT" ? "numeric" : "decimal", value: def ?? "", placeholder: input.min !== undefined ? `≥ ${input.min}` : null });
        break;
      case "JSON": case "YAML": case "ARRAY":
        control = h("textarea", { ...common, spellcheck: "false" }, def !== undefined && def !== null ? json(def) : "");
        break;
      case "FILE":
        control = h("input", { ...common, type: "file" });
        break;
      case "SECRET":
        control = h("input", { ...common, type: "password", autocomplete: "off" });
        break;
      case "DATE": control = h("input", { ...common, type: "date", value: def ?? "" }); break;
      case "TIME": control = h("input", { ...common, type: "time", step: "1", value: def ?? "" }); break;
      default:
        control = h("input", { ...common, type: input.type === "EMAIL" ? "email" : input.type === "URI" ? "url" : "text", value: def ?? "", placeholder: input.type === "DATETIME" ? "2025-01-31T10:00:00Z" : input.type === "DURATION" ? "PT1H30M" : null });
    }
    errors[input.id] = h("div", { class: "error", id: `${id}-error`, role: "alert" });
    return h("div", { class: "field" }, h("label", { for: id }, input.displayName || input.id), control, h("div", { class: "help", id: `${id}-help` }, help), errors[input.id]);
  });
  const labelField = h("input", { id: "execute-labels", name: "labels", placeholder: "team=data, env=dev", "aria-describedby": "execute-labels-help" });
  const general = h("div", { class: "error-text", role: "alert" });
  const form = h("form", { id: "execute-form", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    Object.values(errors).forEach((e) => { e.textContent = ""; }); general.textContent = "";
    const data = new FormData();
    for (const input of f.inputs) {
      const el = form.elements[`input.${input.id}`];
      if (input.type === "FILE") { if (el.files.length) data.append(`input.${input.id}`, el.files[0], el.files[0].name); continue; }
      if (input.type === "MULTISELECT") { const v = [...el.selectedOptions].map((o) => o.value); if (v.length) data.append(`input-list.${input.id}`, JSON.stringify(v)); continue; }
      if (el.value !== "") data.append(`input.${input.id}`, el.value);
    }
    const pairs = labelField.value.split(",").map((s) => s.trim()).filter(Boolean);
    const labelMap = {};
    for (const pair of pairs) { const i = pair.indexOf("="); if (i < 1) { general.textContent = `label ${pair}: expected KEY=VALUE`; return; } labelMap[pair.slice(0, i)] = pair.slice(i + 1); }
    data.append("labels", JSON.stringify(labelMap));
    try {
      const created = await api(`/api/flows/${encodeURIComponent(f.namespace)}/${encodeURIComponent(f.name)}/execute`, { method: "POST", body: data });
      navigate(`/executions/${encodeURIComponent(created.namespace)}/${encodeURIComponent(created.name)}`);
    } catch (err) {
      if (err.body && err.body.problems) {
        for (const p of err.body.problems) (errors[p.input] || general).append(`${p.type ? p.type + ": " : ""}${p.message}`);
        const first = f.inputs.find((i) => errors[i.id].textContent); if (first) form.elements[`input.${first.id}`].focus();
      } else general.textContent = err.message;
    }
  } },
    fields.length ? fields : h("p", { class: "muted" }, "This flow declares no inputs."),
    h("div", { class: "field" }, h("label", { for: "execute-labels" }, "Labels"), labelField, h("div", { class: "help", id: "execute-labels-help" }, "optional, comma separated KEY=VALUE")),
    general,
    h("button", { type: "submit", class: "primary" }, "Execute"));
  return h("details", { class: "execute", open: true }, h("summary", {}, h("h2", { style: "display:inline" }, "Execute")), form);
}

// -- executions -------------------------------------------------------------------------------------------
function executionTable(list, withNamespace) {
  if (!list.length) return h("p", { class: "muted" }, "No executions.");
  return h("div", { class: "table-wrap" }, h("table", { "aria-label": "Executions" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Execution"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Flow"),
      withNamespace ? h("th", { scope: "col", class: "hide-narrow" }, "Namespace") : null,
      h("th", { scope: "col", class: "hide-narrow" }, "Progress"), h("th", { scope: "col" }, "Start"), h("th", { scope: "col" }, "Duration"),
      h("th", { scope: "col", class: "hide-narrow" }, "Labels"))),
    h("tbody", {}, list.map((e) => h("tr", { class: "state-row", style: `--state: var(--${e.state})`, "data-execution": e.name, "data-state": e.state },
      h("td", {}, link(`/executions/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.name)}`, e.name)),
      h("td", {}, badge(e.state)),
      h("td", {}, link(`/flows/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.flow)}`, e.flow)),
      withNamespace ? h("td", { class: "hide-narrow" }, e.namespace) : null,
      h("td", { class: "hide-narrow" }, e.progress || "–"),
      h("td", {}, when(e.start || e.created)),
      h("td", {}, duration(e.duration)),
      h("td", { class: "hide-narrow" }, labels(e.labels)))))));
}

async function executionsPage(token) {
  document.title = "Executions · kflow";
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams(params);
  if (config.auth === "token" && config.allNamespaces && !query.get("namespace")) query.set("namespace", currentNamespace());
  const data = await api("/api/executions?" + query.toString());
  if (token !== pageToken) return;
  const select = (name, label, options, value) => h("label", {}, label, h("select", { name }, h("option", { value: "" }, "all"), options.map((o) => h("option", { value: o, selected: o === value }, o))));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter executions", onchange: () => apply(), onsubmit: (e) => { e.preventDefault(); apply(); } },
    config.allNamespaces ? select("namespace", "Namespace", data.namespaces, params.get("namespace")) : null,
    select("flow", "Flow", data.flows, params.get("flow")),
    select("state", "State", STATES, params.get("state")),
    h("label", {}, "Label", h("input", { name: "label", value: params.get("label") || "", placeholder: "key=value", size: 14 })),
    h("label", {}, "Since", h("select", { name: "since" }, [["", "any time"], ["1", "last hour"], ["24", "last 24 hours"], ["168", "last 7 days"]].map(([v, t]) => h("option", { value: v, selected: v === (params.get("sinceHours") || "") }, t)))),
    h("label", {}, "Per page", h("select", { name: "size" }, [25, 50, 100, 200].map((n) => h("option", { value: n, selected: n === data.size }, n)))),
    h("button", { type: "submit" }, "Filter"));
  function apply(page) {
    const next = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) next.set(el.name === "since" ? "sinceHours" : el.name, el.value);
    if (next.get("sinceHours")) next.set("since", new Date(Date.now() - Number(next.get("sinceHours")) * 3600e3).toISOString());
    if (page) next.set("page", page);
    navigate("/executions?" + next.toString(), true);
  }
  const pager = h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: data.page <= 1, onclick: () => apply(data.page - 1) }, "← Newer"),
    h("span", {}, `Page ${data.page} of ${data.pages} · ${data.total} executions`),
    h("button", { type: "button", disabled: data.page >= data.pages, onclick: () => apply(data.page + 1) }, "Older →"));
  show(h("h1", {}, "Executions"), form, executionTable(data.executions, config.allNamespaces), pager);
  onChange = throttle(async () => {
    const again = await api("/api/executions?" + query.toString());
    if (token !== pageToken) return;
    const old = main().querySelector(".table-wrap, p.muted");
    const table = executionTable(again.executions, config.allNamespaces);
    if (old) old.replaceWith(table);
    pager.querySelector("span").textContent = `Page ${again.page} of ${again.pages} · ${again.total} executions`;
  }, 500);
}

async function executionPage(namespace, name, token) {
  document.title = `${name} · kflow`;
  const base = `/api/executions/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  let taskPage = 0; // the server sends one page of task runs (200), of one task when one is picked
  let taskFilter = new URLSearchParams(location.search).get("task") || null; // a task picked in the graph
  const detailUrl = () => {
    const q = new URLSearchParams();
    if (taskPage) q.set("page", taskPage);
    if (taskFilter) q.set("task", taskFilter);
    return base + (q.toString() ? "?" + q : "");
  };
  let e;
  try { e = await api(detailUrl()); } catch (err) {
    if (err.status !== 404 || token !== pageToken) throw err;
    // Not there yet (a local run's page can open before its first step): drawn once the watch brings it.
    show(h("h1", {}, name), h("p", { class: "muted", role: "status", id: "waiting" }, "Waiting for this execution to appear…"));
    onChange = (data) => { if (data.type === "reset" || (data.execution && data.execution.namespace === namespace && data.execution.name === name)) route(); };
    return;
  }
  if (token !== pageToken) return;
  let logs = null; // the open log viewer: {taskrun, attempt}
  let graph = null, graphKey = null;
  const head = h("div", {});
  const topo = h("section", { "aria-labelledby": "topology-h" });
  const tasks = h("section", { "aria-labelledby": "tasks-h" });
  const logPanel = h("section", { class: "logs", id: "logs", hidden: true, "aria-label": "Task log" });
  const gantt = h("section", { "aria-labelledby": "gantt-h" });
  const details = h("div", {});

  function drawHead() {
    const act = (action, label, cls) => h("button", { type: "button", class: cls || "", "data-action": action, onclick: () => doAction(action) }, label);
    fill(head,
      h("h1", {}, name, badge(e.state)),
      h("p", { class: "muted" }, "Flow ", link(`/flows/${encodeURIComponent(namespace)}/${encodeURIComponent(e.flow)}`, e.flow),
        ` · ${e.kestraNamespace || "–"}.${e.flowId || "–"} rev ${e.flowRevision ?? "–"} · namespace ${namespace}`),
      e.allowActions ? h("div", { class: "actions", role: "group", "aria-label": "Actions" },
        e.actions.kill ? act("kill", "Kill", "danger") : null,
        e.actions.resume ? act("resume", "Resume", "primary") : null,
        e.actions.restart ? act("restart", "Restart") : null) : null,
      e.error ? h("div", { class: "error-box", role: "alert", id: "failure" }, h("strong", {}, "Failure: "), e.error) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Execution id"), h("dd", {}, e.id || "– (not picked up by the operator yet)"),
        h("dt", {}, "Progress"), h("dd", { id: "progress" }, e.progress || "–"),
        h("dt", {}, "Started"), h("dd", {}, when(e.start)),
        h("dt", {}, "Duration"), h("dd", {}, duration(e.duration)),
        h("dt", {}, "Labels"), h("dd", {}, Object.keys(e.labels).length ? labels(e.labels) : "none"),
        e.parent ? [h("dt", {}, "Parent"), h("dd", {}, link(`/executions/${encodeURIComponent(namespace)}/${encodeURIComponent(e.parent)}`, e.parent))] : null,
        e.replayOf ? [h("dt", {}, "Replay of"), h("dd", {}, link(`/executions/${encodeURIComponent(namespace)}/${encodeURIComponent(e.replayOf)}`, e.replayOf))] : null,
        e.children.length ? [h("dt", {}, "Subflows"), h("dd", {}, e.children.map((c) => [link(`/executions/${encodeURIComponent(namespace)}/${encodeURIComponent(c.name)}`, c.name), " ", badge(c.state), " "]))] : null));
  }

  function drawTopology() {
    if (!e.topology) { topo.replaceChildren(); graph = graphKey = null; return; }
    const key = JSON.stringify(e.topology.graph);
    if (key !== graphKey) {
      graphKey = key;
      graph = topologyGraph(e.topology, { id: "execution-graph", states: e.taskStates, open: pickTask, openLabel: ": show its runs and log", label: `Topology of ${name}, coloured by state` });
      fill(topo, h("h2", { id: "topology-h" }, "Topology"), graph);
    } else graph.querySelector("svg").updateStates(e.taskStates);
  }
  // Redraw only the parts whose data changed: a 200-row table rebuilt for nothing costs a frame or more.
  const drawn = {};
  const changed = (part, ...data) => { const key = JSON.stringify(data); if (drawn[part] === key) return false; drawn[part] = key; return true; };
  function drawChanged() {
    drawHead(); drawTopology();
    if (changed("tasks", e.taskRuns, e.taskPage, e.taskPages, e.taskRunsMatching, e.taskRunsTotal, e.allowActions, e.actions.replay, taskFilter)) drawTasks();
    drawGantt();
    if (changed("details", e.inputs, e.outputs, e.history)) drawDetails();
  }
  async function reload() {
    try { e = await api(detailUrl()); } catch (err) { toast(err.message); return; }
    if (token !== pageToken) return;
    drawChanged();
    if (logs) drawLogs();
  }
  async function pickTask(taskId) {
    taskFilter = taskId; taskPage = 0;
    await reload();
    const runs = e.taskRuns.filter((t) => t.taskId === taskId);
    const last = runs[runs.length - 1];
    if (last && last.runnable && last.attempts.length) openLogs(last.id, last.attempts.length - 1);
    const heading = document.getElementById("tasks-h");
    heading.scrollIntoView({ block: "start" }); heading.focus({ preventScroll: true });
  }

  function drawTasks() {
    const slice = e.taskRuns, pages = e.taskPages, size = e.taskPageSize;
    taskPage = e.taskPage;
    fill(tasks,
      h("h2", { id: "tasks-h", tabindex: "-1" }, taskFilter ? `Task runs of ${taskFilter} (${e.taskRunsMatching} of ${e.taskRunsTotal})` : `Task runs (${e.taskRunsTotal})`),
      taskFilter ? h("p", {}, h("button", { type: "button", class: "small", id: "show-all-tasks", onclick: () => { taskFilter = null; taskPage = 0; reload(); } }, "Show every task's runs")) : null,
      slice.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Task runs" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Duration"),
          h("th", { scope: "col", class: "hide-narrow" }, "Attempts"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        h("tbody", {}, slice.map((t) => h("tr", { class: "state-row", style: `--state: var(--${t.state})`, "data-task": t.taskId, "data-taskrun": t.id, "data-state": t.state },
          h("td", {}, h("span", { class: "indent", style: `width:${t.depth * 16}px` }), t.taskId, t.value !== null && t.value !== undefined ? h("span", { class: "muted" }, ` [${t.value}]`) : null,
            t.attempts.filter((a) => a.reason).slice(-1).map((a) => h("div", { class: "error-text" }, a.reason)),
            Object.keys(t.outputs).length ? h("details", {}, h("summary", {}, "outputs"), h("pre", {}, json(t.outputs)), fileLinks(t.outputs, base)) : null),
          h("td", {}, badge(t.state)),
          h("td", {}, duration(t.duration)),
          h("td", { class: "hide-narrow" }, t.attempts.length),
          h("td", {},
            t.runnable && t.attempts.length ? h("button", { type: "button", class: "small", "data-logs": t.id, onclick: () => openLogs(t.id, t.attempts.length - 1) }, "Logs") : null, " ",
            e.allowActions && e.actions.replay ? h("button", { type: "button", class: "small", "data-replay": t.id, onclick: () => replay(t) }, "Replay") : null)))))) : h("p", { class: "muted" }, "No task runs yet."),
      pages > 1 ? h("nav", { class: "pager", "aria-label": "Task run pages" },
        h("button", { type: "button", disabled: taskPage === 0, onclick: () => { taskPage--; reload(); } }, "← Previous"),
        h("span", {}, `Task runs ${taskPage * size + 1}–${taskPage * size + slice.length} of ${e.taskRunsMatching}`),
        h("button", { type: "button", disabled: taskPage >= pages - 1, onclick: () => { taskPage++; reload(); } }, "Next →")) : null);
  }

  let ganttDrawn = 0;
  function drawGantt() {
    if (!e.ganttAvailable) { gantt.replaceChildren(); return; }
    if (e.ganttByTask && Date.now() - ganttDrawn < 5000 && !TERMINAL.has(e.state)) return; // a big one: redrawn at most every 5 s while it runs
    ganttDrawn = Date.now();
    const width = Math.max(Math.min(main().clientWidth - 4, 1600), 500);
    fill(gantt, h("h2", { id: "gantt-h" }, "Gantt"),
      e.ganttByTask ? h("p", { class: "muted", id: "gantt-by-task" }, `${e.taskRuns.length} task runs: one bar per task, from its first start to its last end, in the state its runs sum up to.`) : null,
      h("div", { class: "gantt" }, h("img", { src: `${base}/gantt.svg?width=${width}&v=${Date.now()}`, alt: `Gantt chart of ${name}: one bar per task${e.ganttByTask ? "" : " run"}, coloured by state`, id: "gantt-img" })));
  }

  function drawDetails() {
    fill(details, h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Inputs"), Object.keys(e.inputs).length ? [h("pre", { id: "inputs" }, json(e.inputs)), fileLinks(e.inputs, base)] : h("p", { class: "muted" }, "none")),
      h("section", {}, h("h2", {}, "Outputs"), Object.keys(e.outputs).length ? [h("pre", { id: "outputs" }, json(e.outputs)), fileLinks(e.outputs, base)] : h("p", { class: "muted" }, "none")),
      h("section", {}, h("h2", {}, "State history"), h("ol", { id: "history" }, e.history.map((x) => h("li", {}, badge(x.state), " ", when(x.date)))))));
  }

  async function doAction(action) {
    if (action === "kill" && !confirm(`Kill ${name}? Its running tasks are stopped.`)) return;
    try { await api(`${base}/${action}`, { method: "POST" }); toast(`${action} requested`); }
    catch (err) { toast(`${action} refused: ${err.message}`); }
  }
  async function replay(t) {
    if (!confirm(`Replay ${name} from ${t.taskId}? A new execution starts; what ran before it is kept.`)) return;
    try { const created = await api(`${base}/replay`, { method: "POST", body: { taskRunId: t.id } }); navigate(`/executions/${encodeURIComponent(created.namespace)}/${encodeURIComponent(created.name)}`); }
    catch (err) { toast(`replay refused: ${err.message}`); }
  }

  async function openLogs(taskrun, attempt) {
    logs = { taskrun, attempt, row: e.taskRuns.find((x) => x.id === taskrun) };
    await drawLogs(true);
  }
  async function drawLogs(focus) {
    if (!logs) return;
    const t = e.taskRuns.find((x) => x.id === logs.taskrun) || logs.row; // the row may be on another page by now
    if (!t) return;
    logs.row = t;
    const answer = await api(`${base}/logs?taskrun=${encodeURIComponent(logs.taskrun)}&attempt=${logs.attempt}`);
    if (token !== pageToken) return;
    const search = logPanel.querySelector("#log-search");
    const term = search ? search.value : "";
    const pre = h("pre", { id: "log-lines", tabindex: "0", "aria-label": "Log lines" });
    const showLines = (needle) => {
      pre.replaceChildren();
      for (const line of answer.lines) {
        if (needle && !line.toLowerCase().includes(needle.toLowerCase())) continue;
        if (!needle) { pre.append(line, "\n"); continue; }
        const i = line.toLowerCase().indexOf(needle.toLowerCase());
        pre.append(line.slice(0, i), h("mark", {}, line.slice(i, i + needle.length)), line.slice(i + needle.length), "\n");
      }
      if (!pre.childNodes.length) pre.append(answer.message || (needle ? "no line matches" : "(no output)"));
    };
    showLines(term);
    const input = h("input", { id: "log-search", type: "search", value: term, placeholder: "search", oninput: () => showLines(input.value) });
    const following = answer.state && !TERMINAL.has(answer.state);
    logPanel.hidden = false;
    fill(logPanel,
      h("div", { class: "bar" },
        h("h2", { id: "log-h", style: "margin:0" }, `Log of ${t.taskId}${t.value ? ` [${t.value}]` : ""}`),
        t.attempts.length > 1 ? h("label", {}, "Attempt ", h("select", { id: "log-attempt", onchange: (ev) => { logs.attempt = Number(ev.target.value); drawLogs(); } },
          t.attempts.map((a, i) => h("option", { value: i, selected: i === logs.attempt }, `${i + 1}: ${a.state}`)))) : null,
        h("label", { for: "log-search" }, "Search "), input,
        following ? h("span", { class: "muted", role: "status" }, "following…") : null,
        h("button", { type: "button", class: "small", onclick: () => { logs = null; logPanel.hidden = true; } }, "Close")),
      answer.message && answer.lines.length ? h("p", { class: "muted" }, answer.message) : null,
      pre);
    if (focus) logPanel.scrollIntoView({ block: "nearest" });
    clearTimeout(drawLogs.timer);
    if (following) drawLogs.timer = setTimeout(() => { if (token === pageToken && logs) drawLogs(); }, 1500);
  }

  drawChanged();
  show(head, topo, tasks, logPanel, gantt, details);
  const refresh = throttle(reload, 300);
  onChange = (data) => {
    if (data.type === "reset" || (data.execution && data.execution.namespace === namespace && (data.execution.name === name || data.execution.parent === name))) refresh();
  };
}

// -- dashboard -----------------------------------------------------------------------------------------------
async function dashboardPage(token) {
  document.title = "Dashboard · kflow";
  const query = nsQuery();
  const d = await api("/api/dashboard" + (query ? "?" + query : ""));
  if (token !== pageToken) return;
  const max = Math.max(1, ...d.timeline.map((b) => Object.values(b.states).reduce((a, n) => a + n, 0)));
  const flowRow = (f, value) => h("tr", {}, h("td", {}, link(`/flows/${encodeURIComponent(f.namespace)}/${encodeURIComponent(f.flow)}`, f.flow)), h("td", {}, value), h("td", {}, f.runs));
  show(
    h("h1", {}, "Dashboard"),
    h("div", { class: "cards", "aria-label": "Executions by state" },
      h("div", { class: "card" }, h("div", { class: "n" }, d.total), "executions"),
      Object.entries(d.states).sort().map(([s, n]) => h("div", { class: "card", style: `--state: var(--${s})`, "data-state": s }, h("div", { class: "n" }, n), s))),
    h("h2", {}, "Executions started per hour, last 24 hours"),
    h("div", { class: "timeline", role: "img", "aria-label": d.timeline.map((b) => `${new Date(b.hour).getHours()}h: ${Object.entries(b.states).map(([s, n]) => `${n} ${s}`).join(", ") || "none"}`).join("; ") },
      d.timeline.map((b) => h("div", { class: "col", title: `${when(b.hour)}: ${Object.entries(b.states).map(([s, n]) => `${n} ${s}`).join(", ") || "none"}` },
        Object.entries(b.states).map(([s, n]) => h("div", { class: "seg", style: `--state: var(--${s}); height: ${(100 * n) / max}%` }))))),
    h("div", { class: "timeline-axis", "aria-hidden": "true" }, h("span", {}, "24 h ago"), h("span", {}, "12 h ago"), h("span", {}, "now")),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Slowest flows (average)"), d.slowest.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Flow"), h("th", {}, "Average"), h("th", {}, "Runs"))),
        h("tbody", {}, d.slowest.map((f) => flowRow(f, duration(f.average))))) : h("p", { class: "muted" }, "none yet")),
      h("section", {}, h("h2", {}, "Most failing flows"), d.failing.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Flow"), h("th", {}, "Failed"), h("th", {}, "Runs"))),
        h("tbody", {}, d.failing.map((f) => flowRow(f, f.failed)))) : h("p", { class: "muted" }, "none"))));
  onChange = throttle(() => (token === pageToken ? dashboardPage(token) : undefined), 3000);
}

// -- start -------------------------------------------------------------------------------------------------------
// Token mode with -A: every page is about one namespace the user picks (their RBAC is checked per
// namespace); a token that may list namespaces gets a list, any other types the name.
async function setupNamespacePicker() {
  const where = document.getElementById("where");
  let answer;
  try { answer = await api("/api/namespaces"); } catch (err) { answer = { namespaces: null }; }
  const current = currentNamespace();
  const choose = (ns) => {
    if (!ns || ns === currentNamespace()) return;
    localStorage.setItem("kflow.namespace", ns);
    connectEvents();
    navigate(location.pathname.startsWith("/executions/") || location.pathname.startsWith("/flows/") ? "/" : location.pathname + location.search, true);
  };
  let control;
  if (answer.namespaces) {
    control = h("select", { id: "namespace-picker", onchange: (event) => choose(event.target.value) },
      [...new Set([current, ...answer.namespaces])].map((ns) => h("option", { value: ns, selected: ns === current }, ns)));
  } else {
    const input = h("input", { id: "namespace-input", value: current, size: 16, autocomplete: "off", spellcheck: "false", "aria-describedby": "namespace-help" });
    control = h("form", { class: "ns-form", onsubmit: (event) => { event.preventDefault(); choose(input.value.trim()); } },
      input, h("button", { type: "submit", class: "small", id: "namespace-open" }, "Open"),
      h("span", { id: "namespace-help", class: "sr-only" }, "Your token may not list namespaces: type the one to open"));
  }
  fill(where, h("label", { for: answer.namespaces ? "namespace-picker" : "namespace-input" }, "Namespace "), control);
}
function setupHeader() {
  document.getElementById("where").textContent = config.allNamespaces ? "all namespaces" : `namespace ${config.namespace}`;
  if (config.auth === "token" && config.allNamespaces && config.signedIn) setupNamespacePicker();
  const out = document.getElementById("signout");
  out.hidden = !(config.auth === "token" && config.signedIn);
  if (config.user) out.textContent = `Sign out (${config.user})`;
}
function setupTheme() {
  const button = document.getElementById("theme");
  const saved = localStorage.getItem("kflow.theme");
  const dark = saved ? saved === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  const apply = (on) => { document.documentElement.dataset.theme = on ? "dark" : "light"; button.setAttribute("aria-pressed", String(on)); };
  apply(dark);
  button.addEventListener("click", () => { const on = document.documentElement.dataset.theme !== "dark"; apply(on); localStorage.setItem("kflow.theme", on ? "dark" : "light"); });
}
async function start() {
  setupTheme();
  config = await api("/api/config");
  setupHeader();
  document.getElementById("signout").addEventListener("click", async () => {
    await api("/api/signout", { method: "POST" }); config.signedIn = false; if (events) events.close(); setupHeader(); navigate("/signin");
  });
  if (config.signedIn) connectEvents();
  route();
}
start().catch((err) => show(h("h1", {}, "kflow UI"), h("div", { class: "error-box", role: "alert" }, err.message)));
