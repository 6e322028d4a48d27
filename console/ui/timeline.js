// The trace timeline: a virtual list of protocol events with a filter bar.
//
// The server sends rows once (`reset` on mount, then `push` with one tick's operations: new rows, tokens
// for a token row, field updates) and never re-sends the list. Rows live here in plain arrays (not Vue
// state); only the rows in the scroll window are rendered, each one fixed-height line, except the one
// expanded row whose measured height shifts the rows after it. Filtering and search run here over the
// rows kept (at most `maxRows`; the server says how many older ones went). Upstream text is only ever
// interpolated with {{ }}, never parsed as HTML.
//
// A token row's text is the chat's text run: it comes here only as far as the row's preview, then as
// counts. Expanding the row asks for all of it (and its tokens' text while it stays open); searching
// asks the server which token rows contain the words.
const H = 26; // px per row line
const OVERSCAN = 10;
// Rows are told apart by the category of their kind (the `kinds` prop: [kind, category] pairs in chip
// order, from console/trace_kinds.py), never by lists of kinds here.
// Rows a chat card points back at: a tool call, a component.
const CALL_CATEGORIES = new Set(["call", "block"]);
const ARROWS = { in: "↓", out: "↑", client: "•" };

function hue(key) {
  let h = 0;
  for (let k = 0; k < key.length; k++) h = (h * 31 + key.charCodeAt(k)) | 0;
  return Math.abs(h) % 360;
}

