// One per chat view. Receives every text delta of a flush tick in one message and appends each to its
// text run; keeps the chat at its newest content while the user is at the bottom, and otherwise
// offers a "jump to latest" button.
//
// Following is decided by what the user does, not by scroll events alone: a chat that opens fills in
// above the newest message, and messages out of view change height when they are first laid out, so
// the browser fires scroll events the user never made. Only a wheel, touch, key or pointer on the chat
// can leave the bottom; reaching the bottom again (or sending) follows again.
const USER_SCROLL_MS = 800;
const AT_BOTTOM_PX = 48;
const HOLD_MS = 3000; // how long the view holds its place while earlier messages are laid out

// One tick's text deltas, [[element id, text], ...], each appended to its text run.
function appendTexts(batch) {
  for (const [id, text] of batch) getElement(id)?.append(text);
}
// The message of a flush tick calls this directly (`acText([...])`): a method call on the hub would
// cost each tick some 25 bytes more on the wire, a third of what the characters of a tick cost.
window.acText = appendTexts;

export default {
  template: `
    <button v-show="!pinned" type="button" class="ac-jump" data-testid="jump-latest" @click="jump">
      ↓ Jump to latest
    </button>`,
  props: { scroller: Number }, // the element id of the chat's scrolling box
  data() {
    return { pinned: true };
  },
  mounted() {
    this.box = getHtmlElement(this.scroller);
    if (!this.box) return;
    this.touched = -Infinity;
    this.onUser = (e) => {
      this.touched = performance.now();
      this.anchor = null; // the user moves the view: it no longer holds its place
      if (e.type === "wheel" && e.deltaY < 0) this.pinned = false; // before the frame that would follow
    };
    this.onKey = (e) => {
      if (["PageUp", "ArrowUp", "Home", "PageDown", "ArrowDown", "End", " "].includes(e.key)) this.onUser(e);
    };
    this.lastTop = 0;
    this.onScroll = () => {
      const top = this.box.scrollTop;
      const gap = this.box.scrollHeight - top - this.box.clientHeight;
      const up = top < this.lastTop;
      this.lastTop = top;
      if (gap < AT_BOTTOM_PX) this.pinned = true;
      else if (up && performance.now() - this.touched < USER_SCROLL_MS) this.pinned = false;
    };
    for (const type of ["wheel", "touchstart", "touchmove", "pointerdown"])
      this.box.addEventListener(type, this.onUser, { passive: true });
    this.box.addEventListener("keydown", this.onKey);
    this.box.addEventListener("scroll", this.onScroll, { passive: true });
    // Any change of the chat's height (text appended, a card, a message laid out for the first time).
    this.resizes = new ResizeObserver(() => {
      this.keep();
      this.follow();
    });
    for (const child of this.box.children) this.resizes.observe(child);
    this.onSent = () => this.jump();
    window.addEventListener("ac-chat-sent", this.onSent);
    this.jump();
  },
  unmounted() {
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.resizes) this.resizes.disconnect();
    window.removeEventListener("ac-chat-sent", this.onSent);
    if (!this.box) return;
    for (const type of ["wheel", "touchstart", "touchmove", "pointerdown"])
      this.box.removeEventListener(type, this.onUser);
    this.box.removeEventListener("keydown", this.onKey);
    this.box.removeEventListener("scroll", this.onScroll);
  },
  methods: {
    // Each text run is told through its own methods (stream_text.js), found by its element id.
    apply(batch) {
      appendTexts(batch);
    },
    finish(ids) {
      for (const id of ids) getElement(id)?.finish();
    },
    follow() {
      // Once per frame at most: reading scrollHeight forces a layout, so it must not run per change.
      if (this.frame || !this.pinned || !this.box) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        if (this.pinned) this.box.scrollTop = this.box.scrollHeight;
      });
    },
    // Earlier messages are about to go in above: the message at the top of the view stays where it is
    // on screen while they are laid out (the browser's own scroll anchoring is off for this box).
    hold() {
      if (!this.box) return;
      const top = this.box.getBoundingClientRect().top;
      const shown = [...this.box.querySelectorAll("[data-testid=message]")];
      this.anchor = shown.find((el) => el.getBoundingClientRect().bottom > top) || null;
      if (!this.anchor) return;
      this.anchorAt = this.anchor.getBoundingClientRect().top - top;
      this.holdUntil = performance.now() + HOLD_MS;
      this.pinned = false;
    },
    keep() {
      if (!this.anchor || performance.now() > this.holdUntil || !this.anchor.isConnected) {
        this.anchor = null;
        return;
      }
      const at = this.anchor.getBoundingClientRect().top - this.box.getBoundingClientRect().top;
      if (at !== this.anchorAt) this.box.scrollTop += at - this.anchorAt;
    },
    jump() {
      this.anchor = null;
      this.touched = -Infinity; // the user asked for the bottom: earlier wheel turns no longer count
      this.pinned = true;
      this.follow();
    },
  },
};
