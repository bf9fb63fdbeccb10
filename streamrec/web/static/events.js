// streamrec dashboard: the "Recent events" list.
//
// Each file a channel finishes adds several events (recording.segment, the on_segment hooks'
// task.started / task.finished with trigger "hook", recording.processed), and retention adds one
// per deleted file. groupEvents() folds each uninterrupted run of such events into one line per
// channel ("12 files finished for news, last …"), which opens to show the events it holds; every
// other event stays a line of its own; a config.changed line shows its diff (as text). Pure
// apart from eventItem()/renderEvents(), which build the
// list with el() (text only, never HTML).
"use strict";

const EVENT_LINES = 150;

// "segment" or "retention" for an event that is grouped, null for one that stands alone.
function groupKind(event) {
  if (event.type === "recording.segment" || event.type === "recording.processed") return "segment";
  if (/^task\.(started|finished|skipped)$/.test(event.type) && event.trigger === "hook") return "segment";
  if (event.type === "retention.deleted") return "retention";
  return null;
}

// The lines of `events` (oldest first), oldest first: {event} for a line of one event, {group} for
// a folded run ({kind, channel, events, key}). A hook's task events carry no channel: a run's
// task.started goes with the channel of the file finished last before it, and the rest of that run
// (same task and run number) with its task.started.
function groupEvents(events) {
  const lines = [];
  let block = [];
  let byKey = new Map();
  let lastChannel = null;
  let hookRuns = new Map();
  const flush = () => {
    block.sort((a, b) => a.events[a.events.length - 1].seq - b.events[b.events.length - 1].seq);
    for (const group of block) {
      lines.push(group.events.length === 1 ? { event: group.events[0] } : { group });
    }
    block = [];
    byKey = new Map();
    lastChannel = null;
    hookRuns = new Map();
  };
  for (const event of events) {
    const kind = groupKind(event);
    if (!kind) {
      flush();
      lines.push({ event });
      continue;
    }
    let channel = event.channel || null;
    if (kind === "segment" && channel) lastChannel = channel;
    else if (kind === "segment") {
      const run = `${event.task}\u0000${event.run}`;
      channel = hookRuns.has(run) ? hookRuns.get(run) : lastChannel;
      hookRuns.set(run, channel);
    }
    const key = `${kind}\u0000${channel || ""}`;
    let group = byKey.get(key);
    if (!group) {
      group = { kind, channel, events: [], key: `${key}\u0000${event.seq}` };
      byKey.set(key, group);
      block.push(group);
    }
    group.events.push(event);
  }
  flush();
  return lines;
}

function fileCount(count) {
  return count === 1 ? "1 file" : `${count} files`;
}

function groupText(group) {
  const who = group.channel || "a channel";
  if (group.kind === "retention") {
    const deleted = group.events.filter((e) => e.type === "retention.deleted");
    const bytes = deleted.reduce((sum, e) => sum + (e.bytes || 0), 0);
    return `${fileCount(deleted.length)} deleted for ${who} (${size(bytes)}), last ${basename(deleted[deleted.length - 1].file)}`;
  }
  const finished = group.events.filter((e) => e.type === "recording.segment");
  const hooks = {};
  for (const e of group.events) if (e.type === "recording.processed") hooks[e.status] = (hooks[e.status] || 0) + 1;
  const hookText = Object.entries(hooks).map(([status, n]) => `${n} ${status}`).join(", ");
  if (!finished.length) {  // the tasks filter shows the hooks' runs without their files
    const tasks = [...new Set(group.events.map((e) => e.task).filter(Boolean))];
    const runs = group.events.filter((e) => e.type === "task.finished").length;
    const whose = group.channel ? ` for ${group.channel}` : "";
    return `${runs} hook run${runs === 1 ? "" : "s"} of ${tasks.join(", ") || "a task"}${whose}${hookText ? `; hooks ${hookText}` : ""}`;
  }
  const last = finished[finished.length - 1];
  const lastText = `${basename(last.file)} · ${duration(last.duration)} · ${size(last.bytes)}`;
  return `${fileCount(finished.length)} finished for ${who}, last ${lastText}${hookText ? `; hooks ${hookText}` : ""}`;
}

function eventObject(event) {
  for (const kind of ["channel", "task", "queue"]) if (event[kind]) return `${kind} ${event[kind]}`;
  return "";
}

