// The customer portal in real Chromium: a customer signs in with a link from a real email, sets
// a password, signs in with it, opens a ticket and sees the team's public reply live, while an
// internal note never reaches the page; another customer cannot see that ticket.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, launch, artifacts, repo, smtpSink, eventually, shooting } from "./lib.mjs";

const shots = process.env.UPDATE_SCREENSHOTS ? join(repo, "docs", "screenshots") : artifacts;
const TEAM = "Acme Support";
const COLOR = "#0f766e";

let rapport, browser, smtp;
before(async () => {
  smtp = await smtpSink();
  process.env.RAPPORT_SMTP_URL = `smtp://127.0.0.1:${smtp.port}`;
  process.env.RAPPORT_SMTP_FROM = "support@example.com";
  rapport = await startRapport();
  browser = await launch();
  const widget = await rapport.api("/api/v1/settings/widget");
  await rapport.api("/api/v1/settings/widget", { method: "PUT", json: { ...widget, team_name: TEAM, color: COLOR } });
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
  smtp?.close();
});

/** A customer's browser: every response body and socket frame its pages receive is kept. */
async function customerBrowser(pages, viewport) {
  const context = await browser.newContext({ viewport });
  const seen = { bodies: [], frames: [], requests: [], csp: [] };
  const open = async (url) => {
    const page = await context.newPage();
    pages.push(page);
    page.on("pageerror", (e) => { throw e; });
    page.on("dialog", (d) => { throw new Error(`a dialog opened: ${d.message()}`); });
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) seen.csp.push(m.text()); });
    page.on("request", (r) => seen.requests.push({ method: r.method(), url: r.url(), body: r.postData() }));
    page.on("response", (r) => seen.bodies.push(r.text().then((text) => ({ url: r.url(), text }), () => ({ url: r.url(), text: "" }))));
    page.on("websocket", (ws) => ws.on("framereceived", (f) => seen.frames.push(String(f.payload))));
    await page.goto(url);
    return page;
  };
  return { context, seen, open };
}

