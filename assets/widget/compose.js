// Writing: the text, pasted and attached files (sizes checked before any upload), and sending
// (shared/composer.js: shown at once, retried as the same message), which starts the visitor and
// their conversation on the first message.

const MAX_CHARS = 20000;

export function install(ctx) {
  const { state, $, h, api, icon } = ctx;

  function addFiles(files) {
    ctx.showError("");
    ctx.addFiles(state.files, files, state.config?.max_upload_bytes || 25 << 20, ctx.showError);
    drawPreviews();
  }

  function drawPreviews() {
    $("previews").replaceChildren(...state.files.map((file, i) => h("div", { class: "preview" },
      file.type.startsWith("image/") ? h("img", { src: URL.createObjectURL(file), alt: file.name }) : [icon("file"), file.name],
      h("button", { type: "button", "aria-label": `Remove ${file.name}`, onclick: () => { state.files.splice(i, 1); drawPreviews(); } }, icon("close")))));
  }

  async function send() {
    const text = $("text").value.trim();
    const files = state.files.slice();
    if (!text && !files.length) return;
    // Said, never cut: the text stays in the composer to be shortened or split.
    if (text.length > MAX_CHARS) {
      ctx.showError(`Your message is too long: at most ${MAX_CHARS.toLocaleString("en")} characters, and this has ${text.length.toLocaleString("en")}. Please split it.`);
      return;
    }
    ctx.showError("");
    $("text").value = "";
    $("text").style.height = "";
    state.files = [];
    drawPreviews();
    await ctx.sendMessage({
      api,
      log: () => $("log"),
      render: ctx.render,
      ready: ctx.ensureVisitor,
      async post(message) {
        if (!state.conversation) {
          const created = await api("/api/v1/widget/conversations", { method: "POST", json: { message, page_url: state.settings.page } });
          state.conversation = created.conversation.id;
          ctx.render(created.message, message.client_id);
          ctx.subscribe();
          $("back").hidden = false;
        } else {
          ctx.render(await api(`/api/v1/widget/conversations/${state.conversation}/messages`, { method: "POST", json: message }), message.client_id);
        }
        ctx.wrote();
      },
      say: (e) => ctx.showError(e?.message),
      giveBack() {
        $("text").value = text;
        state.files = files;
        drawPreviews();
      },
    }, text, files);
  }

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
    if (e.key === "Escape") ctx.toParent({ type: "rapport:close" });
  });
  let lastTyping = 0;
  $("text").addEventListener("input", () => {
    const t = $("text");
    t.style.height = "auto";
    t.style.height = `${t.scrollHeight}px`;
    if (state.conversation && Date.now() - lastTyping > 1500) {
      lastTyping = Date.now();
      ctx.wsSend({ type: "typing", conversation_id: state.conversation });
    }
  });
  $("text").addEventListener("paste", (e) => ctx.pasteFiles(e, addFiles));
  $("files").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
  const chat = $("chat");
  chat.addEventListener("dragover", (e) => { e.preventDefault(); $("composer").classList.add("drop"); });
  chat.addEventListener("dragleave", () => $("composer").classList.remove("drop"));
  chat.addEventListener("drop", (e) => { e.preventDefault(); $("composer").classList.remove("drop"); addFiles([...e.dataTransfer.files]); });
}