function eventText(event) {
  switch (event.type) {
    case "recording.segment":
      return `${basename(event.file)} · ${duration(event.duration)} · ${size(event.bytes)}`;
    case "recording.gap":
      return `gap ${stamp(event.start)} to ${stamp(event.end)} (${duration((when(event.end) - when(event.start)) / 1000)}): ${event.cause || ""}`;
    case "recording.processed":
      return `${basename(event.file)}: hooks ${event.status}`;
    case "retention.deleted":
      return `${basename(event.file)}${event.bytes ? ` · ${size(event.bytes)}` : ""}${event.reason ? `: ${event.reason}` : ""}`;
    case "recording.started":
      return "";  // the temporary file name says nothing; the live card shows the real one
    case "task.finished":
      return `${event.status}${event.exit_code !== undefined && event.exit_code !== null ? `, exit ${event.exit_code}` : ""}${event.duration !== undefined ? `, ${duration(event.duration)}` : ""}${event.reason ? `: ${event.reason}` : ""}`;
    case "config.applied": {
      const diff = event.diff || {};
      const changes = ["added", "changed", "removed"].filter((k) => diff[k] && diff[k].length)
        .map((k) => `${k} ${diff[k].join(", ")}`).join("; ");
      return `revision ${event.revision}${changes ? `: ${changes}` : ""}`;
    }
    case "config.changed": {
      const by = `${event.role || "?"}${event.who ? ` (${event.who})` : ""}`;
      const where = event.saved_to === "git" ? `committed ${String(event.commit || "").slice(0, 12)}`
        : event.saved_to === "patch" ? "offered as a patch (read-only, nothing written)" : "saved";
      return `${by}: ${where}, ${(event.files || []).join(", ")}${event.summary ? `: ${event.summary}` : ""}`;
    }
    case "recording.requested": {
      const by = `${event.role || "?"}${event.who ? ` (${event.who})` : ""}`;
      const until = when(event.until);
      return until && until > when(event.ts) ? `record now until ${stamp(event.until)}, asked by ${by}` : `request cancelled by ${by}`;
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
  const object = eventObject(event);
  return el("li", { class: fresh ? "fresh" : "", "data-seq": String(event.seq) },
    el("span", { class: "time", text: stamp(event.ts), title: ago(event.ts) }),
    el("span", { class: `type ${family}`, text: event.type }),
    el("span", { class: "what" }, object ? el("strong", { text: `${object} ` }) : null, eventText(event)),
    event.type === "config.changed" && event.diff ? el("pre", { class: "diff", text: event.diff }) : null);
}

function groupItem(group, fresh) {
  const first = group.events[0], last = group.events[group.events.length - 1];
  const open = ui.openGroups.has(group.key);
  const toggle = el("button", {
    class: "small toggle", type: "button", "aria-expanded": open ? "true" : "false",
    title: open ? "hide the events of this line" : "show the events of this line",
  }, `${open ? "▾" : "▸"} ${group.events.length}`);
  const type = group.kind === "retention" ? "retention.deleted" : "recording.segment";
  const item = el("li", {
    class: `group${group.events.some((e) => fresh.has(e.seq)) ? " fresh" : ""}`,
    "data-group": group.kind, "data-channel": group.channel || "", "data-count": String(group.events.length),
    "data-seq": String(last.seq),
  },
  el("span", { class: "time", text: stamp(last.ts), title: `${stamp(first.ts)} to ${stamp(last.ts)}` }),
  el("span", { class: `type ${type.split(".")[0]}`, text: type }),
  el("span", { class: "what" }, toggle, el("span", { class: "summary-text", text: groupText(group) })));
  if (open) {
    item.append(el("ol", { class: "events sub" }, ...group.events.slice().reverse().map((e) => eventItem(e, false))));
  }
  toggle.addEventListener("click", () => {
    if (ui.openGroups.has(group.key)) ui.openGroups.delete(group.key); else ui.openGroups.add(group.key);
    renderEvents();
  });
  return item;
}

function renderEvents(fresh = new Set()) {
  const prefix = $("event-filter").value;
  const matching = ui.events.filter((e) => !prefix || String(e.type).startsWith(prefix));
  const lines = groupEvents(matching).slice(-EVENT_LINES).reverse();
  $("events").replaceChildren(...lines.map((line) =>
    line.group ? groupItem(line.group, fresh) : eventItem(line.event, fresh.has(line.event.seq))));
}
