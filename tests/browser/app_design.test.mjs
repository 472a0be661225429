// The agents' app as a product: list rows that name people, one call per list, pages with
// addresses, a light sign-in page, a theme that sticks, and a first-run checklist. Screens are
// kept in `artifacts` at phone and desktop sizes, light and dark, to be looked at.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, launch, restVisitor, shooting, artifacts, logIn, PASSWORD } from "./lib.mjs";

let rapport, browser;
before(async () => {
  delete process.env.RAPPORT_SMTP_URL;
  delete process.env.RAPPORT_SMTP_FROM;
  rapport = await startRapport();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
});

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };

async function agentPage(pages, { viewport = DESKTOP, colorScheme = "light", email = "agent@example.com" } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  pages.push(page);
  await logIn(page, rapport.base, email);
  return { context, page };
}

/** A visitor who writes, optionally from a page, after giving a name or an email. */
async function visitorWrites(body, { name, email, pageUrl } = {}) {
  const v = await restVisitor(rapport.base);
  const headers = { "content-type": "application/json", "x-rapport-visitor": v.token };
  if (name || email) {
    const res = await fetch(`${rapport.base}/api/v1/widget/identify`, { method: "POST", headers, body: JSON.stringify({ name, email }) });
    assert.ok(res.ok, `identify: ${res.status}`);
  }
  const res = await fetch(`${rapport.base}/api/v1/widget/conversations`, { method: "POST", headers, body: JSON.stringify({ message: { body }, page_url: pageUrl }) });
  assert.ok(res.ok, `start: ${res.status}`);
  const { conversation } = await res.json();
  return { ...v, headers, conversation };
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `design-${name}.png`) });
const noSidewaysScroll = async (page) => {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= page.viewportSize().width, `nothing sticks out sideways (${wide}px)`);
};

// Runs first: the install is fresh (no conversation, no teammate, no email).
test("a fresh install shows admins the Get Rapport ready checklist, with what is done marked done", () => shooting("design-checklist", async (pages) => {
  const { page, context } = await agentPage(pages);
  const card = "#pane .checklist";
  await page.waitForSelector(`${card} >> text=Get Rapport ready`);
  // The first admin's install has a project; email is not set up; nobody else is on the team.
  await page.waitForSelector(`${card} [data-step=project].done`);
  for (const step of ["email", "widget", "teammate", "test_message"]) assert.ok(await page.$(`${card} [data-step=${step}]:not(.done)`), `${step} is still to do`);
  assert.match(await page.textContent(`${card} [data-step=widget] code`), /<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js" async><\/script>/);
  assert.equal(await page.getAttribute(`${card} [data-step=teammate] a`, "href"), "#admin/agents");
  await shot(page, "checklist-desktop");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "checklist-desktop-dark");

  // A teammate joins: the step is done the next time the app is opened.
  await rapport.api("/api/v1/users", { method: "POST", json: { email: "bo@example.com", name: "Bo Teammate", role: "agent", password: PASSWORD } });
  await page.reload();
  await page.waitForSelector(`${card} [data-step=teammate].done`);

  // Its button leads to the admin page that does it, with an address of its own.
  await page.click(`${card} [data-step=email] a`);
  await page.waitForFunction(() => location.hash === "#admin/email");
  await context.close();

  // An agent (not an admin) with nothing to see gets a friendly word, not a checklist.
  const agent = await agentPage(pages, { email: "bo@example.com", viewport: PHONE });
  await agent.page.waitForSelector("#entries .empty-state >> text=No open conversations");
  assert.equal(await agent.page.$(".checklist"), null);
  await shot(agent.page, "empty-agent-phone");
  await agent.context.close();
}));

