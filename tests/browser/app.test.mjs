// The agents' messenger in real Chromium, with two agents and a customer.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, hostPage, launch, openWidget, artifacts, repo, PASSWORD, agentPage as sharedAgentPage, restVisitor } from "./lib.mjs";

let rapport, host, browser;
before(async () => {
  rapport = await startRapport();
  host = await hostPage(rapport.base);
  browser = await launch();
  await rapport.api("/api/v1/users", { method: "POST", json: { email: "bea@example.com", name: "Bea Agent", role: "agent", password: PASSWORD } });
});
after(async () => {
  await browser?.close();
  await host?.close();
  await rapport?.stop();
});

const shots = process.env.UPDATE_SCREENSHOTS ? join(repo, "docs", "screenshots") : artifacts;

const agentPage = (email = "agent@example.com", viewport) => sharedAgentPage(browser, rapport.base, email, viewport);

const visitor = () => restVisitor(rapport.base);



test("a new customer conversation appears live at the top of Open conversations with a badge", async () => {
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  const customerContext = await browser.newContext();
  const customerPage = await customerContext.newPage();
  await customerPage.goto(host.url);
  const frame = await openWidget(customerPage);
  await frame.fill("#text", "Where is my parcel?");
  await frame.press("#text", "Enter");
  await page.waitForFunction(() => document.querySelector("#entries li .preview")?.textContent === "Where is my parcel?");
  await page.waitForSelector("[data-count=open].unread");
  assert.ok(Number(await page.textContent("#entries li:first-child .count")) >= 1);
  // Answer it; the customer sees the reply live in the widget.
  await page.click("#entries li:first-child button");
  await page.fill("#reply", "It is on its way.");
  await page.click("#composer button[type=submit]");
  await frame.waitForSelector(".msg:not(.mine) >> text=It is on its way.");
  await page.screenshot({ path: join(shots, "app-conversation.png") });
  await customerContext.close();
  await context.close();
});

test("live changes move rows and set the badges without the app asking the server again", async () => {
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  const [ann, ben] = [await visitor(), await visitor()];
  const annConversation = await ann.say("Ann's first question");
  const benConversation = await ben.say("Ben's first question");
  await page.waitForFunction((id) => document.querySelector("#entries li:first-child button")?.dataset.id === String(id), benConversation);
  const asked = [];
  page.on("request", (r) => { if (/\/api\/v1\/conversations(\?|\/counts)/.test(r.url())) asked.push(r.url()); });
  const badge = (view) => page.textContent(`[data-count=${view}]`);
  const expected = async () => (await rapport.api("/api/v1/conversations/counts"));

  // Ann writes again: her row goes to the top with her words, and the badge follows.
  await ann.say("Ann again, still waiting");
  await page.waitForFunction((id) => {
    const first = document.querySelector("#entries li:first-child button");
    return first?.dataset.id === String(id) && first.querySelector(".preview").textContent === "Ann again, still waiting";
  }, annConversation);
  const counts = await expected();
  await page.waitForFunction((n) => document.querySelector("[data-count=open]").textContent === String(n), counts.open.unread);

  // Ben's conversation is closed elsewhere: it leaves Open, and Closed counts it.
  await rapport.api(`/api/v1/conversations/${benConversation}/close`, { method: "POST", json: {} });
  await page.waitForFunction((id) => !document.querySelector(`#entries button[data-id="${id}"]`), benConversation);
  const closed = (await expected()).closed.total;
  await page.waitForFunction((n) => document.querySelector("[data-count=closed]").textContent === String(n), closed);
  assert.equal(await badge("closed"), String(closed));
  assert.deepEqual(asked, [], "the frames carried the rows and the counts");
  await context.close();
});