/** Asks for a sign-in link in the portal, and returns the link the email brings. */
async function requestLink(page, email) {
  await page.fill("#signin [name=email]", email);
  await page.click("#send-link");
  await page.waitForFunction(() => /inbox/i.test(document.querySelector("#signin .notice").textContent));
  assert.equal(await page.textContent("#signin .error"), "");
  // Someone waiting for a sign-in link should not wait long: 15 seconds at most.
  const mail = await eventually(`the sign-in email to ${email} within 15 s`, () => smtp.mails().find((m) => m.to.includes(email)), 75);
  const link = /https?:\/\/[^\s"'<>]+\/portal\/#link=[^\s"'<>&]+/.exec(mail.text)?.[0];
  assert.ok(link, `a sign-in link in the email:\n${mail.text}`);
  assert.ok(link.startsWith(`${rapport.base}/portal/#link=`), link);
  return link;
}

const token = (page) => page.evaluate(() => localStorage.getItem("rapport.portal"));

/** A request from inside the page with its visitor token, as a script in the page could make. */
const fetchAs = (page, path, init = {}) => page.evaluate(async ({ path, init }) => {
  const headers = { "X-Rapport-Visitor": localStorage.getItem("rapport.portal"), ...(init.json ? { "Content-Type": "application/json" } : {}) };
  const res = await fetch(path, { method: init.method || "GET", headers, body: init.json ? JSON.stringify(init.json) : undefined });
  return { status: res.status, body: await res.json().catch(() => null) };
}, { path, init });

const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const rand = () => Math.random().toString(36).slice(2, 10);
const first = { email: `pia-${rand()}@example.com`, password: `correct horse ${rand()}` };
const title = `Broken zipper ${rand()}`;
const description = "The zipper of my new jacket broke on the first day.\nCan you replace it?";
const canary = `CANARY-${rand()}${rand()}`;
let ticketId, publicId, internalId;

test("a customer signs in by an emailed link, sets a password, signs back in with it, and opens a ticket the team answers live", () => shooting("portal", async (pages) => {
  const { context, seen, open } = await customerBrowser(pages, { width: 1280, height: 820 });
  let page = await open(`${rapport.base}/portal/`);
  await page.waitForSelector("#signin [name=email]");
  // The team's name and colour.
  await page.waitForFunction((team) => document.getElementById("team").textContent === team, TEAM);
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector(".top")).backgroundColor), "rgb(15, 118, 110)");

  // 1. A sign-in link, opened from the email in a new tab.
  const link = await requestLink(page, first.email);
  await page.close();
  page = await open(link);
  await page.waitForSelector("#set-password:not([hidden]) [name=password]");
  assert.equal(new URL(page.url()).hash, "", "the link's token leaves the address bar");
  assert.equal(await page.textContent("#who"), first.email);
  const linkToken = decodeURIComponent(new URL(link).hash.slice("#link=".length));
  const again = await fetchAs(page, "/api/v1/portal/link/redeem", { method: "POST", json: { token: linkToken } });
  assert.equal(again.status, 401, "a link works once");
  assert.equal(again.body?.error?.code, "link_invalid");

  // 2. A password: too short is refused beside the form, then saved.
  await page.fill("#set-password [name=password]", "short");
  await page.click("#set-password button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#set-password .error").textContent !== "");
  await page.fill("#set-password [name=password]", first.password);
  await page.click("#set-password button[type=submit]");
  await page.waitForSelector("#set-password", { state: "hidden" });
  assert.equal((await fetchAs(page, "/api/v1/portal/me")).body.has_password, true);

  // 3. Signing out ends the session; a wrong password is refused with the server's message.
  const oldToken = await token(page);
  await page.click("#signout");
  await page.waitForSelector("#signin [name=password]");
  assert.equal(await token(page), null);
  const stale = await page.evaluate(async (t) => (await fetch("/api/v1/portal/me", { headers: { "X-Rapport-Visitor": t } })).status, oldToken);
  assert.equal(stale, 401, "the signed-out token stops working");
  await page.fill("#signin [name=email]", first.email);
  await page.fill("#signin [name=password]", "not the password at all");
  await page.click("#signin button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#signin .error").textContent !== "");
  await page.fill("#signin [name=password]", first.password);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("#new-ticket");
  assert.equal(await page.isVisible("#set-password"), false, "a password sign-in offers no password");

  // 4. A new ticket.
  await page.click("#new-ticket");
  await page.fill("#new-ticket-form [name=title]", title);
  await page.fill("#new-ticket-form [name=description]", description);
  await page.click("#new-ticket-form button[type=submit]");
  await page.waitForFunction((title) => document.querySelector("#ticket h1")?.textContent === title, title);
  assert.equal(await page.textContent("#messages .msg.request .text"), description);
  assert.equal(await page.evaluate(() => document.querySelector("#messages .msg").classList.contains("request")), true, "the request comes first");
  ticketId = Number(new URL(page.url()).hash.slice("#ticket=".length));
  assert.ok(ticketId > 0, page.url());
  await page.waitForSelector(`#tickets li[data-ticket-id="${ticketId}"]`);
  assert.match(await page.textContent(`#tickets li[data-ticket-id="${ticketId}"]`), /Open/);

  const item = await rapport.api(`/api/v1/items/${ticketId}`);
  assert.equal(item.channel, "portal");
  assert.equal(item.title, title);
  assert.ok(item.requester_id, "the customer is the requester");

  // 5. The customer writes more from the reply box, with a photo (it may start the public
  // conversation). The photo is fetched with the visitor header and shown inline.
  const more = `It is the big zipper in front ${rand()}`;
  await page.fill("#reply-form textarea[name=body]", more);
  await page.setInputFiles("#reply-form input[type=file]", { name: "zipper.png", mimeType: "image/png", buffer: Buffer.from(PIXEL, "base64") });
  await page.waitForSelector("#files >> text=zipper.png");
  await page.click("#reply-form button[type=submit]");
  await page.waitForSelector(`#messages .msg.mine[data-seq]:not(.pending) >> text=${more}`);
  await page.waitForFunction(() => document.querySelector("#messages .msg.mine:not(.pending) img[alt='zipper.png']")?.naturalWidth > 0);

  const conversations = await rapport.api(`/api/v1/items/${ticketId}/conversations`);
  publicId = conversations.find((c) => c.kind === "public")?.id;
  assert.ok(publicId, JSON.stringify(conversations));
  const history = await rapport.api(`/api/v1/conversations/${publicId}/messages?after=0`);
  assert.deepEqual(
    await page.$$eval("#messages .msg[data-seq]:not(.request)", (els) => els.map((e) => Number(e.dataset.seq))),
    history.map((m) => m.seq), "every public message, in order");
  for (const m of history.filter((m) => m.author.kind === "bot")) {
    assert.equal(await page.textContent(`#messages .msg[data-seq="${m.seq}"] .meta strong`), TEAM, "the bot speaks as the team");
  }

  // 6. The team: an internal note with a canary, then a public answer, which arrives live.
  const internal = conversations.find((c) => c.kind === "internal");
  if (internal) {
    internalId = internal.id;
    await rapport.api(`/api/v1/conversations/${internalId}/messages`, { method: "POST", json: { body: `Note: ${canary}` } });
  } else {
    const made = await rapport.api("/api/v1/conversations", { method: "POST", json: { kind: "internal", item_id: ticketId, message: { body: `Note: ${canary}` } } });
    internalId = made.conversation.id;
  }
  const answer = `We are sending a new jacket today ${rand()}`;
  const posted = await rapport.api(`/api/v1/conversations/${publicId}/messages`, { method: "POST", json: { body: answer } });
  await page.waitForSelector(`#messages .msg[data-seq="${posted.seq}"] >> text=${answer}`, { timeout: 8000 });
  assert.equal(await page.textContent(`#messages .msg[data-seq="${posted.seq}"] .meta strong`), "Ada Agent");
  assert.ok(seen.frames.some((f) => f.includes(answer)), "the answer came over the socket, not a poll");
  // Displayed in a visible page: marked seen.
  await eventually("the answer is marked seen", () => seen.requests.some((r) =>
    r.method === "POST" && r.url.endsWith(`/api/v1/widget/conversations/${publicId}/seen`) && JSON.parse(r.body).seq >= posted.seq));
  await page.screenshot({ path: join(shots, "portal-desktop.png"), animations: "disabled" });

  // 7. After a reload (history from the REST API), the list and the ticket still hold no canary.
  await page.reload();
  await page.waitForSelector(`#messages .msg[data-seq="${posted.seq}"]`);
  await page.waitForSelector(`#tickets li[data-ticket-id="${ticketId}"]`);
  const mine = await fetchAs(page, "/api/v1/widget/conversations");
  assert.ok(mine.body.some((c) => c.id === publicId), "the widget's list has the ticket's conversation");
  assert.ok(!mine.body.some((c) => c.id === internalId), "but not the internal one");
  assert.equal((await fetchAs(page, `/api/v1/widget/conversations/${internalId}/messages?after=0`)).status, 404);

  const text = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText);
  assert.ok(!text.includes(canary), "the internal note is nowhere in the page");
  const bodies = await Promise.all(seen.bodies);
  assert.ok(bodies.length > 10, `the responses were watched (${bodies.length})`);
  assert.ok(bodies.some((b) => b.text.includes(answer)), "the watch sees the messages' text");
  const leaks = bodies.filter((b) => b.text.includes(canary)).map((b) => b.url);
  assert.deepEqual(leaks, [], "no response the page received carries the internal note");
  assert.deepEqual(seen.frames.filter((f) => f.includes(canary)), [], "no socket frame carries it");
  assert.deepEqual(seen.csp, [], "nothing the page does breaks its Content Security Policy");
  await context.close();
}));

