// streamrec dashboard: reads the config files' YAML far enough to fill the admin forms.
//
// The server is the one that checks and writes the config (spec.editing through /api/config/*);
// this only reads what is declared now, so an edit form can start from the current values and
// send only the fields that changed. It reads the YAML that config files are made of: block
// mappings and sequences, flow mappings and sequences ({at: ..., duration: 30m}), quoted and plain
// scalars, literal and folded block scalars, comments. Anchors, aliases and tags are refused with
// an error (readYaml throws), and the admin then fills no form from that file (the YAML editor
// still edits it). Pure: no DOM.
"use strict";

class YamlUnread extends Error {}

// A line without its comment (a # at the start or after a blank, outside quotes) and the depth of
// flow collections open at its end, given the depth open at its start. A quote opens a quoted
// scalar only where a scalar starts (after the indentation, "- ", ": ", and "[", "{" or "," of a
// flow collection); inside a plain scalar it is a character like any other.
function stripComment(text, open = 0) {
  let quote = null;
  let start = true;  // where a scalar may start
  let flow = open;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    const next = text[i + 1];
    if (quote) {
      if (c === "\\" && quote === '"') i += 1;
      else if (c === quote && quote === "'" && next === "'") i += 1;
      else if (c === quote) { quote = null; start = false; }
      continue;
    }
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) return [text.slice(0, i).trimEnd(), flow];
    if (/\s/.test(c)) continue;
    if (start && (c === '"' || c === "'")) { quote = c; continue; }
    if (start && (c === "-" || c === "?") && (next === undefined || /\s/.test(next))) continue;
    if (c === ":" && (next === undefined || /\s/.test(next) || (flow && /[,\]}]/.test(next)))) { start = true; continue; }
    if ((start || flow) && (c === "[" || c === "{")) { flow += 1; start = true; continue; }
    if (flow && c === ",") { start = true; continue; }
    if (flow && (c === "]" || c === "}")) { flow -= 1; start = false; continue; }
    start = false;
  }
  return [text.trimEnd(), flow];
}

function plainScalar(text) {
  const value = text.trim();
  if (value === "" || value === "~" || value === "null" || value === "Null" || value === "NULL") return null;
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  if (/^[-+]?[0-9]+$/.test(value)) return Number(value);
  if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(value)) return Number(value);
  if (/^[&*!]/.test(value)) throw new YamlUnread(`anchors, aliases and tags are not read here: ${value}`);
  if (/^\?/.test(value)) throw new YamlUnread(`a scalar starting with ? (a complex key?) is not read here: ${value}`);
  return value;
}

// A quoted scalar at text[pos]; returns [value, next position].
function quoted(text, pos) {
  const q = text[pos];
  let out = "";
  let i = pos + 1;
  while (i < text.length) {
    const c = text[i];
    if (q === "'" && c === "'") {
      if (text[i + 1] === "'") { out += "'"; i += 2; continue; }
      return [out, i + 1];
    }
    if (q === '"' && c === '"') return [out, i + 1];
    if (q === '"' && c === "\\") {
      const e = text[i + 1];
      const map = { n: "\n", t: "\t", r: "\r", "0": "\0", '"': '"', "\\": "\\", "/": "/", " ": " " };
      if (e === "u" || e === "x") {
        const len = e === "u" ? 4 : 2;
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 2 + len), 16));
        i += 2 + len;
        continue;
      }
      out += e in map ? map[e] : e;
      i += 2;
      continue;
    }
    out += c;
    i += 1;
  }
  throw new YamlUnread("a quoted scalar is not closed");
}

// A flow value ({...}, [...], quoted or plain) at text[pos]; returns [value, next position].
function flowValue(text, pos, inFlow) {
  while (text[pos] === " ") pos += 1;
  const c = text[pos];
  if (c === "{" || c === "[") {
    const close = c === "{" ? "}" : "]";
    const result = c === "{" ? {} : [];
    pos += 1;
    for (;;) {
      while (/\s/.test(text[pos] || "")) pos += 1;
      if (text[pos] === close) return [result, pos + 1];
      if (pos >= text.length) throw new YamlUnread("a flow collection is not closed");
      if (c === "{") {
        if (/^\?/.test(text.slice(pos))) throw new YamlUnread("a key starting with ? is not read here");
        let key;
        if (text[pos] === '"' || text[pos] === "'") [key, pos] = quoted(text, pos);
        else {
          const m = /^[^,:{}[\]]*?(?=:(\s|$|,|})|,|})/.exec(text.slice(pos));
          if (!m) throw new YamlUnread("a flow mapping key is not read here");
          key = m[0].trim();
          pos += m[0].length;
        }
        while (text[pos] === " ") pos += 1;
        let value = null;
        if (text[pos] === ":") [value, pos] = flowValue(text, pos + 1, true);
        result[String(key)] = value;
      } else {
        let item;
        [item, pos] = flowValue(text, pos, true);
        while (text[pos] === " ") pos += 1;
        if (text[pos] === ":") throw new YamlUnread("a key: value pair in a flow sequence is not read here");
        result.push(item);
      }
      while (/\s/.test(text[pos] || "")) pos += 1;
      if (text[pos] === ",") pos += 1;
      else if (text[pos] !== close) throw new YamlUnread(`unexpected ${text[pos]} in a flow collection`);
    }
  }
  if (c === '"' || c === "'") return quoted(text, pos);
  const m = inFlow ? /^(?:[^,{}[\]:]|:(?![\s,\]}]|$))*/.exec(text.slice(pos)) : { 0: text.slice(pos) };
  return [plainScalar(m[0]), pos + m[0].length];
}