test("an item waits in Unanswered items and moves to Open once answered", async () => {
  const { context, page } = await agentPage();
  const project = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Returns" } });
  const requester = await rapport.api("/api/v1/customers", { method: "POST", json: { name: "Carl", email: "carl@example.com" } });
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "ticket", title: "Broken lamp", description: "Arrived in pieces", requester_id: requester.id } });
  await page.click("[data-view=unanswered]");
  await page.waitForSelector("#entries >> text=Broken lamp");
  await page.click("#entries >> text=Broken lamp");
  await page.fill("#reply", "We will send a new one.");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=We will send a new one.");
  await page.click("[data-view=unanswered]");
  await page.waitForFunction(() => !document.querySelector("#entries")?.textContent.includes("Broken lamp"));
  await page.click("[data-view=open]");
  await page.waitForSelector("#entries >> text=We will send a new one.");
  const conversations = await rapport.api(`/api/v1/items/${item.id}/conversations`);
  assert.deepEqual(conversations.map((c) => [c.kind, c.customer_id]), [["public", requester.id]]);
  await context.close();
});

test("an internal note reaches followers under Internal messages and never the customer", async () => {
  const customer = await visitor();
  const conversation = await customer.say("My invoice is wrong");
  const ada = await agentPage();
  await ada.page.click("[data-view=open]");
  await ada.page.click(`#entries button[data-id="${conversation}"]`);
  await ada.page.click("#composer >> text=Make a ticket");
  await ada.page.waitForSelector("#toggle-follow");
  await ada.page.click("#composer .switch .internal");
  assert.match(await ada.page.getAttribute("#composer", "class"), /internal/);
  const canary = `canary-${Math.random().toString(36).slice(2)}`;
  await ada.page.fill("#reply", `Check with billing ${canary}`);
  await ada.page.click("#composer button[type=submit]");
  await ada.page.waitForSelector(`#thread .msg.internal >> text=Check with billing ${canary}`);
  await ada.page.screenshot({ path: join(shots, "app-internal.png") });

  const { item_id: item, project_id: project } = await rapport.api(`/api/v1/conversations/${conversation}`);
  const bea = await agentPage("bea@example.com");
  const users = await rapport.api("/api/v1/users");
  const beaId = users.find((u) => u.email === "bea@example.com").id;
  await rapport.api(`/api/v1/projects/${project}/members/${beaId}`, { method: "PUT" });
  await bea.page.click("[data-view=open]");
  await bea.page.click(`#entries button[data-id="${conversation}"]`);
  await bea.page.click("#toggle-follow");
  await bea.page.waitForSelector("#toggle-follow >> text=Unfollow");
  await bea.page.click("[data-view=internal]");
  await bea.page.waitForSelector(`#entries >> text=Check with billing ${canary}`);
  assert.ok((await rapport.api(`/api/v1/items/${item}`)).followers.includes(beaId));

  // The customer's side: the widget's API never shows the note.
  const messages = await (await fetch(`${rapport.base}/api/v1/widget/conversations/${conversation}/messages`, { headers: { "x-rapport-visitor": customer.token } })).text();
  assert.ok(messages.includes("My invoice is wrong"), messages);
  assert.ok(!messages.includes(canary));
  await ada.context.close();
  await bea.context.close();
});

async function hide(page, hidden) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test("the tab title flashes with the count while the tab is hidden, with a sound", async () => {
  const { context, page } = await agentPage();
  await hide(page, true);
  const customer = await visitor();
  await customer.say("Anyone there?");
  await page.waitForFunction(() => /^\(1\)/.test(document.title));
  assert.ok(await page.evaluate(() => window.__rapportBeeps >= 1), "a sound played");
  await hide(page, false);
  await page.waitForFunction(() => document.title === "Rapport");
  await context.close();
});

test("preferences turn the sound and the badge off, and can hide From customers", async () => {
  const { context, page } = await agentPage("bea@example.com");
  await page.click("#open-settings");
  await page.uncheck("#prefs [name=sound]");
  await page.selectOption("#prefs [name=notify_customer_replies]", "none");
  await page.check("#prefs [name=hide_from_customers]");
  await page.click("#prefs button[value=save]");
  await page.waitForSelector("#from-customers", { state: "hidden" });
  await page.waitForFunction(() => document.querySelector("#list-title").textContent === "Customer replies");
  await page.evaluate(() => { window.__rapportBeeps = 0; });
  const customer = await visitor();
  await customer.say("Hello quiet agent");
  await page.waitForTimeout(800);
  assert.equal(await page.evaluate(() => window.__rapportBeeps), 0);
  assert.equal(await page.$("[data-count=open].unread, [data-count=customer_replies].unread"), null, "no unread badge for customer replies");
  // And back on.
  await page.click("#open-settings");
  await page.check("#prefs [name=sound]");
  await page.uncheck("#prefs [name=hide_from_customers]");
  await page.selectOption("#prefs [name=notify_customer_replies]", "both");
  await page.click("#prefs button[value=save]");
  await page.waitForSelector("#from-customers", { state: "visible" });
  await context.close();
});

