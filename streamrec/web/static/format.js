// streamrec dashboard: how values read on the page (times, durations, sizes, bit rates).
//
// Loaded before app.js and events.js (plain scripts sharing one global scope). Every absolute time
// on the page goes through stamp(): ISO 8601 in the viewer's time zone with the offset shown,
// "2026-12-01 21:24:14 +01:00". Relative texts ("3m ago", "in 20s") are made by ago() and until()
// and shown through timeText(), which puts the stamp() of the same moment into the title.
"use strict";

function when(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = new Date(value);
  return isNaN(date) ? null : date;
}

function pad(number) {
  return String(number).padStart(2, "0");
}

function zoneOffset(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// The one absolute time format of the page; "–" when there is no (valid) time.
function stamp(value) {
  const date = when(value);
  if (!date) return "–";
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${day} ${time} ${zoneOffset(date)}`;
}

// The viewer's zone as the header names it: "Europe/Berlin, +01:00".
function zoneName() {
  let name = "";
  try { name = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) { /* no Intl */ }
  const offset = zoneOffset(new Date());
  return name ? `${name}, ${offset}` : offset;
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

// A relative text for `value` ("3m ago" or, with future, "in 20s") with its stamp() as the title.
function timeText(value, future = false, fallback = "–") {
  const date = when(value);
  if (!date) return { text: fallback, title: "" };
  return { text: future ? until(value) : ago(value), title: stamp(value) };
}

function size(bytes) {
  if (!bytes) return "0 B";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
  return `${bytes.toFixed(bytes < 10 && i ? 1 : 0)} ${units[i]}`;
}

function bitrate(bps) {
  if (typeof bps !== "number" || !isFinite(bps)) return "–";
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