test("another customer does not see the first customer's ticket, on a phone", () => shooting("portal-other", async (pages) => {
  assert.ok(ticketId && publicId, "the first test made a ticket");
  const { context, seen, open } = await customerBrowser(pages, { width: 390, height: 844 });
  let page = await open(`${rapport.base}/portal/`);
  const link = await requestLink(page, `quinn-${rand()}@example.com`);
  await page.close();
  page = await open(link);
  // The password offer can be dismissed.
  await page.click("#set-password [data-dismiss]");
  await page.waitForSelector("#set-password", { state: "hidden" });
  await page.waitForSelector("#no-tickets:not([hidden])");
  assert.equal(await page.$(`#tickets li[data-ticket-id="${ticketId}"]`), null);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, "nothing sticks out on a phone");

  const direct = await fetchAs(page, `/api/v1/portal/tickets/${ticketId}`);
  assert.equal(direct.status, 404);
  assert.equal(direct.body?.error?.code, "ticket_not_found");
  const write = await fetchAs(page, `/api/v1/portal/tickets/${ticketId}/messages`, { method: "POST", json: { body: "let me in" } });
  assert.equal(write.status, 404);
  assert.equal((await fetchAs(page, `/api/v1/widget/conversations/${publicId}/messages?after=0`)).status, 404);
  const list = await fetchAs(page, "/api/v1/portal/tickets");
  assert.deepEqual(list.body, []);

  // Opening it by address shows no ticket either.
  await page.evaluate((id) => { location.hash = `ticket=${id}`; }, ticketId);
  await page.waitForFunction(() => /not found/i.test(document.getElementById("flash").textContent));
  assert.equal(await page.isVisible("#ticket"), false);
  await page.waitForSelector("#no-tickets:not([hidden])");

  // Its own ticket on a phone: the list gives way to the ticket, and back.
  await page.click("#new-ticket");
  await page.fill("#new-ticket-form [name=title]", "Where is my parcel?");
  await page.fill("#new-ticket-form [name=description]", "Ordered last week, nothing yet.");
  await page.click("#new-ticket-form button[type=submit]");
  await page.waitForSelector("#ticket h1 >> text=Where is my parcel?");
  assert.equal(await page.isVisible("#tickets"), false, "one pane at a time on a phone");
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
  await page.screenshot({ path: join(shots, "portal-phone.png"), animations: "disabled" });
  await page.click("#ticket .back");
  await page.waitForSelector("#tickets li[data-ticket-id]");
  assert.equal((await page.$$("#tickets li[data-ticket-id]")).length, 1);
  assert.deepEqual(seen.csp, []);
  await context.close();
}));

