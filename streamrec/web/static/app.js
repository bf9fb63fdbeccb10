// streamrec dashboard: plain JavaScript, no build step.
//
// Polls /api/status every 2 s (every declared channel, task and queue with its state) and
// /api/events?since=SEQ every second (only the events after the last one seen), and updates the page
// in place: channel cards are kept per name and only their text changes, so a page with a thousand
// channels stays cheap. Recordings are fetched again when an event says files came or went.
// Everything from the server is put into the page as text (never as HTML).
"use strict";

const STATUS_EVERY = 2000;
const EVENTS_EVERY = 1000;
const EVENTS_KEPT = 300;
const CHANNELS_PAGE = 60;
const CARDS_UP_TO = 12;  // more channels than this are shown as a table unless cards are chosen
const FILES_SHOWN = 50;

const ui = {
  status: null,
  access: "read-only",
  lastSeq: null,
  events: [],
  channelLimit: CHANNELS_PAGE,
  cards: new Map(),
  view: localStorage.getItem("streamrec-view"),  // "cards", "table" or null (by count)
  shownView: null,
  recordingsStale: true,
  recordingsAt: 0,
  openRecordings: new Set(),
  logTask: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- formatting ----------------------------------------------------------------------------

function when(value) {
  if (!value) return null;
  const date = new Date(value);
  return isNaN(date) ? null : date;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) return "–";
  seconds = Math.max(0, seconds);
  if (seconds < 0.1) return seconds ? "<0.1s" : "0s";
  if (seconds < 10 && !Number.isInteger(seconds)) return `${seconds.toFixed(1)}s`;
  seconds = Math.round(seconds);
  if (seconds < 60) return `${seconds}s`;
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return s ? `${m}m ${s}s` : `${m}m`;
}

function ago(value) {
  const date = when(value);
  return date ? `${duration(Math.round((Date.now() - date) / 1000))} ago` : "–";
}

function until(value) {
  const date = when(value);
  if (!date) return "–";
  const seconds = (date - Date.now()) / 1000;
  return seconds < 1 ? "now" : `in ${duration(Math.round(seconds))}`;
}

function clock(value) {
  const date = when(value);
  return date ? date.toLocaleTimeString([], { hour12: false }) : "";
}

function size(bytes) {
  if (!bytes) return "0 B";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
  return `${bytes.toFixed(bytes < 10 && i ? 1 : 0)} ${units[i]}`;
}

