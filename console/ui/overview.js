// The session grid of the operations view: the cards' container and the one channel of what changes
// while sessions stream. Each refresh sends one `apply` message, which hands each card its patch and
// the summary bar its figures (through their own methods) and shows or hides the "no match" notice.
// Nothing live goes through NiceGUI element updates: each of those re-renders the page's whole
// element tree.
export default {
  template: `<div class="ac-ov-grid" data-testid="overview-grid"><slot></slot></div>`,
  props: { summary: Number, empty: Number },
  methods: {
    apply(batch, page) {
      for (const [id, patch] of batch) getElement(id)?.apply(patch);
      if (page.summary) getElement(this.summary)?.show(page.summary);
      if ("empty" in page) {
        const empty = getHtmlElement(this.empty);
        if (empty) empty.dataset.shown = page.empty ? "true" : "false";
      }
    },
  },
};
