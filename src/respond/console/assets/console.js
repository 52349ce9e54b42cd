// The gameday console: reads the run's live stream with fetch() (the token
// in an Authorization header, never in a URL), renders every text with
// textContent, and posts actions to the responder API, showing its answer.
"use strict";

const STREAM = "/v1/console/stream";
const NAME_KEY = "gameday.console.name";
const TOKEN_KEY = "gameday.console.token";
const SVG = "http://www.w3.org/2000/svg";

let token = null;
let snap = null;          // the last snapshot
let snapAt = 0;           // performance.now() when it arrived
let name = localStorage.getItem(NAME_KEY) || "";

const $ = (id) => document.getElementById(id);

// An element with attributes and children; strings become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, String(v));
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(typeof k === "string" || typeof k === "number" ? document.createTextNode(String(k)) : k);
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

// --- time -----------------------------------------------------------------

// "now" in the run's frame (drill time in a drill), extrapolated since the
// last snapshot unless the drill is paused or over.
function nowMs() {
  if (!snap) return Date.now();
  const base = Date.parse(snap.now);
  if (snap.paused || snap.ended) return base;
  return base + (performance.now() - snapAt) * (snap.scale || 1);
}

function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function rel(t) {
  if (!t || !snap) return "";
  return "[" + clock(Date.parse(t) - Date.parse(snap.started)) + "]";
}

// --- token and name ---------------------------------------------------------

function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    // Out of the address bar (and so out of screenshots and shared screens).
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = sessionStorage.getItem(TOKEN_KEY);
  }
}

function askName() {
  $("signin").hidden = false;
  $("name-input").focus();
}

$("name-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = $("name-input").value.trim();
  if (!v) return;
  name = v;
  localStorage.setItem(NAME_KEY, name);
  $("signin").hidden = true;
  if (snap) render(snap);
});

// --- the stream -------------------------------------------------------------

async function connect() {
  let ended = false;
  try {
    const r = await fetch(STREAM, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    if (r.status === 401) {
      status("this link's token is not valid for this run", "ended");
      return;
    }
    if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
    status("live", "");
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const s = parseEvent(block);
        if (s) { ended = !!s.ended; onSnapshot(s); }
      }
    }
  } catch (e) {
    status("disconnected, retrying…", "");
  }
  if (ended) { status("the run has ended", "ended"); return; }
  setTimeout(connect, 1000);
}

// One SSE block: `event: state` and `data: {...}` lines.
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (event !== "state" || data.length === 0) return null;
  try { return JSON.parse(data.join("\n")); } catch (e) { return null; }
}

function status(text, cls) {
  const s = $("status-line");
  s.textContent = text;
  s.className = cls || "";
}

function onSnapshot(s) {
  snap = s;
  snapAt = performance.now();
  $("board").hidden = false;
  if (s.viewer === "participant" && !name) askName();
  render(s);
}

// --- rendering --------------------------------------------------------------

function render(s) {
  $("title").textContent = `${s.kind === "drill" ? "drill" : "run"} ${s.scenario} · ${s.runId}`;
  if (s.ended) status(`ended: ${s.ended.reason || s.ended.status || ""}`, "ended");
  else if (s.paused) status("paused by the facilitator", "paused");
  else status(`live · ${s.phase}`, "");
  const mine = myRoles(s);
  $("whoami").textContent = s.viewer === "facilitator" ? "facilitator"
    : name ? `you: ${name}${mine.length ? " (" + mine.map((r) => r.label).join(", ") + ")" : ""}` : "";
  renderAlerts(s);
  renderRoles(s);
  renderFaults(s);
  renderMessages(s, mine);
  renderTimeline(s);
  renderRunbook(s);
  renderProbes(s);
  $("actions").hidden = s.viewer !== "participant" || !!s.ended;
  syncOptions($("declare-severity"), s.severities.map((v) => [v, v]));
  syncOptions($("step-id"), s.runbook.map((st) => [st.id, st.title ? `${st.id}: ${st.title}` : st.id]));
  $("facilitator").hidden = s.viewer !== "facilitator";
  if (s.viewer === "facilitator") { renderInjects(s); renderScorecard(s); }
  tick();
}

function myRoles(s) {
  return name ? s.roles.filter((r) => r.person === name) : [];
}

function list(id, items, empty) {
  const node = $(id);
  node.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, empty)]));
}

