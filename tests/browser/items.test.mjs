// Tickets and tasks in the agents' app, in real Chromium: the New item dialog with a requester,
// priority and assignment (the assignee sees it under Assigned to me), following, the item's two
// threads kept apart, closing and reopening, channel badges, and project membership.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, launch, artifacts, PASSWORD, eventually, logIn } from "./lib.mjs";

let rapport, browser, users, hardware, carl;
const ids = {};
before(async () => {
  rapport = await startRapport();
  browser = await launch();
  for (const [email, name] of [["bea@example.com", "Bea Agent"], ["cid@example.com", "Cid Agent"]]) {
    await rapport.api("/api/v1/users", { method: "POST", json: { email, name, role: "agent", password: PASSWORD } });
  }
  users = await rapport.api("/api/v1/users");
  for (const u of users) ids[u.email.split("@")[0]] = u.id;
  hardware = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Hardware" } });
  for (const who of ["bea", "cid"]) await rapport.api(`/api/v1/projects/${hardware.id}/members/${ids[who]}`, { method: "PUT" });
  carl = await rapport.api("/api/v1/customers", { method: "POST", json: { name: "Carl Requester", email: "carl@example.com" } });
});
after(async () => {
  await browser?.close();
  await rapport?.stop();
});

const pages = [];
/** Logs an agent in; page errors fail the test that opened the page. */
async function agentPage(email = "agent@example.com", viewport = { width: 1400, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e));
  pages.push(page);
  await logIn(page, rapport.base, email);
  return { context, page };
}

/** Runs a test's body; on failure keeps a screenshot of every page still open. */
function shooting(name, body) {
  return async (t) => {
    pages.length = 0;
    try {
      await body(t);
      for (const page of pages) assert.deepEqual(page.errors.map(String), [], "no errors in the page");
    } catch (e) {
      for (const [i, page] of pages.entries()) await page.screenshot({ path: join(artifacts, `items-${name}-${i}.png`), fullPage: true }).catch(() => {});
      throw e;
    } finally {
      for (const page of pages) await page.context().close().catch(() => {});
    }
  };
}


const item = (id) => rapport.api(`/api/v1/items/${id}`);
const threadText = (page) => page.textContent("#thread");
let battery; // the ticket the first test makes, used by the next ones

