// The open conversation: its messages, the live socket, typing, and the seen mark. Seen means
// displayed to the customer (panel open, page visible, this conversation shown): agents' "Seen"
// and who gets an email depend on it, so it is sent for what was displayed and nothing else.

export function install(ctx) {
  const { state, $, h, api, toParent, clock, place, stateOf, status } = ctx;

  // A message as the panel shows it: the author's face beside a bubble, and who and when below.
  function draw(m) {
    const mine = m.author.kind === "customer";
    return h("div", {
      class: "msg" + (mine ? " mine" : "") + stateOf(m) + (m.author.kind === "bot" ? " bot" : ""),
      "data-seq": m.seq || null, "data-client": m.client_id || null,
    },
    mine ? null : ctx.avatar(m.author, "sm"),
    h("div", {},
      h("div", { class: "bubble", text: m.body }, (m.attachments || []).map((a) => ctx.customerFile(a, state.token))),
      h("div", { class: "meta" }, status(m, clock, mine ? "" : `${ctx.nameOf(m.author)} · `))));
  }

  /** Shows a message (`pendingKey`: the client_id of the bubble it replaces). */
  function render(m, pendingKey) {
    const log = $("log");
    if (!place(log, m, draw, pendingKey || m.client_id)) return;
    if (m.seq) {
      state.lastSeq = Math.max(state.lastSeq, m.seq);
      // Posting moves the author's own mark on the server.
      if (m.author.kind === "customer") state.seenMark = Math.max(state.seenMark, m.seq);
    }
    log.scrollTop = log.scrollHeight;
    shown();
  }

  function clearLog(seenMark = 0) {
    for (const n of $("log").querySelectorAll(".msg")) n.remove();
    clearTimeout(seenTimer);
    state.lastSeq = 0;
    state.seenMark = seenMark;
    state.shownSeq = seenMark;
  }

  // ---- seen ----------------------------------------------------------------------------

  const displayed = () => state.open && !document.hidden && !!state.conversation && !$("chat").hidden;

  // Messages displayed within a short while share one mark, for the newest of them; leaving
  // (closing, the list, another tab) sends it at once.
  const QUIET_MS = 600;
  let seenTimer;
  function shown() {
    if (displayed() && state.lastSeq > state.shownSeq) {
      state.shownSeq = state.lastSeq;
      clearTimeout(seenTimer);
      seenTimer = setTimeout(flushSeen, QUIET_MS);
    }
    tellUnread();
  }

  function flushSeen() {
    clearTimeout(seenTimer);
    if (!state.conversation || state.shownSeq <= state.seenMark) return;
    state.seenMark = state.shownSeq;
    const frame = { type: "seen", conversation_id: state.conversation, seq: state.seenMark };
    if (!wsSend(frame)) api(`/api/v1/widget/conversations/${state.conversation}/seen`, { method: "POST", json: { seq: frame.seq } }).catch(() => {});
  }

  /** Tells the launcher how many replies are left unseen, here and in other conversations. */
  function tellUnread() {
    const mark = Math.max(state.seenMark, state.shownSeq);
    const here = [...$("log").querySelectorAll(".msg:not(.mine)[data-seq]")].filter((n) => +n.dataset.seq > mark).length;
    toParent({ type: "rapport:unread", count: here + state.otherUnread });
  }

  function seenBy(seq) {
    const mine = [...$("log").querySelectorAll(".msg.mine[data-seq]")].filter((n) => +n.dataset.seq <= seq).pop();
    const meta = mine?.querySelector(".meta");
    if (meta && !meta.textContent.endsWith("Seen")) meta.textContent += " · Seen";
  }

  // ---- live socket ---------------------------------------------------------------------

  const { connect, send: wsSend } = ctx.liveSocket(state, {
    path: () => ctx.visitorPath(state),
    onOpen: () => subscribe(),
    onFrame(f) {
      const here = (f.conversation_id ?? f.conversation?.id) === state.conversation;
      if (f.type === "message" && here) {
        render(f.message, f.message.client_id);
        typingDone();
        if (f.message.author.kind !== "customer") ctx.replied(f.message, state.conversation);
        if ($("chat").hidden) ctx.elsewhere(state.conversation);
      }
      else if (f.type === "typing" && here) typingShow(ctx.nameOf(f.author));
      else if (f.type === "seen" && f.reader.kind === "user" && here) seenBy(f.seq);
      else if (f.type === "unsubscribed" && f.reason && here) { state.conversation = null; ctx.showList(); }
      else if (f.type === "message") ctx.elsewhere(f.conversation_id, f.message);
    },
    onClosed: () => state.live.clear(),
    // This visitor was erased; the next message starts afresh as a new visitor.
    onSignedOut: () => ctx.forget(),
  });

  // The open conversation from where the log ends; the others live too (from their newest
  // message), for the list, the badge and previews.
  const LIVE = 10;
  function subscribe() {
    if (state.socket?.readyState !== WebSocket.OPEN) return;
    if (state.conversation && !state.live.has(state.conversation)) {
      state.live.add(state.conversation);
      wsSend({ type: "subscribe", conversation_id: state.conversation, after_seq: state.lastSeq });
    }
    for (const c of state.conversations.slice(0, LIVE)) {
      if (state.live.has(c.id)) continue;
      state.live.add(c.id);
      wsSend({ type: "subscribe", conversation_id: c.id, after_seq: c.last_seq });
    }
  }

  let typingTimer;
  function typingShow(name) {
    $("typing").textContent = `${name} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(typingDone, 3000);
  }
  function typingDone() { $("typing").textContent = ""; }

  async function openConversation(c) {
    flushSeen();
    state.conversation = c.id;
    clearLog(c.last_seq - c.unread);
    ctx.showChat();
    const messages = await api(`/api/v1/widget/conversations/${c.id}/messages?limit=200&before=${Number.MAX_SAFE_INTEGER}`);
    if (state.conversation !== c.id) return;
    for (const m of messages) render(m);
    subscribe();
    shown();
  }

  Object.assign(ctx, { render, clearLog, shown, flushSeen, tellUnread, connect, wsSend, subscribe, openConversation, displayed });
}