function renderAlerts(s) {
  list("alerts", s.alerts.map((a) => el("li", {},
    el("strong", {}, a.name),
    el("span", { class: "state " + a.state.split(" ")[0] }, a.state),
    a.since ? el("span", { class: "t" }, " " + rel(a.since)) : null,
    a.summary ? el("div", {}, a.summary) : null)), "no alerts");
}

function renderRoles(s) {
  $("roles").tBodies[0].replaceChildren(...s.roles.map((r) => el("tr", {},
    el("td", {}, r.label), el("td", {}, r.person || "—"))));
}

function renderFaults(s) {
  list("faults", s.faults.map((f) => {
    const active = f.injectedAt && !f.revertedAt;
    return el("li", {}, el("strong", {}, f.name), ` ${f.type} · ${f.targets} target(s) `,
      active && f.endsAt ? el("span", { class: "countdown", "data-ends": f.endsAt }, "")
        : el("span", { class: "state " + (f.revertedAt ? "resolved" : "") }, f.revertedAt ? "reverted" : f.injectedAt ? "active" : "planned"),
      f.revertError ? el("div", { class: "result error" }, f.revertError) : null);
  }), s.kind === "drill" ? "a tabletop drill injects no faults" : "no faults yet");
}

function renderMessages(s, mine) {
  const roles = new Set(mine.map((r) => r.role));
  const forMe = s.messages.filter((m) => s.viewer === "facilitator"
    || (m.to || []).some((t) => t === "all" || roles.has(t))
    || (m.people || []).includes(name));
  list("messages", forMe.slice().reverse().map((m) => el("li", {},
    el("span", { class: "t" }, rel(m.at)),
    el("strong", {}, m.kind === "escalation" ? "escalation" : (m.from || "message")), ": ",
    m.text || "")), "nothing for you yet");
}

function renderTimeline(s) {
  list("timeline", s.timeline.slice().reverse().map((t) => el("li", { "data-event": t.event },
    el("span", { class: "t" }, rel(t.at)), t.text)), "nothing yet");
}

function renderRunbook(s) {
  const node = $("runbook");
  node.replaceChildren(...s.runbook.map((st) => el("li", {},
    `${st.title || st.id} `,
    el("span", { class: "state " + (st.claimedAt ? "resolved" : "") },
      st.verifiedAt ? "verified" : st.claimedAt ? `done by ${st.claimedBy || "?"}` : "to do"))));
  if (!s.runbook.length) node.replaceChildren(el("li", { class: "empty" }, "no runbook"));
}

// Keeps a select's options in step with the run, keeping the choice.
function syncOptions(select, pairs) {
  const want = pairs.map(([v]) => v).join("\u0000");
  const have = Array.from(select.options).map((o) => o.value).join("\u0000");
  if (want === have) return;
  const keep = select.value;
  select.replaceChildren(...pairs.map(([v, label]) => el("option", { value: v }, label)));
  if (pairs.some(([v]) => v === keep)) select.value = keep;
}

// One SVG chart per probe: the readings as a line, readings outside the
// SLO as red dots, and each fault's window shaded, as in report.html.
function renderProbes(s) {
  const box = $("probes");
  if (!s.probes.length) { box.replaceChildren(el("p", { class: "empty" }, "no probes")); return; }
  box.replaceChildren(...s.probes.map((p) => chart(s, p)));
}