test("an admin creates an urgent ticket with a requester and assigns it; the assignee sees it under Assigned to me", shooting("create", async (t) => {
  const bea = await agentPage("bea@example.com");
  await bea.page.click("[data-view=items_mine]");
  await bea.page.waitForSelector("#list-title >> text=Assigned to me");
  assert.ok(!(await bea.page.textContent("#entries")).includes("Dead battery"));

  const { page } = await agentPage();
  await page.click("#new-item");
  await page.waitForSelector("#item-dialog[open]");
  await page.selectOption("#item-dialog [name=project_id]", { label: "Hardware" });
  await page.selectOption("#item-dialog [name=kind]", "ticket");
  await page.fill("#item-dialog [name=title]", "Dead battery");
  await page.fill("#item-dialog [name=description]", "The scooter's battery no longer charges.\nBought in May.");
  await page.fill("#item-dialog [name=requester_q]", "carl");
  await page.click("#item-dialog .requester-option >> text=Carl Requester");
  assert.match(await page.textContent("#item-dialog .requester-chosen"), /Carl Requester <carl@example\.com>/);
  await page.click("#item-dialog button[type=submit]");
  await page.waitForSelector("#item-dialog", { state: "hidden" });

  // The item page opens on the new ticket, and the list shows it.
  await page.waitForSelector("#item-top #item-title >> text=Dead battery");
  battery = (await rapport.api("/api/v1/items?status=open")).entries.find((i) => i.title === "Dead battery");
  assert.ok(battery, "the server has the ticket");
  assert.equal(battery.kind, "ticket");
  assert.equal(battery.channel, "app", "made in the agents' app");
  assert.equal(battery.requester_id, carl.id);
  assert.equal(battery.project_id, hardware.id);
  assert.equal(battery.priority, "normal");
  assert.ok(battery.followers.includes(ids.agent), "the creator follows it");
  assert.equal(await page.textContent("#item-top .channel"), "app");
  assert.match(await page.textContent("#item-head .requester"), /Carl Requester/);
  assert.match(await page.textContent("#item-head .requester"), /carl@example\.com/);
  assert.equal(await page.textContent("#item-head .project"), "Hardware");
  assert.match(await page.textContent("#item-head .description"), /no longer charges/);
  await page.waitForSelector(`#entries button[data-item="${battery.id}"][aria-current=true]`);
  assert.equal(await page.textContent(`#entries button[data-item="${battery.id}"] .channel`), "app");

  // Priority: urgent, marked in the list.
  await page.selectOption("#item-priority", "urgent");
  await eventually("the ticket is urgent", async () => (await item(battery.id)).priority === "urgent");
  await page.waitForSelector(`#entries button[data-item="${battery.id}"] .priority.p-urgent`);

  // Assigned to Bea, who then follows it.
  await page.selectOption("#item-assignee", String(ids.bea));
  const assigned = await eventually("Bea is the assignee", async () => {
    const now = await item(battery.id);
    return now.assignee_id === ids.bea && now;
  });
  assert.ok(assigned.followers.includes(ids.bea), "assigning makes the assignee a follower");
  await page.waitForFunction(() => document.querySelector("#item-head .followers")?.textContent.includes("Bea Agent"));
  await page.waitForSelector(`#entries button[data-item="${battery.id}"] .assignee >> text=Bea Agent`);

  // Bea's Assigned to me shows it: live (an item frame), or at least after a click.
  const row = `#entries button[data-item="${battery.id}"]`;
  const live = await bea.page.waitForSelector(row, { timeout: 5000 }).then(() => true, () => false);
  if (!live) {
    t.diagnostic("Assigned to me did not update live; clicking the view");
    await bea.page.click("[data-view=items_mine]");
    await bea.page.waitForSelector(row);
  }
  assert.ok(live, "Assigned to me updates live when the item frame arrives");
  assert.match(await bea.page.textContent(row), /Dead battery/);
  assert.ok(await bea.page.$(`${row} .priority.p-urgent`), "the urgent marker shows");
  assert.match(await bea.page.textContent(`${row} .requester`), /Carl Requester/);
  await bea.page.click(row);
  await bea.page.waitForSelector("#item-top #item-title >> text=Dead battery");
  assert.equal(await bea.page.inputValue("#item-assignee"), String(ids.bea));
  assert.equal(await bea.page.inputValue("#item-priority"), "urgent");

  // Renamed in place; Bea's open page follows live.
  await page.click("#item-title");
  await page.fill("#item-title-input", "Dead battery on scooter");
  await page.press("#item-title-input", "Enter");
  await page.waitForSelector("#item-title >> text=Dead battery on scooter");
  assert.equal((await item(battery.id)).title, "Dead battery on scooter");
  await bea.page.waitForSelector("#item-title >> text=Dead battery on scooter");
  await page.screenshot({ path: join(artifacts, "items-item-page.png") });
}));

test("following and unfollowing an item, seen live by the other agent", shooting("follow", async () => {
  assert.ok(battery, "the first test made the ticket");
  const bea = await agentPage("bea@example.com");
  await bea.page.click("[data-view=items_open]");
  await bea.page.click(`#entries button[data-item="${battery.id}"]`);
  await bea.page.waitForSelector("#toggle-follow >> text=Unfollow");
  const ada = await agentPage();
  await ada.page.click("[data-view=items_open]");
  await ada.page.click(`#entries button[data-item="${battery.id}"]`);
  await ada.page.waitForFunction(() => document.querySelector("#item-head .followers")?.textContent.includes("Bea Agent"));

  await bea.page.click("#toggle-follow");
  await bea.page.waitForSelector("#toggle-follow >> text=\"Follow\"");
  assert.ok(!(await item(battery.id)).followers.includes(ids.bea));
  await ada.page.waitForFunction(() => !document.querySelector("#item-head .followers")?.textContent.includes("Bea Agent"));

  await bea.page.click("#toggle-follow");
  await bea.page.waitForSelector("#toggle-follow >> text=Unfollow");
  assert.ok((await item(battery.id)).followers.includes(ids.bea));
  await ada.page.waitForFunction(() => document.querySelector("#item-head .followers")?.textContent.includes("Bea Agent"));
}));