test("list rows name the customer (never \"Visitor #\") with a preview, a short time and the unread count", () => shooting("design-rows", async (pages) => {
  const named = await visitorWrites("Do you ship to Norway?", { name: "Ingrid Named" });
  const mailed = await visitorWrites("Invoice please", { email: "oskar@example.com" });
  const anonymous = await visitorWrites("Is this in stock?", { pageUrl: "https://shop.example.com/boots/42" });
  const { page, context } = await agentPage(pages);
  const row = (c) => `#entries button[data-id="${c.conversation.id}"]`;
  await page.waitForSelector(`${row(named)} .name >> text=Ingrid Named`);
  assert.equal(await page.textContent(`${row(mailed)} .name`), "oskar@example.com");
  const anonymousName = await page.textContent(`${row(anonymous)} .name`);
  assert.doesNotMatch(anonymousName, /#\d/);
  assert.ok(anonymousName.length > 0);
  assert.equal(await page.textContent(`${row(anonymous)} .sub`), "shop.example.com/boots/42", "an anonymous visitor's page says who they are");
  assert.doesNotMatch(await page.textContent("#entries"), /Visitor #\d/);
  assert.equal(await page.textContent(`${row(named)} .preview`), "Do you ship to Norway?");
  assert.equal(await page.textContent(`${row(named)} .when`), "now");
  assert.match(await page.textContent(`${row(named)} .mark .count`), /^\d+$/, "the unread count sits in its place");
  // The name is said once: not a subject and a name side by side.
  assert.equal((await page.textContent(row(named))).split("Ingrid Named").length - 1, 1);
  await context.close();
}));

test("a view of ten conversations costs no request per customer", () => shooting("design-one-call", async (pages) => {
  for (let i = 0; i < 10; i++) await visitorWrites(`Question number ${i}`, { name: `Customer ${i}` });
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  pages.push(page);
  const { entries } = await rapport.api("/api/v1/conversations?view=open");
  if (!("customer" in entries[0])) {
    // A server from before the list embedded each entry's customer: the test embeds them (asking
    // from here, unseen by the page), so what is held is the app's side: it asks no more.
    await context.route(/\/api\/v1\/conversations\?view=/, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const e of body.entries) e.customer = e.customer_id ? await rapport.api(`/api/v1/customers/${e.customer_id}`) : null;
      await route.fulfill({ response: res, json: body });
    });
  }
  const asked = [];
  page.on("request", (r) => { if (new URL(r.url()).pathname.startsWith("/api/v1/customers/")) asked.push(r.url()); });
  await logIn(page, rapport.base, "agent@example.com");
  await page.waitForFunction(() => document.querySelectorAll("#entries button[data-id]").length >= 10);
  await page.waitForSelector("#entries button[data-id] .name >> text=Customer 9");
  await page.waitForLoadState("networkidle");
  assert.deepEqual(asked, []);
  await context.close();
}));

test("settings and admin are pages with their own addresses, and Back returns to the list", () => shooting("design-pages", async (pages) => {
  const { page, context } = await agentPage(pages);
  await page.click("[data-view=open]");
  await page.waitForFunction(() => location.hash === "#view/open");
  await page.click("#open-settings");
  await page.waitForFunction(() => location.hash === "#settings");
  await page.waitForSelector("#page #prefs");
  assert.equal(await page.getAttribute("#open-settings", "aria-current"), "page");
  assert.ok(!(await page.isVisible("#list")), "the page takes the list's place");
  await shot(page, "settings-desktop");
  await page.goBack();
  await page.waitForFunction(() => location.hash === "#view/open");
  await page.waitForSelector("#list", { state: "visible" });
  assert.equal(await page.$("#page #prefs"), null);

  await page.click("#open-admin");
  await page.waitForFunction(() => location.hash === "#admin/agents");
  // Admin → Agents: a page in #page, where the list and the conversation were.
  await page.waitForSelector("#page #admin #admin-body > *");
  assert.equal(await page.getAttribute("#open-admin", "aria-current"), "page");
  await page.goBack();
  await page.waitForFunction(() => location.hash === "#view/open");
  await page.waitForSelector("#list", { state: "visible" });
  assert.equal(await page.$("#page #admin"), null);

  // An address opens its page directly, a reload keeps it.
  await page.goto(`${rapport.base}/app/#admin/health`);
  await page.reload();
  await page.waitForSelector("#health-status");
  await context.close();
}));

