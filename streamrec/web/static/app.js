// streamrec dashboard: plain JavaScript, no build step.
//
// Polls /api/status every 2 s (every declared channel, task and queue with its state; a channel
// that records has `live`: the real name, size, bit rate and media time of the file being written)
// and /api/events?since=SEQ every second (only the events after the last one seen), and updates the
// page in place: channel cards are kept per name and only their text changes, so a page with a
// thousand channels stays cheap. Recordings are fetched again when an event says files came or
// went. format.js formats values (one time format for the page), events.js draws the event list,
// player.js plays recordings and live channels, admin.js and editor.js are the Admin section.
// Everything from the server is put into the page as text (never as HTML).
//
// The API token is kept in sessionStorage (this tab only, gone when it closes; never a cookie) and
// sent as `Authorization: Bearer` with every request. /api/whoami says the token's role and what
// it may do; buttons and forms show only as far as the role allows (the server refuses anyway).
"use strict";

const STATUS_EVERY = 2000;
const EVENTS_EVERY = 1000;
const EVENTS_KEPT = 1000;
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
  view: sessionStorage.getItem("streamrec-view"),  // "cards", "table" or null (by count)
  whoami: null,  // {role, who, may: {read, operate, edit}} of the token, from /api/whoami
  shownView: null,
  recordingsStale: true,
  recordingsAt: 0,
  openRecordings: new Set(),
  recordingsChannel: null,  // the channel the recordings section is narrowed to ("files" link)
  recordingsData: null,
  openGroups: new Set(),  // event lines that are opened
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

// --- talking to the daemon -----------------------------------------------------------------

const TOKEN_KEY = "streamrec-token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

// A request with the token; `json` (an object) is sent as the JSON body. The answer's status and
// its JSON (or null), whatever the status.
async function request(path, options = {}) {
  const { json, ...rest } = options;
  const headers = {};
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    cache: "no-store", credentials: "omit", ...rest, headers,
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  return { status: response.status, ok: response.ok, data };
}

// The JSON answer of a request that succeeded; an Error with the server's message otherwise.
async function api(path, options = {}) {
  const { status, ok, data } = await request(path, options);
  if (!ok) throw Object.assign(new Error((data && data.error) || `${status}`), { status });
  return data;
}

// What the token may do: /api/whoami's `may`, else (a daemon without it) what status.api says.
function may(right) {
  const who = ui.whoami;
  if (who && who.may) return Boolean(who.may[right]);
  if (right === "read") return true;
  return ui.access !== "read-only";
}

async function refreshWhoami() {
  const { ok, data } = await request("/api/whoami").catch(() => ({ ok: false }));
  ui.whoami = ok && data ? data : null;
  if (ui.status) renderHeader(ui.status);
  if (typeof adminAccessChanged === "function") adminAccessChanged();
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
    $("daemon").title = `started ${stamp(d.started_at)}; times shown in ${zoneName()}`;
    if (d.shard && d.shard !== "0/1") parts.push(`shard ${d.shard}`);
  } else {
    parts.push("daemon not running");
    $("daemon").title = d.stopped_at ? `stopped ${stamp(d.stopped_at)}` : "";
  }
  parts.push(`revision ${status.config.revision || "none"}`);
  $("daemon").textContent = parts.join(" · ");
  ui.access = (status.api && status.api.actions) || "read-only";
  $("access").textContent = accessText();
  $("access").dataset.role = (ui.whoami && ui.whoami.role) || "";
  $("token-button").hidden = ui.access === "open" && !token();
  $("token-button").textContent = token() ? "Change token" : "Set token";
  $("reconcile-button").hidden = !may("operate");

  const rejected = status.config.rejected;
  $("rejected").hidden = !rejected;
  if (rejected) {
    $("rejected-when").textContent = stamp(rejected.ts);
    $("rejected-when").title = ago(rejected.ts);
    $("rejected-running").textContent = status.config.revision || "none";
    $("rejected-errors").textContent = (rejected.errors || []).join("\n");
  }
}

