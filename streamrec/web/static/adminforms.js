// streamrec dashboard: the forms of the Admin section (admin.js), one per kind of entry.
//
// Each form has a field per config key it edits (FIELDS): text, a list of names, a choice, a
// checkbox, a task schedule ("every 6h", a cron expression, once) or a channel's windows (a list
// with a one-off recording, its start in the viewer's zone with the offset written out, and a
// weekly window). openForm() fills them from the entry as yamlread.js read it; formBody() builds
// the contract's ops from them: a new entry with every field given, an edit with only the changed
// fields in `value` and the cleared ones in `unset`. showFormProblems() puts a located problem
// beside the field it names ("channels.x.url: ..."), the others above the form. DOM by el() only.
"use strict";


const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

// --- fields of the forms -------------------------------------------------------------------

const FIELDS = {
  channels: [
    { key: "url", label: "URL", kind: "text", required: true },
    { key: "category", label: "category", kind: "category" },
    { key: "description", label: "description", kind: "text" },
    { key: "enabled", label: "enabled", kind: "bool", empty: true },
    { key: "schedule", label: "schedule", kind: "windows" },
    { key: "on_segment", label: "after each file, run tasks (on_segment)", kind: "names" },
    { key: "on_recording_end", label: "when a recording ends, run tasks (on_recording_end)", kind: "names" },
  ],
  categories: [{ key: "description", label: "description", kind: "text" }],
  tasks: [
    { key: "command", label: "command", kind: "text", required: true },
    { key: "description", label: "description", kind: "text" },
    { key: "schedule", label: "schedule (cron, \"every 6h\" or once)", kind: "taskschedule" },
    { key: "depends_on", label: "depends on (task names)", kind: "names" },
    { key: "timeout", label: "timeout (30m, 2h)", kind: "text" },
  ],
  queues: [
    { key: "tasks", label: "tasks, in order", kind: "names", required: true },
    { key: "description", label: "description", kind: "text" },
    { key: "schedule", label: "schedule (cron, \"every 6h\" or once)", kind: "taskschedule" },
    { key: "on_failure", label: "on failure", kind: "choice", choices: ["", "stop", "continue"] },
  ],
};

