// The main screens of Rapport, opened on the seeded demo (demo.mjs), and the layout checks the
// layout tests run on them. The screenshot gallery opens the same screens. Screens are found by
// role, label and text, and reached by the links the product gives out (/app/#conversation/ID,
// /app/#item/ID, /portal/#ticket=ID, /forms/KEY), so a redesign of the markup keeps them working.

import { chromium } from "playwright-core";
import { startRapport, hostPage, openWidget, PASSWORD } from "./lib.mjs";
import { seedDemo } from "./demo.mjs";

/** What every screen shows as "now", and when the demo's messages appear to have been written:
 * timestamps in API answers are moved so the seed starts at SEEDED_AT (see `freezeTime`). */
export const SEEDED_AT = Date.UTC(2026, 4, 12, 9, 12, 0);
export const NOW = Date.UTC(2026, 4, 12, 9, 40, 0);

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** Chromium as lib.mjs `launch` starts it, drawing the same pixels every time: with several
 * raster threads, partial raster and threaded animation, the antialiasing of a rounded corner
 * or a faded-in message could differ by a shade from one run to the next. */
function launchSteady() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--num-raster-threads=1", "--force-color-profile=srgb", "--disable-lcd-text",
      "--disable-partial-raster", "--disable-threaded-animation", "--disable-threaded-scrolling", "--disable-checker-imaging", "--disable-skia-runtime-opts"],
  });
}