function accessText() {
  const who = ui.whoami;
  if (who && who.role) {
    const rights = who.may.edit ? "may change the config" : who.may.operate ? "may run actions" : "may only look";
    return `${who.role}${who.who ? ` (${who.who})` : ""}: ${rights}`;
  }
  if (who) return token() ? "the token is not accepted" : who.may && who.may.operate ? "" : "no token: read-only";
  return {
    "open": "",
    "token": token() ? "actions enabled (token set)" : "actions need a token",
    "read-only": "read-only (no STREAMREC_API_TOKEN)",
  }[ui.access];
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
    ["applied", applied.ts ? `${stamp(applied.ts)} (${ago(applied.ts)})` : "never"],
  ];
  if (git.commit) facts.push(["git", `${String(git.commit).slice(0, 12)}${git.branch ? ` on ${git.branch}` : ""}${git.dirty ? " (dirty)" : ""}`]);
  for (const key of ["added", "changed", "removed"]) {
    if (diff[key] && diff[key].length) facts.push([`last apply ${key}`, diff[key].join(", ")]);
  }
  facts.push(["times shown in", zoneName()]);
  facts.push(["rejected", cfg.rejected ? `${stamp(cfg.rejected.ts)}: ${(cfg.rejected.errors || []).length} problem(s), shown above` : "none"]);
  $("config").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
}

// --- channels ------------------------------------------------------------------------------

// What a channel is writing now: `live` from the daemon (the real file name, size, bit rate and
// media time, updated every poll) while it records, else null.
function liveOf(entry) {
  return entry.state === "recording" && entry.live ? entry.live : null;
}

// The ?v= of the channel's thumbnail: the daemon's thumbnail_version (new while it records), else
// the end of the last finished file; null while there is no picture to ask for.
function thumbnailVersion(entry) {
  if (entry.thumbnail_version) return String(entry.thumbnail_version);
  return entry.last_segment ? String(entry.last_segment.end) : null;
}

function showFiles(channel) {
  ui.recordingsChannel = channel;
  if (channel) ui.openRecordings.add(channel);
  if (ui.recordingsData) renderRecordings(ui.recordingsData);
  $("recordings-panel").scrollIntoView({ block: "start" });
}

function channelLinks(name) {
  const links = { root: el("span", { class: "channel-links" }) };
  links.files = el("a", {
    href: "#recordings-panel", class: "files-link", title: `the recordings of ${name}`,
    onclick: (event) => { event.preventDefault(); showFiles(name); },
  }, "files");
  links.watch = el("button", {
    class: "small watch", type: "button", title: `watch ${name} live, from the file being written`,
    onclick: () => openPlayer(`${name}: live`, livePlayUrl(name), null),
  }, "watch live");
  links.root.append(links.files, links.watch);
  return links;
}

// "Record now for N minutes" (operator): POST /api/channels/{name}/record; 0 cancels a request.
function recordNow(name) {
  const box = { root: el("form", { class: "record-now", "data-record": name }) };
  box.minutes = el("input", {
    type: "number", min: "1", max: "1440", step: "1", value: "30", class: "minutes",
    "aria-label": `minutes to record ${name}`,
  });
  box.button = el("button", { class: "small", type: "submit", title: `record ${name} now, whatever its schedule says` }, "record now");
  box.cancel = el("button", { class: "small cancel", type: "button", hidden: true }, "cancel request");
  box.until = el("span", { class: "until muted" });
  const send = async (minutes) => {
    try {
      const result = await api(`/api/channels/${encodeURIComponent(name)}/record`, { method: "POST", json: { minutes } });
      toast(minutes ? `${name}: records until ${stamp(result.until)}` : `${name}: request cancelled`);
    } catch (error) {
      toast(`${name}: ${error.message}`);
    }
    setTimeout(pollStatusOnce, 300);
  };
  box.root.addEventListener("submit", (event) => { event.preventDefault(); send(Number(box.minutes.value)); });
  box.cancel.addEventListener("click", () => send(0));
  box.root.append(box.minutes, el("span", { class: "muted", text: "min" }), box.button, box.cancel, box.until);
  return box;
}