function chart(s, p) {
  const W = 600, H = 160, L = 44, R = 8, T = 10, B = 22;
  const pts = p.points.filter((x) => x.value !== null && x.value !== undefined);
  const fig = el("figure", {});
  const cap = el("figcaption", {}, `${p.name} (expect ${p.expect})`);
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${p.name} readings` });
  const t0 = Date.parse(s.started), t1 = Math.max(nowMs(), t0 + 1000);
  const vs = pts.map((x) => x.value);
  let lo = Math.min(...vs), hi = Math.max(...vs);
  if (!pts.length) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const x = (t) => L + ((Date.parse(t) - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  for (const f of s.faults) {
    if (!f.injectedAt) continue;
    const end = f.revertedAt || new Date(t1).toISOString();
    g.append(svg("rect", { class: "window", x: x(f.injectedAt), y: T, width: Math.max(1, x(end) - x(f.injectedAt)), height: H - T - B }));
  }
  if (pts.length) {
    g.append(svg("polyline", { class: "line", points: pts.map((q) => `${x(q.at).toFixed(1)},${y(q.value).toFixed(1)}`).join(" ") }));
    for (const q of pts) if (!q.ok) g.append(svg("circle", { class: "bad", cx: x(q.at), cy: y(q.value), r: 3 }));
  }
  const label = (txt, xx, yy) => { const t = svg("text", { x: xx, y: yy }); t.textContent = txt; return t; };
  g.append(label(fmt(hi), 2, T + 10), label(fmt(lo), 2, H - B), label(clock(t1 - t0), W - R - 40, H - 6));
  fig.append(cap, g);
  return fig;
}

function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); }

function renderInjects(s) {
  $("injects").tBodies[0].replaceChildren(...s.injects.map((i) => {
    const waiting = i.state === "waiting" && !s.ended;
    const fire = el("button", { type: "button", "data-inject": i.id, "data-control": "inject", "aria-label": `Fire inject ${i.id} now`, disabled: !waiting }, "Fire now");
    const skip = el("button", { type: "button", class: "secondary", "data-inject": i.id, "data-control": "skip", "aria-label": `Skip inject ${i.id}`, disabled: !waiting }, "Skip");
    const when = i.drillSeconds !== null && i.drillSeconds !== undefined ? ` at [${clock(i.drillSeconds * 1000)}]` : "";
    return el("tr", { "data-inject-row": i.id },
      el("td", {}, i.id), el("td", {}, i.due + (i.conditional ? " (conditional)" : "")),
      el("td", {}, i.action), el("td", {}, el("span", { class: "state " + i.state }, i.state + when)),
      el("td", {}, fire, " ", skip));
  }));
}

function renderScorecard(s) {
  const sc = s.scorecard || {};
  const rows = (sc.components || []).map((c) => el("tr", {},
    el("td", {}, c.component), el("td", {}, c.score === null || c.score === undefined ? "—" : Number(c.score).toFixed(2)),
    el("td", {}, [c.measured, c.target].filter(Boolean).join(" · "))));
  rows.push(el("tr", {}, el("th", { scope: "row" }, "composite"),
    el("td", {}, sc.composite === null || sc.composite === undefined ? "—" : Number(sc.composite).toFixed(2)), el("td", {}, "")));
  $("scorecard").tBodies[0].replaceChildren(...rows);
}

// The clock and the fault countdowns move between snapshots.
function tick() {
  if (!snap) return;
  $("clock").textContent = clock(nowMs() - Date.parse(snap.started));
  for (const c of document.querySelectorAll("[data-ends]")) {
    const left = Date.parse(c.getAttribute("data-ends")) - nowMs();
    c.textContent = left > 0 ? `reverts in ${clock(left)}` : "reverting…";
  }
}
setInterval(tick, 250);

// --- actions ----------------------------------------------------------------

async function post(path, body) {
  try {
    const r = await fetch(path, {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* an empty or non-JSON answer */ }
    return r.ok ? { ok: true, j } : { ok: false, error: j.error || `HTTP ${r.status}` };
  } catch (e) {
    return { ok: false, error: "the run cannot be reached: " + e.message };
  }
}

function show(out, res, okText) {
  out.className = "result " + (res.ok ? "ok" : "error");
  out.textContent = res.ok ? okText : res.error;
}

for (const form of document.querySelectorAll("form[data-do]")) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!name) { askName(); return; }
    const body = { as: name, do: form.dataset.do };
    for (const f of form.querySelectorAll("input, select, textarea")) body[f.name] = f.value;
    const out = form.querySelector("output");
    const res = await post("/v1/events", body);
    show(out, res, "recorded");
    if (res.ok) for (const t of form.querySelectorAll("textarea, input")) t.value = "";
  });
}

async function control(body) {
  const res = await post("/v1/facilitator", body);
  show($("control-result"), res, res.ok ? (res.j.done || "done") : "");
}

$("pause").addEventListener("click", () => control({ do: "pause" }));
$("resume").addEventListener("click", () => control({ do: "resume" }));
$("end").addEventListener("click", () => control({ do: "end" }));
$("hint-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("hint-text").value.trim();
  if (text) { control({ do: "hint", text }); $("hint-text").value = ""; }
});
$("injects").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-inject]");
  if (b) control({ do: b.dataset.control, id: b.dataset.inject });
});

// --- start ------------------------------------------------------------------

takeToken();
if (!token) {
  $("nosignin").hidden = false;
  status("no token", "ended");
} else {
  connect();
}
