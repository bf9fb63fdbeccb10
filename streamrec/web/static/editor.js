// streamrec dashboard: the "Files" tab of the Admin section, a YAML editor per config file.
//
// CodeMirror 5 (vendored as cm-*.js / cm-*.css, MIT, see cm-LICENSE.txt) is loaded when the tab is
// first opened, with its YAML mode and show-hint: Ctrl-Space completes the keys the JSON schema
// (/api/config/schema) allows where the cursor stands. Edits are kept per file while you switch
// between files; "Check" sends every edited file ({files: {path: text}}) to the same review as the
// forms (admin.js): the whole directory's located problems are marked in the gutter and the line
// highlighted (a problem in another file is listed, a click opens it there), the diff and the plan
// are shown, and "Confirm and save" saves. Without CodeMirror (a script that did not load) the
// editor is a plain text area and everything else works the same.
"use strict";

const CODEMIRROR_FILES = ["cm-codemirror.css", "cm-show-hint.css", "cm-codemirror.js", "cm-yaml.js", "cm-show-hint.js"];

const editor = {
  files: [],  // [{path, text, secrets}] from /api/config
  edited: new Map(),  // path -> the edited text
  path: null,  // the file shown
  cm: null,  // the CodeMirror instance (or null: `area` is used)
  area: null,
  host: null,
  loading: null,
  schema: null,
  problems: [],
};

function loadAsset(name) {
  return new Promise((resolve, reject) => {
    const node = name.endsWith(".css")
      ? el("link", { rel: "stylesheet", href: `/static/${name}` })
      : el("script", { src: `/static/${name}` });
    node.addEventListener("load", resolve);
    node.addEventListener("error", () => reject(new Error(`${name} did not load`)));
    document.head.append(node);
  });
}

async function loadCodeMirror() {
  if (!editor.loading) {
    editor.loading = (async () => {
      for (const name of CODEMIRROR_FILES) await loadAsset(name);  // in order: the mode needs the core
    })().catch(() => null);
  }
  await editor.loading;
  return typeof CodeMirror === "function" ? CodeMirror : null;
}

// Called by admin.js with the files of /api/config (again after each change): an edited file keeps
// its edits, and the file shown, when not edited, shows its new text (an old text left in the
// editor would otherwise count as an edit, and a check would undo the change made meanwhile).
function editorFiles(files) {
  keepEdit();
  editor.files = files;
  if (!editor.path || !files.some((f) => f.path === editor.path)) {
    editor.path = editor.edited.has(editor.path) ? editor.path : files.length ? files[0].path : null;
  }
  if (editor.path && !editor.edited.has(editor.path)) {
    const text = fileText(editor.path);
    if (editor.cm && editor.cm.getValue() !== text) {
      const cursor = editor.cm.getCursor();
      editor.cm.setValue(text);
      editor.cm.setCursor(cursor);
    } else if (editor.area && editor.area.value !== text) editor.area.value = text;
  }
}

// Called by admin.js after the editor's files were saved: the editor is drawn again from the
// files as the server has them now (its own text is not kept: it would count as an edit).
function editorSaved() {
  editor.edited.clear();
  editor.host = null;
  editor.cm = null;
  editor.area = null;
}

function fileText(path) {
  if (editor.edited.has(path)) return editor.edited.get(path);
  const file = editor.files.find((f) => f.path === path);
  return file ? file.text : "";
}

function currentText() {
  return editor.cm ? editor.cm.getValue() : editor.area ? editor.area.value : fileText(editor.path);
}

function keepEdit() {
  if (!editor.path || !(editor.cm || editor.area)) return;
  const text = currentText();
  const file = editor.files.find((f) => f.path === editor.path);
  if (file && file.text === text) editor.edited.delete(editor.path); else editor.edited.set(editor.path, text);
}

function showFile(path) {
  keepEdit();
  editor.path = path;
  const text = fileText(path);
  if (editor.cm) {
    editor.cm.setValue(text);
    editor.cm.clearHistory();
  } else if (editor.area) editor.area.value = text;
  markProblems();
  drawFileNote();
}

function drawFileNote() {
  const note = $("editor-note");
  if (!note) return;
  const file = editor.files.find((f) => f.path === editor.path);
  note.textContent = file && file.secrets
    ? "This file holds secrets, shown redacted: type them again where you change them, or the check refuses the file."
    : file ? "" : "A new file: it is written when you save.";
}

// --- completion from the JSON schema -------------------------------------------------------

function deref(node) {
  let current = node;
  for (let i = 0; current && current.$ref && i < 10; i += 1) {
    current = editor.schema.$defs[current.$ref.split("/").pop()];
  }
  return current || {};
}

// The schemas `node` may be (its anyOf/oneOf/allOf members, dereferenced).
function variants(node) {
  const n = deref(node);
  const more = [...(n.anyOf || []), ...(n.oneOf || []), ...(n.allOf || [])];
  return [n, ...more.flatMap(variants)];
}

function childSchemas(node, key) {
  const found = [];
  for (const n of variants(node)) {
    if (n.properties && n.properties[key]) found.push(n.properties[key]);
    else if (n.additionalProperties && typeof n.additionalProperties === "object") found.push(n.additionalProperties);
    else if (n.items) found.push(...childSchemas(n.items, key));
  }
  return found;
}