function updateRecordNow(box, entry) {
  box.root.hidden = !may("operate") || entry.enabled === false;
  const until = when(entry.requested_until);
  const open = until && until > new Date();
  box.cancel.hidden = !open;
  box.until.textContent = open ? `requested until ${stamp(entry.requested_until)}` : "";
}

function makeCard(name) {
  const card = { name, version: null };
  card.img = el("img", { alt: `last frame of ${name}` });
  card.img.addEventListener("error", () => {
    card.img.hidden = true;
    card.placeholder.hidden = false;
    card.placeholder.textContent = "no picture yet";
  });
  card.img.addEventListener("load", () => { card.img.hidden = false; card.placeholder.hidden = true; });
  card.img.hidden = true;
  card.placeholder = el("span", { text: "no picture yet" });
  card.pill = el("span", { class: "pill" });
  card.title = el("strong", { text: name });
  card.category = el("span", { class: "category" });
  card.file = el("div", { class: "file mono" });
  card.facts = el("dl", { class: "kv" });
  card.reason = el("div", { class: "reason" });
  card.links = channelLinks(name);
  card.record = recordNow(name);
  card.root = el("article", { class: "card", "data-channel": name },
    el("div", { class: "thumb" }, card.img, card.placeholder, card.pill),
    el("div", { class: "card-body" },
      el("div", { class: "card-title" }, card.title, card.category),
      card.file, card.facts, card.reason, card.links.root, card.record.root));
  return card;
}

// A fact of a card: [key, text] or [key, text, title].
function factNodes(facts) {
  return facts.flatMap(([key, text, title]) => [
    el("dt", { text: key }),
    el("dd", { class: `fact-${key.replace(/[^a-z0-9]+/g, "-")}`, text, title: title || null }),
  ]);
}

function updateCard(card, entry) {
  const state = entry.state || "idle";
  const live = liveOf(entry);
  card.root.className = `card ${state}`;
  card.pill.className = `pill ${state}`;
  card.pill.textContent = state;
  card.category.textContent = entry.category || "";
  const last = entry.last_segment;
  if (live) {
    card.file.textContent = `writing ${live.name || basename(live.file)}`;
    card.file.title = live.file || "";
  } else if (state === "recording") {
    card.file.textContent = last ? "writing the next file" : "writing the first file";
    card.file.title = "";
  } else {
    card.file.textContent = last ? `last file ${basename(last.file)}` : "no file yet";
    card.file.title = last ? last.file : "";
  }
  const gaps = entry.gaps_24h || [];
  const since = timeText(entry.since);
  const facts = [["since", since.text, since.title]];
  if (live) {
    facts.push(["written", `${size(live.bytes)} · ${duration(live.media_seconds)}`, `updated ${stamp(live.updated)}`]);
    facts.push(["bitrate", bitrate(live.bitrate_bps)]);
  } else if (state === "recording") {
    facts.push(["bitrate", bitrate(entry.bitrate)]);
  }
  if (last) {
    const end = timeText(last.end);
    facts.push(["last file", `${end.text}, ${duration(last.duration)}, ${size(last.bytes)}`, end.title]);
  } else {
    facts.push(["last file", "–"]);
  }
  facts.push(["on disk", `${entry.files || 0} files, ${size(entry.files_bytes || 0)}`]);
  facts.push(["gaps 24h", gaps.length ? `${gaps.length} (${duration(gapSeconds(gaps))} missing)` : "none"]);
  if (entry.stalls || entry.reconnects) facts.push(["stalls / reconnects", `${entry.stalls || 0} / ${entry.reconnects || 0}`]);
  const plan = entry.daemon;
  if (entry.scheduled && state !== "recording" && entry.windows && entry.windows.length) {
    const next = timeText(entry.windows[0].start, true);
    facts.push(["next window", next.text, next.title]);
  } else if (plan && plan.until) {
    const end = timeText(plan.until, true);
    facts.push(["records until", end.text, end.title]);
  }
  card.facts.replaceChildren(...factNodes(facts));
  const why = state !== "recording" ? entry.reason || (plan && !plan.recording && plan.why) || "" : "";
  card.reason.textContent = why;
  card.reason.hidden = !why;
  card.links.watch.hidden = state !== "recording";
  updateRecordNow(card.record, entry);
  const version = thumbnailVersion(entry);
  if (version && version !== card.version) {
    card.version = version;
    card.img.src = `/api/channels/${encodeURIComponent(card.name)}/thumbnail?v=${encodeURIComponent(version)}`;
  } else if (!version && !card.version) {
    card.placeholder.textContent = state === "recording" ? "waiting for the first frame" : "no picture yet";
  }
}

