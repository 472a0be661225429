// The visitor's conversations: one row each with the team's face, the newest message, an
// unread mark and a relative time, newest first; replies elsewhere for the badge and previews.

export function install(ctx) {
  const { state, $, h, api, toParent, ago, initials } = ctx;

  const previewText = (p) => (p.body.split("\n").find((l) => l.trim()) || (p.attachments ? "Sent a file" : "")).trim();

  function row(c) {
    const face = c.face || { kind: "user", name: state.config?.team_name };
    const who = c.subject || ctx.nameOf(face);
    const p = c.preview;
    const text = p ? (p.author_kind === "customer" ? "You: " : "") + previewText(p) : "No messages yet";
    const unread = c.replies_unread > 0;
    return h("li", {}, h("button", {
      type: "button", class: "conv" + (unread ? " unread" : ""), "data-id": c.id,
      "aria-label": unread ? `${who}, ${c.replies_unread} unread: ${text}` : null, onclick: () => ctx.openConversation(c),
    },
    ctx.avatar(face),
    h("span", { class: "body" },
      h("span", { class: "top" },
        h("strong", { text: who }),
        h("time", { datetime: new Date(c.last_activity_at).toISOString(), text: ago(c.last_activity_at) })),
      h("span", { class: "text", text })),
    unread ? h("span", { class: "unread-dot", title: `${c.replies_unread} unread` }) : null));
  }

  async function loadConversations() {
    state.conversations = state.token ? await api("/api/v1/widget/conversations") : [];
    countOthers();
    ctx.subscribe();
    return state.conversations;
  }

  function drawList() {
    $("conversations").replaceChildren(...state.conversations.map(row));
    $("list-empty").hidden = state.conversations.length > 0;
  }

  async function showList() {
    ctx.flushSeen();
    await loadConversations();
    drawList();
    $("list").hidden = false;
    $("chat").hidden = true;
    $("back").hidden = true;
    ctx.tellUnread();
  }

  /** Replies unseen in the visitor's other conversations, from the list itself. */
  function countOthers() {
    state.otherUnread = state.conversations
      .filter((c) => c.id !== state.conversation)
      .reduce((n, c) => n + Math.max(0, c.replies_unread ?? 0), 0);
    ctx.tellUnread();
  }

  /** A message in a conversation not displayed: the list and badge recount, and a reply
   * there is previewed. */
  async function elsewhere(id, message) {
    if (message && id !== state.conversation && message.author.kind !== "customer") ctx.replied(message, id);
    await loadConversations();
    if (!$("list").hidden) drawList();
  }

  /** A reply arrived while the panel is closed: the launcher shows a preview (seen it is not). */
  function replied(m, conversation) {
    ctx.contactLater?.(m);
    if (state.open) return;
    const text = (m.body.split("\n").find((l) => l.trim()) || (m.attachments?.length ? "Sent a file" : "")).trim();
    const name = ctx.nameOf(m.author);
    toParent({
      type: "rapport:preview", conversation, name, text: text.slice(0, 140),
      initials: m.author.kind === "bot" ? "" : initials(name), photo: ctx.photoOf(m.author), bot: m.author.kind === "bot",
    });
  }

  function showChat() {
    $("list").hidden = true;
    $("chat").hidden = false;
    $("back").hidden = !state.token;
    ctx.shown();
  }

  Object.assign(ctx, { showList, showChat, loadConversations, countOthers, elsewhere, replied });
}
