// Writing as a customer (widget, portal). A message keeps one client_id until the server has it,
// so sending it again is a replay recorded once. If the server could not be reached, failed or
// asks to wait, its bubble stays, failed, with a Retry (uploaded files are kept); if the server
// refused it, the text and files go back to the composer.

import { pendingIn } from "./messages.js";

/** Adds `files` to `list` within the limits (`max` bytes, 10 files); `say` tells what was not. */
export function addFiles(list, files, max, say) {
  for (const file of files) {
    if (file.size > max) { say(`${file.name} is larger than ${Math.floor(max / 1048576)} MB.`); continue; }
    if (list.length >= 10) { say("At most 10 files per message."); break; }
    list.push(file);
  }
}

/** A paste that carries files adds them instead of text. */
export function pasteFiles(e, add) {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) { e.preventDefault(); add(files); }
}

/** `o`: {api, log(), render(m, clientId), ready(), post(message): posts and shows the answer,
 * say(error or null), giveBack(), busy(on)}. */
export async function sendMessage(o, text, files) {
  const client_id = crypto.randomUUID();
  const draft = { author: { kind: "customer" }, body: text, client_id, attachments: [] };
  const ids = [];
  async function attempt() {
    o.say(null);
    o.render(draft, client_id);
    o.busy?.(true);
    try {
      await o.ready?.();
      for (const f of files.slice(ids.length)) {
        const meta = await o.api(`/api/v1/widget/attachments?filename=${encodeURIComponent(f.name || "pasted.png")}`, {
          method: "POST", body: f, headers: { "Content-Type": f.type || "application/octet-stream" },
        });
        ids.push(meta.id);
      }
      await o.post({ body: text, client_id, attachment_ids: ids });
    } catch (e) {
      const log = o.log();
      // The socket brought it meanwhile: only the answer was lost.
      if (log.querySelector(`.msg:not(.pending)[data-client="${CSS.escape(client_id)}"]`)) return;
      const bubble = pendingIn(log, client_id);
      o.say(e);
      if (bubble && (e.status === 0 || e.status === 429 || e.status >= 500)) o.render({ ...draft, failed: true, retry: attempt }, client_id);
      else { bubble?.remove(); o.giveBack(); }
    } finally { o.busy?.(false); }
  }
  await attempt();
}
