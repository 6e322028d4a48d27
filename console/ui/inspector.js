// The context tree. The server sends levels (the rows below one node, in a window) as JSON text; this
// draws them and asks for a level when a node opens. The document itself never comes to the browser.
//
// Keys and values come from the agent: they go into the DOM as text (textContent) and attributes
// (setAttribute), never as HTML. The DOM is built by a plain class, not by Vue: a level of a hundred
// rows is a few hundred elements made in a couple of milliseconds, with no reactive proxies in the way.
const PAGE = 100;
const NUMBER = new Intl.NumberFormat("en-US"); // one formatter: toLocaleString builds one per call
const SUMMARY = { object: ["{", " key", " keys", "}"], array: ["[", " item", " items", "]"] };

function count(n) {
  return NUMBER.format(n);
}

function summary(row) {
  const [open, one, many, close] = SUMMARY[row.t];
  return `${open}${count(row.n)}${row.n === 1 ? one : many}${close}`;
}

function span(cls, text) {
  const el = document.createElement("span");
  el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

function button(cls, text, title, act) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = cls;
  el.textContent = text;
  if (title) el.title = title;
  if (act) el.dataset.act = act;
  return el;
}

// Every class name the tree uses. The page's Tailwind runtime rewrites its style sheet whenever a class
// name it has not seen appears, which restyles and relays the whole page: showing them all once when
// the panel mounts moves that cost away from the first snapshot, which arrives while a reply streams.
const CLASSES =
  "ac-node ac-line ac-key ac-index ac-v ac-t-object ac-t-array ac-t-string ac-t-number ac-t-boolean " +
  "ac-t-null ac-old ac-arrow ac-count ac-hint ac-dot ac-link ac-kids ac-page ac-loading ac-long ac-flash " +
  "ac-copied ac-acts ac-act ac-insp-muted";

function primeClassNames() {
  const probe = document.createElement("div");
  probe.hidden = true;
  for (const name of CLASSES.split(" ")) probe.append(span(name));
  document.body.append(probe); // not in the tree: its first render would remove it too early
  requestAnimationFrame(() => probe.remove());
}

class Tree {
  constructor(el, emit) {
    this.el = el;
    primeClassNames();
    this.emit = emit;
    this.nodes = new Map(); // address -> node state
    this.version = 0;
    el.addEventListener("click", (e) => this.onClick(e));
    el.addEventListener("keydown", (e) => this.onKey(e));
    // One copy bar, moved into the row under the pointer (or with the focus), not two buttons per row.
    this.acts = span("ac-acts");
    this.acts.append(
      button("ac-act", "path", "Copy the path", "copy-path"),
      button("ac-act", "value", "Copy the value", "copy-value"),
    );
    const offer = (e) => {
      const line = e.target.closest && e.target.closest(".ac-line");
      if (line && this.acts.parentElement !== line) line.append(this.acts);
    };
    this.scrolled = 0;
    el.addEventListener("scroll", () => (this.scrolled = el.scrollTop), { passive: true });
    el.addEventListener("mouseover", offer);
    el.addEventListener("focusin", offer);
    // The tree is one tab stop; arrows move between rows from there.
    el.tabIndex = 0;
    el.addEventListener("focus", () => {
      const first = el.querySelector("[data-focus] > .ac-line") || el.querySelector(".ac-line");
      if (first) first.focus();
    });
  }

  render(text) {
    // The scroll position is kept from scroll events: reading it here could force a layout of
    // whatever else changed in the page in the same update.
    const top = this.scrolled;
    this.el.replaceChildren();
    this.nodes.clear();
    if (!text) return;
    const view = JSON.parse(text);
    this.version = view.v;
    this.rootAddress = view.root;
    this.root = { el: this.el, kids: this.el, row: null, open: true, loaded: false };
    this.nodes.set(view.root, this.root);
    if (view.scalar) this.el.append(this.makeNode(view.scalar).el);
    for (const level of view.levels) this.fill(level, true);
    // Restored with the frame's own layout, not a forced one now.
    if (top) requestAnimationFrame(() => (this.el.scrollTop = top));
  }

