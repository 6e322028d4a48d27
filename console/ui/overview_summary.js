// The operations view's summary bar: sessions by state and the totals, drawn from what the grid's
// `apply` hands it when they change. Set as text, never parsed as HTML; the bar has no children in
// Vue's eyes, so a re-render of the page leaves what is drawn here.
function build(bar, counts) {
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
  template: `<div></div>`,
  methods: {
    show(summary) {
      if (!this.parts || !this.parts.total.isConnected) this.parts = build(this.$el, summary.counts);
      this.parts.total.textContent = summary.total;
      for (const [state, n, text] of summary.counts) {
        const chip = this.parts.chips.get(state);
        if (!chip) continue;
        chip.textContent = text;
        chip.dataset.count = String(n);
      }
      this.parts.totals.textContent = summary.totals;
    },
  },
};
