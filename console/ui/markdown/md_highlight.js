// A small syntax highlighter for the code blocks of replies: keywords, strings, numbers and comments
// of a few common languages, coloured by CSS classes. It runs once per completed block (never per
// token) and builds text nodes and spans, never HTML. Unknown languages get the generic rules.
const MAX_CHARS = 50_000; // a huge block stays plain rather than stall the page

const WORDS = {
  python:
    "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield match case self",
  js: "async await break case catch class const continue default delete do else export extends false finally for from function if import in instanceof let new null of return static super switch this throw true try typeof undefined var void while yield",
  sh: "case do done elif else esac export fi for function if in local return then until while echo cd",
  sql: "select from where join left right inner outer on group by order having limit insert into values update set delete create table index primary key not null and or as distinct count sum avg",
  go: "break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false",
  rust: "as async await break const continue crate else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while",
};
const ALIASES = {
  py: "python",
  python3: "python",
  javascript: "js",
  ts: "js",
  typescript: "js",
  jsx: "js",
  tsx: "js",
  json: "js",
  bash: "sh",
  shell: "sh",
  zsh: "sh",
  console: "sh",
  postgres: "sql",
  sqlite: "sql",
  golang: "go",
  rs: "rust",
};
const HASH_COMMENTS = new Set(["python", "sh"]);
const SETS = Object.fromEntries(Object.entries(WORDS).map(([k, v]) => [k, new Set(v.split(" "))]));
const ALL = new Set(Object.values(WORDS).flatMap((v) => v.split(" ")));

function rules(lang) {
  const comment = HASH_COMMENTS.has(lang) ? "#[^\\n]*" : lang === "sql" ? "--[^\\n]*" : "\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?\\*\\/";
  return new RegExp(
    `(${comment})|("(?:[^"\\\\\\n]|\\\\.)*"|'(?:[^'\\\\\\n]|\\\\.)*'|\`(?:[^\`\\\\]|\\\\.)*\`)|(\\b\\d[\\d_.]*(?:e[+-]?\\d+)?\\b)|([A-Za-z_$][\\w$]*)`,
    "g",
  );
}

function span(kind, text) {
  const el = document.createElement("span");
  el.className = `ac-hl-${kind}`;
  el.textContent = text;
  return el;
}

export function highlight(code) {
  const text = code.textContent;
  if (!text || text.length > MAX_CHARS || code.dataset.highlighted) return;
  const name = ALIASES[code.dataset.lang] || code.dataset.lang || "";
  const lang = WORDS[name] ? name : "";
  const keywords = lang ? SETS[lang] : ALL;
  const out = document.createDocumentFragment();
  const pattern = rules(lang);
  let at = 0;
  for (const m of text.matchAll(pattern)) {
    const [whole, comment, string, number, word] = m;
    const kind = comment ? "com" : string ? "str" : number ? "num" : word && keywords.has(word) ? "kw" : null;
    if (!kind) continue;
    if (m.index > at) out.append(text.slice(at, m.index));
    out.append(span(kind, whole));
    at = m.index + whole.length;
  }
  if (at < text.length) out.append(text.slice(at));
  code.replaceChildren(out);
  code.dataset.highlighted = lang || "generic";
}
