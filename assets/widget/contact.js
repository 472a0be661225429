// The contact form: asked once, and only when it helps the visitor get an answer: after they
// have written, at once when the team is away, otherwise when nobody of the team has answered
// within a short while. Given or dismissed, it is never asked again for this visitor.

const KEY = "rapport.visitor.contact";
// How long a visitor waits for a person before we offer to answer by email.
const ASK_AFTER_MS = 45000;

export function install(ctx) {
  const { state, $, api } = ctx;
  const form = $("identify");
  let timer = null;

  /** Given or dismissed by this visitor (a new visitor token asks afresh). */
  const settled = () => state.known || (!!state.token && localStorage.getItem(KEY) === state.token);

  function settle() {
    clearTimeout(timer);
    if (state.token) localStorage.setItem(KEY, state.token);
    form.hidden = true;
  }

  function ask() {
    if (settled() || !state.conversation) return;
    form.hidden = false;
  }

  /** The visitor wrote: ask now if the team is away, else once a person has been slow. */
  function wrote() {
    if (settled() || !form.hidden || timer) return;
    if (!state.config?.team_online) { ask(); return; }
    timer = setTimeout(() => { timer = null; ask(); }, ASK_AFTER_MS);
  }

  /** Someone of the team answered: no need to ask for a way to reach the visitor later. */
  function contactLater(m) {
    if (m.author.kind === "user") { clearTimeout(timer); timer = null; }
  }

  $("skip").addEventListener("click", settle);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const json = {};
    for (const k of ["name", "email"]) if (data.get(k)?.trim()) json[k] = data.get(k).trim();
    if (!json.email) { ctx.showError("Please give your email address so that we can reply."); return; }
    try {
      const customer = await api("/api/v1/widget/identify", { method: "POST", json });
      ctx.showError("");
      ctx.rememberKnown(customer.known);
      settle();
    } catch (err) { ctx.showError(err.message); }
  });

  Object.assign(ctx, { wrote, contactLater, settleContact: settle });
}