function seconds(ms) {
  const s = ms / 1000;
  return s < 1 ? `${Math.round(ms)} ms` : `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// First position in `view` (sorted by id) whose id is >= id.
function lowerBound(view, id) {
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (view[mid].i < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export default {
  template: `
    <div class="ac-tl">
      <div class="ac-tl-bar">
        <input type="search" class="ac-tl-search" data-testid="timeline-search" placeholder="Search events…"
               :value="query" @input="onQuery($event.target.value)" aria-label="Search events" />
        <button type="button" class="ac-tl-btn" data-testid="timeline-heartbeats" @click="toggleHeartbeats"
                :aria-pressed="beatsShown" :title="beatsShown ? 'Hide heartbeats (PING, PONG)' : 'Show heartbeats (PING, PONG)'">
          {{ beatsShown ? "hide" : "show" }} heartbeats{{ beats ? " (" + beats + ")" : "" }}
        </button>
        <button type="button" class="ac-tl-btn" data-testid="timeline-time-mode" @click="toggleClock"
                :aria-label="absolute ? 'Times: wall clock. Switch to time since the first event' : 'Times: since the first event. Switch to wall clock'"
                :title="absolute ? 'Showing wall-clock times' : 'Showing time since the first event'">
          time: {{ absolute ? "clock" : "+s" }}
        </button>
      </div>
      <div class="ac-tl-chips">
        <button v-for="c in chips" :key="c.kind" type="button" class="ac-tl-chip" :class="{ off: c.off }"
                data-testid="timeline-filter" :data-kind="c.kind" :aria-pressed="!c.off" @click="toggleKind(c.kind)">
          {{ c.kind }} <b>{{ c.count }}</b>
        </button>
        <button type="button" class="ac-tl-chip ac-tl-chip-all" data-testid="timeline-filter-all" @click="showAll">all</button>
        <button type="button" class="ac-tl-chip ac-tl-chip-all" data-testid="timeline-filter-none" @click="showNone">none</button>
      </div>
      <div v-if="olderText || canLoad" class="ac-tl-older" data-testid="timeline-older">
        <span data-testid="timeline-older-text">{{ olderText }}</span>
        <button v-if="canLoad" type="button" class="ac-tl-btn" data-testid="timeline-load-older" :disabled="loading"
                @click="loadOlder">{{ loading ? "loading…" : "load older" }}</button>
      </div>
      <div class="ac-tl-scroll" ref="scroll" data-testid="timeline-scroll" @scroll.passive="onScroll">
        <div class="ac-tl-space" :style="{ height: total + 'px' }">
          <div v-for="r in slice" :key="r.i" :class="r.cls" :style="r.style" data-testid="timeline-row"
               :data-kind="r.k" :data-category="r.c" :data-row-id="r.i" :data-call-id="r.p" :data-stream-id="r.sid" :data-expanded="r.open"
               tabindex="0"
               role="button" @click="select(r.i)" @keydown.enter.self="select(r.i)">
            <div class="ac-tl-line">
              <span class="ac-tl-time" :title="r.title">{{ r.time }}</span>
              <span class="ac-tl-dir" :title="r.d">{{ r.arrow }}</span>
              <span class="ac-tl-kind">{{ r.k }}</span>
              <span class="ac-tl-label" data-testid="timeline-row-label" dir="auto">{{ r.label }}</span>
              <span v-if="r.preview" class="ac-tl-preview" dir="auto">{{ r.preview }}</span>
              <span class="ac-tl-meta">{{ r.meta }}</span>
            </div>
            <div v-if="r.open" class="ac-tl-detail" :ref="setDetail" data-testid="timeline-detail" @click.stop>
              <div class="ac-tl-fields">
                <template v-for="f in r.fields" :key="f[0]"><span>{{ f[0] }}</span><span dir="auto">{{ f[1] }}</span></template>
              </div>
              <div v-if="r.text !== null" class="ac-tl-text" data-testid="timeline-detail-text" dir="auto"
                   :data-complete="r.complete">{{ r.text }}</div>
              <div class="ac-tl-actions">
                <button v-if="r.raw && rawFor !== r.i" type="button" class="ac-tl-btn" data-testid="timeline-raw-button"
                        @click="fetchRaw(r.i)">{{ r.n ? "raw frames" : "raw frame" }}</button>
                <button v-if="r.k === 'CONTEXT_SNAPSHOT'" type="button" class="ac-tl-btn"
                        data-testid="timeline-open-context" @click="openContext(r.i)">show in Context</button>
                <button type="button" class="ac-tl-btn" @click="select(r.i)">close</button>
              </div>
              <pre v-if="rawFor === r.i" class="ac-tl-raw" data-testid="timeline-raw">{{ rawText }}</pre>
            </div>
          </div>
        </div>
      </div>
      <button v-show="unseen > 0" type="button" class="ac-tl-new" data-testid="timeline-follow" @click="follow">
        ↓ {{ unseen }} new event{{ unseen === 1 ? "" : "s" }} · follow
      </button>
    </div>`,
  props: { maxRows: Number, kinds: Array },
  data() {
    return {
      slice: [],
      total: 0,
      chips: [],
      query: "",
      absolute: false,
      olderText: "",
      canLoad: false,
      loading: false,
      expanded: null,
      rawFor: null,
      rawText: "",
      unseen: 0,
      flashId: null,
      beats: 0,
      beatsShown: false,
    };
  },
  created() {
    // Plain (non-reactive) state: thousands of rows must not become Vue proxies.
    this.rows = [];
    this.byId = new Map();
    this.view = [];
    this.counts = new Map();
    this.categories = new Map(this.kinds);
    this.rank = new Map(this.kinds.map(([kind], index) => [kind, index]));
    // Heartbeats say the link is alive, nothing about the conversation: hidden until asked for.
    this.beatKinds = this.kinds.filter(([, category]) => category === "heartbeat").map(([kind]) => kind);
    this.hidden = new Set(this.beatKinds); // kinds switched off ("all" mode)
    this.only = null; // a Set of kinds switched on ("none" mode), or null
    this.needle = "";
    this.textHits = new Set(); // token rows whose text (on the server) contains the needle
    this.searchTimer = 0;
    this.t0 = null;
    this.older = {};
    this.sessionDropped = 0;
    this.stored = false; // the session's older rows can be read back from a store
    this.loaded = 0; // rows read back, before the live ones
    this.jump = false;
    this.pinned = true;
    this.extra = 0; // px the expanded row adds
    this.frame = 0;
    this.rebuild = false;
    this.grown = new Set();
    this.chipsDirty = true;
    // Kept from resize and scroll events, so that rendering never reads layout (a read would force
    // the browser to lay out the whole page, chat included, once more per frame).
    this.height = 0;
    this.top = 0;
  },
  mounted() {
    this.onDocClick = (event) => {
      // A tool card or a component (contact, calendar event…) in the chat: its rows here.
      const card = event.target.closest && event.target.closest("[data-testid=tool-card], [data-component-id]");
      if (card && !this.$el.contains(card)) this.reveal(card.dataset.callId || card.dataset.componentId);
    };
    document.addEventListener("click", this.onDocClick, true);
    this.resize = new ResizeObserver((entries) => {
      this.height = entries[entries.length - 1].contentRect.height;
      this.schedule();
    });
    // Its first report comes with the first layout: reading clientHeight here would force one more.
    this.resize.observe(this.$refs.scroll);
    this.detailSize = new ResizeObserver(() => this.measure());
    this.$emit("ready");
  },
  activated() {
    this.schedule();
  },
  unmounted() {
    document.removeEventListener("click", this.onDocClick, true);
    this.resize.disconnect();
    this.detailSize.disconnect();
    cancelAnimationFrame(this.frame);
  },
  methods: {
    // -- from the server -------------------------------------------------------------------------
    reset(text) {
      const state = JSON.parse(text);
      this.rows = [];
      this.byId = new Map();
      this.counts = new Map();
      this.t0 = state.t0;
      this.sessionDropped = state.dropped || 0;
      this.stored = !!state.stored;
      this.loaded = 0;
      this.older = state.older || {};
      this.canLoad = this.reachable();
      this.olderText = this.olderLine();
      this.view = [];
      this.rebuild = true; // the view is rebuilt once, after all rows are in
      // The newest rows of a trace still being replayed, again each tick: a user who scrolled up to
      // read stays where they are.
      if (!state.preview) this.pinned = true;
      this.unseen = 0;
      for (const row of state.rows) this.addRow(row);
      // New rows (a trace still being replayed sends its newest ones afresh each tick): token text the
      // search has not seen yet is asked about again.
      if (this.needle) this.searchSoon();
      this.schedule();
    },
    push(batch) {
      if (this.t0 === null) this.t0 = batch.t0;
      for (const op of batch.ops) {
        if (op[0] === "a") this.addRow(op[1]);
        else if (op[0] === "t") this.addToken(op);
        else if (op[0] === "u") this.updateRow(op[1], op[2]);
      }
      if (batch.first !== undefined && batch.first !== null) {
        // Rows read back stay while the user reads them (up to a bound); following the live end again
        // lets them go with the oldest live rows.
        if (!this.loaded || this.pinned || this.rows.length > 4 * this.maxRows) this.evictBefore(batch.first);
      }
      if (batch.older) {
        this.older = batch.older;
        if (!this.loaded) this.canLoad = this.reachable();
        this.olderText = this.olderLine();
      }
      this.schedule();
    },
    // The rows of `rows` older than all of ours and not known yet, made ours (counted, indexed).
    adoptOlder(rows) {
      const first = this.rows.length ? this.rows[0].i : Infinity;
      const older = [];
      for (const row of rows) {
        if (row.i >= first || this.byId.has(row.i)) continue;
        row.parts = row.parts || null;
        row.len = row.parts ? row.parts.reduce((n, p) => n + p[1].length, 0) : 0;
        this.byId.set(row.i, row);
        this.count(row.k, row.n || 1);
        older.push(row);
      }
      return older;
    },
    prepend(text) {
      // Older rows of a view that just mounted, after the newest ones: oldest first, all before ours.
      const older = this.adoptOlder(JSON.parse(text));
      if (!older.length) return;
      this.rows = older.concat(this.rows);
      this.rebuild = true;
      this.schedule();
    },
    // A page of older rows the user asked for (`loadOlder`), oldest first: they go before ours, and
    // the rows on screen stay where they are.
    readBack(text) {
      const page = JSON.parse(text);
      this.loading = false;
      const older = this.adoptOlder(page.rows);
      this.canLoad = !!page.more;
      this.loaded += older.length;
      this.olderText = page.note || this.olderLine();
      if (!older.length) return;
      this.rows = older.concat(this.rows);
      if (!this.rebuild) {
        const shown = older.filter((row) => this.passes(row));
        this.view = shown.concat(this.view);
        this.top += shown.length * H;
        this.jump = true; // the box's own scroll position follows in the next render
      }
      this.pinned = false;
      this.schedule();
    },
    loadOlder() {
      if (this.loading || !this.canLoad || !this.rows.length) return;
      this.loading = true;
      this.$emit("older", this.rows[0].i);
    },
    reachable() {
      const rows = Object.values(this.older).reduce((sum, n) => sum + n, 0);
      return rows > 0 || (this.sessionDropped > 0 && this.stored);
    },
    // The whole text of the expanded token row (asked for by `select`), then its tokens come with text.
    showText(id, [seq, text]) {
      const row = this.byId.get(id);
      if (!row || this.expanded !== id) return;
      const last = row.parts.reduce((max, p) => Math.max(max, p[0] ?? 0), seq);
      row.parts = [[seq, text], [last, ""]];
      row.unsorted = false;
      row.len = text.length;
      row.txt = undefined;
      row.hay = undefined;
      this.schedule();
    },
    textMatches(needle, ids) {
      if (needle !== this.needle) return; // an answer to an earlier search
      this.textHits = new Set(ids);
      this.refilter();
    },
    showRaw(id, text) {
      if (this.expanded !== id) return;
      this.rawFor = id;
      this.rawText = text;
    },
    // -- rows ------------------------------------------------------------------------------------
    addRow(row) {
      row.parts = row.parts || null;
      row.len = row.parts ? row.parts.reduce((n, p) => n + p[1].length, 0) : 0;
      this.rows.push(row);
      this.byId.set(row.i, row);
      this.count(row.k, row.n || 1);
      if (!this.rebuild && this.passes(row)) {
        this.view.push(row);
        if (!this.pinned) this.unseen += 1;
      }
    },
    addToken(op) {
      const row = this.byId.get(op[1]);
      if (!row) return;
      const parts = row.parts;
      if (parts.length && parts[parts.length - 1][0] > op[2]) row.unsorted = true;
      parts.push([op[2], op[3]]);
      row.len += op[3].length;
      row.c = op[6];
      row.e = op[4];
      this.count(row.k, op[5] - (row.n || 0));
      row.n = op[5];
      row.o = true;
      row.txt = undefined;
      row.hay = undefined;
      // A token row that did not match the search may match now that it has more text: checked once
      // per frame, not per token (joining a long run's text for every token would be quadratic).
      if (this.needle && !this.rebuild) this.grown.add(row);
      if (this.needle) this.searchSoon();
    },
    updateRow(id, fields) {
      const row = this.byId.get(id);
      if (!row) return;
      Object.assign(row, fields);
      row.hay = undefined;
    },
    evictBefore(first) {
      let n = 0;
      while (n < this.rows.length && this.rows[n].i < first) {
        const row = this.rows[n];
        this.byId.delete(row.i);
        this.count(row.k, -(row.n || 1));
        if (this.expanded === row.i) this.expanded = null;
        n += 1;
      }
      if (!n) return;
      this.rows.splice(0, n);
      this.loaded = 0; // rows read back are older than any live row: they went first
      const cut = lowerBound(this.view, first);
      if (cut) this.view.splice(0, cut);
    },
    count(kind, delta) {
      this.chipsDirty = true;
      const n = (this.counts.get(kind) || 0) + delta;
      if (n > 0) this.counts.set(kind, n);
      else this.counts.delete(kind);
    },
    text(row) {
      if (!row.parts) return null;
      if (row.txt === undefined) {
        const parts = row.unsorted ? [...row.parts].sort((a, b) => a[0] - b[0]) : row.parts;
        row.txt = parts.map((p) => p[1]).join("");
      }
      return row.txt;
    },
    hay(row) {
      if (row.hay === undefined) {
        const bits = [row.k, row.x, row.r, row.sid, row.s, row.note, this.text(row)];
        row.hay = bits.filter((b) => b !== null && b !== undefined).join(" ").toLowerCase();
      }
      return row.hay;
    },
    kindShown(kind) {
      return this.only ? this.only.has(kind) : !this.hidden.has(kind);
    },
    passes(row) {
      if (!this.kindShown(row.k)) return false;
      return !this.needle || this.hay(row).includes(this.needle) || this.textHits.has(row.i);
    },
    // Token text beyond a row's preview is on the server: it says which rows match.
    search() {
      clearTimeout(this.searchTimer);
      this.searchTimer = 0;
      this.textHits = new Set();
      if (this.needle) this.$emit("search", this.needle);
    },
    searchSoon() {
      if (this.searchTimer) return;
      this.searchTimer = setTimeout(() => {
        this.searchTimer = 0;
        if (this.needle) this.$emit("search", this.needle);
      }, 1000);
    },
    inView(row) {
      const at = lowerBound(this.view, row.i);
      return at < this.view.length && this.view[at] === row;
    },
    // -- filter bar ------------------------------------------------------------------------------
    onQuery(value) {
      this.query = value;
      clearTimeout(this.queryTimer);
      this.queryTimer = setTimeout(() => {
        this.needle = value.trim().toLowerCase();
        this.search();
        this.refilter();
      }, 120);
    },
    toggleKind(kind) {
      if (this.only) {
        if (this.only.has(kind)) this.only.delete(kind);
        else this.only.add(kind);
      } else if (this.hidden.has(kind)) this.hidden.delete(kind);
      else this.hidden.add(kind);
      this.refilter();
    },
    showAll() {
      this.only = null;
      this.hidden = new Set();
      this.refilter();
    },
    toggleHeartbeats() {
      const show = !this.beatsShown;
      for (const kind of this.beatKinds) {
        if (this.only) {
          if (show) this.only.add(kind);
          else this.only.delete(kind);
        } else if (show) this.hidden.delete(kind);
        else this.hidden.add(kind);
      }
      this.refilter();
    },
    showNone() {
      this.only = new Set();
      this.refilter();
    },
    toggleClock() {
      this.absolute = !this.absolute;
      this.schedule();
    },
    refilter() {
      this.rebuild = true;
      this.chipsDirty = true;
      this.schedule();
    },
    // -- rendering -------------------------------------------------------------------------------
    schedule() {
      if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
    },
    render() {
      this.frame = 0;
      const box = this.$refs.scroll;
      if (!box) return;
      for (const row of this.grown) {
        if (!this.rebuild && this.byId.has(row.i) && this.passes(row) && !this.inView(row)) this.rebuild = true;
      }
      this.grown.clear();
      if (this.rebuild) {
        this.view = this.rows.filter((row) => this.passes(row));
        this.rebuild = false;
      }
      const ex = this.expanded === null ? -1 : lowerBound(this.view, this.expanded);
      const open = ex >= 0 && ex < this.view.length && this.view[ex].i === this.expanded ? ex : -1;
      const extra = open >= 0 ? this.extra : 0;
      this.total = this.view.length * H + extra;
      const height = this.height;
      const bottom = Math.max(0, this.total - height);
      const top = this.pinned ? bottom : Math.min(this.top, bottom);
      let first = Math.floor(top / H);
      if (open >= 0 && first > open) first = Math.max(open, Math.floor((top - extra) / H));
      const from = Math.max(0, first - OVERSCAN);
      const to = Math.min(this.view.length, first + Math.ceil(height / H) + OVERSCAN);
      const slice = [];
      for (let p = from; p < to; p++) slice.push(this.display(this.view[p], p * H + (open >= 0 && p > open ? extra : 0), p === open));
      this.slice = slice;
      if (this.chipsDirty) {
        this.chips = this.chipList();
        this.beats = this.beatKinds.reduce((sum, kind) => sum + (this.counts.get(kind) || 0), 0).toLocaleString();
        this.beatsShown = this.beatKinds.some((kind) => this.kindShown(kind));
        this.chipsDirty = false;
      }
      if (top !== this.top || this.jump) {
        this.jump = false;
        // One write, after Vue has patched the rows: the layout it needs is this frame's anyway.
        this.top = top;
        this.$nextTick(() => (box.scrollTop = top));
      }
    },
    display(row, y, open) {
      const rel = this.t0 === null ? 0 : row.w - this.t0;
      const relText = `+${(rel / 1000).toFixed(3)} s`;
      const grouped = !!row.n;
      const cls = ["ac-tl-row"];
      if (row.l !== undefined && row.l !== null) cls.push("child");
      if (row.p) cls.push("paired");
      if (open) cls.push("open");
      if (row.i === this.flashId) cls.push("ac-tl-flash");
      if (grouped && row.o) cls.push("streaming");
      const style = { transform: `translateY(${y}px)` };
      if (row.p) style["--ac-hue"] = hue(row.p);
      const meta = [row.note, row.s !== undefined && row.s !== null ? `#${row.s}` : null].filter(Boolean);
      const out = {
        i: row.i,
        k: row.k,
        c: this.categories.get(row.k) || "part",
        d: row.d,
        p: row.p || null,
        sid: row.sid || null,
        raw: !!row.raw,
        n: row.n || 0,
        cls,
        style,
        open,
        arrow: ARROWS[row.d] || "",
        time: this.absolute ? clock(row.w) : relText,
        title: `${clock(row.w)}  (${relText})`,
        label: grouped ? `Streamed ${row.n} token${row.n === 1 ? "" : "s"} (${seconds(row.e - row.w)})` : row.x,
        preview: grouped ? this.text(row).slice(0, 160) : "",
        meta: meta.join(" · "),
        text: null,
        complete: true,
        fields: [],
      };
      if (open) this.details(row, out, relText);
      return out;
    },
    details(row, out, relText) {
      const fields = [["time", `${clock(row.w)}  (${relText})`]];
      if (row.n) {
        const parts = row.parts;
        const seqs = parts.map((p) => p[0]).filter((s) => s !== null);
        fields.push(["tokens", `${row.n} in ${seconds(row.e - row.w)}${row.o ? " (streaming)" : ""}`]);
        if (seqs.length) fields.push(["seq", `${Math.min(...seqs)}–${Math.max(...seqs)}`]);
        out.complete = row.c === undefined || row.len >= row.c;
        out.text = out.complete ? this.text(row) : `${this.text(row)} …`;
      } else {
        if (row.s !== undefined && row.s !== null) fields.push(["seq", String(row.s)]);
        out.text = row.x;
      }
      fields.push(["direction", { in: "from the agent", out: "to the agent", client: "client event" }[row.d] || row.d]);
      if (row.sid) fields.push(["stream", row.sid]);
      if (row.r) fields.push(["ref", row.r]);
      const linked = row.l !== undefined && row.l !== null ? this.byId.get(row.l) : null;
      if (linked) fields.push(["answers", `${linked.k} ${linked.x} (${clock(linked.w)})`]);
      if (row.note) fields.push(["timing", row.note]);
      if (!this.chatTarget(row)) fields.push(["chat", "nothing there: a protocol event only"]);
      out.fields = fields;
    },
    chipList() {
      const kinds = [...this.counts.keys()];
      const rank = (k) => (this.rank.has(k) ? this.rank.get(k) : this.rank.size);
      kinds.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      return kinds.map((kind) => ({ kind, count: this.counts.get(kind).toLocaleString(), off: !this.kindShown(kind) }));
    },
    olderLine() {
      if (this.loaded) {
        const rest = this.canLoad ? "" : this.sessionDropped && !this.stored ? "; earlier ones were dropped" : "; nothing older is kept";
        return `${this.loaded.toLocaleString()} older rows read back${rest}`;
      }
      const kinds = Object.entries(this.older).filter(([, n]) => n > 0);
      const rows = kinds.reduce((sum, [, n]) => sum + n, 0);
      const parts = [];
      if (rows) {
        const detail = kinds.sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${k} ${n.toLocaleString()}`);
        parts.push(`${rows.toLocaleString()} older rows not shown (${detail.join(" · ")})`);
      }
      if (this.sessionDropped) {
        const where = this.stored ? "left memory; they are in the store" : "not kept by the session";
        parts.push(`${this.sessionDropped.toLocaleString()} earlier events ${where}`);
      }
      return parts.join("; ");
    },
    setDetail(el) {
      if (el === this.detailEl) return;
      if (this.detailEl) this.detailSize.unobserve(this.detailEl);
      this.detailEl = el;
      if (el) this.detailSize.observe(el);
    },
    measure() {
      const extra = this.detailEl ? this.detailEl.offsetHeight : 0;
      if (extra !== this.extra) {
        this.extra = extra;
        this.schedule();
      }
    },
    onScroll() {
      // Layout is clean when a scroll event fires: reading it here costs nothing extra.
      const box = this.$refs.scroll;
      const top = box.scrollTop;
      const atBottom = top + box.clientHeight >= box.scrollHeight - 4;
      // Only the user scrolling up stops the following. A scroll event also comes when the box
      // shrinks under its rows (a new filter chip, the older-rows line) or from our own write before
      // the rows it made room for are laid out: short of the bottom then, but not a wish to stop.
      if (atBottom) {
        this.pinned = true;
        this.unseen = 0;
      } else if (top < this.top - 2) {
        this.pinned = false;
        if (top < H && this.canLoad) this.loadOlder(); // scrolled to the top: the page before it
      }
      this.top = top;
      this.schedule();
    },
    follow() {
      this.pinned = true;
      this.unseen = 0;
      this.schedule();
    },
    // -- row <-> chat ----------------------------------------------------------------------------
    select(id) {
      const row = this.byId.get(id);
      if (!row) return;
      const before = this.expanded === null ? null : this.byId.get(this.expanded);
      if (before && before.n) this.$emit("text", [before.i, false]);
      if (this.expanded === id) {
        this.expanded = null;
      } else {
        this.expanded = id;
        this.rawFor = null;
        this.rawText = "";
        if (row.n) this.$emit("text", [id, true]);
        this.locate(row);
      }
      this.pinned = false; // the user is reading: new rows must not scroll the selection away
      this.schedule();
    },
    fetchRaw(id) {
      this.rawFor = id;
      this.rawText = "loading…";
      this.$emit("raw", id);
    },
    chatTarget(row) {
      const q = (selector) => document.querySelector(selector);
      const message = (attr, value) => q(`[data-testid=message][${attr}="${CSS.escape(value)}"]`);
      if (row.n && row.sid) {
        const m = message("data-stream-id", row.sid);
        return m ? m.querySelectorAll("[data-testid=message-text]")[row.g || 0] || m : null;
      }
      if (row.k === "USER_MESSAGE" && row.g !== undefined) {
        return document.querySelectorAll("[data-testid=message][data-role=user]")[row.g] || null;
      }
      if (row.r) {
        const target =
          q(`[data-testid=tool-card][data-call-id="${CSS.escape(row.r)}"]`) ||
          q(`[data-component-id="${CSS.escape(row.r)}"]`) ||
          message("data-message-id", row.r);
        if (target) return target;
      }
      return row.sid ? message("data-stream-id", row.sid) : null;
    },
    locate(row) {
      const el = this.chatTarget(row);
      if (!el) return;
      el.scrollIntoView({ block: "center", behavior: "smooth" });
      el.classList.remove("ac-flash");
      void el.offsetWidth; // restart the animation when the same element is flashed again
      el.classList.add("ac-flash");
      clearTimeout(el.acFlashTimer);
      el.acFlashTimer = setTimeout(() => el.classList.remove("ac-flash"), 1600);
    },
    openContext(id) {
      // The server knows which snapshot this row brought; the inspector shows it, then the tab.
      this.$emit("context", id);
      const tab = document.querySelector("[data-testid=context-tab]");
      if (tab) tab.click();
    },
    reveal(callId) {
      let row = null;
      for (let k = this.rows.length - 1; k >= 0 && !row; k--) {
        if (CALL_CATEGORIES.has(this.categories.get(this.rows[k].k)) && this.rows[k].r === callId) row = this.rows[k];
      }
      if (!row) return;
      if (!this.passes(row)) {
        this.query = "";
        this.needle = "";
        this.showAll();
      }
      if (this.$el.offsetParent === null) {
        const tab = document.querySelector("[data-testid=timeline-tab]");
        if (tab) tab.click();
      }
      this.pinned = false;
      this.flashId = row.i;
      clearTimeout(this.flashTimer);
      this.flashTimer = setTimeout(() => {
        this.flashId = null;
        this.schedule();
      }, 1600);
      // After a tab switch has shown the panel and the filter change has sized the list, centre the row.
      requestAnimationFrame(() => {
        this.render();
        this.$nextTick(() => {
          const box = this.$refs.scroll;
          const at = lowerBound(this.view, row.i);
          box.scrollTop = Math.max(0, at * H - this.height / 2 + H / 2);
          this.top = box.scrollTop;
          this.render();
        });
      });
    },
  },
};
