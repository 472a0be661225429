// Faces and times as the panel shows them: a person's photo or initials, the bot's one look,
// the team's faces, and short relative times ("2m", "3h", "Mon").

export const BOT_NAME = "Assistant";

export function install(ctx) {
  const { state, h, icon, initials, colorOf } = ctx;

  /** What to call an author or a list row's face: the bot has one name everywhere. */
  const nameOf = (p) => (p?.kind === "bot" ? p.name || BOT_NAME : p?.name || (p?.kind === "customer" ? "You" : state.config?.team_name || "Team"));

  /** A photo URL of this server only: from the author, else the team's face with that name. */
  function photoOf(p) {
    const own = p?.photo_url;
    const team = (state.config?.team || []).find((t) => t.name && t.name === p?.name)?.photo_url;
    const url = own || (p?.kind === "user" ? team : null);
    return typeof url === "string" && url.startsWith("/") ? url : null;
  }

  /** <span class="avatar">: a photo, the bot's mark, or initials on a colour from the name. */
  function avatar(p, size = "") {
    const el = h("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" });
    if (p?.kind === "bot") {
      el.classList.add("bot");
      el.append(icon("chat"));
      return el;
    }
    const name = nameOf(p);
    el.style.background = colorOf(name);
    el.textContent = initials(name);
    const url = photoOf(p);
    if (url) el.append(h("img", { alt: "", src: url, onerror: (e) => e.target.remove() }));
    return el;
  }

  Object.assign(ctx, { nameOf, photoOf, avatar, ago, clock });
}

/** "now", "5m", "3h", "Mon", then "12 Mar". */
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return "now";
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  const d = new Date(ms);
  if (s < 6 * 86400) return d.toLocaleDateString("en", { weekday: "short" });
  return d.toLocaleDateString("en", { day: "numeric", month: "short" });
}

export const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
