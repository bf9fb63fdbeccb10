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
// YAML editor) and uses the same review; adminforms.js builds the forms. The forms show only for a role that may edit (may.edit of
// /api/whoami); the server refuses a lower role anyway. Every value goes into the page as text.
"use strict";

const SECTIONS = ["channels", "categories", "tasks", "queues"];

const admin = {
  config: null,  // the answer of GET /api/config
  missing: null,  // why the daemon offers no config editing (no /api/config), or null
  entries: { channels: {}, categories: {}, tasks: {}, queues: {} },  // name -> {value, file}
  unread: [],  // [{path, why}]: files yamlread.js could not read (the forms skip them)
  tab: "channels",
  form: null,  // the open form: {section, name, isNew, fields, root, problems}
  pending: null,  // the body under review (check answered ok)
};

// --- the lists -----------------------------------------------------------------------------

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
  if (typeof p === "string") return p;
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
  $("review-message").hidden = !confirmable;
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
    if (body.files && typeof editorSaved === "function") editorSaved();
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
  } else if (answer.conflict) {  // git: someone else's push is in the way
    const where = names(answer.conflict).length ? ` (conflict in ${names(answer.conflict).join(", ")})` : "";
    const why = (answer.problems || []).map(problemText).join("; ");
    text = `Nothing was pushed: ${answer.error || "the branch moved on"}${where}${why ? `: ${why}` : ""}. Nothing is lost: here is the patch of your change.`;
    patch = answer.patch || "";
  } else if (answer.saved_to === "patch") {
    text = `Nothing was written: ${answer.error || "the config is read-only"}. Apply this patch where the config is kept:`;
    patch = answer.patch || "";
  } else {
    text = `The save failed: ${answer.error || status}. Nothing was written.`;
  }
  box.dataset.savedTo = status < 300 ? answer.saved_to || "" : answer.conflict ? "conflict" : answer.saved_to || "error";
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
  const form = admin.form;
  if (form && !form.isNew) {  // the open form started from what was declared then
    const now = entries[form.section][form.name];
    const shown = form.problems.querySelector(".stale");
    if (shown) shown.remove();
    if (!now || JSON.stringify(now.value) !== JSON.stringify(form.original)) {
      form.problems.append(el("li", { class: "problem stale", text: now
        ? `${form.section}.${form.name} was changed meanwhile: close this form and edit it again, or your save may undo that change`
        : `${form.section}.${form.name} was removed meanwhile` }));
    }
  }
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
