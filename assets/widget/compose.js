// Writing: the text, pasted and attached files (sizes checked before any upload), and sending,
// which starts the visitor and their conversation on the first message.

const MAX_CHARS = 20000;

export function install(ctx) {
  const { state, $, h, api, icon } = ctx;

  function addFiles(files) {
    ctx.showError("");
    const max = state.config?.max_upload_bytes || 25 << 20;
    for (const file of files) {
      if (file.size > max) { ctx.showError(`${file.name} is larger than ${Math.floor(max / 1048576)} MB.`); continue; }
      if (state.files.length >= 10) { ctx.showError("At most 10 files per message."); break; }
      state.files.push(file);
    }
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
    const client_id = crypto.randomUUID();
    ctx.render({ author: { kind: "customer" }, body: text, client_id, attachments: [] }, client_id);
    $("text").value = "";
    $("text").style.height = "";
    state.files = [];
    drawPreviews();
    try {
      await ctx.ensureVisitor();
      const ids = [];
      for (const f of files) {
        const meta = await api(`/api/v1/widget/attachments?filename=${encodeURIComponent(f.name || "pasted.png")}`, {
          method: "POST", body: f, headers: { "Content-Type": f.type || "application/octet-stream" },
        });
        ids.push(meta.id);
      }
      const message = { body: text, client_id, attachment_ids: ids };
      if (!state.conversation) {
        const created = await api("/api/v1/widget/conversations", { method: "POST", json: { message, page_url: state.settings.page } });
        state.conversation = created.conversation.id;
        ctx.render(created.message, client_id);
        ctx.subscribe();
        $("back").hidden = false;
      } else {
        ctx.render(await api(`/api/v1/widget/conversations/${state.conversation}/messages`, { method: "POST", json: message }), client_id);
      }
      ctx.wrote();
    } catch (e) {
      $("log").querySelector(`.pending[data-client="${CSS.escape(client_id)}"]`)?.remove();
      $("text").value = text;
      state.files = files;
      drawPreviews();
      ctx.showError(e.message);
    }
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
  $("text").addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) { e.preventDefault(); addFiles(files); }
  });
  $("files").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
  const chat = $("chat");
  chat.addEventListener("dragover", (e) => { e.preventDefault(); $("composer").classList.add("drop"); });
  chat.addEventListener("dragleave", () => $("composer").classList.remove("drop"));
  chat.addEventListener("drop", (e) => { e.preventDefault(); $("composer").classList.remove("drop"); addFiles([...e.dataTransfer.files]); });
}
