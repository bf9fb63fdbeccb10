// streamrec dashboard: the Admin section, where channels, categories, tasks and queues change.
//
// GET /api/config gives the config files (secrets redacted) and where a save goes (mode: directory,
// git or read-only); yamlread.js reads them to fill the forms with the current values. A form
// builds the contract's ops (a new entry: every field given; an edit: only the fields that
// changed in `value`, the cleared ones in `unset`), and nothing is written until the change was
// reviewed: POST /api/config/check answers the located problems (shown beside the field they name,
// the rest above the form), the diff and the plan, and only then "Confirm and save" sends the same
// body to POST /api/config/save. Where the save went is shown as the answer says: written to the
// directory (the daemon reconciles), a git commit, or, for a read-only config, the patch in a
// read-only text area with a Copy button (nothing was written). editor.js is the "Files" tab (the
// YAML editor) and uses the same review. The forms show only for a role that may edit (may.edit of
// /api/whoami); the server refuses a lower role anyway. Every value goes into the page as text.
"use strict";

const SECTIONS = ["channels", "categories", "tasks", "queues"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const admin = {
  config: null,  // the answer of GET /api/config
  missing: null,  // why the daemon offers no config editing (no /api/config), or null
  entries: { channels: {}, categories: {}, tasks: {}, queues: {} },  // name -> {value, file}
  unread: [],  // [{path, why}]: files yamlread.js could not read (the forms skip them)
  tab: "channels",
  form: null,  // the open form: {section, name, isNew, fields, root, problems}
  pending: null,  // the body under review (check answered ok)
};

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
    field.windows.push({ days: chosen.length ? chosen : DAYS.slice(), start: start.value, end: end.value });
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
  field.root = el("div", { class: `field field-${spec.key}`, "data-field": spec.key },
    el("label", { class: "field-label", text: spec.label }), input, field.problem);
  if (section === "channels" && spec.key === "url") field.root.append(el("div", { class: "field-note", text: "a redacted secret stays as it is unless you type a new URL" }));
  return field;
}

// The same value for comparing: lists of names as lists, numbers and texts as they are.
function normal(spec, value) {
  if (value === undefined || value === null || value === "") return spec.kind === "bool" ? spec.empty : undefined;
  if (spec.kind === "names") return names(value);
  return value;
}

// --- lists and forms -----------------------------------------------------------------------

function entryFacts(section, value) {
  if (section === "channels") {
    return [value.category || "–", value.enabled === false ? "disabled" : "enabled",
      (value.schedule || []).length ? (value.schedule || []).map(windowText).join("; ") : "always"];
  }
  if (section === "tasks") return [value.command || "", value.schedule ? JSON.stringify(value.schedule) : "–"];
  if (section === "queues") return [names(value.tasks).join(" → "), value.schedule ? JSON.stringify(value.schedule) : "–"];
  return [value.description || ""];
}

const HEADS = {
  channels: ["channel", "category", "enabled", "schedule", "file", ""],
  categories: ["category", "description", "file", ""],
  tasks: ["task", "command", "schedule", "file", ""],
  queues: ["queue", "tasks", "schedule", "file", ""],
};