  // -- nodes -----------------------------------------------------------------------------------
  makeNode(row) {
    const el = document.createElement("div");
    el.className = "ac-node";
    el.setAttribute("role", "treeitem");
    el.setAttribute("data-testid", "tree-node");
    el.setAttribute("data-path", row.p);
    el.setAttribute("data-addr", row.a);
    el.setAttribute("data-type", row.t);
    if (row.c) el.setAttribute("data-change", row.c);
    if (row.i) el.setAttribute("data-inner", "1");
    const container = (row.t === "object" || row.t === "array") && row.n > 0;
    const line = document.createElement("div");
    line.className = "ac-line";
    line.tabIndex = -1;
    // The caret and the colon are drawn by CSS: a row is as few elements as it can be.
    if (row.k !== undefined) line.append(span(typeof row.k === "number" ? "ac-index" : "ac-key", String(row.k)));
    if (row.i) line.append(span("ac-dot", "●"));
    if (row.o !== undefined) line.append(span("ac-old", row.o), span("ac-arrow", "→"));
    const isContainer = row.t === "object" || row.t === "array";
    const value = span(`ac-v ac-t-${row.t}`, isContainer ? row.v || summary(row) : row.v);
    line.append(value);
    if (container && row.v) line.append(span("ac-count", summary(row)));
    if (row.h) line.append(span("ac-hint", row.h));
    if (row.x) line.append(button("ac-link", `all ${count(row.n)} characters`, "Show the whole string", "full"));
    el.append(line);
    const node = { el, line, value, row, container, open: false, loaded: false, kids: null };
    if (container) el.setAttribute("aria-expanded", "false");
    this.nodes.set(row.a, node);
    return node;
  }

  nodeOf(target) {
    const el = target.closest(".ac-node");
    return el ? this.nodes.get(el.dataset.addr) : undefined;
  }

  ensureKids(node) {
    if (!node.kids) {
      node.kids = document.createElement("div");
      node.kids.className = "ac-kids";
      node.kids.setAttribute("role", "group");
      node.el.append(node.kids);
    }
    return node.kids;
  }

  setOpen(node, open) {
    if (node === this.root) return;
    node.open = open;
    node.el.setAttribute("aria-expanded", String(open));
    // A collapsed container shows its inline preview again; an open one only its count.
    if (node.row.v) node.value.textContent = open ? "" : node.row.v;
    if (node.kids) node.kids.hidden = !open;
  }

  forget(el) {
    for (const gone of el.querySelectorAll(".ac-node")) this.nodes.delete(gone.dataset.addr);
  }

  // -- levels ----------------------------------------------------------------------------------
  fill(level, replace) {
    const node = this.nodes.get(level.a);
    if (!node) return false;
    const kids = this.ensureKids(node);
    const rows = document.createDocumentFragment();
    for (const row of level.r) rows.append(this.makeNode(row).el);
    const n = level.r.length;
    if (!replace && node.loaded && level.s === node.end) {
      kids.insertBefore(rows, node.more || null);
      node.end += n;
    } else if (!replace && node.loaded && level.s + n === node.start) {
      kids.insertBefore(rows, node.earlier ? node.earlier.nextSibling : kids.firstChild);
      node.start = level.s;
    } else {
      this.forget(kids);
      kids.replaceChildren(rows);
      node.earlier = node.more = null;
      node.start = level.s;
      node.end = level.s + n;
    }
    node.total = level.n;
    node.loaded = true;
    this.pager(node);
    this.setOpen(node, true);
    return true;
  }

  pager(node) {
    const kids = node.kids;
    if (node.start > 0 && !node.earlier) {
      node.earlier = button("ac-page", "", "Show earlier rows", "earlier");
      kids.prepend(node.earlier);
    }
    if (node.earlier) {
      if (node.start > 0) node.earlier.textContent = `… ${count(node.start)} earlier`;
      else (node.earlier.remove(), (node.earlier = null));
    }
    const left = node.total - node.end;
    if (left > 0 && !node.more) {
      node.more = button("ac-page", "", "Show more rows", "more");
      kids.append(node.more);
    }
    if (node.more) {
      if (left > 0) node.more.textContent = `Show ${count(Math.min(PAGE, left))} more · ${count(left)} left`;
      else (node.more.remove(), (node.more = null));
    }
  }

  // -- user actions ----------------------------------------------------------------------------
  onClick(e) {
    const act = e.target.closest("[data-act]");
    if (act) {
      e.stopPropagation();
      this.act(act.dataset.act, this.nodeOf(act), act);
      return;
    }
    const node = this.nodeOf(e.target);
    if (node && node.container && e.target.closest(".ac-line")) {
      node.line.focus({ preventScroll: true });
      this.toggle(node);
    }
  }

  levelOf(el) {
    const kids = el.closest(".ac-kids");
    return kids ? this.nodes.get(kids.parentElement.dataset.addr) : this.root;
  }

  act(what, node, el) {
    if (what === "earlier" || what === "more") {
      const level = this.levelOf(el);
      const start = what === "more" ? level.end : Math.max(0, level.start - PAGE);
      const n = what === "more" ? PAGE : level.start - start;
      el.disabled = true;
      this.emit("expand", { v: this.version, a: level === this.root ? this.rootAddress : level.row.a, s: start, n });
    } else if (what === "copy-path") {
      this.copy(node.row.p, el);
    } else if (what === "copy-value") {
      if (!node.container && !node.row.x && node.row.t !== "object" && node.row.t !== "array") {
        this.copy(node.row.t === "string" ? JSON.parse(node.row.v) : node.row.v, el);
      } else {
        this.pendingCopy = el;
        this.emit("value", { v: this.version, a: node.row.a, purpose: "copy" });
      }
    } else if (what === "full") {
      if (node.long) {
        node.long.remove();
        node.long = null;
        el.textContent = `all ${count(node.row.n)} characters`;
      } else {
        this.emit("value", { v: this.version, a: node.row.a, purpose: "full" });
      }
    }
  }