test("on a phone, Back from a conversation returns to the list, and Forward opens it again", () => shooting("design-back", async (pages) => {
  const v = await visitorWrites("Back and forth", { name: "Walter Back" });
  const { page, context } = await agentPage(pages, { viewport: PHONE });
  await page.click(`#entries button[data-id="${v.conversation.id}"]`);
  await page.waitForSelector("#thread >> text=Back and forth");
  assert.equal(await page.evaluate(() => location.hash), `#conversation/${v.conversation.id}`);
  await page.goBack();
  await page.waitForSelector("#list", { state: "visible" });
  assert.ok(!(await page.isVisible("#pane")));
  await page.goForward();
  await page.waitForSelector("#thread >> text=Back and forth");
  assert.ok(!(await page.isVisible("#list")));
  await context.close();
}));

test("a conversation closed elsewhere says Closed in the open header and in the details at once", () => shooting("design-live-status", async (pages) => {
  const v = await visitorWrites("Close me from elsewhere", { name: "Lena Live" });
  const { page, context } = await agentPage(pages);
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${v.conversation.id}"]`);
  await page.waitForSelector("#pane > header #conversation-status >> text=Open");
  await rapport.api(`/api/v1/conversations/${v.conversation.id}/close`, { method: "POST", json: {} });
  await page.waitForSelector("#pane > header #conversation-status >> text=Closed");
  assert.equal(await page.textContent("#pane > header #toggle-status"), "Reopen");
  await page.waitForSelector(`#details [data-conversation="${v.conversation.id}"] >> text=closed`);
  await context.close();
}));

test("the sign-in page loads no admin, rules, forms, privacy or composer module", () => shooting("design-login", async (pages) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  pages.push(page);
  const loaded = [];
  page.on("response", (r) => { loaded.push(new URL(r.url()).pathname); });
  await page.goto(`${rapport.base}/app/`);
  await page.waitForSelector("#login:not([hidden]) >> text=Sign in to Rapport");
  await page.waitForLoadState("networkidle");
  const modules = loaded.filter((p) => p.endsWith(".js"));
  for (const name of ["admin", "rules", "forms", "privacy", "composer", "items", "shell"]) {
    assert.ok(!modules.some((p) => p.endsWith(`/${name}.js`)), `${name}.js is not loaded before sign-in (loaded: ${modules.join(", ")})`);
  }
  const bytes = await page.evaluate(() => [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].reduce((n, e) => n + e.transferSize, 0));
  console.log(`# sign-in page: ${loaded.length} requests, ${bytes} bytes transferred`);
  await shot(page, "login-desktop");

  // A wrong password is told as a sentence for the person.
  await page.fill("#login [name=email]", "agent@example.com");
  await page.fill("#login [name=password]", "not the password");
  await page.click("#login button");
  await page.waitForSelector("#login .error >> text=That email and password do not match");
  await page.setViewportSize(PHONE);
  await shot(page, "login-phone");
  await noSidewaysScroll(page);

  // Signing in loads the app's screens then.
  await page.fill("#login [name=password]", PASSWORD);
  await page.click("#login button");
  await page.waitForSelector("#app:not([hidden]) #entries");
  assert.ok(loaded.some((p) => p.endsWith("/shell.js")));
  await context.close();
}));

test("the theme control switches the app to dark, and the choice survives a reload", () => shooting("design-theme", async (pages) => {
  const { page, context } = await agentPage(pages, { colorScheme: "light" });
  const background = () => page.evaluate(() => getComputedStyle(document.querySelector("#list")).backgroundColor);
  const light = await background();
  await page.click("#theme [data-theme=dark]");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  assert.equal(await page.getAttribute("#theme [data-theme=dark]", "aria-pressed"), "true");
  const dark = await background();
  assert.notEqual(dark, light);
  const luminance = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0) / 3;
  assert.ok(luminance(dark) < 80, `the list is dark (${dark})`);
  await page.reload();
  await page.waitForSelector("#app:not([hidden]) #entries");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  assert.equal(await background(), dark);
  await page.click("#theme [data-theme=system]");
  assert.equal(await page.getAttribute("html", "data-theme"), null);
  assert.equal(await background(), light, "System follows the browser (light here)");
  await context.close();
}));

