// A list of paths to jump to (the changes of a step, search hits). Items arrive as JSON text and are
// drawn by hand: hundreds of rows cost one prop update, not hundreds of server-side elements. Paths and
// values come from the agent's data: they go in as text only.
const OPS = { added: "+", removed: "−", changed: "~" };

export default {
  template: `<div class="ac-changes" role="list"></div>`,
  props: { items: String, testid: String },
  watch: {
    items() {
      this.render();
    },
  },
  mounted() {
    // Show the page's Tailwind runtime our class names now, not with the first list (see inspector.js).
    const probe = document.createElement("div");
    probe.hidden = true;
    probe.className = "ac-change ac-change-op ac-change-path ac-change-values";
    document.body.append(probe);
    requestAnimationFrame(() => probe.remove());
    this.$el.addEventListener("click", (e) => {
      const item = e.target.closest("[data-index]");
      if (item) this.$emit("pick", { i: Number(item.dataset.index) });
    });
    this.render();
  },
  methods: {
    render() {
      const items = this.items ? JSON.parse(this.items) : [];
      const rows = items.map((item, i) => {
        const el = document.createElement("button");
        el.type = "button";
        el.className = "ac-change";
        el.setAttribute("role", "listitem");
        el.setAttribute("data-testid", this.testid);
        el.setAttribute("data-path", item.p);
        el.dataset.index = String(i);
        if (item.c) {
          el.setAttribute("data-change", item.c);
          const op = document.createElement("span");
          op.className = "ac-change-op";
          op.textContent = OPS[item.c] || "";
          el.append(op);
        }
        const path = document.createElement("span");
        path.className = "ac-change-path";
        path.textContent = item.p;
        el.append(path);
        if (item.t) {
          const text = document.createElement("span");
          text.className = "ac-change-values";
          text.textContent = item.t;
          el.append(text);
        }
        return el;
      });
      this.$el.replaceChildren(...rows);
    },
  },
};
