// Markdown of a streamed reply, rendered as it arrives: the vendored streaming parser (smd) turns each
// delta into tokens, and this renderer turns tokens into DOM nodes. Work per delta is proportional to
// the delta: nodes are only ever appended, never re-rendered.
//
// Nothing from upstream can run script or load a resource, because nothing is ever parsed as HTML:
// every element is made here with createElement and every text is a text node (raw HTML in a reply
// stays text). The only attributes set from upstream strings are checked here:
// - links keep an href only for http:, https: and mailto: URLs (by the URL parser, so "java\tscript:"
//   and friends are caught), open in a new tab with rel=noopener noreferrer; any other link is inert;
// - images are never loaded: `![alt](url)` becomes a link to the image (or inert text), like a link;
// - a code block's language is a data attribute (never a class name), used by the highlighter.
import * as smd from "smd";
import { CLOSE_AFTER, closeLines, gather } from "text_lines";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const CODE = new Set([smd.CODE_BLOCK, smd.CODE_FENCE]);

export function safeHref(value) {
  try {
    const url = new URL(value);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null; // relative or malformed: no address of ours to resolve it against
  }
}

const TAGS = {
  [smd.BLOCKQUOTE]: "blockquote",
  [smd.PARAGRAPH]: "p",
  [smd.LINE_BREAK]: "br",
  [smd.RULE]: "hr",
  [smd.HEADING_1]: "h1",
  [smd.HEADING_2]: "h2",
  [smd.HEADING_3]: "h3",
  [smd.HEADING_4]: "h4",
  [smd.HEADING_5]: "h5",
  [smd.HEADING_6]: "h6",
  [smd.ITALIC_AST]: "em",
  [smd.ITALIC_UND]: "em",
  [smd.STRONG_AST]: "strong",
  [smd.STRONG_UND]: "strong",
  [smd.STRIKE]: "s",
  [smd.CODE_INLINE]: "code",
  [smd.RAW_URL]: "a",
  [smd.LINK]: "a",
  [smd.IMAGE]: "a",
  [smd.LIST_UNORDERED]: "ul",
  [smd.LIST_ORDERED]: "ol",
  [smd.LIST_ITEM]: "li",
  [smd.TABLE_CELL]: "td",
  [smd.EQUATION_BLOCK]: "div",
  [smd.EQUATION_INLINE]: "span",
};

function element(parent, type) {
  switch (type) {
    case smd.CHECKBOX: {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.disabled = true;
      return parent.appendChild(box);
    }
    case smd.CODE_BLOCK:
    case smd.CODE_FENCE:
      return parent.appendChild(document.createElement("pre")).appendChild(document.createElement("code"));
    case smd.TABLE: {
      // Wide tables scroll inside their own box instead of widening the message.
      const wrap = parent.appendChild(document.createElement("div"));
      wrap.className = "ac-md-table";
      return wrap.appendChild(document.createElement("table"));
    }
    case smd.TABLE_ROW: {
      const section =
        parent.children.length === 0
          ? parent.appendChild(document.createElement("thead"))
          : parent.children.length === 1
            ? parent.appendChild(document.createElement("tbody"))
            : parent.children[1];
      return section.appendChild(document.createElement("tr"));
    }
    case smd.TABLE_CELL:
      return parent.appendChild(document.createElement(parent.parentElement?.tagName === "THEAD" ? "th" : "td"));
    default: {
      const el = parent.appendChild(document.createElement(TAGS[type] || "span"));
      if (type === smd.IMAGE) el.className = "ac-md-image";
      if (type === smd.EQUATION_BLOCK || type === smd.EQUATION_INLINE) el.className = "ac-md-math";
      return el;
    }
  }
}

function link(el, url) {
  const href = safeHref(url);
  el.title = url;
  if (href === null) {
    el.classList.add("ac-md-inert");
    return;
  }
  el.href = href;
  el.target = "_blank";
  el.rel = "noopener noreferrer nofollow";
}

