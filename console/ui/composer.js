// The message input. What the user types never round-trips through the server: Enter (or the send
// button) takes the text, empties the box and emits the text in one handler, so the next keystroke
// lands in an empty box and is neither lost nor sent twice. The box's value is no prop: a server
// update of this element (enabled, placeholder) can never put stale text back.
export default {
  template: `
    <div class="ac-composer">
      <textarea ref="box" class="ac-composer-input" rows="1" :data-testid="dataTestid"
        aria-label="Message to the agent" :placeholder="placeholder" :disabled="disabled"
        @keydown="onKey" @input="fit"></textarea>
      <button type="button" class="ac-composer-send" data-testid="send-button" aria-label="Send"
        title="Send (Enter)" :disabled="disabled" @click="send">
        <i class="q-icon notranslate material-icons" aria-hidden="true">send</i>
      </button>
    </div>`,
  // `data-testid` names the text box, where a user types, not the whole composer.
  props: { placeholder: String, disabled: Boolean, dataTestid: String },
  methods: {
    onKey(e) {
      // Enter sends; Shift+Enter keeps its newline; Enter that confirms an IME composition is no send.
      if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      this.send();
    },
    send() {
      const box = this.$refs.box;
      const text = box.value;
      if (this.disabled || !text.trim()) return;
      box.value = "";
      this.fit();
      this.$emit("send", { text });
      window.dispatchEvent(new CustomEvent("ac-chat-sent"));
      box.focus();
    },
    restore(text) {
      const box = this.$refs.box;
      box.value = box.value ? `${text}\n${box.value}` : text;
      this.fit();
    },
    fit() {
      // Grow with the text up to the cap in the stylesheet, then scroll inside.
      const box = this.$refs.box;
      box.style.height = "auto";
      box.style.height = `${box.scrollHeight + 2}px`;
    },
  },
};