// Where `key: ` ends in a block line (outside quotes), or -1 when the line is no mapping entry.
function keyEnd(text) {
  if (/^\?/.test(text)) throw new YamlUnread("a key starting with ? is not read here");
  if (text[0] === '"' || text[0] === "'") {
    const [, after] = quoted(text, 0);
    return /^\s*:(\s|$)/.test(text.slice(after)) ? text.indexOf(":", after) : -1;
  }
  if (text[0] === "{" || text[0] === "[") return -1;
  const m = /:(\s|$)/.exec(text);
  return m ? m.index : -1;
}

function lexLines(text) {
  const lines = [];
  let flow = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    if (/^(---|\.\.\.)(\s|$)/.test(raw)) return;
    if (/^%/.test(raw)) return;
    let body;
    [body, flow] = stripComment(raw, flow);
    if (!body.trim()) { lines.push({ blank: true, raw, index }); return; }
    const indent = body.length - body.trimStart().length;
    if (body.slice(0, indent).includes("\t")) throw new YamlUnread("tabs in indentation");
    lines.push({ indent, text: body.trim(), raw, index });
  });
  return lines;
}

class YamlReader {
  constructor(text) {
    this.all = lexLines(text);
    this.lines = this.all.filter((l) => !l.blank);
    this.i = 0;
  }

  peek() { return this.lines[this.i]; }

  block(indent) {
    const line = this.peek();
    if (!line || line.indent < indent) return null;
    if (line.text === "-" || line.text.startsWith("- ")) return this.sequence(line.indent);
    if (keyEnd(line.text) >= 0) return this.mapping(line.indent);
    this.i += 1;
    return this.inline(line.text, line);
  }

  // A value written after "key:" or "- " on the same line (a flow collection may run on).
  inline(text, line) {
    if (/^[|>]/.test(text)) return this.blockScalar(text, line);
    if (/^[{[]/.test(text)) {
      let joined = text;
      for (;;) {
        try { return flowValue(joined, 0, false)[0]; } catch (error) {
          const next = this.peek();
          if (!(error instanceof YamlUnread) || !next || next.indent <= line.indent) throw error;
          joined += ` ${next.text}`;
          this.i += 1;
        }
      }
    }
    return flowValue(text, 0, false)[0];
  }

  blockScalar(header, line) {
    const keep = header[0] === "|";
    const parts = [];
    let indent = null;
    const start = this.all.indexOf(line) + 1;
    let j = start;
    for (; j < this.all.length; j += 1) {
      const l = this.all[j];
      const lead = l.raw.length - l.raw.trimStart().length;
      if (!l.raw.trim()) { parts.push(""); continue; }
      if (indent === null) indent = lead;
      if (lead < indent || lead <= line.indent) break;
      parts.push(l.raw.slice(indent));
    }
    while (parts.length && parts[parts.length - 1] === "") parts.pop();
    const lastIndex = j > start ? this.all[j - 1].index : line.index;
    while (this.peek() && this.peek().index <= lastIndex) this.i += 1;
    const body = keep ? parts.join("\n") : parts.join(" ").replace(/ ?\n ?/g, "\n");
    return header.includes("-") ? body : `${body}\n`;
  }

  mapping(indent) {
    const result = {};
    for (let line = this.peek(); line && line.indent === indent; line = this.peek()) {
      const end = keyEnd(line.text);
      if (end < 0) throw new YamlUnread(`line ${line.index + 1} is not read here`);
      const rawKey = line.text.slice(0, end).trim();
      const key = /^["']/.test(rawKey) ? quoted(rawKey, 0)[0] : String(plainScalar(rawKey));
      const rest = line.text.slice(end + 1).trim();
      this.i += 1;
      if (rest) result[key] = this.inline(rest, line);
      else {
        const next = this.peek();
        const seqHere = next && next.indent === indent && (next.text === "-" || next.text.startsWith("- "));
        result[key] = next && (next.indent > indent || seqHere) ? this.block(seqHere ? indent : indent + 1) : null;
      }
    }
    return result;
  }

  sequence(indent) {
    const result = [];
    for (let line = this.peek(); line && line.indent === indent && (line.text === "-" || line.text.startsWith("- ")); line = this.peek()) {
      const rest = line.text.slice(1).trimStart();
      if (!rest) { this.i += 1; result.push(this.block(indent + 1)); continue; }
      const offset = line.indent + (line.text.length - rest.length);
      if (rest === "-" || rest.startsWith("- ")) {  // "- - a": a sequence in a sequence
        this.lines[this.i] = { ...line, indent: offset, text: rest };
        result.push(this.sequence(offset));
      } else if (keyEnd(rest) >= 0) {
        this.lines[this.i] = { ...line, indent: offset, text: rest };
        result.push(this.mapping(offset));
      } else {
        this.i += 1;
        result.push(this.inline(rest, { ...line, indent: offset - 1 }));
      }
    }
    return result;
  }
}

// The value of a YAML document (null for an empty one); throws YamlUnread for what is not read.
function readYaml(text) {
  const reader = new YamlReader(text);
  if (!reader.peek()) return null;
  const value = reader.block(0);
  if (reader.peek()) throw new YamlUnread(`line ${reader.peek().index + 1} is not read here`);
  return value;
}
