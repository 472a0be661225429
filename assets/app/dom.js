// The app's own DOM helpers (h and $ are in shared/dom.js): times, faces, toasts and names as
// its screens show them. Text is always set with textContent.
import { h } from "../shared/dom.js";
import { initials, colorOf } from "../shared/people.js";

export function when(ms) {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

/** A face: the photo when there is one, else initials on a colour that follows the name. */
export function avatar(name, photoUrl = null, size = "") {
  name = name || "?";
  const el = h("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" });
  if (photoUrl) el.append(h("img", { src: photoUrl, alt: "", loading: "lazy", decoding: "async" }));
  else el.textContent = initials(name);
  el.style.background = colorOf(name);
  return el;
}

/** A short confirmation or error in the toasts region, gone after a few seconds. */
export function toast(text, { bad = false } = {}) {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const el = h("div", { class: bad ? "toast bad" : "toast", text });
  region.append(el);
  setTimeout(() => el.remove(), bad ? 6000 : 2500);
}

/** A server's error message as a sentence: "the file is empty" -> "The file is empty." */
export function sentence(text) {
  text = String(text || "").trim();
  if (!text) return "";
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?…]$/.test(text) ? "" : ".");
}

/** The name a person is shown by: the server's display name (a friendly generated one for an
 * anonymous visitor), else what they told us, else "Visitor". Never an id. */
export function displayName(c) {
  if (!c) return "";
  return c.display_name || c.name || c.email || c.contact_email || "Visitor";
}

/** A list's time: "now", "2m", "3h", "Mon" within the week, else "12 Mar" (or "12 Mar 2024"). */
export function relTime(ms, now = Date.now()) {
  const d = new Date(ms);
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return "now";
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  if (s < 6 * 86400) return d.toLocaleDateString([], { weekday: "short" });
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], sameYear ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
}

/** A thread's day separator: "Today", "Yesterday", "Monday 12 March". */
export function dayLabel(ms, now = Date.now()) {
  const d = new Date(ms);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === new Date(now - 86400000).toDateString()) return "Yesterday";
  const sameYear = d.getFullYear() === today.getFullYear();
  return d.toLocaleDateString([], sameYear ? { weekday: "long", day: "numeric", month: "long" } : { day: "numeric", month: "long", year: "numeric" });
}