const ROW_CELLS = ["category", "since", "file", "written", "bitrate", "last", "disk", "gaps"];

function makeRow(name) {
  const row = { name };
  row.pill = el("span", { class: "pill" });
  row.reason = el("div", { class: "reason" });
  row.cells = ROW_CELLS.map((key) => el("td", { class: key === "file" ? "file mono" : "" }));
  row.links = channelLinks(name);
  row.root = el("tr", { "data-channel": name },
    el("td", {}, el("strong", { text: name })), el("td", {}, row.pill, row.reason), ...row.cells,
    el("td", { class: "actions" }, row.links.root));
  return row;
}

function updateRow(row, entry) {
  const state = entry.state || "idle";
  const last = entry.last_segment;
  const gaps = entry.gaps_24h || [];
  const plan = entry.daemon;
  const live = liveOf(entry);
  const current = live ? live.file : last && last.file;
  row.pill.className = `pill ${state}`;
  row.pill.textContent = state;
  const since = timeText(entry.since), end = timeText(last && last.end);
  const values = [
    [entry.category || ""],
    [since.text, since.title],
    [live ? live.name || basename(live.file) : current ? basename(current) : "–", current || ""],
    [live ? `${size(live.bytes)} · ${duration(live.media_seconds)}` : "–"],
    [bitrate(live ? live.bitrate_bps : state === "recording" ? entry.bitrate : null)],
    [end.text, end.title],
    [`${entry.files || 0} · ${size(entry.files_bytes || 0)}`],
    [gaps.length ? `${gaps.length} (${duration(gapSeconds(gaps))})` : "–"],
  ];
  const why = state !== "recording" ? entry.reason || (plan && !plan.recording && plan.why) || "" : "";
  if (row.reason.textContent !== why) row.reason.textContent = why;
  row.reason.hidden = !why;
  values.forEach(([text, title], i) => {
    const cell = row.cells[i];
    if (cell.textContent !== text) cell.textContent = text;
    if ((cell.title || "") !== (title || "")) cell.title = title || "";
  });
  row.links.watch.hidden = state !== "recording";
}