test("a reply sent while the server cannot be reached is marked not sent, and Retry sends it once; a refused one comes back to the reply box", () => shooting("portal-retry", async (pages) => {
  const { context, open } = await customerBrowser(pages, { width: 1280, height: 820 });
  let page = await open(`${rapport.base}/portal/`);
  const link = await requestLink(page, `rio-${rand()}@example.com`);
  await page.close();
  page = await open(link);
  await page.click("#set-password [data-dismiss]");
  await page.click("#new-ticket");
  await page.fill("#new-ticket-form [name=title]", "My order never came");
  await page.fill("#new-ticket-form [name=description]", "Order 1234, three weeks ago.");
  await page.click("#new-ticket-form button[type=submit]");
  await page.waitForSelector("#ticket h1 >> text=My order never came");
  const ticket = Number(new URL(page.url()).hash.slice("#ticket=".length));

  const posted = [];
  let mode = "offline";
  await page.route("**/api/v1/portal/tickets/*/messages", (route) => {
    if (route.request().method() !== "POST") return route.continue();
    posted.push(route.request().postDataJSON().client_id);
    if (mode === "offline") return route.abort("internetdisconnected");
    if (mode === "refused") return route.fulfill({ status: 422, contentType: "application/json", body: JSON.stringify({ error: { code: "invalid_message", message: "That reply cannot be sent here." } }) });
    return route.continue();
  });
  await page.fill("#reply-body", "Is anyone there?");
  await page.click("#reply-form button[type=submit]");
  await page.waitForSelector("#messages .msg.mine.pending.failed >> text=Is anyone there?");
  assert.match(await page.textContent("#messages .msg.failed .meta span"), /^Not sent · Retry$/);
  assert.match(await page.textContent("#reply-form .error"), /could not reach the server/);
  assert.equal(await page.inputValue("#reply-body"), "", "the reply waits in its bubble, not twice");
  await page.screenshot({ path: join(artifacts, "portal-not-sent.png"), animations: "disabled" });

  mode = "online";
  await page.click("#messages .msg.failed .retry");
  await page.waitForSelector("#messages .msg.mine[data-seq]:not(.pending) >> text=Is anyone there?");
  assert.equal(await page.$$eval("#messages .msg.pending", (n) => n.length), 0);
  assert.equal(await page.textContent("#reply-form .error"), "");
  assert.equal(posted.length, 2);
  assert.equal(posted[0], posted[1], "the retry is the same message");
  const conversations = await rapport.api(`/api/v1/items/${ticket}/conversations`);
  const publicThread = conversations.find((c) => c.kind === "public");
  const stored = await rapport.api(`/api/v1/conversations/${publicThread.id}/messages?after=0`);
  assert.equal(stored.filter((m) => m.body === "Is anyone there?").length, 1);

  mode = "refused";
  await page.fill("#reply-body", "Refused reply");
  await page.click("#reply-form button[type=submit]");
  await page.waitForSelector("#reply-form .error >> text=That reply cannot be sent here.");
  assert.equal(await page.inputValue("#reply-body"), "Refused reply");
  assert.equal(await page.$$eval("#messages .msg.pending", (n) => n.length), 0, "no bubble is left");
  await context.close();
}));
