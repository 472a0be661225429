// The Settings page's form as the shell drew it before settings.js: stands in until that module
// is there (pages.js loads this only when settings.js is missing). The same contract:
// showSettings(page, {me, prefs, navigate, applyPrefs}).

import { api } from "./api.js";
import { h, sentence } from "./dom.js";

const check = (name, label) => h("label", { class: "check" }, h("input", { type: "checkbox", name }), label);

export async function showSettings(page, { prefs, applyPrefs }) {
  const saved = h("span", { class: "saved", role: "status" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { id: "prefs", class: "card settings-form" },
    check("see_all_projects", "See conversations across projects"),
    check("hide_from_customers", "Hide \u201cFrom customers\u201d"),
    h("label", {}, "Notify me of new customer replies",
      h("select", { name: "notify_customer_replies" },
        ...[["both", "from customers and from users"], ["customers", "from customers"], ["users", "from users"], ["none", "never"]]
          .map(([value, text]) => h("option", { value, text })))),
    check("notify_internal", "Notify me of internal messages"),
    check("sound", "Play a sound"),
    check("email_fallback", "Email me what I have not seen within a minute"),
    check("browser_notifications", "Browser notifications when Rapport is in the background"),
    error,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", value: "save", text: "Save" }), saved));
  for (const [k, v] of Object.entries(prefs)) {
    const input = form.elements[k];
    if (!input) continue;
    if (input.type === "checkbox") input.checked = v; else input.value = v;
  }
  form.addEventListener("input", () => { saved.textContent = ""; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const next = {
      see_all_projects: f.see_all_projects.checked, hide_from_customers: f.hide_from_customers.checked,
      notify_customer_replies: f.notify_customer_replies.value, notify_internal: f.notify_internal.checked,
      sound: f.sound.checked, email_fallback: f.email_fallback.checked,
    };
    const browser = f.browser_notifications.checked;
    error.textContent = "";
    try {
      if (browser && "Notification" in window && Notification.permission === "default") await Notification.requestPermission();
      localStorage.setItem("rapport.browserNotifications", browser ? "1" : "0");
      const stored = await api("/api/v1/me/preferences", { method: "PUT", json: next });
      applyPrefs({ ...stored, browser_notifications: browser });
      saved.textContent = "Saved";
    } catch (err) {
      error.textContent = sentence(err.message);
    }
  });
  page.replaceChildren(h("div", { class: "page-body" }, form));
}
