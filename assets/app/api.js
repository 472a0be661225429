// The server: JSON over fetch (the shared client, with the CSRF token) and the live socket, which
// resumes every subscription from the last sequence number seen after a reconnect.

import { ApiError, client, failure } from "../shared/api.js";
import { liveSocket } from "../shared/live.js";

export { ApiError };

let csrf = null;
export const setCsrf = (token) => { csrf = token; };

export const api = client({
  auth: (method) => (csrf && method !== "GET" ? { "X-CSRF-Token": csrf } : {}),
  // Signed out meanwhile (elsewhere, or deactivated): the page starts over at its sign-in.
  unauthorized: (path) => {
    if (!csrf || path === "/api/v1/me") return false;
    location.reload();
    return true;
  },
});

/** Uploads one file as the request body, reporting progress as a fraction (0..1); answers
 * what the server answered, like `api()`. fetch cannot report an upload's progress, XHR can. */
export function upload(path, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload failed: check the connection and send again."));
    xhr.onload = () => {
      if (xhr.status === 401 && csrf) { location.reload(); return; }
      const data = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(failure(xhr.status, data));
    };
    xhr.send(file);
  });
}

/** The agent's socket. `up` while connected: an agent's inbox is then told every change as it
 * happens (with their counts), so nothing needs asking for; `onReconnect` runs after a gap,
 * when what happened meanwhile must be asked for once. Open conversations are subscribed again
 * from the last message seen. 4401 (signed out, revoked or deactivated): reloading shows the
 * sign-in page. */
export class Live {
  constructor(onFrame, onReconnect = () => {}) {
    this.subscriptions = new Map(); // conversation id -> last seq seen
    this.up = false;
    const socket = liveSocket(this, {
      path: () => "/api/v1/socket",
      onOpen: () => {
        const gap = this.opened;
        this.up = this.opened = true;
        this.send({ type: "watch_inbox" });
        for (const [id, seq] of this.subscriptions) this.send({ type: "subscribe", conversation_id: id, after_seq: seq });
        document.documentElement.dataset.live = "";
        if (gap) onReconnect();
      },
      onFrame: (frame) => {
        // The server ended it (access revoked): not to be resubscribed on reconnect.
        if (frame.type === "unsubscribed" && frame.reason) this.subscriptions.delete(frame.conversation_id);
        if (frame.type === "message" && this.subscriptions.has(frame.conversation_id)) {
          this.subscriptions.set(frame.conversation_id, Math.max(this.subscriptions.get(frame.conversation_id), frame.message.seq));
        }
        onFrame(frame);
      },
      onClosed: () => { this.up = false; delete document.documentElement.dataset.live; },
      onSignedOut: () => location.reload(),
    });
    this.send = socket.send;
    socket.connect();
  }
  subscribe(id, afterSeq) {
    this.subscriptions.set(id, afterSeq);
    this.send({ type: "subscribe", conversation_id: id, after_seq: afterSeq });
  }
  unsubscribe(id) {
    if (this.subscriptions.delete(id)) this.send({ type: "unsubscribe", conversation_id: id });
  }
}