// The keys above line `lineNo` (by indentation): ["channels", "news", "schedule"].
function keyPath(cm, lineNo, indent) {
  const path = [];
  let limit = indent;
  for (let i = lineNo - 1; i >= 0 && limit > 0; i -= 1) {
    const text = cm.getLine(i);
    if (!text.trim() || /^\s*#/.test(text)) continue;
    const lead = text.length - text.trimStart().length;
    const m = /^\s*(?:-\s+)?([^\s:#][^:#]*?):(\s|$)/.exec(text);
    if (lead < limit && m) { path.unshift(m[1].replace(/^["']|["']$/g, "")); limit = lead; }
    else if (lead < limit) limit = lead;
  }
  return path;
}

function hintKeys(cm) {
  const cursor = cm.getCursor();
  const line = cm.getLine(cursor.line);
  const before = line.slice(0, cursor.ch);
  const m = /^(\s*(?:-\s+)?)([\w-]*)$/.exec(before);
  if (!m || !editor.schema) return null;
  let nodes = [editor.schema];
  for (const key of keyPath(cm, cursor.line, m[1].length)) nodes = nodes.flatMap((n) => childSchemas(n, key));
  const keys = new Set();
  for (const n of nodes) for (const v of variants(n)) for (const k of Object.keys(v.properties || {})) keys.add(k);
  const list = [...keys].filter((k) => k.startsWith(m[2])).sort().map((k) => ({ text: `${k}: `, displayText: k }));
  return { list, from: CodeMirror.Pos(cursor.line, m[1].length), to: CodeMirror.Pos(cursor.line, cursor.ch) };
}

// --- problems in the gutter ----------------------------------------------------------------

// Called by admin.js with the problems of a check (all files); the shown file's are marked.
function editorProblems(problems) {
  editor.problems = problems || [];
  markProblems();
}

function markProblems() {
  if (!editor.cm) return;
  const cm = editor.cm;
  cm.clearGutter("problems");
  for (let i = 0; i < cm.lineCount(); i += 1) cm.removeLineClass(i, "background", "problem-line");
  for (const p of editor.problems) {
    if (p.file !== editor.path || !p.line) continue;
    const line = Math.min(Math.max(p.line - 1, 0), cm.lineCount() - 1);
    cm.setGutterMarker(line, "problems", el("span", { class: "problem-marker", title: `${p.line}:${p.col}: ${p.message}`, text: "●" }));
    cm.addLineClass(line, "background", "problem-line");
  }
}

function editorJump(problem) {
  if (admin.tab !== "files" || !problem.file) return;
  if (problem.file !== editor.path) {
    showFile(problem.file);
    $("editor-file").value = problem.file;
  }
  if (editor.cm && problem.line) {
    editor.cm.setCursor({ line: problem.line - 1, ch: Math.max((problem.col || 1) - 1, 0) });
    editor.cm.focus();
  }
}

// --- the tab -------------------------------------------------------------------------------

function editorCheck() {
  keepEdit();
  if (!editor.edited.size) { toast("no file was changed"); return; }
  review({ files: Object.fromEntries(editor.edited) }, null);
}

function newFile() {
  const name = $("editor-new").value.trim();
  if (!/^[^./][^/]*\.(yaml|yml)$/.test(name)) { toast("a new file is a name ending in .yaml or .yml, not starting with a dot"); return; }
  if (!editor.edited.has(name) && !editor.files.some((f) => f.path === name)) editor.edited.set(name, "");
  $("editor-new").value = "";
  editor.host = null;  // drawn again with the new name in the list
  editor.path = name;
  renderAdmin();
}

async function renderFilesTab(body) {
  keepEdit();
  const paths = [...new Set([...editor.files.map((f) => f.path), ...editor.edited.keys()])];
  const select = el("select", { id: "editor-file", "aria-label": "config file" },
    ...paths.map((p) => el("option", { value: p, text: editor.edited.has(p) ? `${p} (edited)` : p })));
  select.value = editor.path || "";
  select.addEventListener("change", () => showFile(select.value));
  const editing = may("edit");
  const host = el("div", { id: "editor-host", class: "editor-host" });
  body.replaceChildren(
    el("div", { class: "tools editor-tools" }, select,
      editing ? el("input", { id: "editor-new", type: "text", placeholder: "new-file.yaml", "aria-label": "new file name" }) : null,
      editing ? el("button", { class: "small", type: "button", onclick: newFile }, "new file") : null,
      editing ? el("button", { id: "editor-check", class: "small", type: "button", onclick: editorCheck }, "Check") : null,
      editing ? el("button", { class: "small", type: "button", onclick: () => { editor.edited.delete(editor.path); showFile(editor.path); } }, "Revert file") : null),
    el("p", { id: "editor-note", class: "muted" }),
    host);
  editor.host = host;
  editor.cm = null;
  editor.area = null;
  const CM = await loadCodeMirror();
  if (editor.host !== host) return;  // drawn again meanwhile
  if (CM) {
    if (!editor.schema) editor.schema = await api("/api/config/schema").catch(() => null);
    editor.cm = CM(host, {
      value: fileText(editor.path), mode: "yaml", lineNumbers: true, readOnly: !editing,
      gutters: ["CodeMirror-linenumbers", "problems"], indentUnit: 2, tabSize: 2,
      extraKeys: { "Ctrl-Space": (cm) => cm.showHint({ hint: hintKeys, completeSingle: false }), Tab: (cm) => cm.replaceSelection("  ") },
    });
    host.dataset.editor = "codemirror";
  } else {
    editor.area = el("textarea", { class: "editor-area mono", spellcheck: "false", readonly: !editing });
    editor.area.value = fileText(editor.path);
    host.append(editor.area);
    host.dataset.editor = "textarea";
  }
  markProblems();
  drawFileNote();
}
