// The customer's live socket, for the widget and the portal. Opened with the visitor's token,
// it hands each frame to `onFrame`; lost, it comes back after a growing pause (1 s up to 16 s)
// and `onOpen` subscribes again. It stays closed when closed on purpose (1000), when there is
// no visitor any more (no token), and when the visitor was erased (4401, then `onErased`).

export function liveSocket(state, { onOpen, onFrame, onClosed = () => {}, onErased = () => {} }) {
  function connect() {
    if (!state.token || state.socket) return;
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/api/v1/widget/socket?token=${encodeURIComponent(state.token)}`);
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
      if (e.code === 4401) { onErased(); return; }
      if (!state.token || e.code === 1000) return;
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
