// The session grid of the operations view. Each card is a NiceGUI element (its frame, name, link and
// buttons); what changes while sessions stream (state, reply tail, rates, sparkline, counters, whether
// the filter shows it, its place) arrives for all cards at once, one `apply` message per refresh, with
// the summary bar and the "no match" notice. Nothing live goes through NiceGUI element updates: each
// of those re-renders the page's whole element tree. Everything is set as text or attributes, never
// parsed as HTML. The areas written here have no children in Vue's eyes, so a re-render of the page
// leaves them alone.
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

function buildSummary(bar, counts) {
  bar.replaceChildren();
  const total = document.createElement("span");
  total.className = "ac-ov-total";
  total.dataset.testid = "overview-total";
  bar.append(total);
  const chips = new Map();
  for (const [state] of counts) {
    const chip = document.createElement("span");
    chip.className = "ac-ov-count";
    chip.dataset.testid = "state-count";
    chip.dataset.state = state;
    bar.append(chip);
    chips.set(state, chip);
  }
  const totals = document.createElement("span");
  totals.className = "ac-ov-totals";
  totals.dataset.testid = "overview-totals";
  bar.append(totals);
  return { total, chips, totals };
}

export default {
  template: `<div class="ac-ov-grid" data-testid="overview-grid"><slot></slot></div>`,
  props: { summary: String, empty: String },
  mounted() {
    this.parts = new Map();
    this.bar = null;
  },
  methods: {
    apply(batch, page) {
      this.cards(batch);
      if (page.summary) this.showSummary(page.summary);
      if ("empty" in page) {
        const empty = document.getElementById(this.empty);
        if (empty) empty.dataset.shown = page.empty ? "true" : "false";
      }
    },
    showSummary(summary) {
      const bar = document.getElementById(this.summary);
      if (!bar) return;
      if (!this.bar || !this.bar.total.isConnected) this.bar = buildSummary(bar, summary.counts);
      this.bar.total.textContent = summary.total;
      for (const [state, n, text] of summary.counts) {
        const chip = this.bar.chips.get(state);
        if (!chip) continue;
        chip.textContent = text;
        chip.dataset.count = String(n);
      }
      this.bar.totals.textContent = summary.totals;
    },
    cards(batch) {
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
        if ("h" in patch) card.dataset.hidden = patch.h ? "true" : "false";
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
