// A run of streamed text that grows in the browser: the server sends only the new characters,
// never the text so far. The template has no reactive content, so Vue never re-renders (and never
// wipes) the text nodes appended here.
export default {
  template: `<div class="ac-text"></div>`,
  props: { text: String },
  mounted() {
    if (this.text) this.$el.append(this.text);
  },
  methods: {
    append(text) {
      this.$el.append(text);
    },
  },
};
