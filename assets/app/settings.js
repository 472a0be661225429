// The "Your settings" page: who you are (with your photo, where the server keeps photos), which
// conversations you see, how Rapport tells you about new messages, and how the composer sends.

import { api } from "./api.js";
import { h } from "../shared/dom.js";
import { avatar } from "./dom.js";
import { icon } from "../shared/icons.js";
import { adminStyles, card, savedMark, flash, unflash, errorLine, fail, actions } from "./admin_ui.js";

const PHOTO_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
const PHOTO_MAX = 2 * 1024 * 1024;
const ENTER_KEY = "rapport.enterToSend";
const BROWSER_KEY = "rapport.browserNotifications";

/** Enter sends (Shift+Enter: a new line) unless the agent turned it off here; the composer reads the same key. */
const enterSends = () => localStorage.getItem(ENTER_KEY) !== "0";

/** Draws the page into `root`; a save hands the stored preferences to `applyPrefs`. */
export async function showSettings(root, { me, prefs, applyPrefs = () => {} }) {
  await adminStyles();
  const fresh = await api("/api/v1/me").catch(() => null);
  const user = fresh?.user ?? me?.user ?? me ?? {};
  prefs = { ...(fresh?.preferences ?? prefs ?? {}), browser_notifications: localStorage.getItem(BROWSER_KEY) === "1" };
  // Inside the app's page frame its bar already says "Your settings".
  const title = document.getElementById("page-title") ? [] : [h("h1", { text: "Your settings" })];
  const page = h("div", { id: "settings-page", class: "settings-page" },
    h("header", { class: "page-head" }, ...title, h("p", { class: "hint", text: "These apply to you only. Your team's settings are in Admin." })),
    profile(user, me), preferences(prefs, applyPrefs));
  root.replaceChildren(page);
}

/** Name, email and role; the photo where the server keeps photos (it says `photo_url`). */
function profile(user, me) {
  const face = h("span", { class: "face" });
  const drawFace = () => face.replaceChildren(avatar(user.name, user.photo_url ?? null, "lg xl"));
  drawFace();
  const who = h("div", { class: "person" }, h("strong", { text: user.name || "" }), h("span", { class: "email", text: user.email || "" }),
    h("span", { class: user.role === "admin" ? "badge role-admin" : "badge", text: user.role === "admin" ? "Admin" : "Agent" }));
  if (!("photo_url" in user)) return card("Profile", null, h("div", { class: "profile" }, face, who));

  const mark = savedMark();
  const error = errorLine();
  const input = h("input", { type: "file", accept: PHOTO_TYPES.join(","), hidden: true, id: "photo-file", "aria-label": "Choose a photo" });
  const choose = h("label", { for: "photo-file", class: "ghost", role: "button", tabindex: "0" }, icon("image"), "Upload a photo");
  choose.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  const remove = h("button", { type: "button", class: "link danger", id: "photo-remove", text: "Remove photo", hidden: !user.photo_url });
  /** The shell and any other screen learn the new face from this event and from `me`. */
  const changed = (stored) => {
    if (stored && typeof stored === "object") Object.assign(user, stored);
    if (me && typeof me === "object") Object.assign(me.user ?? me, { photo_url: user.photo_url });
    drawFace();
    remove.hidden = !user.photo_url;
    window.dispatchEvent(new CustomEvent("rapport:me", { detail: user }));
  };
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    error.textContent = "";
    unflash(mark);
    if (!PHOTO_TYPES.includes(file.type)) { error.textContent = "Choose a PNG, JPEG, WebP or GIF image."; return; }
    if (file.size > PHOTO_MAX) { error.textContent = "This photo is too large: choose one of at most 2 MB."; return; }
    choose.setAttribute("aria-disabled", "true");
    try {
      changed(await api("/api/v1/me/photo", { method: "PUT", body: file, headers: { "Content-Type": file.type } }));
      flash(mark);
    } catch (err) { fail(error, err); } finally { choose.removeAttribute("aria-disabled"); }
  });
  remove.addEventListener("click", async () => {
    error.textContent = "";
    unflash(mark);
    try {
      const stored = await api("/api/v1/me/photo", { method: "DELETE" });
      changed({ ...(stored && typeof stored === "object" ? stored : {}), photo_url: null });
      flash(mark, "Removed");
    } catch (err) { fail(error, err); }
  });
  return card("Profile", null,
    h("div", { class: "profile" }, face, who),
    h("div", { class: "photo-actions" }, input, choose, remove, mark),
    h("p", { class: "hint", text: "Your photo shows on your replies, to your team and to customers in the widget. PNG, JPEG, WebP or GIF, at most 2 MB." }),
    error);
}

const check = (name, label, hint) => h("label", { class: "check" }, h("input", { type: "checkbox", name }),
  h("span", {}, label, hint ? h("span", { class: "hint", text: hint }) : null));

function preferences(prefs, applyPrefs) {
  const saved = savedMark();
  const error = errorLine();
  const form = h("form", { id: "prefs", class: "card admin-card" },
    h("fieldset", { class: "pref-group" }, h("legend", { text: "What you see" }),
      check("see_all_projects", "See conversations across projects"),
      check("hide_from_customers", "Hide \u201cFrom customers\u201d", "Only the conversations you follow stay in your views.")),
    h("fieldset", { class: "pref-group" }, h("legend", { text: "Notifications" }),
      h("label", {}, "Notify me of new customer replies",
        h("select", { name: "notify_customer_replies" },
          [["both", "From customers and from users"], ["customers", "From customers"], ["users", "From users"], ["none", "Never"]]
            .map(([value, text]) => h("option", { value, text })))),
      check("notify_internal", "Notify me of internal messages"),
      check("sound", "Play a sound"),
      check("email_fallback", "Email me what I have not seen within a minute"),
      check("browser_notifications", "Browser notifications when Rapport is in the background", "Your browser asks once for permission.")),
    h("fieldset", { class: "pref-group" }, h("legend", { text: "Writing" }),
      check("enter_to_send", "Enter sends the message (Shift+Enter for a new line)", "Off: Enter starts a new line, and Ctrl+Enter sends.")),
    error, actions(h("button", { class: "primary", type: "submit", value: "save", text: "Save settings" }), saved));
  const f = form.elements;
  for (const [k, v] of Object.entries(prefs)) {
    const input = f[k];
    if (!input) continue;
    if (input.type === "checkbox") input.checked = !!v; else input.value = v;
  }
  f.enter_to_send.checked = enterSends();
  form.addEventListener("input", () => unflash(saved));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    unflash(saved);
    const next = {
      see_all_projects: f.see_all_projects.checked, hide_from_customers: f.hide_from_customers.checked,
      notify_customer_replies: f.notify_customer_replies.value, notify_internal: f.notify_internal.checked,
      sound: f.sound.checked, email_fallback: f.email_fallback.checked,
    };
    const browser = f.browser_notifications.checked;
    try {
      if (browser && "Notification" in window && Notification.permission === "default") await Notification.requestPermission();
      const stored = await api("/api/v1/me/preferences", { method: "PUT", json: next });
      localStorage.setItem(BROWSER_KEY, browser ? "1" : "0");
      localStorage.setItem(ENTER_KEY, f.enter_to_send.checked ? "1" : "0");
      flash(saved);
      applyPrefs({ ...next, ...(stored && typeof stored === "object" ? stored : {}), browser_notifications: browser });
    } catch (err) { fail(error, err); }
  });
  return form;
}