test("closing moves a conversation to Closed and reopening brings it back", async () => {
  const customer = await visitor();
  const id = await customer.say("Please close me");
  const { context, page } = await agentPage();
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${id}"]`);
  await page.click("#toggle-status");
  await page.waitForFunction((id) => !document.querySelector(`#entries button[data-id="${id}"]`), id);
  await page.click("[data-view=closed]");
  await page.waitForSelector(`#entries button[data-id="${id}"]`);
  await page.click(`#entries button[data-id="${id}"]`);
  await page.keyboard.press("e");
  await page.waitForFunction((id) => !document.querySelector(`#entries button[data-id="${id}"]`), id);
  await page.click("[data-view=open]");
  await page.waitForSelector(`#entries button[data-id="${id}"]`);
  await context.close();
});

test("search finds a message by a word and never returns an internal one to someone who may not see it", async () => {
  const project = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Private" } });
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "task", title: "Payroll" } });
  await rapport.api("/api/v1/conversations", { method: "POST", json: { kind: "internal", item_id: item.id, message: { body: "zebrafish salary note" } } });
  const customer = await visitor();
  await customer.say("I love zebrafish");
  const { context, page } = await agentPage("bea@example.com");
  await page.fill("#search input", "zebra");
  await page.press("#search input", "Enter");
  await page.waitForSelector("#entries >> text=I love zebrafish");
  assert.ok(!(await page.textContent("#entries")).includes("salary"));
  await context.close();
  const ada = await agentPage();
  await ada.page.fill("#search input", "zebra");
  await ada.page.press("#search input", "Enter");
  await ada.page.waitForSelector("#entries >> text=zebrafish salary note");
  await ada.context.close();
});

test("on a phone the messenger shows one pane at a time", async () => {
  const { context, page } = await agentPage("agent@example.com", { width: 390, height: 844 });
  assert.ok(await page.isVisible("#list"));
  assert.ok(!(await page.isVisible("#nav")));
  await page.click("#entries li:first-child button");
  await page.waitForSelector("#pane header");
  assert.ok(!(await page.isVisible("#list")));
  await page.screenshot({ path: join(shots, "app-phone.png") });
  await context.close();
});

test("an agent deactivated while the app is open is shown the sign-in page at once", async () => {
  const user = await rapport.api("/api/v1/users", { method: "POST", json: { email: "dee@example.com", name: "Dee Agent", role: "agent", password: PASSWORD } });
  const { context, page } = await agentPage("dee@example.com");
  await rapport.api(`/api/v1/users/${user.id}`, { method: "PATCH", json: { active: false } });
  await page.waitForSelector("#login:not([hidden])");
  await context.close();
});

test("an agent removed from a project while reading one of its conversations is told at once", async () => {
  const project = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Secret lab" } });
  const user = await rapport.api("/api/v1/users", { method: "POST", json: { email: "eve@example.com", name: "Eve Agent", role: "agent", password: PASSWORD } });
  await rapport.api(`/api/v1/projects/${project.id}/members/${user.id}`, { method: "PUT" });
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "task", title: "Formula" } });
  const note = await rapport.api("/api/v1/conversations", { method: "POST", json: { kind: "internal", item_id: item.id, message: { body: "the formula is secret" } } });
  const { context, page } = await agentPage("eve@example.com");
  await page.goto(`${rapport.base}/app/#conversation/${note.conversation.id}`);
  await page.waitForSelector("text=the formula is secret");
  await page.waitForSelector("html[data-live]", { state: "attached" });
  await rapport.api(`/api/v1/projects/${project.id}/members/${user.id}`, { method: "DELETE" });
  await page.waitForSelector("text=You no longer have access to this conversation.");
  assert.equal(await page.locator("text=the formula is secret").count(), 0);
  await context.close();
});
