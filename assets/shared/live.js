// A live socket that comes back, for the app, the widget and the portal. Opened at the path
// `path()` gives, it hands each frame to `onFrame`; lost, it comes back after a growing pause
// (1 s up to 16 s) and `onOpen` runs again, to subscribe again. It stays closed when closed on
// purpose (1000), when `path()` gives nothing (no visitor any more), and when the session or
// the visitor is gone (4401, then `onSignedOut`). `state.socket` is the socket while it lives.

export function liveSocket(state, { path, onOpen, onFrame, onClosed = () => {}, onSignedOut = () => {} }) {
  function connect() {
    const at = path();
    if (!at || state.socket) return;
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}${at}`);
    state.socket = ws;
    ws.onopen = () => { state.retry = 0; onOpen(); };
    ws.onmessage = (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch { return; }
      onFrame(frame);
    };
    ws.onclose = (e) => {
      if (state.socket === ws) state.socket = null;
      onClosed();
      if (e.code === 4401) { onSignedOut(); return; }
      if (!path() || e.code === 1000) return;
      state.retry = Math.min((state.retry || 0) + 1, 5);
      setTimeout(connect, 500 * 2 ** state.retry);
    };
  }

  /** Sends a frame if the socket is open; false when it is not (the caller falls back to HTTP). */
  function send(frame) {
    if (state.socket?.readyState === WebSocket.OPEN) { state.socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  return { connect, send };
}

/** Where a widget visitor's or portal customer's socket opens: with their visitor token. */
export const visitorPath = (state) => state.token && `/api/v1/widget/socket?token=${encodeURIComponent(state.token)}`;