function renderChannels(channels) {
  const query = $("channel-filter").value.trim().toLowerCase();
  const names = Object.keys(channels).sort();
  const view = ui.view || (names.length > CARDS_UP_TO ? "table" : "cards");
  const box = $("channels");
  if (view !== ui.shownView) {
    ui.shownView = view;
    ui.cards.clear();
    box.className = view === "table" ? "scroll" : "cards";
    box.replaceChildren();
    if (view === "table") {
      box.append(el("table", { class: "grid channels-table" },
        el("thead", {}, el("tr", {}, ...["channel", "state", "category", "since", "file", "written",
          "bitrate", "last file", "on disk", "gaps 24h", ""].map((h) => el("th", { text: h })))),
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
  const disabled = !may("operate") || !enabled;
  return el("button", {
    class: "small", type: "button", disabled,
    title: may("operate") ? null : "this needs the operator role (set a token)",
    onclick: () => act(label, path),
  }, label.split(" ")[0]);
}

// Put `rows` (new <tr> elements with a data-key) into `tbody`, keeping every row and cell that did
// not change: a cell is replaced only when it differs (isEqualNode), so a button is not swapped
// under the pointer (or finger) each poll while only a "next in 3m" text ticks.
function syncRows(tbody, rows) {
  const old = new Map(Array.from(tbody.children).map((tr) => [tr.dataset.key, tr]));
  rows.forEach((row, index) => {
    let current = old.get(row.dataset.key);
    if (current) {
      old.delete(row.dataset.key);
      const cells = Array.from(row.children);  // taken before cells move over
      cells.forEach((fresh, i) => {
        const before = current.children[i];
        if (!before) current.append(fresh);
        else if (!before.isEqualNode(fresh)) before.replaceWith(fresh);
      });
      while (current.children.length > cells.length) current.lastElementChild.remove();
    } else {
      current = row;
    }
    if (tbody.children[index] !== current) tbody.insertBefore(current, tbody.children[index] || null);
  });
  for (const tr of old.values()) tr.remove();
}

// A table cell that names its column (`data-label`), for the stacked rows of narrow screens.
function cell(label, props, ...children) {
  return el("td", { ...props, "data-label": label }, ...children);
}

function renderTasks(tasks) {
  const rows = Object.entries(tasks).sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => {
    const path = `/api/tasks/${encodeURIComponent(name)}`;
    const schedule = typeof t.schedule === "string" ? t.schedule : t.schedule ? JSON.stringify(t.schedule) : "";
    const started = timeText(t.started_at, false, "never"), next = timeText(t.next_fire, true);
    return el("tr", { "data-task": name, "data-key": name },
      cell("task", { class: "name" }, el("strong", { text: name }), schedule ? el("div", { class: "order", text: schedule }) : null),
      cell("status", { title: t.reason || "" }, el("span", { class: `pill ${t.status}`, text: t.status })),
      cell("last run", { title: started.title }, `${started.text}${t.started_at && t.trigger ? ` (${t.trigger})` : ""}`),
      cell("took", { text: t.last_duration !== null && t.last_duration !== undefined ? duration(t.last_duration) : "–" }),
      cell("exit", { text: t.exit_code === null || t.exit_code === undefined ? "–" : String(t.exit_code) }),
      cell("runs / failed", { text: `${t.runs || 0} / ${t.failures || 0}` }),
      cell("next", { text: next.text, title: next.title }),
      cell("", { class: "actions" },
        actionButton(`run ${name}`, `${path}/run`, t.status !== "running"),
        actionButton(`stop ${name}`, `${path}/stop`, t.status === "running"),
        el("button", { class: "small", type: "button", onclick: () => openLog(name, "stdout") }, "log")));
  });
  syncRows($("tasks"), rows);
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
    const started = timeText(q.started_at, false, "never"), next = timeText(q.next_fire, true);
    return el("tr", { "data-queue": name, "data-key": name },
      cell("queue", { class: "name" }, el("strong", { text: name })),
      cell("status", {}, el("span", { class: `pill ${q.status}`, text: q.status })),
      cell("tasks", { class: "order" }, ...joined),
      cell("last run", { text: started.text, title: started.title }),
      cell("next", { text: next.text, title: next.title }),
      cell("", { class: "actions" },
        actionButton(`start ${name}`, `${path}/start`, q.status !== "running"),
        actionButton(`stop ${name}`, `${path}/stop`, q.status === "running")));
  });
  syncRows($("queues"), rows);
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

// --- events (the list itself is events.js) -------------------------------------------------

function takeEvents(events, initial) {
  if (!events.length) return;
  ui.events.push(...events);
  if (ui.events.length > EVENTS_KEPT) ui.events.splice(0, ui.events.length - EVENTS_KEPT);
  if (events.some((e) => /^(recording\.(segment|processed)|retention\.)/.test(e.type))) ui.recordingsStale = true;
  renderEvents(initial ? new Set() : new Set(events.map((e) => e.seq)));
  if (!initial) adminEvents(events);
}

// --- recordings ----------------------------------------------------------------------------

function recordingRow(channel, f) {
  const start = stamp(f.start);
  return el("tr", { "data-file": f.path || f.name },
    cell("file", { class: "name mono", title: f.path || f.name, text: f.name }),
    cell("start", { text: start, title: ago(f.start) }),
    cell("length", { text: duration(f.duration) }),
    cell("size", { text: size(f.bytes) }),
    cell("hooks", { text: f.hooks && f.hooks !== "none" ? f.hooks : "–" }),
    cell("", { class: "actions" },
      el("button", {
        class: "small play", type: "button", title: `play ${f.name} here`,
        onclick: () => openPlayer(`${channel}: ${f.name} (${start})`, recordingPlayUrl(f), recordingDownloadUrl(f)),
      }, "play"),
      el("a", { class: "button small download", href: recordingDownloadUrl(f), download: f.name, title: `download ${f.name}` }, "download")));
}

function renderRecordings(data) {
  ui.recordingsData = data;
  const only = ui.recordingsChannel;
  const entries = Object.entries(data.channels).filter(([channel]) => !only || channel === only);
  const sections = entries.map(([channel, files]) => {
    const total = files.reduce((sum, f) => sum + (f.bytes || 0), 0);
    const details = el("details", { class: "rec", "data-channel": channel, open: ui.openRecordings.has(channel) });
    details.addEventListener("toggle", () => {
      if (details.open) ui.openRecordings.add(channel); else ui.openRecordings.delete(channel);
    });
    const table = el("table", { class: "grid stack files" },
      el("thead", {}, el("tr", {}, ...["file", "start", "length", "size", "hooks", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...files.slice(0, FILES_SHOWN).map((f) => recordingRow(channel, f))));
    details.append(
      el("summary", {}, el("strong", { text: channel }), ` — ${files.length} files, ${size(total)}`),
      table,
      files.length > FILES_SHOWN ? el("p", { class: "muted", text: `…and ${files.length - FILES_SHOWN} older files` }) : "");
    return details;
  });
  const empty = only ? `Nothing recorded for ${only} yet.` : "Nothing recorded yet.";
  $("recordings").replaceChildren(...(sections.length ? sections : [el("p", { class: "muted", text: empty })]));
  $("recordings-total").textContent = `${data.count} files, ${size(data.bytes)}`;
  $("recordings-only").hidden = !only;
  $("recordings-only-name").textContent = only || "";
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
    if (error.status === 401 || error.status === 403) {  // reading needs a (better) token
      $("access").textContent = token() ? `the token is refused: ${error.message}` : "reading needs a token";
      $("token-button").hidden = false;
    }
  }
}

async function pollStatus() {
  await pollStatusOnce();
  setTimeout(pollStatus, STATUS_EVERY);
}

async function pollEvents() {
  try {
    const initial = ui.lastSeq === null;
    const path = initial ? "/api/events?limit=500" : `/api/events?since=${ui.lastSeq}&limit=500`;
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
    sessionStorage.setItem("streamrec-view", ui.view);
    if (ui.status) renderChannels(ui.status.channels);
  });
  $("token-button").addEventListener("click", () => {
    const given = prompt("API token (kept in this tab only); empty to forget it:");
    if (given === null) return;
    setToken(given.trim());
    refreshWhoami().then(pollStatusOnce);
  });
  $("reconcile-button").addEventListener("click", () => act("reconcile", "/api/reconcile"));
  $("log-stdout").addEventListener("click", () => ui.logTask && openLog(ui.logTask, "stdout"));
  $("log-stderr").addEventListener("click", () => ui.logTask && openLog(ui.logTask, "stderr"));
  $("recordings-all").addEventListener("click", () => { ui.recordingsChannel = null; if (ui.recordingsData) renderRecordings(ui.recordingsData); });
  setupPlayer();
  // an older page kept the token (and the view) in localStorage: forget them there, once
  for (const key of [TOKEN_KEY, "streamrec-view"]) {
    try { localStorage.removeItem(key); } catch (_) { /* storage refused */ }
  }
  setupAdmin();
  refreshWhoami();
  pollStatus();
  pollEvents();
}

document.addEventListener("DOMContentLoaded", setup);
