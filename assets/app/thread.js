// The thread of the conversation pane: messages as bubbles with their author's face, kept in
// sequence order (live, older pages and resumes all arrive through `render`), consecutive
// messages of one author grouped, a separator per day, images as thumbnails and files as cards.

import { h, $ } from "../shared/dom.js";
import { when, dayLabel, avatar } from "./dom.js";
import { icon } from "../shared/icons.js";
import { state } from "./state.js";

const GROUP_MS = 5 * 60 * 1000;

/** "Bot", the agent's name, or the customer's. */
export function authorName(author) {
  if (author.kind === "bot") return author.name || "Rapport bot";
  return author.name || (author.kind === "customer" ? "Customer" : "Agent");
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${Math.ceil(bytes / 1024)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** An image (not SVG: it may carry script) as a thumbnail that opens the full picture; any
 * other file as a card with its name and size that downloads it. */
function attachment(a) {
  const url = `/api/v1/attachments/${a.id}`;
  if (a.content_type.startsWith("image/") && a.content_type !== "image/svg+xml") {
    return h("a", { class: "thumb", href: url, target: "_blank", rel: "noopener", title: a.filename },
      h("img", { src: url, alt: a.filename, loading: "lazy", decoding: "async" }));
  }
  return h("a", { class: "file-card", href: url, download: a.filename },
    h("span", { class: "file-icon" }, icon("file")),
    h("span", { class: "file-text" }, h("span", { class: "file-name", text: a.filename }), h("span", { class: "file-size", text: size(a.size) })));
}

/** Adds one message where its sequence number says (once: a repeat is ignored). */
export function render(m, prepend = false) {
  const thread = $("#thread");
  if (!thread || thread.querySelector(`[data-seq="${m.seq}"]`)) return;
  thread.querySelector(".thread-empty")?.remove();
  const mine = m.author.kind === "user" && m.author.id === state.me.id;
  const who = authorName(m.author);
  const side = m.author.kind === "customer" ? "theirs" : "ours";
  const files = m.attachments || [];
  const bubble = m.body ? h("div", { class: "bubble", title: when(m.created_at), text: m.body }) : null;
  const el = h("div", {
    class: `msg ${side}${mine ? " mine" : ""}${m.author.kind === "bot" ? " bot" : ""}${state.selected?.kind === "internal" ? " internal" : ""}`,
    "data-seq": m.seq, "data-at": m.created_at, "data-author": `${m.author.kind}:${m.author.id ?? ""}`,
  },
  m.author.kind === "bot" ? h("span", { class: "avatar bot-face", "aria-hidden": "true" }, icon("chat")) : avatar(who, m.author.photo_url),
  h("div", { class: "body" },
    h("div", { class: "who" }, h("span", { class: "author", text: who }), h("time", { datetime: new Date(m.created_at).toISOString(), text: when(m.created_at) })),
    bubble,
    files.length ? h("div", { class: "files" }, files.map(attachment)) : null));
  const later = !prepend && [...thread.querySelectorAll(".msg[data-seq]")].find((n) => +n.dataset.seq > m.seq);
  if (prepend) thread.prepend(el); else thread.insertBefore(el, later || null);
  state.firstSeq = state.firstSeq ? Math.min(state.firstSeq, m.seq) : m.seq;
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  decorate(thread);
  if (!prepend) thread.scrollTop = thread.scrollHeight;
}

/** Day separators and groups, recomputed over the whole thread (a few hundred nodes at most). */
function decorate(thread) {
  for (const d of thread.querySelectorAll(":scope > .day")) d.remove();
  let prev = null;
  for (const el of thread.querySelectorAll(":scope > .msg")) {
    const at = +el.dataset.at;
    const day = new Date(at).toDateString();
    const newDay = !prev || new Date(+prev.dataset.at).toDateString() !== day;
    if (newDay) el.before(h("div", { class: "day", role: "separator", text: dayLabel(at) }));
    const joined = !newDay && prev.dataset.author === el.dataset.author && at - +prev.dataset.at < GROUP_MS;
    el.classList.toggle("cont", joined);
    prev?.classList.toggle("more", joined);
    prev = el;
  }
  prev?.classList.remove("more");
}

/** A customer's "seen" mark on the newest of our messages they have seen. */
export function markSeenByCustomer(seq) {
  for (const n of document.querySelectorAll("#thread .seen-mark")) n.remove();
  const last = [...document.querySelectorAll("#thread .msg.ours")].filter((n) => +n.dataset.seq <= seq).pop();
  last?.querySelector(".body").append(h("div", { class: "seen-mark", text: "Seen" }));
}
