// The composer of the conversation pane: a draft (text, files, the message's client_id) per
// conversation, kept in memory while the agent moves between conversations, so that what was
// written or attached in one is only ever sent there. Files are checked against the server's
// limit before any upload, upload with progress, and every chip can be removed.

import { api, upload } from "./api.js";
import { h, $, sentence } from "./dom.js";

const drafts = new Map(); // draft key -> {text, files: [{file, id, progress}], clientId, sending, error}
let maxBytes = null; // the server's limit for one file, from the widget's public config

/** The limit for one file, asked once. */
async function limit() {
  maxBytes ??= api("/api/v1/widget/config").then((c) => c.max_upload_bytes).catch(() => { maxBytes = null; return 25 << 20; });
  return maxBytes;
}

const nameOf = (file) => file.name || "pasted.png";

/** 26214400 -> "25 MB". */
export function megabytes(bytes) {
  const mb = bytes / 1048576;
  if (mb < 1) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/**
 * `ctx`: {state, render(message), started(kind, conversation, item), refreshCounts(),
 * setMode(kind), makeTicket(), typing(conversationId)}.
 */
export function setupComposer(ctx) {
  const { state } = ctx;

  /** Where the open pane's draft belongs: its conversation, or a thread of the item not started yet. */
  const keyOf = () => state.selected ? `c${state.selected.id}` : state.item ? `i${state.item.id}:${state.mode}` : null;
  function draftOf(key) {
    if (!drafts.has(key)) drafts.set(key, { text: "", files: [], clientId: null, sending: false, error: "" });
    return drafts.get(key);
  }
  /** The draft's pieces of the page, when its conversation is the one shown. */
  const shown = (key) => keyOf() === key && $("#composer")?.dataset.draft === key;

  function chips(key) {
    const d = draftOf(key);
    return d.files.map((f) => h("span", { class: "chip" },
      h("span", { text: nameOf(f.file) }),
      f.progress != null && !f.id ? h("progress", { max: 1, value: f.progress, "aria-label": `Uploading ${nameOf(f.file)}` }) : null,
      h("button", { type: "button", class: "remove", "aria-label": `Remove ${nameOf(f.file)}`, disabled: d.sending, text: "×",
        onclick: () => { d.files = d.files.filter((x) => x !== f); redraw(key); } })));
  }

  /** Updates the shown composer from its draft (files, button, error); the text is the agent's. */
  function redraw(key) {
    if (!shown(key)) return;
    const d = draftOf(key);
    $("#files-preview").replaceChildren(...chips(key));
    $("#composer [type=submit]").disabled = d.sending;
    $("#composer .error").textContent = d.error;
  }

  async function addFiles(key, list) {
    const d = draftOf(key);
    const max = await limit();
    const refused = [];
    for (const file of list) {
      if (file.size > max) refused.push(nameOf(file));
      else d.files.push({ file, id: null, progress: null });
    }
    d.error = refused.length ? `${refused.join(", ")} ${refused.length > 1 ? "are" : "is"} too large: files may be at most ${megabytes(max)}.` : "";
    redraw(key);
  }

  function composer() {
    const key = keyOf();
    const d = draftOf(key);
    const internalAllowed = !!state.item;
    const text = h("textarea", { id: "reply", "aria-label": state.mode === "internal" ? "Internal note" : "Reply to the customer",
      placeholder: state.mode === "internal" ? "Internal note: only your team sees this" : "Reply to the customer" });
    text.value = d.text;
    const files = h("input", { type: "file", multiple: true, hidden: true, onchange: (e) => { addFiles(key, [...e.target.files]); e.target.value = ""; } });
    const form = h("form", { id: "composer", class: state.mode, "data-draft": key },
      h("div", { class: "row" },
        h("div", { class: "switch", role: "group", "aria-label": "Reply or internal note" },
          h("button", { type: "button", "aria-pressed": String(state.mode === "public"), onclick: () => ctx.setMode("public"), text: "Reply to customer" }),
          h("button", { type: "button", class: "internal", "aria-pressed": String(state.mode === "internal"), onclick: () => ctx.setMode("internal"), text: "Internal note" })),
        h("button", { type: "button", class: "tool", onclick: () => files.click(), text: "Attach" }), files),
      h("div", { id: "files-preview" }, ...chips(key)), text,
      h("div", { class: "row" }, h("button", { class: "primary", type: "submit", disabled: d.sending, text: state.mode === "internal" ? "Add note" : "Send" }),
        h("span", { class: "meta", text: internalAllowed ? "" : "Internal notes live on tickets: make this conversation a ticket to add them." }),
        !internalAllowed && state.selected ? h("button", { type: "button", class: "link", onclick: ctx.makeTicket, text: "Make a ticket" }) : null),
      h("p", { class: "error", role: "alert", text: d.error }));
    text.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) { e.preventDefault(); send(); } });
    let lastTyping = 0;
    text.addEventListener("input", () => {
      draftOf(key).text = text.value; // a new draft once the last one was sent
      if (state.selected && Date.now() - lastTyping > 1500) { lastTyping = Date.now(); ctx.typing(state.selected.id); }
    });
    text.addEventListener("paste", (e) => { const f = [...(e.clipboardData?.files || [])]; if (f.length) { e.preventDefault(); addFiles(key, f); } });
    form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
    return form;
  }

  /** Sends the shown draft to where it was written, even if the agent moves on meanwhile. One
   * composed message has one client_id until the server acknowledges it: a resend is a replay. */
  async function send() {
    const key = keyOf();
    if (!key) return;
    const d = draftOf(key);
    const body = d.text.trim();
    if (d.sending || (!body && !d.files.length)) return;
    const [conversation, item, kind] = [state.selected, state.item, state.mode];
    d.sending = true;
    d.error = "";
    d.clientId ??= crypto.randomUUID();
    redraw(key);
    try {
      for (const f of d.files) {
        if (f.id) continue;
        f.progress = 0;
        if (shown(key)) $("#files-preview").replaceChildren(...chips(key));
        const path = `/api/v1/attachments?filename=${encodeURIComponent(nameOf(f.file))}`;
        f.id = (await upload(path, f.file, (p) => { f.progress = p; if (shown(key)) $("#files-preview").replaceChildren(...chips(key)); })).id;
      }
      const message = { body, client_id: d.clientId, attachment_ids: d.files.map((f) => f.id) };
      if (conversation) {
        const posted = await api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", json: message });
        const stay = shown(key);
        drafts.delete(key);
        if (stay) { ctx.render(posted); $("#reply").value = ""; redraw(key); }
      } else {
        // The item's first message of this kind starts its thread; the first customer reply moves
        // the item from Unanswered items to Open conversations.
        const created = await api("/api/v1/conversations", { method: "POST", json: {
          kind, item_id: item.id, customer_id: kind === "public" ? item.requester_id ?? undefined : undefined, message } });
        drafts.delete(key);
        ctx.started(kind, created.conversation, item);
      }
      ctx.refreshCounts();
    } catch (e) {
      d.error = sentence(e.message);
    } finally {
      d.sending = false;
      redraw(key);
    }
  }

  return { composer, send };
}