test("an internal note and a customer reply land in two separate threads", shooting("threads", async () => {
  assert.ok(battery, "the first test made the ticket");
  const bea = await agentPage("bea@example.com");
  await bea.page.click("[data-view=items_mine]");
  await bea.page.click(`#entries button[data-item="${battery.id}"]`);
  await bea.page.waitForSelector("button[data-thread=public][aria-selected=true]");

  const { page } = await agentPage();
  await page.click("[data-view=items_open]");
  await page.click(`#entries button[data-item="${battery.id}"]`);
  await page.waitForSelector("button[data-thread=public][aria-selected=true]");
  const canary = `canary-${Math.random().toString(36).slice(2)}`;

  // The internal thread: coloured, labelled, its own composer.
  await page.fill("#reply", "A draft for the customer");
  await page.click("button[data-thread=internal]");
  await page.waitForSelector("button[data-thread=internal][aria-selected=true]");
  await page.waitForSelector(".thread-banner >> text=Only your team sees this");
  assert.match(await page.getAttribute("#composer", "class"), /internal/);
  assert.match(await page.getAttribute("#thread", "class"), /internal/);
  assert.equal(await page.inputValue("#reply"), "", "each thread has its own draft");
  await page.fill("#reply", `Check the charger first ${canary}`);
  await page.click("#composer button[type=submit]");
  await page.waitForSelector(`#thread .msg.internal >> text=Check the charger first ${canary}`);

  // The public thread: the draft is still there; the note is not.
  await page.click("button[data-thread=public]");
  await page.waitForSelector("button[data-thread=public][aria-selected=true]");
  assert.equal(await page.inputValue("#reply"), "A draft for the customer");
  assert.ok(!(await threadText(page)).includes(canary), "the internal note is not in the public thread");
  assert.ok(!(await page.$(".thread-banner.internal")));
  await page.fill("#reply", "We are sending you a new battery.");
  await page.click("#composer button[type=submit]");
  await page.waitForSelector("#thread >> text=We are sending you a new battery.");
  assert.ok(!(await threadText(page)).includes(canary));
  assert.equal(await page.$("#thread .msg.internal"), null, "no internal message in the public thread");

  // And back: the internal thread holds the note only.
  await page.click("button[data-thread=internal]");
  await page.waitForSelector(`#thread >> text=Check the charger first ${canary}`);
  assert.ok(!(await threadText(page)).includes("new battery"));
  await page.screenshot({ path: join(artifacts, "items-internal-thread.png") });

  // The server agrees: one public conversation with the requester, one internal.
  const conversations = await rapport.api(`/api/v1/items/${battery.id}/conversations`);
  const publicOne = conversations.find((c) => c.kind === "public");
  const internalOne = conversations.find((c) => c.kind === "internal");
  assert.ok(publicOne && internalOne, JSON.stringify(conversations));
  assert.equal(publicOne.customer_id, carl.id);
  const publicMessages = JSON.stringify(await rapport.api(`/api/v1/conversations/${publicOne.id}/messages?before=${Number.MAX_SAFE_INTEGER}&limit=50`));
  assert.ok(publicMessages.includes("new battery") && !publicMessages.includes(canary), publicMessages);

  // Bea, on the item's public thread, sees the internal thread's unread count, then the note.
  await bea.page.waitForFunction(() => Number(document.querySelector("button[data-thread=internal] b")?.textContent) >= 1);
  await bea.page.waitForSelector("#thread >> text=We are sending you a new battery.");
  assert.ok(!(await threadText(bea.page)).includes(canary));
  await bea.page.click("button[data-thread=internal]");
  await bea.page.waitForSelector(`#thread .msg.internal >> text=${canary}`);
  await bea.page.waitForFunction(() => document.querySelector("button[data-thread=internal] b")?.textContent === "");

  // Open conversations lists the public conversation with the item's title, priority and channel.
  await page.click("[data-view=open]");
  const row = `#entries button[data-id="${publicOne.id}"]`;
  await page.waitForSelector(`${row} .item-ref >> text=Ticket: Dead battery on scooter`);
  assert.ok(await page.$(`${row} .priority.p-urgent`));
  assert.equal(await page.textContent(`${row} .channel`), publicOne.channel);
  // Opened from there, the conversation has the item as its header.
  await page.click(row);
  await page.waitForSelector("#item-top #item-title >> text=Dead battery on scooter");
  await page.waitForSelector("button[data-thread=public][aria-selected=true]");
  await page.waitForSelector("#thread >> text=We are sending you a new battery.");
}));

test("closing an item moves it to Closed items and reopening brings it back", shooting("close", async () => {
  assert.ok(battery, "the first test made the ticket");
  const { page } = await agentPage();
  await page.click("[data-view=items_open]");
  const row = `#entries button[data-item="${battery.id}"]`;
  await page.click(row);
  await page.waitForSelector("#item-status >> text=Close item");
  await page.click("#item-status");
  await page.waitForSelector("#item-status >> text=Reopen item");
  assert.equal(await page.textContent("#item-status-badge"), "closed");
  assert.equal((await item(battery.id)).status, "closed");
  await page.waitForFunction((row) => !document.querySelector(row), row);
  await page.click("[data-view=items_closed]");
  await page.waitForSelector(row);
  assert.match(await page.textContent(`${row} .badge.status-closed`), /closed/);
  await page.click(row);
  await page.waitForSelector("#item-status >> text=Reopen item");
  // The keyboard: e closes or reopens the item in Tickets and tasks.
  await page.keyboard.press("e");
  await page.waitForSelector("#item-status >> text=Close item");
  assert.equal((await item(battery.id)).status, "open");
  await page.waitForFunction((row) => !document.querySelector(row), row);
  await page.click("[data-view=items_open]");
  await page.waitForSelector(row);
}));