function names(value) {
  if (value === null || value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function windowText(w) {
  if (w && w.at) return `once at ${w.at} for ${w.duration}`;
  if (w && w.cron) return `cron ${w.cron} for ${w.duration}`;
  if (w && (w.start || w.end)) return `${names(w.days || DAYS).join(",")} ${w.start}–${w.end}`;
  return JSON.stringify(w);
}

// The local date-time of a datetime-local input with the viewer's offset ("...+05:30").
function withOffset(local) {
  const date = when(local);
  return date ? `${local.length === 16 ? `${local}:00` : local}${zoneOffset(date)}` : null;
}

function windowsEditor(field) {
  const list = el("ul", { class: "windows" });
  const at = el("input", { type: "datetime-local", step: "1", class: "at", "aria-label": "one-off recording starts at" });
  const length = el("input", { type: "text", class: "duration", placeholder: "30m", "aria-label": "one-off recording lasts" });
  const days = DAYS.map((d) => el("label", { class: "day" }, el("input", { type: "checkbox", value: d }), d));
  const start = el("input", { type: "time", class: "start", "aria-label": "weekly window starts" });
  const end = el("input", { type: "time", class: "end", "aria-label": "weekly window ends" });
  const note = el("span", { class: "field-note" });
  const draw = () => {
    list.replaceChildren(...field.windows.map((w, i) => el("li", { "data-window": String(i) },
      el("span", { text: windowText(w) }),
      el("button", { class: "small", type: "button", onclick: () => { field.windows.splice(i, 1); draw(); } }, "remove"))));
    if (!field.windows.length) list.append(el("li", { class: "muted", text: "no windows: records all the time" }));
  };
  const addAt = el("button", { class: "small add-at", type: "button", onclick: () => {
    const stamp = withOffset(at.value);
    if (!stamp || !length.value.trim()) { note.textContent = "a one-off needs a start and a duration"; return; }
    field.windows.push({ at: stamp, duration: length.value.trim() });
    note.textContent = "";
    draw();
  } }, "add one-off");
  const addWeekly = el("button", { class: "small add-weekly", type: "button", onclick: () => {
    const chosen = days.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
    if (!start.value || !end.value) { note.textContent = "a weekly window needs a start and an end"; return; }
    // no day chosen: every day (the model's default), written without `days`
    field.windows.push(chosen.length ? { days: chosen, start: start.value, end: end.value } : { start: start.value, end: end.value });
    note.textContent = "";
    draw();
  } }, "add weekly");
  field.draw = draw;
  return el("div", { class: "windows-editor" }, list,
    el("div", { class: "window-add" }, el("span", { class: "muted", text: `one-off (your zone, ${zoneOffset(new Date())}):` }), at, length, addAt),
    el("div", { class: "window-add" }, el("span", { class: "muted", text: "weekly:" }), ...days, start, end, addWeekly),
    note);
}

// One field of a form: {key, root, read() (undefined when empty), write(value), problem}.
function makeField(spec, section) {
  const field = { ...spec, problem: el("div", { class: "field-problem", hidden: true }) };
  let input;
  if (spec.kind === "windows") {
    field.windows = [];
    input = windowsEditor(field);
    field.read = () => (field.windows.length ? field.windows.map((w) => ({ ...w })) : undefined);
    field.write = (v) => { field.windows = Array.isArray(v) ? v.map((w) => ({ ...w })) : []; field.draw(); };
  } else if (spec.kind === "bool") {
    input = el("input", { type: "checkbox", name: spec.key });
    field.read = () => input.checked;
    field.write = (v) => { input.checked = v === undefined || v === null ? spec.empty : Boolean(v); };
  } else if (spec.kind === "category" || spec.kind === "choice") {
    const choices = spec.kind === "category" ? ["", ...Object.keys(admin.entries.categories).sort()] : spec.choices;
    input = el("select", { name: spec.key }, ...choices.map((c) => el("option", { value: c, text: c || "(none)" })));
    field.read = () => input.value || undefined;
    field.write = (v) => {
      const value = v === undefined || v === null ? "" : String(v);
      if (value && !Array.from(input.options).some((o) => o.value === value)) input.append(el("option", { value, text: value }));
      input.value = value;
    };
  } else {
    input = el("input", { type: "text", name: spec.key, autocomplete: "off" });
    if (spec.kind === "names") {
      input.placeholder = "comma-separated names";
      field.read = () => { const list = input.value.split(",").map((s) => s.trim()).filter(Boolean); return list.length ? list : undefined; };
      field.write = (v) => { input.value = names(v).join(", "); };
    } else if (spec.kind === "taskschedule") {
      field.read = () => {
        const text = input.value.trim();
        const every = /^every\s+(.+)$/.exec(text);
        return !text ? undefined : every ? { every: every[1].trim() } : text;
      };
      field.write = (v) => { input.value = v && typeof v === "object" && "every" in v ? `every ${v.every}` : v === undefined || v === null ? "" : String(v); };
    } else {
      field.read = () => input.value.trim() || undefined;
      field.write = (v) => { input.value = v === undefined || v === null ? "" : String(v); };
    }
  }
  field.input = input;
  if (spec.required) input.required = true;  // the browser asks for it before any check
  const id = `field-${section}-${spec.key}`;
  if (spec.kind !== "windows") input.id = id;
  field.root = el("div", { class: `field field-${spec.key}`, "data-field": spec.key },
    el("label", { class: "field-label", for: spec.kind !== "windows" ? id : null, text: spec.label }), input, field.problem);
  if (section === "channels" && spec.key === "url") field.root.append(el("div", { class: "field-note", text: "a redacted secret stays as it is unless you type a new URL" }));
  return field;
}

// The same value for comparing: lists of names as lists, numbers and texts as they are.
function normal(spec, value) {
  if (value === undefined || value === null || value === "") return spec.kind === "bool" ? spec.empty : undefined;
  if (spec.kind === "names") return names(value);
  return value;
}

// Where a new entry goes by default: beside the section's others, else the only file, else
// where the server puts it.
function sectionFile(section) {
  const first = Object.values(admin.entries[section])[0];
  const files = admin.config ? admin.config.files : [];
  return first ? first.file : files.length === 1 ? files[0].path : "";
}

function openForm(section, name) {
  const isNew = name === null;
  const entry = isNew ? null : admin.entries[section][name];
  const form = { section, name, isNew, original: entry ? entry.value || {} : {} };
  form.fields = FIELDS[section].map((spec) => makeField(spec, section));
  form.problems = el("ul", { class: "form-problems" });
  form.nameInput = el("input", { type: "text", name: "name", autocomplete: "off", required: true });
  form.fileSelect = el("select", { name: "file" },
    el("option", { value: "", text: "(the server chooses)" }),
    ...(admin.config ? admin.config.files : []).map((f) => el("option", { value: f.path, text: f.path })));
  form.fileSelect.value = sectionFile(section);
  for (const field of form.fields) field.write(form.original[field.key]);
  const head = isNew
    ? [el("div", { class: "field field-name", "data-field": "name" }, el("label", { class: "field-label", text: "name" }), form.nameInput),
      el("div", { class: "field field-file" }, el("label", { class: "field-label", text: "in file" }), form.fileSelect)]
    : [el("p", { class: "muted", text: `${section}.${name} in ${entry.file}: only the fields you change are sent` })];
  form.root = el("form", { class: "admin-form", "data-section": section, "data-name": name || "" },
    el("h3", { text: isNew ? `New in ${section}` : `Edit ${name}` }), form.problems, ...head,
    ...form.fields.map((f) => f.root),
    el("div", { class: "form-buttons" },
      el("button", { type: "submit", class: "check" }, "Check"),
      el("button", { type: "button", class: "close", onclick: () => { admin.form = null; renderAdmin(); } }, "Close")));
  form.root.addEventListener("submit", (event) => { event.preventDefault(); submitForm(form); });
  admin.form = form;
  clearReview();
  renderAdmin();
  form.root.scrollIntoView({ block: "nearest" });
}

// The body a form asks for (the contract's ops), or a text saying why there is none.
function formBody(form) {
  const { section } = form;
  const value = {};
  const unset = [];
  for (const field of form.fields) {
    const now = field.read();
    if (form.isNew) {
      if (now !== undefined && !(field.kind === "bool" && now === field.empty)) value[field.key] = now;
      continue;
    }
    const before = normal(field, form.original[field.key]);
    const after = normal(field, now);
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    if (now === undefined && form.original[field.key] !== undefined) unset.push(field.key);
    else value[field.key] = now;
  }
  const name = form.isNew ? form.nameInput.value.trim() : form.name;
  if (form.isNew && !name) return "give the new entry a name";
  if (form.isNew && admin.entries[section][name]) return `${section}.${name} exists already: edit it instead`;
  if (!form.isNew && !Object.keys(value).length && !unset.length) return "nothing changed";
  const op = { op: "upsert", section, name, value };
  if (unset.length) op.unset = unset;
  const body = { ops: [op] };
  if (form.isNew && form.fileSelect.value) body.file = form.fileSelect.value;
  return body;
}

function submitForm(form) {
  const body = formBody(form);
  if (typeof body === "string") {
    showFormProblems(form, [{ message: body }]);
    return;
  }
  review(body, form);
}

// Put each problem beside the field it names ("channels.x.url: ..."), the others above the form.
function showFormProblems(form, problems) {
  for (const field of form.fields) { field.problem.hidden = true; field.problem.replaceChildren(); }
  form.problems.replaceChildren();
  const name = form.isNew ? form.nameInput.value.trim() : form.name;
  const prefix = `${form.section}.${name}`;
  for (const p of problems) {
    const message = typeof p === "string" ? p : String(p.message || "");
    let field = null;
    if (message.startsWith(`${prefix}.`)) {
      const key = /^[A-Za-z_]+/.exec(message.slice(prefix.length + 1));
      field = key && form.fields.find((f) => f.key === key[0]);
    }
    const line = el("div", { class: "problem", text: message, title: p.file ? `${p.file}:${p.line}:${p.col}` : null });
    if (field) { field.problem.append(line); field.problem.hidden = false; }
    else form.problems.append(el("li", { class: "problem", text: p.file ? `${p.file}:${p.line}:${p.col}: ${message}` : message }));
  }
}