// A code block that grew past CLOSE_AFTER characters: its complete lines move into a block of their
// own above it (`ac-cut`: the two join without a seam), highlighted at once, so the lines laid out
// again per append are only the newest ones. Returns the code element to append to from now on.
function closeCode(code, onCode) {
  const pre = code.parentElement;
  let node = code.lastChild;
  while (node && !(node.nodeType === Node.TEXT_NODE && node.data.includes("\n"))) node = node.previousSibling;
  if (!node) return null;
  const rest = node.splitText(node.data.lastIndexOf("\n") + 1);
  const next = document.createElement("code");
  if (code.dataset.lang) next.dataset.lang = code.dataset.lang;
  const moved = [];
  for (let n = rest; n; n = n.nextSibling) moved.push(n);
  next.append(...moved);
  const below = document.createElement("pre");
  below.className = "ac-cont";
  below.appendChild(next);
  pre.classList.add("ac-cut");
  pre.after(below);
  onCode(code);
  return next;
}

function renderer(root, onCode) {
  const nodes = [root];
  const types = [smd.DOCUMENT];
  const top = () => nodes[nodes.length - 1];
  return {
    data: null,
    // The open block that text goes straight into, if it is one that grows without end (a paragraph,
    // a code block): its complete lines are closed off. Reads layout (a paragraph's lines).
    closeLines() {
      const el = top();
      if (el.textContent.length < CLOSE_AFTER) return;
      const next = el.tagName === "P" ? closeLines(el) : CODE.has(types[types.length - 1]) ? closeCode(el, onCode) : null;
      if (next) nodes[nodes.length - 1] = next;
    },
    add_token(_data, type) {
      if (type === smd.DOCUMENT) return;
      nodes.push(element(top(), type));
      types.push(type);
    },
    end_token() {
      if (nodes.length === 1) return;
      const el = nodes.pop();
      if (CODE.has(types.pop())) onCode(el);
    },
    add_text(_data, text) {
      top().appendChild(document.createTextNode(text));
    },
    set_attr(_data, attr, value) {
      const el = top();
      if (attr === smd.HREF || attr === smd.SRC) link(el, value);
      else if (attr === smd.LANG) el.dataset.lang = value.trim().slice(0, 24).toLowerCase();
      else if (attr === smd.CHECKED) el.checked = true;
      else if (attr === smd.START) {
        const start = Number.parseInt(value, 10);
        if (Number.isFinite(start)) el.start = start;
      }
    },
  };
}

// Code is highlighted once its block is complete, when the browser is idle, by a module loaded only
// when the first code block needs it. Highlighting only colours the text: the block's size is kept.
let highlighter = null;
function highlightLater(code) {
  const idle = window.requestIdleCallback || ((f) => setTimeout(f, 50));
  idle(() => {
    highlighter ??= import("md_highlight");
    highlighter.then((m) => m.highlight(code)).catch(() => {});
  });
}

export class MarkdownStream {
  constructor(root) {
    this.root = root;
    this.parser = null;
    this.renderer = null;
    this.grown = 0; // characters written since complete lines were last closed off
  }

  write(text) {
    if (this.parser === null) {
      this.renderer = renderer(this.root, highlightLater);
      this.parser = smd.parser(this.renderer);
    }
    // Before this write: the layout read then finds the last frame's layout still valid.
    if (this.grown >= CLOSE_AFTER) {
      this.grown = 0;
      this.renderer.closeLines();
    }
    this.grown += text.length;
    smd.parser_write(this.parser, text);
    gather(this.root);
  }

  // The run is complete (its message ended, or a card came after it): flush what the parser holds
  // back. Text that still comes after this starts a new parser below what is shown.
  end() {
    if (this.parser === null) return;
    smd.parser_end(this.parser);
    this.parser = null;
    this.grown = 0;
  }
}