function renderList(section) {
  const editing = may("edit");
  const rows = Object.entries(admin.entries[section]).sort(([a], [b]) => a.localeCompare(b)).map(([name, entry]) => {
    const heads = HEADS[section];
    const facts = entryFacts(section, entry.value || {});
    const buttons = [];
    if (editing) {
      buttons.push(el("button", { class: "small edit", type: "button", onclick: () => openForm(section, name) }, "edit"));
      if (section === "channels") {
        const off = (entry.value || {}).enabled === false;
        buttons.push(el("button", {
          class: "small toggle-enabled", type: "button",
          onclick: () => review({ ops: [{ op: "upsert", section, name, value: { enabled: off } }] }, null),
        }, off ? "enable" : "disable"));
      }
      buttons.push(el("button", {
        class: "small remove", type: "button",
        onclick: () => review({ ops: [{ op: "remove", section, name }] }, null),
      }, "remove"));
    }
    return el("tr", { "data-entry": name },
      cell(heads[0], { class: "name" }, el("strong", { text: name })),
      ...facts.map((text, i) => cell(heads[i + 1], { text: String(text) })),
      cell("file", { class: "mono", text: entry.file }),
      cell("", { class: "actions" }, ...buttons));
  });
  const table = el("table", { class: "grid stack admin-list", "data-section": section },
    el("thead", {}, el("tr", {}, ...HEADS[section].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows));
  const add = editing ? el("button", { class: "small add", type: "button", onclick: () => openForm(section, null) }, `add ${section.replace(/ies$/, "y").replace(/s$/, "")}`) : null;
  return el("div", { class: "admin-section", "data-section": section }, rows.length ? table : el("p", { class: "muted", text: `No ${section} declared.` }), add);
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
    const message = String(p.message || "");
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

// --- review and save -----------------------------------------------------------------------

function clearReview() {
  admin.pending = null;
  $("admin-review").hidden = true;
  $("admin-review").dataset.state = "";
  $("review-confirm").hidden = true;
  $("admin-outcome").hidden = true;
  if (typeof editorProblems === "function") editorProblems([]);
}

// Check `body` (POST /api/config/check) and show its problems, diff and plan; `form` (or null for
// the list's buttons and the YAML editor) gets its problems beside its fields.
async function review(body, form) {
  clearReview();
  const box = $("admin-review");
  $("review-status").textContent = "checking…";
  box.dataset.state = "checking";
  box.hidden = false;
  const { ok, status, data } = await request("/api/config/check", { method: "POST", json: body });
  if (!ok || !data) {
    $("review-status").textContent = `the check failed: ${(data && data.error) || status}`;
    drawReview({ problems: [], changes: [], plan: [] }, false);
    box.dataset.state = "failed";
    return;
  }
  const problems = data.problems || [];
  if (form) showFormProblems(form, problems);
  if (typeof editorProblems === "function") editorProblems(problems);
  const changed = (data.changes || []).length > 0;
  $("review-status").textContent = data.ok
    ? changed ? "the change is valid: review the diff and the plan, then confirm" : "valid, but nothing would change"
    : `refused: ${problems.length} problem(s), nothing was written`;
  drawReview(data, data.ok && changed);
  box.scrollIntoView({ block: "nearest" });
  admin.pending = data.ok && changed ? body : null;
  box.dataset.state = !data.ok ? "refused" : changed ? "ok" : "unchanged";
}

function problemText(p) {
  return p.file ? `${p.file}:${p.line}:${p.col}: ${p.message}` : String(p.message);
}

function drawReview(data, confirmable) {
  const problems = data.problems || [];
  $("review-problems").replaceChildren(...problems.map((p) => el("li", {
    class: "problem", "data-file": p.file || "", "data-line": p.line ? String(p.line) : "", text: problemText(p),
    onclick: () => typeof editorJump === "function" && editorJump(p),
  })));
  $("review-changes").replaceChildren(...(data.changes || []).map((c) => el("div", { class: "change", "data-path": c.path },
    el("h4", { class: "mono", text: c.path }), el("pre", { class: "diff", text: c.diff }))));
  $("review-plan").replaceChildren(...(data.plan || []).map((line) => el("li", { text: String(line) })));
  $("review-plan-head").hidden = !(data.plan || []).length;
  $("review-confirm").disabled = !confirmable;
  $("review-confirm").hidden = !confirmable;
}

async function confirmSave() {
  const body = admin.pending;
  if (!body) return;
  const message = $("review-message").value.trim();
  $("review-confirm").disabled = true;
  $("review-status").textContent = "saving…";
  const { status, data } = await request("/api/config/save", { method: "POST", json: message ? { ...body, message } : body });
  const answer = data || {};
  $("admin-review").hidden = true;
  admin.pending = null;
  if (status === 422 && answer.problems) {
    $("admin-review").hidden = false;
    $("admin-review").dataset.state = "refused";
    $("review-status").textContent = `refused: ${answer.problems.length} problem(s), nothing was written`;
    drawReview(answer, false);
    if (admin.form) showFormProblems(admin.form, answer.problems);
    if (typeof editorProblems === "function") editorProblems(answer.problems);
    return;
  }
  showOutcome(status, answer);
  if (status < 300) {
    admin.form = null;
    $("review-message").value = "";
    if (typeof editorSaved === "function") editorSaved();
    await loadConfig();
    setTimeout(pollStatusOnce, 300);
  }
}

function showOutcome(status, answer) {
  const box = $("admin-outcome");
  const files = (answer.changes || []).map((c) => c.path).join(", ");
  let text;
  let patch = null;
  if (status < 300 && answer.saved_to === "git") {
    text = `Committed ${String(answer.commit || "").slice(0, 12)} (${files || "no files"}) and pushed; the daemon applies it now.`;
  } else if (status < 300) {
    text = `Saved to the config directory (${files || "no files"}); the daemon reconciles now.`;
  } else if (answer.saved_to === "patch") {
    text = `Nothing was written: ${answer.error || "the config is read-only"}. Apply this patch where the config is kept:`;
    patch = answer.patch || "";
  } else if (answer.conflict) {
    text = `Nothing was lost, but the change was not pushed: ${answer.error} (conflict in ${names(answer.conflict).join(", ")}). The patch:`;
    patch = answer.patch || "";
  } else {
    text = `The save failed: ${answer.error || status}. Nothing was written.`;
  }
  box.dataset.savedTo = status < 300 ? answer.saved_to || "" : answer.saved_to || "error";
  $("outcome-text").textContent = text;
  $("outcome-patch").value = patch || "";
  $("outcome-patch").hidden = patch === null;
  $("outcome-copy").hidden = patch === null;
  box.hidden = false;
}

async function copyPatch() {
  const area = $("outcome-patch");
  try {
    await navigator.clipboard.writeText(area.value);
  } catch (_) {
    area.select();
    document.execCommand("copy");
  }
  toast("the patch is copied");
}

// --- loading and drawing -------------------------------------------------------------------

async function loadConfig() {
  const { ok, status, data } = await request("/api/config").catch(() => ({ ok: false, status: 0 }));
  if (!ok || !data) {
    admin.config = null;
    admin.missing = status === 404 ? "this daemon offers no config editing" : `the config could not be read (${(data && data.error) || status})`;
    renderAdmin();
    return;
  }
  admin.missing = null;
  admin.config = data;
  const entries = { channels: {}, categories: {}, tasks: {}, queues: {} };
  admin.unread = [];
  for (const file of data.files || []) {
    let doc;
    try { doc = readYaml(file.text); } catch (error) { admin.unread.push({ path: file.path, why: error.message }); continue; }
    if (!doc || typeof doc !== "object") continue;
    for (const section of SECTIONS) {
      const items = doc[section];
      if (!items || typeof items !== "object") continue;
      for (const [name, value] of Object.entries(items)) entries[section][name] = { value: value || {}, file: file.path };
    }
  }
  admin.entries = entries;
  if (typeof editorFiles === "function") editorFiles(data.files || []);
  renderAdmin();
}

function modeText() {
  const c = admin.config;
  if (!c) return "";
  if (c.mode === "git") return `saves become git commits${c.git ? ` on ${c.git.branch || "?"} of ${c.git.url || "?"}` : ""}`;
  if (c.mode === "read-only") return `read-only${c.why ? `: ${c.why}` : ""}; a save offers a patch`;
  return "saves write the config directory";
}

function renderAdmin() {
  const panel = $("admin-panel");
  panel.hidden = !may("read") || (admin.config === null && admin.missing === null);
  $("admin-mode").textContent = modeText();
  $("admin-mode").dataset.mode = admin.config ? admin.config.mode : "";
  const notes = [];
  if (admin.missing) notes.push(admin.missing);
  if (!may("edit")) notes.push(`your role (${(ui.whoami && ui.whoami.role) || "none"}) may not change the config: set an admin token to edit`);
  for (const u of admin.unread) notes.push(`${u.path} is not shown in the lists (${u.why}); edit it in Files`);
  $("admin-note").textContent = notes.join(". ");
  $("admin-note").hidden = !notes.length;
  for (const button of document.querySelectorAll("#admin-tabs button")) {
    button.setAttribute("aria-selected", button.dataset.tab === admin.tab ? "true" : "false");
  }
  const body = $("admin-body");
  if (!admin.config) { body.replaceChildren(); return; }
  if (admin.tab === "files") {  // drawn anew only when it is not on the page (keeps the cursor)
    if (typeof renderFilesTab === "function" && !(editor.host && body.contains(editor.host))) renderFilesTab(body);
    return;
  }
  const parts = [renderList(admin.tab)];
  if (admin.form && admin.form.section === admin.tab && may("edit")) parts.push(admin.form.root);
  body.replaceChildren(...parts);
}

// Called by app.js when the role may have changed, and with each status.
function adminAccessChanged() {
  if (!may("edit")) admin.form = null;
  loadConfig();
}

// Called by app.js with new events: the files are read again once a config change was applied.
function adminEvents(events) {
  if (admin.config && events.some((e) => e.type === "config.applied" || e.type === "config.changed")) loadConfig();
}

function setupAdmin() {
  for (const button of document.querySelectorAll("#admin-tabs button")) {
    button.addEventListener("click", () => { admin.tab = button.dataset.tab; renderAdmin(); });
  }
  $("review-confirm").addEventListener("click", confirmSave);
  $("review-cancel").addEventListener("click", clearReview);
  $("outcome-copy").addEventListener("click", copyPatch);
}