test("a conversation reads as a thread: faces, grouped messages, a day line, thumbnails and file cards", () => shooting("design-thread", async (pages) => {
  const v = await visitorWrites("Hello, my boots arrived broken", { name: "Petra Photo", pageUrl: "https://shop.example.com/orders" });
  const upload = async (filename, type, bytes) => {
    const res = await fetch(`${rapport.base}/api/v1/widget/attachments?filename=${filename}`, { method: "POST", headers: { "content-type": type, "x-rapport-visitor": v.token }, body: bytes });
    assert.ok(res.ok, `upload: ${res.status}`);
    return (await res.json()).id;
  };
  // A 2×2 PNG.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR42mP8z8DwnwEJMDGgAQYGAHZkAwFZX2X1AAAAAElFTkSuQmCC", "base64");
  const image = await upload("boots.png", "image/png", png);
  const file = await upload("receipt.pdf", "application/pdf", Buffer.from("%PDF-1.4 receipt"));
  const say = (body, attachment_ids = []) => fetch(`${rapport.base}/api/v1/widget/conversations/${v.conversation.id}/messages`, { method: "POST", headers: v.headers, body: JSON.stringify({ body, attachment_ids }) });
  assert.ok((await say("Here is a photo", [image])).ok);
  assert.ok((await say("And the receipt", [file])).ok);
  await rapport.api(`/api/v1/conversations/${v.conversation.id}/messages`, { method: "POST", json: { body: "Sorry about that! A new pair is on its way." } });

  for (const [viewport, scheme] of [[DESKTOP, "light"], [DESKTOP, "dark"], [PHONE, "light"], [PHONE, "dark"]]) {
    const { page, context } = await agentPage(pages, { viewport, colorScheme: scheme });
    const size = viewport === PHONE ? "phone" : "desktop";
    await shot(page, `list-${size}-${scheme}`);
    await page.click(`#entries button[data-id="${v.conversation.id}"]`);
    await page.waitForSelector("#thread .thumb img[alt='boots.png']");
    await page.waitForSelector("#thread .file-card >> text=receipt.pdf");
    await page.waitForSelector("#thread .day >> text=Today");
    // The customer's photo and receipt, one after the other, make one group: one face, one name.
    assert.ok(await page.$("#thread .msg.theirs:not(.cont):has-text('Here is a photo') .who >> text=Petra Photo"));
    assert.ok(await page.$("#thread .msg.theirs.cont:has-text('And the receipt')"));
    assert.ok(!(await page.isVisible("#thread .msg.cont:has-text('And the receipt') .who")));
    assert.equal(await page.textContent("#pane > header h1"), "Petra Photo");
    assert.equal(await page.textContent("#pane > header #toggle-status"), "Close");
    await noSidewaysScroll(page);
    await shot(page, `thread-${size}-${scheme}`);
    if (viewport === DESKTOP) {
      await page.waitForSelector("#details .customer-card >> text=Petra Photo");
      await page.waitForSelector("#details dd >> text=https://shop.example.com/orders");
    } else {
      await page.click("#pane header .details-toggle");
      await page.waitForSelector("#details .customer-card >> text=Petra Photo");
      await shot(page, `details-phone-${scheme}`);
      await page.click("#details .details-toggle");
      await page.click("#pane .back");
      await page.click("#list [data-back=nav]");
      await page.waitForSelector("#nav", { state: "visible" });
      await noSidewaysScroll(page);
      await shot(page, `nav-phone-${scheme}`);
      await page.click("#open-settings");
      await page.waitForSelector("#page #prefs");
      await noSidewaysScroll(page);
      await shot(page, `settings-phone-${scheme}`);
    }
    await context.close();
  }
}));
