// The session grid of the operations view. Each card is a NiceGUI element (its frame, name, link and
// buttons); what changes while sessions stream (state, reply tail, rates, sparkline, counters) arrives
// for all cards at once, one `apply` message per refresh, and is written straight into the card's
// live area. Everything is set as text or attributes, never parsed as HTML. The live area has no
// children in Vue's eyes, so re-rendering a card (e.g. to hide it) leaves what is written here alone.
const SVG = "http://www.w3.org/2000/svg";

function sparkPoints(values) {
  // values: 0..100; the sparkline is 100 x 24 in its own units, stretched to the card's width.
  const n = values.length;
  if (n === 0) return "";
  const step = n > 1 ? 100 / (n - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(23 - v * 0.22).toFixed(1)}`).join(" ");
}

function build(card) {
  const live = card.querySelector(".ac-card-live");
  if (!live) return null;
  live.replaceChildren();
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
  return { live, state, tail, line, rate, counters };
}

export default {
  template: `<div class="ac-ov-grid" data-testid="overview-grid"><slot></slot></div>`,
  mounted() {
    this.parts = new Map();
  },
  methods: {
    apply(batch) {
      for (const [id, patch] of batch) {
        const card = document.getElementById("c" + id);
        if (!card) continue;
        let parts = this.parts.get(id);
        if (!parts || !parts.live.isConnected) {
          parts = build(card);
          if (!parts) continue;
          this.parts.set(id, parts);
        }
        if ("s" in patch) card.dataset.state = patch.s;
        if ("x" in patch) card.dataset.problem = patch.x ? "true" : "false";
        if ("o" in patch) card.style.order = String(patch.o);
        if ("l" in patch) parts.state.textContent = patch.l;
        if ("d" in patch) parts.state.title = patch.d;
        if ("t" in patch) parts.tail.textContent = patch.t;
        if ("r" in patch) parts.rate.textContent = patch.r;
        if ("c" in patch) parts.counters.textContent = patch.c;
        if ("p" in patch) parts.line.setAttribute("points", sparkPoints(patch.p));
      }
    },
    forget(ids) {
      for (const id of ids) this.parts.delete(id);
    },
  },
};
