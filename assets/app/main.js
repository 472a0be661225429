// The agents' app starts here: the theme before anything is drawn, then either the sign-in card
// or the app. The sign-in page loads only what the sign-in needs; the app's screens (shell.js
// and what it opens) are fetched as the person starts typing and started once they sign in.

// The theme first, so a dark page is never drawn light first: "light" | "dark" | system (none).
const theme = localStorage.getItem("rapport.theme");
if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;

import { api, ApiError } from "./api.js";

const login = document.getElementById("login");

async function boot() {
  let me;
  try {
    me = await api("/api/v1/me");
  } catch (e) {
    if (e.status !== 401) throw e;
    login.hidden = false;
    login.elements.email.focus();
    // The app's modules (and its stylesheet) are fetched while the person types, so signing in
    // does not wait for them; the page itself loads only what the sign-in needs.
    login.addEventListener("input", () => import("./shell.js").catch(() => {}), { once: true });
    return;
  }
  await enter(me);
}

async function enter(me) {
  const { start } = await import("./shell.js");
  login.hidden = true;
  await start(me);
}

/** What went wrong signing in, said to the person signing in. */
function loginError(e) {
  if (e.status === 401 || e.code === "invalid_credentials") return "That email and password do not match an account here. Check them and try again.";
  if (e.status === 429) return "Too many attempts. Wait a minute, then try again.";
  if (e.status === 403) return e.message || "This account cannot sign in. Ask an admin of your team.";
  if (!e.status) return "Rapport cannot be reached. Check the connection and try again.";
  return e.message || "Signing in did not work. Try again.";
}

login.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(login);
  const button = login.querySelector("button[type=submit]");
  const error = login.querySelector(".error");
  error.textContent = "";
  button.disabled = true;
  try {
    const me = await api("/api/v1/auth/login", { method: "POST", json: { email: form.get("email"), password: form.get("password") } });
    await enter(me);
  } catch (err) {
    error.textContent = err instanceof ApiError ? loginError(err) : "Signing in did not work. Try again.";
  } finally {
    button.disabled = false;
  }
});

boot().catch((e) => {
  document.body.replaceChildren();
  const p = document.createElement("p");
  p.className = "empty-state";
  p.textContent = `Rapport could not start: ${e instanceof ApiError ? e.message : e}. Reload the page to try again.`;
  document.body.append(p);
});
