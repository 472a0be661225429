// A customer's conversation (widget, portal): each message once, in sequence order. Their own
// message shows at once as a pending bubble (`.pending[data-client]`), replaced by the server's
// message, whichever of its answer and the socket comes first; if sending fails it is marked
// `.failed`, with a Retry. Each page draws a message its own way.

import { h } from "./dom.js";

export const pendingIn = (log, key) => (key ? log.querySelector(`.pending[data-client="${CSS.escape(key)}"]`) : null);

/** Puts `draw(m)` in `log` in place of its pending bubble (client_id `key`), or in sequence
 * order; null (and the bubble gone) when it is there already. */
export function place(log, m, draw, key = m.client_id) {
  const pending = pendingIn(log, key);
  if (m.seq && log.querySelector(`.msg[data-seq="${m.seq}"]`)) { pending?.remove(); return null; }
  const el = draw(m);
  if (pending) pending.replaceWith(el);
  else {
    const later = m.seq && [...log.querySelectorAll(".msg[data-seq]")].find((n) => +n.dataset.seq > m.seq);
    log.insertBefore(el, later || null);
  }
  return el;
}

export const stateOf = (m) => (m.seq || m.request ? "" : m.failed ? " pending failed" : " pending");

/** `prefix` and when it was written (`stamp`), "sending…", or "Not sent" with a Retry. */
export function status(m, stamp, prefix = "") {
  if (m.created_at) return [prefix + stamp(m.created_at)];
  if (!m.failed) return [prefix + "sending…"];
  return [prefix + "Not sent · ", h("button", { type: "button", class: "link retry", text: "Retry", onclick: m.retry })];
}