  toggle(node) {
    if (node.open) {
      this.setOpen(node, false);
      this.emit("collapse", { v: this.version, a: node.row.a });
    } else if (node.loaded) {
      this.setOpen(node, true);
      this.emit("expand", { v: this.version, a: node.row.a, s: node.start, n: 0 });
    } else {
      this.ensureKids(node).replaceChildren(span("ac-loading", "loading…"));
      this.setOpen(node, true);
      this.emit("expand", { v: this.version, a: node.row.a, s: 0, n: PAGE });
    }
  }

  onKey(e) {
    const node = this.nodeOf(e.target);
    if (!node || !e.target.classList.contains("ac-line")) return;
    if (e.key === "Enter" || e.key === " ") {
      if (node.container) this.toggle(node);
    } else if (e.key === "ArrowRight") {
      if (node.container && !node.open) this.toggle(node);
    } else if (e.key === "ArrowLeft") {
      if (node.container && node.open) this.toggle(node);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const lines = [...this.el.querySelectorAll(".ac-line")].filter((l) => l.offsetParent !== null);
      const next = lines[lines.indexOf(e.target) + (e.key === "ArrowDown" ? 1 : -1)];
      if (next) next.focus();
    } else {
      return;
    }
    e.preventDefault();
  }

  copy(text, el) {
    const done = () => {
      if (!el) return;
      el.classList.add("ac-copied");
      setTimeout(() => el.classList.remove("ac-copied"), 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => this.copyFallback(text, done));
    } else {
      this.copyFallback(text, done);
    }
  }

  copyFallback(text, done) {
    // Plain http on another host has no clipboard API: a selected textarea and the copy command.
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    try {
      document.execCommand("copy");
      done();
    } finally {
      area.remove();
    }
  }

  focus(address) {
    const node = this.nodes.get(address);
    if (!node) return;
    for (const el of this.el.querySelectorAll("[data-focus]")) el.removeAttribute("data-focus");
    node.el.setAttribute("data-focus", "1");
    node.line.scrollIntoView({ block: "center" });
    node.line.focus({ preventScroll: true });
    node.line.classList.remove("ac-flash");
    void node.line.offsetWidth; // restart the animation on a second jump to the same row
    node.line.classList.add("ac-flash");
  }

  // -- the server's answers --------------------------------------------------------------------
  level(msg) {
    if (msg.v === this.version) this.fill(msg.level, false);
  }

  reveal(msg) {
    if (msg.v !== this.version) return;
    msg.levels.forEach((level, i) => {
      const node = this.nodes.get(level.a);
      if (!node) return;
      const next = i + 1 < msg.levels.length ? msg.levels[i + 1].a : msg.target;
      const present = this.nodes.get(next);
      if (node.loaded && present && node.kids && node.kids.contains(present.el)) this.setOpen(node, true);
      else this.fill(level, true);
    });
    this.focus(msg.target);
  }

  value(msg) {
    if (msg.v !== this.version) return;
    if (msg.purpose === "copy") {
      this.copy(msg.text, this.pendingCopy);
      this.pendingCopy = null;
      return;
    }
    const node = this.nodes.get(msg.a);
    if (!node) return;
    if (node.long) node.long.remove();
    node.long = document.createElement("div");
    node.long.className = "ac-long";
    node.long.setAttribute("data-testid", "full-value");
    node.long.textContent = msg.text;
    if (msg.more > 0) node.long.append(span("ac-insp-muted", ` … ${count(msg.more)} more characters (copy the value for all)`));
    node.line.after(node.long);
    const link = node.line.querySelector("[data-act=full]");
    if (link) link.textContent = "less";
  }
}

export default {
  template: `<div class="ac-tree" data-testid="context-tree" role="tree" aria-label="Context"></div>`,
  props: { view: String },
  watch: {
    view(text) {
      this.tree.render(text);
    },
  },
  mounted() {
    this.tree = new Tree(this.$el, (name, payload) => this.$emit(name, payload));
    this.tree.render(this.view);
  },
  methods: {
    // Called by the server (run_method) with JSON text.
    level(text) {
      this.tree.level(JSON.parse(text));
    },
    reveal(text) {
      this.tree.reveal(JSON.parse(text));
    },
    value(text) {
      this.tree.value(JSON.parse(text));
    },
    render(text) {
      this.tree.render(text === undefined ? this.view : text);
    },
  },
};
