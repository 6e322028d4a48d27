// A run of streamed text that grows in the browser: the server sends only the new characters, never
// the text so far. A reply's run renders as Markdown while it streams (see markdown/md_render.js); a
// prompt is shown as typed. The template has no reactive content, so Vue never re-renders (and never
// wipes) the nodes appended here. The text as received stays readable as `element.acSource` (copy).
// Text shown as received goes into blocks whose complete lines are closed off as it grows (see
// text_lines.js): an append lays out the newest lines, not the whole text.
import { MarkdownStream } from "md_render";
import { CLOSE_AFTER, closeLines, gather } from "text_lines";

export default {
  template: `<div class="ac-text"></div>`,
  props: { text: String, markdown: Boolean, done: Boolean },
  mounted() {
    const el = this.$el;
    el.acSource = "";
    this.stream = this.markdown ? new MarkdownStream(el) : null;
    this.block = null; // the open block of text shown as received
    this.grown = 0;
    if (this.text) this.append(this.text);
    if (this.done) this.finish();
  },
  methods: {
    append(text) {
      this.$el.acSource += text;
      if (this.stream) this.stream.write(text);
      else this.appendPlain(text);
    },
    appendPlain(text) {
      if (this.block === null) {
        this.block = document.createElement("div");
        this.$el.append(this.block);
      } else if (this.grown >= CLOSE_AFTER) {
        this.grown = 0;
        this.block = closeLines(this.block) || this.block;
      }
      this.grown += text.length;
      this.block.append(text);
      gather(this.$el);
    },
    // A value set whole in place of what streamed (a component field): start again from it.
    replace(text) {
      this.$el.acSource = "";
      this.$el.replaceChildren();
      this.block = null;
      this.grown = 0;
      this.stream = this.markdown ? new MarkdownStream(this.$el) : null;
      this.append(text);
    },
    // The run is complete: a card follows it, or its message ended. What the parser still held back
    // is shown now, so the text above a card is final before the card is drawn.
    finish() {
      if (this.stream) this.stream.end();
    },
  },
};