function bitrate(bps) {
  if (typeof bps !== "number") return "–";
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mb/s` : `${Math.round(bps / 1000)} kb/s`;
}

function basename(path) {
  return String(path || "").split("/").pop();
}

function gapSeconds(gaps) {
  let total = 0;
  for (const gap of gaps || []) {
    const start = when(gap.start), end = when(gap.end) || new Date();
    if (start) total += (end - start) / 1000;
  }
  return total;
}

// --- talking to the daemon -----------------------------------------------------------------

async function api(path, options = {}) {
  const headers = {};
  const token = localStorage.getItem("streamrec-token");
  if (token && options.method === "POST") headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { cache: "no-store", ...options, headers });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

async function act(label, path) {
  try {
    const result = await api(path, { method: "POST" });
    toast(`${label}: ${summarizeResult(result)}`);
  } catch (error) {
    toast(`${label}: ${error.message}`);
  }
  setTimeout(pollStatusOnce, 300);
}

function summarizeResult(result) {
  if (!result) return "done";
  if (result.results) {
    return Object.entries(result.results).map(([n, r]) => `${n} ${r.status}`).join(", ") || "done";
  }
  if ("stopped" in result) return result.stopped ? "stopped" : "nothing was running";
  if ("ok" in result) return result.ok ? `applied ${result.revision || ""}` : `rejected: ${(result.errors || [])[0] || ""}`;
  return "done";
}

function setLink(up) {
  const link = $("link");
  link.className = up ? "link up" : "link down";
  link.title = up ? "connected to the daemon" : "the daemon does not answer";
}

// --- header, summary, config ---------------------------------------------------------------

function renderHeader(status) {
  const d = status.daemon || {};
  const parts = [];
  if (d.running) {
    parts.push(`daemon pid ${d.pid}`, `v${d.version}`, `up ${duration(d.uptime)}`);
    if (d.shard && d.shard !== "0/1") parts.push(`shard ${d.shard}`);
  } else {
    parts.push("daemon not running");
  }
  parts.push(`revision ${status.config.revision || "none"}`);
  $("daemon").textContent = parts.join(" · ");
  ui.access = (status.api && status.api.actions) || "read-only";
  const accessText = {
    "open": "",
    "token": localStorage.getItem("streamrec-token") ? "actions enabled (token set)" : "actions need a token",
    "read-only": "read-only (no STREAMREC_API_TOKEN)",
  }[ui.access];
  $("access").textContent = accessText;
  $("token-button").hidden = ui.access !== "token";
  $("reconcile-button").hidden = ui.access === "read-only";

  const rejected = status.config.rejected;
  $("rejected").hidden = !rejected;
  if (rejected) {
    $("rejected-when").textContent = ago(rejected.ts);
    $("rejected-running").textContent = status.config.revision || "none";
    $("rejected-errors").textContent = (rejected.errors || []).join("\n");
  }
}

function renderSummary(status) {
  const channels = Object.values(status.channels);
  const tasks = Object.values(status.tasks);
  const count = (list, key, values) => list.filter((e) => values.includes(e[key])).length;
  const recording = count(channels, "state", ["recording"]);
  const trouble = count(channels, "state", ["stalled", "reconnecting"]);
  const stored = channels.reduce((sum, e) => sum + (e.files_bytes || 0), 0);
  const files = channels.reduce((sum, e) => sum + (e.files || 0), 0);
  const stats = [
    [`${recording} / ${channels.length}`, "channels recording", recording ? "hot" : ""],
    [trouble, "stalled or reconnecting", trouble ? "bad" : ""],
    [count(tasks, "status", ["running"]), "tasks running", ""],
    [count(tasks, "status", ["failed", "timeout"]), "tasks failed last run", count(tasks, "status", ["failed", "timeout"]) ? "bad" : ""],
    [size(stored), `in ${files} files`, ""],
  ];
  $("summary").replaceChildren(...stats.map(([value, label, cls]) =>
    el("div", { class: `stat ${cls}` }, el("b", { text: String(value) }), el("span", { text: label }))));
}

function renderConfig(status) {
  const cfg = status.config;
  const applied = cfg.applied || {};
  const git = applied.git || {};
  const diff = applied.diff || {};
  const facts = [
    ["directory", cfg.directory],
    ["running revision", cfg.revision || "none"],
    ["applied", applied.ts ? `${ago(applied.ts)} (${new Date(applied.ts).toLocaleString()})` : "never"],
  ];
  if (git.commit) facts.push(["git", `${String(git.commit).slice(0, 12)}${git.branch ? ` on ${git.branch}` : ""}${git.dirty ? " (dirty)" : ""}`]);
  for (const key of ["added", "changed", "removed"]) {
    if (diff[key] && diff[key].length) facts.push([`last apply ${key}`, diff[key].join(", ")]);
  }
  facts.push(["rejected", cfg.rejected ? `${ago(cfg.rejected.ts)}: ${(cfg.rejected.errors || []).length} problem(s), shown above` : "none"]);
  $("config").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}

// --- channels ------------------------------------------------------------------------------

function makeCard(name) {
  const card = { name, version: null };
  card.img = el("img", { alt: `last frame of ${name}` });
  card.img.addEventListener("error", () => { card.img.hidden = true; card.placeholder.hidden = false; });
  card.img.addEventListener("load", () => { card.img.hidden = false; card.placeholder.hidden = true; });
  card.img.hidden = true;
  card.placeholder = el("span", { text: "no picture yet" });
  card.pill = el("span", { class: "pill" });
  card.title = el("strong", { text: name });
  card.category = el("span", { class: "category" });
  card.file = el("div", { class: "file mono" });
  card.facts = el("dl", { class: "kv" });
  card.reason = el("div", { class: "reason" });
  card.root = el("article", { class: "card", "data-channel": name },
    el("div", { class: "thumb" }, card.img, card.placeholder, card.pill),
    el("div", { class: "card-body" },
      el("div", { class: "card-title" }, card.title, card.category),
      card.file, card.facts, card.reason));
  return card;
}

function updateCard(card, entry) {
  const state = entry.state || "idle";
  card.root.className = `card ${state}`;
  card.pill.className = `pill ${state}`;
  card.pill.textContent = state;
  card.category.textContent = entry.category || "";
  const last = entry.last_segment;
  const writing = state === "recording" && entry.file;
  const current = writing ? entry.file : last && last.file;
  card.file.textContent = current ? `${writing ? "writing" : "last file"} ${basename(current)}` : "no file yet";
  card.file.title = current || "";
  const gaps = entry.gaps_24h || [];
  const facts = [
    ["since", ago(entry.since)],
    ["bitrate", bitrate(entry.bitrate)],
    ["last segment", last ? `${ago(last.end)}, ${duration(last.duration)}, ${size(last.bytes)}` : "–"],
    ["on disk", `${entry.files || 0} files, ${size(entry.files_bytes || 0)}`],
    ["gaps 24h", gaps.length ? `${gaps.length} (${duration(gapSeconds(gaps))} missing)` : "none"],
  ];
  if (entry.stalls || entry.reconnects) facts.push(["stalls / reconnects", `${entry.stalls || 0} / ${entry.reconnects || 0}`]);
  const live = entry.daemon;
  if (entry.scheduled && state !== "recording" && entry.windows && entry.windows.length) {
    facts.push(["next window", `${until(entry.windows[0].start)}`]);
  } else if (live && live.until) {
    facts.push(["records until", until(live.until)]);
  }
  card.facts.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const why = state !== "recording" ? entry.reason || (live && !live.recording && live.why) || "" : "";
  card.reason.textContent = why;
  card.reason.hidden = !why;
  if (last && last.end !== card.version) {
    card.version = last.end;
    card.img.src = `/api/channels/${encodeURIComponent(card.name)}/thumbnail?v=${encodeURIComponent(last.end)}`;
  }
}

function makeRow(name) {
  const row = { name };
  row.pill = el("span", { class: "pill" });
  row.cells = ["category", "since", "file", "bitrate", "last", "disk", "gaps", "reason"]
    .map((key) => el("td", { class: key === "file" ? "file mono" : key === "reason" ? "reason" : "" }));
  row.root = el("tr", { "data-channel": name },
    el("td", {}, el("strong", { text: name })), el("td", {}, row.pill), ...row.cells);
  return row;
}

function updateRow(row, entry) {
  const state = entry.state || "idle";
  const last = entry.last_segment;
  const gaps = entry.gaps_24h || [];
  const live = entry.daemon;
  const current = state === "recording" && entry.file ? entry.file : last && last.file;
  row.pill.className = `pill ${state}`;
  row.pill.textContent = state;
  const values = [
    entry.category || "",
    ago(entry.since),
    current ? basename(current) : "–",
    bitrate(entry.bitrate),
    last ? ago(last.end) : "–",
    `${entry.files || 0} · ${size(entry.files_bytes || 0)}`,
    gaps.length ? `${gaps.length} (${duration(gapSeconds(gaps))})` : "–",
    state !== "recording" ? entry.reason || (live && !live.recording && live.why) || "" : "",
  ];
  values.forEach((value, i) => { if (row.cells[i].textContent !== value) row.cells[i].textContent = value; });
  row.cells[2].title = current || "";
}

function renderChannels(channels) {
  const query = $("channel-filter").value.trim().toLowerCase();
  const names = Object.keys(channels).sort();
  const view = ui.view || (names.length > CARDS_UP_TO ? "table" : "cards");
  const box = $("channels");
  if (view !== ui.shownView) {
    ui.shownView = view;
    ui.cards.clear();
    box.className = view === "table" ? "" : "cards";
    box.replaceChildren();
    if (view === "table") {
      box.append(el("table", { class: "grid channels-table" },
        el("thead", {}, el("tr", {}, ...["channel", "state", "category", "since", "file", "bitrate",
          "last segment", "on disk", "gaps 24h", ""].map((h) => el("th", { text: h })))),
        el("tbody", { id: "channel-rows" })));
    }
  }
  $("view-button").textContent = view === "table" ? "card view" : "table view";
  const matching = names.filter((name) => {
    if (!query) return true;
    const e = channels[name];
    return name.toLowerCase().includes(query) || String(e.category || "").toLowerCase().includes(query)
      || String(e.state || "").toLowerCase().includes(query);
  });
  const shown = matching.slice(0, ui.channelLimit);
  const keep = new Set(shown);
  for (const [name, item] of ui.cards) {
    if (!keep.has(name)) { item.root.remove(); ui.cards.delete(name); }
  }
  const parent = view === "table" ? $("channel-rows") : box;
  shown.forEach((name, index) => {
    let item = ui.cards.get(name);
    if (!item) { item = view === "table" ? makeRow(name) : makeCard(name); ui.cards.set(name, item); }
    if (view === "table") updateRow(item, channels[name]); else updateCard(item, channels[name]);
    if (parent.children[index] !== item.root) parent.insertBefore(item.root, parent.children[index] || null);
  });
  $("channel-count").textContent = query ? `${matching.length} of ${names.length}` : `${names.length}`;
  const more = $("channels-more");
  more.hidden = matching.length <= shown.length;
  more.textContent = `show ${Math.min(CHANNELS_PAGE, matching.length - shown.length)} more of ${matching.length - shown.length}`;
  if (!names.length) {
    ui.shownView = null;
    box.replaceChildren(el("p", { class: "muted", text: "No channels declared." }));
  }
}

// --- tasks and queues ----------------------------------------------------------------------

function actionButton(label, path, enabled = true) {
  const disabled = ui.access === "read-only" || !enabled;
  return el("button", {
    class: "small", type: "button", disabled,
    title: ui.access === "read-only" ? "read-only: the daemon has no STREAMREC_API_TOKEN" : null,
    onclick: () => act(label, path),
  }, label.split(" ")[0]);
}

function renderTasks(tasks) {
  const rows = Object.entries(tasks).sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => {
    const path = `/api/tasks/${encodeURIComponent(name)}`;
    const schedule = typeof t.schedule === "string" ? t.schedule : t.schedule ? JSON.stringify(t.schedule) : "";
    return el("tr", { "data-task": name },
      el("td", {}, el("strong", { text: name }), schedule ? el("div", { class: "order", text: schedule }) : null),
      el("td", { title: t.reason || "" }, el("span", { class: `pill ${t.status}`, text: t.status })),
      el("td", {}, t.started_at ? `${ago(t.started_at)}${t.trigger ? ` (${t.trigger})` : ""}` : "never"),
      el("td", { text: t.last_duration !== null && t.last_duration !== undefined ? duration(t.last_duration) : "–" }),
      el("td", { text: t.exit_code === null || t.exit_code === undefined ? "–" : String(t.exit_code) }),
      el("td", { text: `${t.runs || 0} / ${t.failures || 0}` }),
      el("td", { text: until(t.next_fire) }),
      el("td", { class: "actions" },
        actionButton(`run ${name}`, `${path}/run`, t.status !== "running"),
        actionButton(`stop ${name}`, `${path}/stop`, t.status === "running"),
        el("button", { class: "small", type: "button", onclick: () => openLog(name, "stdout") }, "log")));
  });
  $("tasks").replaceChildren(...rows);
  $("tasks-empty").hidden = rows.length > 0;
}

function renderQueues(queues) {
  const rows = Object.entries(queues).sort(([a], [b]) => a.localeCompare(b)).map(([name, q]) => {
    const path = `/api/queues/${encodeURIComponent(name)}`;
    const order = (q.order && q.order.length ? q.order : q.tasks || []).map((task) => {
      const result = (q.results || {})[task];
      const status = typeof result === "string" ? result : result && result.status;
      return el("span", { class: status === "completed" ? "done" : status === "failed" ? "failed" : "" }, task);
    });
    const joined = order.flatMap((node, i) => (i ? [" → ", node] : [node]));
    return el("tr", { "data-queue": name },
      el("td", {}, el("strong", { text: name })),
      el("td", {}, el("span", { class: `pill ${q.status}`, text: q.status })),
      el("td", { class: "order" }, ...joined),
      el("td", { text: q.started_at ? ago(q.started_at) : "never" }),
      el("td", { text: until(q.next_fire) }),
      el("td", { class: "actions" },
        actionButton(`start ${name}`, `${path}/start`, q.status !== "running"),
        actionButton(`stop ${name}`, `${path}/stop`, q.status === "running")));
  });
  $("queues").replaceChildren(...rows);
  $("queues-empty").hidden = rows.length > 0;
}

async function openLog(task, stream) {
  ui.logTask = task;
  $("log-title").textContent = `${task}: ${stream}`;
  $("log-text").textContent = "loading…";
  if (!$("log-dialog").open) $("log-dialog").showModal();
  try {
    const log = await api(`/api/tasks/${encodeURIComponent(task)}/log?stream=${stream}`);
    $("log-title").textContent = `${task}: ${stream} of run ${log.run || "–"} (${log.status})`;
    $("log-text").textContent = log.text || "(empty)";
  } catch (error) {
    $("log-text").textContent = error.message;
  }
}

// --- events --------------------------------------------------------------------------------

function eventObject(event) {
  for (const kind of ["channel", "task", "queue"]) if (event[kind]) return `${kind} ${event[kind]}`;
  return "";
}

function eventText(event) {
  switch (event.type) {
    case "recording.segment":
      return `${basename(event.file)} · ${duration(event.duration)} · ${size(event.bytes)}`;
    case "recording.gap":
      return `gap ${clock(event.start)}–${clock(event.end)} (${duration((when(event.end) - when(event.start)) / 1000)}): ${event.cause || ""}`;
    case "recording.started":
      return basename(event.file);
    case "task.finished":
      return `${event.status}${event.exit_code !== undefined && event.exit_code !== null ? `, exit ${event.exit_code}` : ""}${event.duration !== undefined ? `, ${duration(event.duration)}` : ""}${event.reason ? `: ${event.reason}` : ""}`;
    case "config.applied": {
      const diff = event.diff || {};
      const changes = ["added", "changed", "removed"].filter((k) => diff[k] && diff[k].length)
        .map((k) => `${k} ${diff[k].join(", ")}`).join("; ");
      return `revision ${event.revision}${changes ? `: ${changes}` : ""}`;
    }
    case "config.rejected":
      return `${(event.errors || []).length} problem(s): ${(event.errors || [])[0] || ""}`;
    default: {
      const skip = new Set(["seq", "ts", "type", "channel", "task", "queue", "definition", "stdout_tail", "stderr_tail", "stdout_log", "stderr_log", "git", "outcomes"]);
      return Object.entries(event).filter(([k]) => !skip.has(k))
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ").slice(0, 240);
    }
  }
}

function eventItem(event, fresh) {
  const family = String(event.type).split(".")[0];
  return el("li", { class: fresh ? "fresh" : "", "data-seq": String(event.seq), title: new Date(event.ts).toLocaleString() },
    el("span", { class: "time", text: clock(event.ts) }),
    el("span", { class: `type ${family}`, text: event.type }),
    el("span", { class: "what" }, eventObject(event) ? el("strong", { text: `${eventObject(event)} ` }) : null, eventText(event)));
}

function renderEvents(fresh = new Set()) {
  const prefix = $("event-filter").value;
  const shown = ui.events.filter((e) => !prefix || String(e.type).startsWith(prefix)).slice(-150).reverse();
  $("events").replaceChildren(...shown.map((e) => eventItem(e, fresh.has(e.seq))));
}

function takeEvents(events, initial) {
  if (!events.length) return;
  ui.events.push(...events);
  if (ui.events.length > EVENTS_KEPT) ui.events.splice(0, ui.events.length - EVENTS_KEPT);
  if (events.some((e) => /^(recording\.(segment|processed)|retention\.)/.test(e.type))) ui.recordingsStale = true;
  renderEvents(initial ? new Set() : new Set(events.map((e) => e.seq)));
}

// --- recordings ----------------------------------------------------------------------------

function renderRecordings(data) {
  const sections = Object.entries(data.channels).map(([channel, files]) => {
    const total = files.reduce((sum, f) => sum + (f.bytes || 0), 0);
    const details = el("details", { class: "rec", open: ui.openRecordings.has(channel) });
    details.addEventListener("toggle", () => {
      if (details.open) ui.openRecordings.add(channel); else ui.openRecordings.delete(channel);
    });
    const rows = files.slice(0, FILES_SHOWN).map((f) => el("tr", {},
      el("td", {}, el("a", { href: `/api/recordings/download?file=${encodeURIComponent(f.file)}`, download: f.name, title: f.path, text: f.name })),
      el("td", { text: when(f.start) ? new Date(f.start).toLocaleString() : "–" }),
      el("td", { text: duration(f.duration) }),
      el("td", { text: size(f.bytes) }),
      el("td", { text: f.hooks && f.hooks !== "none" ? `hooks ${f.hooks}` : "" })));
    const table = el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ...["file", "start", "length", "size", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows));
    details.append(
      el("summary", {}, el("strong", { text: channel }), ` — ${files.length} files, ${size(total)}`),
      table,
      files.length > FILES_SHOWN ? el("p", { class: "muted", text: `…and ${files.length - FILES_SHOWN} older files` }) : "");
    return details;
  });
  $("recordings").replaceChildren(...(sections.length ? sections : [el("p", { class: "muted", text: "Nothing recorded yet." })]));
  $("recordings-total").textContent = `${data.count} files, ${size(data.bytes)}`;
}

async function refreshRecordings() {
  if (!ui.recordingsStale && Date.now() - ui.recordingsAt < 30000) return;
  if (Date.now() - ui.recordingsAt < 3000) return;
  ui.recordingsStale = false;
  ui.recordingsAt = Date.now();
  try { renderRecordings(await api("/api/recordings")); } catch (_) { ui.recordingsStale = true; }
}

// --- the loops -----------------------------------------------------------------------------

function renderStatus(status) {
  ui.status = status;
  renderHeader(status);
  renderSummary(status);
  renderChannels(status.channels);
  renderTasks(status.tasks);
  renderQueues(status.queues);
  renderConfig(status);
}

async function pollStatusOnce() {
  try {
    renderStatus(await api("/api/status"));
    setLink(true);
    await refreshRecordings();
  } catch (error) {
    setLink(false);
  }
}

async function pollStatus() {
  await pollStatusOnce();
  setTimeout(pollStatus, STATUS_EVERY);
}

async function pollEvents() {
  try {
    const initial = ui.lastSeq === null;
    const path = initial ? "/api/events?limit=150" : `/api/events?since=${ui.lastSeq}&limit=500`;
    const data = await api(path);
    if (!initial && data.last_seq < ui.lastSeq) { ui.lastSeq = null; ui.events = []; }  // a new log
    else {
      takeEvents(data.events, initial);
      ui.lastSeq = data.events.length ? data.events[data.events.length - 1].seq : (ui.lastSeq ?? data.last_seq);
    }
  } catch (_) { /* the status loop shows the connection */ }
  setTimeout(pollEvents, EVENTS_EVERY);
}

function setup() {
  $("channel-filter").addEventListener("input", () => { ui.channelLimit = CHANNELS_PAGE; if (ui.status) renderChannels(ui.status.channels); });
  $("channels-more").addEventListener("click", () => { ui.channelLimit += CHANNELS_PAGE; renderChannels(ui.status.channels); });
  $("event-filter").addEventListener("change", () => renderEvents());
  $("view-button").addEventListener("click", () => {
    ui.view = ui.shownView === "table" ? "cards" : "table";
    localStorage.setItem("streamrec-view", ui.view);
    if (ui.status) renderChannels(ui.status.channels);
  });
  $("token-button").addEventListener("click", () => {
    const token = prompt("API token (STREAMREC_API_TOKEN of the daemon); empty to forget it:");
    if (token === null) return;
    if (token) localStorage.setItem("streamrec-token", token); else localStorage.removeItem("streamrec-token");
    if (ui.status) renderHeader(ui.status);
  });
  $("reconcile-button").addEventListener("click", () => act("reconcile", "/api/reconcile"));
  $("log-stdout").addEventListener("click", () => ui.logTask && openLog(ui.logTask, "stdout"));
  $("log-stderr").addEventListener("click", () => ui.logTask && openLog(ui.logTask, "stderr"));
  pollStatus();
  pollEvents();
}

document.addEventListener("DOMContentLoaded", setup);
