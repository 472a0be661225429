// The composer of the conversation pane: a draft (text, files, the message's client_id) per
// conversation, kept in memory while the agent moves between conversations, so that what was
// written or attached in one is only ever sent there. Files are checked against the server's
// limit before any upload, upload with progress, and every attachment can be removed. Enter
// sends (Shift+Enter is a new line) unless the agent turned it off or types on a touch screen.

import { api, upload } from "./api.js";
import { h, $ } from "../shared/dom.js";
import { sentence } from "./dom.js";
import { icon } from "../shared/icons.js";
import { pasteFiles } from "../shared/composer.js";
import { emojiPicker } from "./emoji.js";
import { customerName } from "./items.js";

const drafts = new Map(); // draft key -> {text, files: [{file, id, progress, url}], clientId, sending, error}
let maxBytes = null; // the server's limit for one file, from the widget's public config

/** The limit for one file, asked once. */
async function limit() {
  maxBytes ??= api("/api/v1/widget/config").then((c) => c.max_upload_bytes).catch(() => { maxBytes = null; return 25 << 20; });
  return maxBytes;
}

const nameOf = (file) => file.name || "pasted.png";
/** Shown as a picture: images a browser draws (SVG stays a file: it is a document). */
const isPicture = (file) => file.type.startsWith("image/") && file.type !== "image/svg+xml";
/** The file's object URL is the page's memory: freed once the file leaves the draft. */
const release = (f) => { if (f.url) URL.revokeObjectURL(f.url); f.url = null; };

