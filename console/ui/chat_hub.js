// One per chat view. Receives every text delta of a flush tick in one message and appends each to its
// text run; keeps the chat pinned to the bottom unless the user scrolled up, and then offers a
// "jump to latest" button.
export default {
  template: `
    <button v-show="!pinned" type="button" class="ac-jump" data-testid="jump-latest" @click="jump">
      ↓ Jump to latest
    </button>`,
  props: { scroller: String },
  data() {
    return { pinned: true };
  },
  mounted() {
    this.box = document.getElementById(this.scroller);
    if (!this.box) return;
    this.onScroll = () => {
      this.pinned = this.box.scrollHeight - this.box.scrollTop - this.box.clientHeight < 48;
    };
    this.box.addEventListener("scroll", this.onScroll, { passive: true });
    this.observer = new MutationObserver(() => this.follow());
    this.observer.observe(this.box, { childList: true, subtree: true, characterData: true });
    this.jump();
  },
  unmounted() {
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.box) this.box.removeEventListener("scroll", this.onScroll);
    if (this.observer) this.observer.disconnect();
  },
  methods: {
    apply(batch) {
      for (const [id, text] of batch) {
        const el = document.getElementById("c" + id);
        if (el) el.append(text);
      }
    },
    follow() {
      // Once per frame at most: reading scrollHeight forces a layout, so it must not run per mutation.
      if (this.frame || !this.pinned || !this.box) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        if (this.pinned) this.box.scrollTop = this.box.scrollHeight;
      });
    },
    jump() {
      this.pinned = true;
      this.follow();
    },
  },
};