test("a customer's chat shows its channel badge in the list and the pane", shooting("channel", async () => {
  const v = await (await fetch(`${rapport.base}/api/v1/widget/visitors`, { method: "POST" })).json();
  const started = await (await fetch(`${rapport.base}/api/v1/widget/conversations`, {
    method: "POST", headers: { "content-type": "application/json", "x-rapport-visitor": v.token },
    body: JSON.stringify({ message: { body: "Do you ship to Iceland?" } }),
  })).json();
  const id = started.conversation.id;
  const { page } = await agentPage();
  await page.click("[data-view=open]");
  await page.waitForSelector(`#entries button[data-id="${id}"]`);
  assert.equal(await page.textContent(`#entries button[data-id="${id}"] .channel`), "chat");
  await page.click(`#entries button[data-id="${id}"]`);
  await page.waitForSelector("#pane header .channel");
  assert.equal(await page.textContent("#pane header .channel"), "chat");
  assert.ok(await page.$("#toggle-status"), "a standalone conversation keeps its pane");
}));

test("an agent sees another project's items only with See conversations across projects", shooting("membership", async () => {
  const lab = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Secret lab" } });
  const secret = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: lab.id, kind: "task", title: "Secret prototype", priority: "high" } });
  assert.equal(secret.channel, "api", "made with a token");
  const { page } = await agentPage("cid@example.com");
  await page.click("[data-view=items_open]");
  await page.waitForSelector(`#entries button[data-item="${battery.id}"]`); // the list has loaded
  assert.equal(await page.$(`#entries button[data-item="${secret.id}"]`), null);
  assert.ok(!(await page.textContent("#entries")).includes("Secret prototype"));

  await page.click("#open-settings");
  await page.check("#prefs [name=see_all_projects]");
  await savePrefs(page);
  await page.click("[data-view=items_open]"); // Settings is a page: back to the list
  const row = `#entries button[data-item="${secret.id}"]`;
  await page.waitForSelector(row);
  assert.ok(await page.$(`${row} .priority.p-high`));
  assert.equal(await page.textContent(`${row} .channel`), "api");
  await page.click(row);
  await page.waitForSelector("#item-title >> text=Secret prototype");
  assert.equal(await page.textContent("#item-head .project"), "Secret lab");

  // And off again: the item leaves the list.
  await page.click("#open-settings");
  await page.uncheck("#prefs [name=see_all_projects]");
  await savePrefs(page);
  await page.click("[data-view=items_open]");
  await page.waitForFunction((row) => !document.querySelector(row), row);
}));

/** Saves the Settings page and waits for the server to have the preferences. */
async function savePrefs(page) {
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/v1/me/preferences") && r.request().method() === "PUT"),
    page.click("#prefs button[value=save]"),
  ]);
}

test("on a phone the item page and the New item dialog fit the screen", shooting("phone", async () => {
  const { page } = await agentPage("agent@example.com", { width: 390, height: 844 });
  await page.click("#list [data-back=nav]");
  await page.click("[data-view=items_open]");
  await page.click(`#entries button[data-item="${battery.id}"]`);
  await page.waitForSelector("#item-top #item-title");
  assert.ok(!(await page.isVisible("#list")));
  for (const sel of ["#item-priority", "#item-assignee", "#item-status", "button[data-thread=internal]", "#reply"]) {
    await page.locator(sel).scrollIntoViewIfNeeded();
    assert.ok(await page.isVisible(sel), sel);
  }
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `nothing sticks out sideways (${wide}px)`);
  await page.screenshot({ path: join(artifacts, "items-phone.png") });
  await page.click("#pane .back");
  await page.click("#list [data-back=nav]");
  await page.click("#new-item");
  await page.waitForSelector("#item-dialog[open]");
  const outside = await page.evaluate(() => {
    const right = Math.min(document.querySelector("#item-dialog").getBoundingClientRect().right, window.innerWidth);
    return [...document.querySelectorAll("#item-dialog *")].filter((e) => e.getBoundingClientRect().right > right + 1).map((e) => e.outerHTML.slice(0, 80));
  });
  assert.deepEqual(outside, []);
  await page.keyboard.press("Escape");
  await page.waitForSelector("#item-dialog", { state: "hidden" });
}));