/** 26214400 -> "25 MB"; 1258291 -> "1.2 MB". */
export function megabytes(bytes) {
  const mb = bytes / 1048576;
  if (mb < 1) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/** Enter sends unless the agent's setting says no (Settings writes "0"), and never on a touch
 * screen, where Enter is the keyboard's only way to a new line. */
export const enterSends = () => localStorage.getItem("rapport.enterToSend") !== "0" && !matchMedia("(pointer: coarse)").matches;

/** Grows the textarea with its text, up to 40% of the pane (then it scrolls). */
function grow(text) {
  const pane = text.closest("#pane");
  const max = Math.max(96, (pane?.clientHeight || innerHeight) * 0.4);
  text.style.height = "auto";
  text.style.height = `${Math.min(text.scrollHeight + 2, max)}px`;
  text.style.overflowY = text.scrollHeight + 2 > max ? "auto" : "hidden";
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
  function forget(key) {
    for (const f of drafts.get(key)?.files || []) release(f);
    drafts.delete(key);
  }
  /** The draft's pieces of the page, when its conversation is the one shown. */
  const shown = (key) => keyOf() === key && $("#composer")?.dataset.draft === key;

  /** One pending attachment: a thumbnail for a picture, a card with name and size for a file. */
  function attachment(key, f) {
    const d = draftOf(key);
    const name = nameOf(f.file);
    const uploading = f.progress != null && !f.id;
    f.bar = uploading ? h("progress", { max: 1, value: f.progress, "aria-label": `Uploading ${name}` }) : null;
    const remove = h("button", { type: "button", class: "remove", "aria-label": `Remove ${name}`, title: "Remove", disabled: d.sending,
      onclick: () => { release(f); d.files = d.files.filter((x) => x !== f); redraw(key); } }, icon("close"));
    if (f.url) {
      return h("div", { class: `chip thumb${uploading ? " uploading" : ""}`, title: name },
        h("img", { src: f.url, alt: name }), f.bar, remove);
    }
    return h("div", { class: `chip file${uploading ? " uploading" : ""}` },
      h("span", { class: "file-icon" }, icon("file")),
      h("span", { class: "file-meta" }, h("span", { class: "name", text: name }), h("span", { class: "size", text: megabytes(f.file.size) })),
      f.bar, remove);
  }
  const attachments = (key) => draftOf(key).files.map((f) => attachment(key, f));

  /** Updates the shown composer from its draft (files, button, error); the text is the agent's. */
  function redraw(key) {
    if (!shown(key)) return;
    const d = draftOf(key);
    $("#files-preview").replaceChildren(...attachments(key));
    $("#composer [type=submit]").disabled = d.sending;
    $("#composer .error").textContent = d.error;
  }
  /** An upload's progress: the bar moves in place, or the attachments are drawn again. */
  function progressed(key, f) {
    if (!shown(key)) return;
    if (f.bar?.isConnected) f.bar.value = f.progress; else $("#files-preview").replaceChildren(...attachments(key));
  }

  async function addFiles(key, list) {
    const d = draftOf(key);
    const max = await limit();
    const refused = [];
    for (const file of list) {
      if (file.size > max) refused.push(nameOf(file));
      else d.files.push({ file, id: null, progress: null, url: isPicture(file) ? URL.createObjectURL(file) : null });
    }
    d.error = refused.length ? `${refused.join(", ")} ${refused.length > 1 ? "are" : "is"} too large: files may be at most ${megabytes(max)}.` : "";
    redraw(key);
  }

  /** Who will read what is written here, said in the placeholder. */
  function audience(text) {
    if (state.mode === "internal") {
      text.placeholder = "Internal note — customers never see this";
      text.setAttribute("aria-label", "Internal note");
      return;
    }
    text.placeholder = "Reply to the customer";
    text.setAttribute("aria-label", "Reply to the customer");
    const id = state.selected?.customer_id ?? (state.item && !state.selected ? state.item.requester_id : null);
    if (!id) return;
    const key = text.closest("#composer")?.dataset.draft;
    Promise.resolve(state.customers?.get(id) ?? api(`/api/v1/customers/${id}`).catch(() => null)).then((c) => {
      if (!c || !text.isConnected || text.closest("#composer")?.dataset.draft !== key) return;
      const name = customerName(c);
      text.placeholder = c.email || c.contact_email
        ? `Reply to ${name} — they get it by email if they do not see it within a minute`
        : `Reply to ${name} — they see it when they next open the chat`;
      text.setAttribute("aria-label", `Reply to ${name}`);
    });
  }

  function composer() {
    const key = keyOf();
    const d = draftOf(key);
    const internal = state.mode === "internal";
    // Internal notes live in an item's second thread: the switch is only where one can be written.
    const canSwitch = !!state.item;
    const text = h("textarea", { id: "reply", rows: 1 });
    text.value = d.text;
    const files = h("input", { type: "file", multiple: true, hidden: true, onchange: (e) => { addFiles(key, [...e.target.files]); e.target.value = ""; } });
    const emoji = emojiPicker((char) => {
      text.focus();
      text.setRangeText(char, text.selectionStart, text.selectionEnd, "end");
      text.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const sends = enterSends();
    const form = h("form", { id: "composer", class: state.mode, "data-draft": key },
      h("div", { class: "composer-box" },
        canSwitch ? h("div", { class: "switch", role: "group", "aria-label": "Reply or internal note" },
          h("button", { type: "button", class: "public", "aria-pressed": String(!internal), onclick: () => ctx.setMode("public"), text: "Reply to customer" }),
          h("button", { type: "button", class: "internal", "aria-pressed": String(internal), onclick: () => ctx.setMode("internal") }, icon("lock"), "Internal note")) : null,
        h("div", { id: "files-preview" }, ...attachments(key)),
        text,
        h("div", { class: "composer-bar" },
          h("button", { type: "button", class: "icon", "aria-label": "Attach files", title: "Attach files", onclick: () => files.click() }, icon("attach")), files,
          emoji,
          !canSwitch && state.selected?.kind === "public"
            ? h("button", { type: "button", class: "link make-ticket", title: "A ticket has a second thread for internal notes", onclick: ctx.makeTicket, text: "Make a ticket" }) : null,
          h("span", { class: "hint keys", text: sends ? "Enter to send · Shift+Enter for a new line" : matchMedia("(pointer: coarse)").matches ? "" : `${/Mac|iP(hone|ad)/.test(navigator.platform) ? "⌘" : "Ctrl"}+Enter to send` }),
          h("button", { class: "primary send", type: "submit", disabled: d.sending }, icon("send"), internal ? "Add note" : "Send"))),
      h("p", { class: "error", role: "alert", text: d.error }));
    audience(text);
    text.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing || e.keyCode === 229) return; // 229: an IME is composing
      if (e.metaKey || e.ctrlKey || (!e.shiftKey && !e.altKey && enterSends())) { e.preventDefault(); send(); }
    });
    let lastTyping = 0;
    text.addEventListener("input", () => {
      draftOf(key).text = text.value; // a new draft once the last one was sent
      grow(text);
      if (state.selected && Date.now() - lastTyping > 1500) { lastTyping = Date.now(); ctx.typing(state.selected.id); }
    });
    text.addEventListener("paste", (e) => pasteFiles(e, (f) => addFiles(key, f)));
    form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
    // Files dragged from the desktop onto the composer are attached like picked ones.
    const carriesFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
    form.addEventListener("dragover", (e) => { if (carriesFiles(e)) { e.preventDefault(); form.classList.add("dropping"); } });
    form.addEventListener("dragleave", (e) => { if (!form.contains(e.relatedTarget)) form.classList.remove("dropping"); });
    form.addEventListener("drop", (e) => {
      form.classList.remove("dropping");
      const dropped = [...(e.dataTransfer?.files || [])];
      if (dropped.length) { e.preventDefault(); addFiles(key, dropped); }
    });
    requestAnimationFrame(() => { if (text.isConnected) grow(text); });
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
        progressed(key, f);
        const path = `/api/v1/attachments?filename=${encodeURIComponent(nameOf(f.file))}`;
        f.id = (await upload(path, f.file, (p) => { f.progress = p; progressed(key, f); })).id;
      }
      const message = { body, client_id: d.clientId, attachment_ids: d.files.map((f) => f.id) };
      if (conversation) {
        const posted = await api(`/api/v1/conversations/${conversation.id}/messages`, { method: "POST", json: message });
        const stay = shown(key);
        forget(key);
        if (stay) { ctx.render(posted); $("#reply").value = ""; grow($("#reply")); redraw(key); }
      } else {
        // The item's first message of this kind starts its thread; the first customer reply moves
        // the item from Unanswered items to Open conversations.
        const created = await api("/api/v1/conversations", { method: "POST", json: {
          kind, item_id: item.id, customer_id: kind === "public" ? item.requester_id ?? undefined : undefined, message } });
        forget(key);
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
