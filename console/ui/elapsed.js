// Elapsed time of a running tool call, counted in the browser (no server traffic per tick).
export default {
  template: `<span class="ac-elapsed">{{ label }}</span>`,
  props: { elapsed: Number, running: Boolean },
  data() {
    return { now: Date.now(), start: Date.now() - (this.elapsed || 0) * 1000 };
  },
  computed: {
    label() {
      const seconds = this.running ? (this.now - this.start) / 1000 : this.elapsed || 0;
      return seconds.toFixed(1) + " s";
    },
  },
  watch: {
    running(value) {
      if (!value) clearInterval(this.timer);
    },
  },
  mounted() {
    if (this.running) this.timer = setInterval(() => (this.now = Date.now()), 100);
  },
  unmounted() {
    clearInterval(this.timer);
  },
};