/** Starts rapport, seeds the demo, launches Chromium: {rapport, demo, browser, host, seededFrom, stop()}. */
export async function demoSession() {
  const rapport = await startRapport();
  const seededFrom = Date.now();
  const demo = await seedDemo(rapport);
  const browser = await launchSteady();
  const host = await hostPage(rapport.base);
  // One sign-in for every screen: the server limits password checks per address.
  const login = await fetch(`${rapport.base}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "agent@example.com", password: PASSWORD }),
  });
  if (!login.ok) throw new Error(`login: ${login.status}`);
  const [name, value] = login.headers.get("set-cookie").split(";")[0].split("=");
  const cookies = [{ name, value, url: rapport.base }];
  return {
    rapport, demo, browser, host, seededFrom, cookies,
    stop: async () => { await browser.close(); await host.close(); await rapport.stop(); },
  };
}

/** Keeps every screen the same on every run: fixes the page clock at NOW, moves every `…_at`
 * time in the API's JSON answers by the same offset (times read "09:12", "28 minutes ago"), and
 * keeps the demo's unread counts as seeded. */
export async function freezeTime(context, session) {
  const shift = SEEDED_AT - session.seededFrom;
  const move = (v, key) => {
    if (typeof v === "number" && /(^|_)at$/.test(key) && v > 1e12) return v + shift;
    if (Array.isArray(v)) return v.map((x) => move(x, key));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, move(x, k)]));
    return v;
  };
  await context.route(`${session.rapport.base}/api/v1/**`, async (route) => {
    // Looking at a screen marks what it shows as seen, which would change the next screen's
    // unread counts: seen marks are answered here and not recorded.
    if (route.request().method() === "POST" && /\/seen$/.test(new URL(route.request().url()).pathname)) {
      return route.fulfill({ json: route.request().postDataJSON() }).catch(() => {});
    }
    const response = await route.fetch().catch(() => null);
    if (!response) return route.abort().catch(() => {});
    const json = /json/.test(response.headers()["content-type"] ?? "") ? await response.json().catch(() => undefined) : undefined;
    // A request still under way when the screen's context closes has nobody left to answer.
    await route.fulfill(json === undefined ? { response } : { response, json: move(json, "") }).catch(() => {});
  });
  // The same on the live sockets: times moved, seen marks kept back.
  const origin = new URL(session.rapport.base);
  await context.routeWebSocket((url) => url.host === origin.host, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => { if (typeof m !== "string" || !/"type"\s*:\s*"seen"/.test(m)) server.send(m); });
    server.onMessage((m) => {
      if (typeof m !== "string") return ws.send(m);
      let json;
      try { json = JSON.parse(m); } catch { return ws.send(m); }
      ws.send(JSON.stringify(move(json, "")));
    });
  });
  await context.clock.setFixedTime(NOW);
}

/** A new browser context (cookies and storage of its own) with the given size and theme. */
export async function newContext(session, { viewport, colorScheme = "light", frozen = true }) {
  const context = await session.browser.newContext({
    viewport, colorScheme, locale: "en-GB", timezoneId: "UTC",
    deviceScaleFactor: 1, isMobile: false, hasTouch: viewport.width < 500,
  });
  if (frozen) await freezeTime(context, session);
  return context;
}

async function signedInPage(context, session) {
  await context.addCookies(session.cookies);
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  return page;
}

/** The app at `hash`, signed in, once its nav is there. */
async function app(context, session, hash = "") {
  const page = await signedInPage(context, session);
  await page.goto(`${session.rapport.base}/app/${hash}`);
  await page.getByRole("button", { name: "Log out", includeHidden: true }).waitFor({ state: "attached" });
  // The views' counts, which come a moment later.
  await page.getByRole("link", { name: /Open conversations\s*\d/, includeHidden: true }).waitFor({ state: "attached" });
  return page;
}

/** Follows a link of the nav (a view, Settings, Admin); on a phone the nav may sit behind a button. */
async function navLink(page, name) {
  const button = page.getByRole("navigation", { name: "Views" }).or(page.locator("#nav .bottom")).getByRole("link", { name, exact: true });
  if (!(await button.isVisible())) {
    await page.getByRole("button", { name: "Views" }).first().click();
    await button.waitFor({ state: "visible" });
  }
  await button.click();
}

/** The first match that is on screen (a list's preview may repeat a message's text, hidden). */
const shown = (locator) => locator.filter({ visible: true }).first();

/** Where the app shows the customer beside a conversation (wide windows), their name is there. */
async function customerShown(page, name) {
  const details = page.getByRole("complementary", { name: "Customer details" });
  if (await details.isVisible()) await shown(details.getByText(name)).waitFor();
}

/** Maya's photo of the burr, drawn (attachments load after the message, with credentials). */
async function photoShown(doc) {
  const img = shown(doc.getByRole("img", { name: "burr.png" }));
  await img.waitFor();
  await doc.waitForFunction((i) => i.complete && i.naturalWidth > 0, await img.elementHandle());
}

const replyBox = (doc) => doc.getByRole("textbox", { name: /Reply to the customer|Internal note|^Reply|Message/ }).first();

/**
 * The screens, in one table. `open(session, context)` returns {page, doc}: doc is the page or
 * frame the screen lives in (the widget's panel is an iframe). `composer(doc)`, where there is
 * one, is the text box people write in. `phoneOnly`/`desktopOnly` limit where a screen applies.
 */
export const SCREENS = [
  {
    name: "app-login", title: "The agents' app: sign in",
    async open(session, context) {
      const page = await context.newPage();
      await page.goto(`${session.rapport.base}/app/`);
      await page.getByLabel("Password").waitFor();
      return { page, doc: page };
    },
  },
  {
    name: "app-inbox-list", title: "The inbox: open conversations",
    async open(session, context) {
      const page = await app(context, session);
      await shown(page.getByText("Maya Lindqvist")).waitFor();
      return { page, doc: page };
    },
  },
  {
    name: "app-inbox", title: "The inbox with a conversation open (a customer's photo)",
    composer: replyBox,
    async open(session, context) {
      const page = await app(context, session, `#conversation/${session.demo.conversations.photo}`);
      await shown(page.getByText("Do I need to send the old one back?")).waitFor();
      await replyBox(page).waitFor();
      await customerShown(page, "Maya Lindqvist");
      await photoShown(page);
      return { page, doc: page };
    },
  },
  {
    name: "app-internal", title: "An internal discussion on a ticket",
    composer: replyBox,
    async open(session, context) {
      const page = await app(context, session, `#conversation/${session.demo.conversations.internal}`);
      await shown(page.getByText("Thanks! I told him 3 working days.")).waitFor();
      await replyBox(page).waitFor();
      await customerShown(page, "Tomás Herrera");
      return { page, doc: page };
    },
  },
  {
    name: "app-item", title: "A ticket open (requester, priority, assignee, threads)",
    composer: replyBox,
    async open(session, context) {
      const page = await app(context, session, `#item/${session.demo.items.doubleCharge.id}`);
      await shown(page.getByText("Charged twice for the June subscription")).waitFor();
      await replyBox(page).waitFor();
      await customerShown(page, "Tomás Herrera");
      return { page, doc: page };
    },
  },
  {
    name: "app-items", title: "Tickets and tasks: the open items",
    async open(session, context) {
      const page = await app(context, session);
      await shown(page.getByText("Maya Lindqvist")).waitFor();
      await navLink(page, "Open items");
      await shown(page.getByText("Restock replacement burrs")).waitFor();
      return { page, doc: page };
    },
  },
  {
    name: "app-settings", title: "An agent's own settings",
    async open(session, context) {
      const page = await app(context, session);
      await shown(page.getByText("Maya Lindqvist")).waitFor();
      await navLink(page, "Settings");
      await page.getByRole("heading", { name: "Your settings" }).waitFor();
      await page.locator("#page form").first().waitFor();
      return { page, doc: page };
    },
  },
  {
    name: "app-admin", title: "Admin: the agents",
    async open(session, context) {
      const page = await app(context, session);
      await shown(page.getByText("Maya Lindqvist")).waitFor();
      await navLink(page, "Admin");
      await shown(page.locator("#page").getByText("dev@fernhill.example")).waitFor();
      return { page, doc: page };
    },
  },
  ...[["projects", "Projects", "Orders & billing"], ["widget", "Widget", null], ["automations", "Automations", null], ["forms", "Forms", "Contact Fernhill"]].map(([id, tab, shows]) => ({
    name: `app-admin-${id}`, title: `Admin: ${tab.toLowerCase()}`, gallery: true,
    async open(session, context) {
      const page = await app(context, session);
      await shown(page.getByText("Maya Lindqvist")).waitFor();
      await navLink(page, "Admin");
      const admin = page.locator("#page");
      await shown(admin.getByText("dev@fernhill.example")).waitFor();
      await admin.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name: tab }).click();
      if (shows) await shown(admin.getByText(shows)).waitFor();
      else await page.waitForFunction(() => document.querySelectorAll("#admin-body input, #admin-body select, #admin-body textarea").length > 0);
      return { page, doc: page };
    },
  })),
  {
    name: "widget-closed", title: "The widget's launcher on a customer's site",
    async open(session, context) {
      const page = await context.newPage();
      await page.goto(session.host.url);
      await page.waitForFunction(() => document.body.lastElementChild?.shadowRoot !== undefined && document.body.lastElementChild.getBoundingClientRect);
      // The launcher is in a closed shadow root: wait for it to be painted at its corner.
      await page.waitForFunction(() => {
        const el = document.elementFromPoint(innerWidth - 48, innerHeight - 48);
        return el && el !== document.body && el !== document.documentElement;
      });
      return { page, doc: page };
    },
  },
  {
    name: "widget-open", title: "The widget open: Maya's conversation with her photo",
    composer: (doc) => doc.getByRole("textbox", { name: "Message" }),
    async open(session, context) {
      const token = session.demo.visitors.maya;
      await context.addInitScript(({ origin, token }) => {
        if (location.origin === origin) localStorage.setItem("rapport.visitor", token);
      }, { origin: session.rapport.base, token });
      const page = await context.newPage();
      await page.goto(session.host.url);
      const frame = await openWidget(page);
      const last = shown(frame.getByText("Do I need to send the old one back?"));
      const pick = frame.getByRole("button", { name: /Conversation #/ }).first();
      await last.or(pick).first().waitFor();
      if (await pick.isVisible()) { await pick.click(); await last.waitFor(); }
      await photoShown(frame);
      return { page, doc: frame };
    },
  },
  {
    name: "portal", title: "The customer portal, signed in, with a ticket open",
    composer: (doc) => doc.getByRole("textbox", { name: /reply/i }).first(),
    async open(session, context) {
      const { token } = session.demo.portal;
      await context.addInitScript(({ origin, token }) => {
        if (location.origin === origin) localStorage.setItem("rapport.portal", token);
      }, { origin: session.rapport.base, token });
      const page = await context.newPage();
      page.on("pageerror", (e) => { throw e; });
      await page.goto(`${session.rapport.base}/portal/#ticket=${session.demo.items.warranty.id}`);
      await shown(page.getByText("the frother has a two-year warranty")).waitFor();
      return { page, doc: page };
    },
  },
  {
    name: "form", title: "A web form",
    async open(session, context) {
      const page = await context.newPage();
      page.on("pageerror", (e) => { throw e; });
      await page.goto(`${session.rapport.base}/forms/${session.demo.form.key}`);
      await page.getByRole("heading", { name: "Contact Fernhill" }).waitFor();
      await page.getByLabel(/Topic/).waitFor();
      return { page, doc: page };
    },
  },
];

export const screen = (name) => SCREENS.find((s) => s.name === name);

// ---- the checks, each run inside the screen's document -----------------------------------

/** Elements sticking out to the right of the viewport, outside any scroll or clip container
 * (what a container clips is the pointer check's business: a control cut off cannot be clicked);
 * and the document's own sideways scroll. Returns a list of descriptions (empty: all well). */
export function sidewaysOverflow(doc) {
  return doc.evaluate(() => {
    const out = [];
    const root = document.scrollingElement;
    if (root.scrollWidth > innerWidth) out.push(`the page scrolls sideways: ${root.scrollWidth}px wide in ${innerWidth}px`);
    const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : ""} "${(el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40)}"`;
    const clips = (el) => {
      for (let a = el.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX !== "visible") return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll("*")) {
      if (!el.checkVisibility?.({ visibilityProperty: true, opacityProperty: true })) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.right > innerWidth + 1 && !clips(el)) out.push(`${describe(el)} ends at ${Math.round(r.right)}px`);
      if (out.length > 8) break;
    }
    return out;
  });
}

/** Points of the composer where something else is on top of it (empty: none). */
export async function composerCovered(doc, composer) {
  await composer.scrollIntoViewIfNeeded();
  return composer.evaluate((box) => {
    const r = box.getBoundingClientRect();
    const points = [[0.5, 0.5], [0.1, 0.2], [0.9, 0.2], [0.1, 0.8], [0.9, 0.8]]
      .map(([fx, fy]) => [r.left + Math.max(3, Math.min(r.width - 3, r.width * fx)), r.top + Math.max(3, Math.min(r.height - 3, r.height * fy))]);
    const out = [];
    for (const [x, y] of points) {
      const hit = document.elementFromPoint(x, y);
      if (!hit || (hit !== box && !box.contains(hit))) out.push(`at (${Math.round(x)}, ${Math.round(y)}): ${hit ? hit.outerHTML.slice(0, 120) : "nothing (outside the viewport)"}`);
    }
    return out;
  });
}

/** Marks the visible interactive elements with data-layout-id and returns how many. Inside an
 * open modal dialog only the dialog's own count (the rest is inert). */
function markInteractive(doc) {
  return doc.evaluate(() => {
    const modal = document.querySelector("dialog:modal");
    const scope = modal || document;
    const all = [...scope.querySelectorAll("button, a[href], input, select, textarea, [tabindex]")];
    let n = 0;
    for (const el of document.querySelectorAll("[data-layout-id]")) el.removeAttribute("data-layout-id");
    for (const el of all) {
      if (el.disabled || el.type === "hidden" || el.closest("[inert], [aria-hidden=true]")) continue;
      if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true, contentVisibilityAuto: true })) continue;
      let r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) continue;
      // Clipped away entirely by an ancestor (an off-canvas panel, a visually hidden field).
      let hidden = r.right <= 0 || r.left >= innerWidth;
      for (let a = el.parentElement; a && !hidden && a !== document.documentElement; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX === "visible" && s.overflowY === "visible") continue;
        const c = a.getBoundingClientRect();
        if (r.right <= c.left || r.left >= c.right || (s.overflowY !== "visible" && c.height < 1)) hidden = true;
      }
      if (hidden) continue;
      el.dataset.layoutId = String(n++);
    }
    return n;
  });
}

/** Interactive elements that cannot be clicked where they are drawn (after scrolling to them). */
export async function unreachableByPointer(doc) {
  const n = await markInteractive(doc);
  const out = [];
  for (let i = 0; i < n; i++) {
    const el = doc.locator(`[data-layout-id="${i}"]`);
    await el.scrollIntoViewIfNeeded({ timeout: 2000 }).catch(() => {});
    const problem = await el.evaluate((el) => {
      // A link that wraps is drawn as several boxes: its first line is where it is clicked.
      const r = el.getClientRects()[0] || el.getBoundingClientRect();
      const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
      const hit = document.elementFromPoint(x, y);
      if (hit && (hit === el || el.contains(hit) || (el.labels && [...el.labels].some((l) => l.contains(hit))))) return null;
      const name = (el.getAttribute("aria-label") || el.textContent || el.name || el.placeholder || "").trim().slice(0, 40);
      return `${el.tagName.toLowerCase()} "${name}" at (${Math.round(x)}, ${Math.round(y)}) is under ${hit ? hit.outerHTML.slice(0, 100) : "nothing (outside the viewport)"}`;
    });
    if (problem) out.push(problem);
  }
  return out;
}

/** Interactive elements that Tab never reaches (tabindex="-1" ones are meant to be skipped;
 * of a group of radio buttons one is enough). */
export async function unreachableByTab(page, doc) {
  const n = await markInteractive(doc);
  const wanted = await doc.evaluate(() => [...document.querySelectorAll("[data-layout-id]")]
    .filter((el) => el.tabIndex >= 0)
    .map((el) => ({ id: el.dataset.layoutId, group: el.type === "radio" ? `radio:${el.name}` : null })));
  await doc.evaluate(() => { document.activeElement?.blur(); window.focus(); });
  if (doc !== page) await doc.locator("body").focus().catch(() => {});
  const reached = new Set();
  for (let i = 0; i < n * 2 + 12; i++) {
    await page.keyboard.press("Tab");
    const at = await doc.evaluate(() => {
      let a = document.activeElement;
      return a?.dataset?.layoutId != null ? { id: a.dataset.layoutId, group: a.type === "radio" ? `radio:${a.name}` : null } : null;
    });
    if (at) { reached.add(at.id); if (at.group) reached.add(at.group); }
    if (wanted.every((w) => reached.has(w.id) || (w.group && reached.has(w.group)))) break;
  }
  const missing = wanted.filter((w) => !reached.has(w.id) && !(w.group && reached.has(w.group)));
  return doc.evaluate((ids) => ids.map((id) => {
    const el = document.querySelector(`[data-layout-id="${id}"]`);
    return `${el.tagName.toLowerCase()} "${(el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40)}"`;
  }), missing.map((w) => w.id));
}
