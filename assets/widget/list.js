// The visitor's conversations: one row each with the team's face, the newest message, an
// unread mark and a relative time, newest first; replies elsewhere for the badge and previews.

export function install(ctx) {
  const { state, $, api, toParent, ago, initials } = ctx;

  const previewText = (p) => (p.body.split("\n").find((l) => l.trim()) || (p.attachments ? "Sent a file" : "")).trim();

  function row(c) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "conv" + (c.replies_unread > 0 ? " unread" : "");
    b.dataset.id = c.id;
    const face = c.face || { kind: "user", name: state.config?.team_name };
    const who = document.createElement("strong");
    who.textContent = c.subject || ctx.nameOf(face);
    const when = document.createElement("time");
    when.dateTime = new Date(c.last_activity_at).toISOString();
    when.textContent = ago(c.last_activity_at);
    const text = document.createElement("span");
    text.className = "text";
    const p = c.preview;
    text.textContent = p ? (p.author_kind === "customer" ? "You: " : "") + previewText(p) : "No messages yet";
    const top = document.createElement("span");
    top.className = "top";
    top.append(who, when);
    const body = document.createElement("span");
    body.className = "body";
    body.append(top, text);
    b.append(ctx.avatar(face), body);
    if (c.replies_unread > 0) {
      const dot = document.createElement("span");
      dot.className = "unread-dot";
      dot.title = `${c.replies_unread} unread`;
      b.append(dot);
      b.setAttribute("aria-label", `${who.textContent}, ${c.replies_unread} unread: ${text.textContent}`);
    }
    b.addEventListener("click", () => ctx.openConversation(c));
    li.append(b);
    return li;
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
