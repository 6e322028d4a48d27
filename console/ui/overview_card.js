// A session's card on the operations view. Its frame, name, link and buttons are NiceGUI elements (the
// slot); what changes while the session streams (state, reply tail, rates, sparkline, counters,
// whether the filter shows it, its place) comes from the grid's one `apply` message per refresh,
// which hands each card its patch. Everything is set as text or attributes, never parsed as HTML.
// The live area has no children in Vue's eyes, so a re-render of the page leaves what is drawn here.
const SVG = "http://www.w3.org/2000/svg";
// What streams (the reply's tail, the counters, the sparkline) changes at every refresh of every
// streaming card, and each change lays out and repaints its card: a card out of view keeps only the
// latest of them and draws it when it comes into view. The rest (state, label, rate, visibility,
// order) is set at once: it decides where cards are and which are shown.
const DEFERRED = ["t", "c", "p"];
// One observer per scroll box (the grid's), told which cards are in view (or nearly).
const observers = new WeakMap();
const cards = new WeakMap(); // card element -> its component

function observer(root) {
  const key = root || document; // no scroll box: the viewport
  let seen = observers.get(key);
  if (!seen) {
    seen = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) cards.get(entry.target)?.inView(entry.isIntersecting);
      },
      // A little beyond the box: a card scrolled into view has usually been drawn already.
      { root, rootMargin: "100px 0px" },
    );
    observers.set(key, seen);
  }
  return seen;
}

function sparkPoints(values) {
  // values: 0..100; the sparkline is 100 x 24 in its own units, stretched to the card's width.
  const n = values.length;
  if (n === 0) return "";
  const step = n > 1 ? 100 / (n - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(23 - v * 0.22).toFixed(1)}`).join(" ");
}

function build(live) {
  const add = (className, testid) => {
    const el = document.createElement("div");
    el.className = className;
    if (testid) el.dataset.testid = testid;
    live.append(el);
    return el;
  };
  const state = add("ac-card-state", "card-state");
  const tailBox = add("ac-card-tail");
  const tail = document.createElement("div");
  tail.dataset.testid = "card-tail";
  tail.dir = "auto"; // upstream text: isolated for bidirectional display (overview.css)
  tailBox.append(tail);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "ac-card-spark");
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(SVG, "polyline");
  svg.append(line);
  live.append(svg);
  const rate = add("ac-card-rate", "card-rate");
  const counters = add("ac-card-counters", "card-counters");
  return { state, tail, line, rate, counters };
}

export default {
  template: `<div><slot></slot><div ref="live" class="ac-card-live"></div></div>`,
  mounted() {
    this.parts = build(this.$refs.live);
    this.shown = true; // until the observer says otherwise (its first report comes after a layout)
    this.held = null; // deferred keys of the latest patches while out of view
    cards.set(this.$el, this);
    this.seen = observer(this.$el.closest(".ac-ov-scroll"));
    this.seen.observe(this.$el);
  },
  unmounted() {
    this.seen?.unobserve(this.$el);
  },
  methods: {
    inView(shown) {
      this.shown = shown;
      if (shown && this.held) {
        const held = this.held;
        this.held = null;
        this.draw(held);
      }
    },
    // One refresh's changes of this card, keyed as in overview_card.py's PATCH_KEYS.
    apply(patch) {
      const card = this.$el;
      const parts = this.parts;
      if ("s" in patch) card.dataset.state = patch.s;
      if ("h" in patch) card.dataset.hidden = patch.h ? "true" : "false";
      if ("x" in patch) card.dataset.problem = patch.x ? "true" : "false";
      if ("o" in patch) card.style.order = String(patch.o);
      if ("l" in patch) parts.state.textContent = patch.l;
      if ("d" in patch) parts.state.title = patch.d;
      if ("r" in patch) parts.rate.textContent = patch.r;
      if (this.shown) {
        this.draw(patch);
        return;
      }
      for (const key of DEFERRED) {
        if (!(key in patch)) continue;
        this.held = this.held || {};
        this.held[key] = patch[key];
      }
    },
    draw(patch) {
      const parts = this.parts;
      if ("t" in patch) parts.tail.textContent = patch.t;
      if ("c" in patch) parts.counters.textContent = patch.c;
      if ("p" in patch) parts.line.setAttribute("points", sparkPoints(patch.p));
    },
  },
};
