// A fresh install, in real Chromium: the first admin's install already has a project, so a chat
// becomes a ticket at once; with no SMTP server set, Admin → Health and a notice in the app say
// so plainly and how to set it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startRapport, launch, agentPage, restVisitor, shooting } from "./lib.mjs";

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

test("a fresh install has a project, so an agent can make a ticket at once", () => shooting("first-run-ticket", async (pages) => {
  const visitor = await restVisitor(rapport.base);
  const conversation = await visitor.say("My order never came");
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com");
  pages.push(page);
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${conversation}"]`);
  await page.click("#composer >> text=Make a ticket");
  await page.waitForSelector("#toggle-follow");
  assert.equal(await page.textContent("#composer .error").catch(() => ""), "", "no 'create a project first'");
  const items = await rapport.api("/api/v1/items?kind=ticket");
  assert.equal(items.entries.length, 1, "the chat became a ticket");
  await context.close();
}));

test("health says plainly that email is not set up and how to set it", () => shooting("first-run-health", async (pages) => {
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com");
  pages.push(page);
  // The notice in the app, for admins.
  await page.waitForSelector("#setup-notice:not([hidden]) >> text=Email is not set up");
  assert.match(await page.textContent("#setup-notice"), /RAPPORT_SMTP_URL/);
  // Admin → Health: still all is well, with what is not set up apart.
  await page.goto(`${rapport.base}/app/#admin/health`);
  await page.waitForSelector("#health-status.ok >> text=All is well");
  const setup = await page.textContent("#health-setup");
  assert.match(setup, /Not set up yet/);
  assert.match(setup, /Email is not set up: set smtp_url \(RAPPORT_SMTP_URL\)/);
  assert.match(setup, /sign-in link/);
  await context.close();
}));

test("closing a conversation updates the details panel", () => shooting("first-run-close", async (pages) => {
  const visitor = await restVisitor(rapport.base);
  const conversation = await visitor.say("Please close me");
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com");
  pages.push(page);
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${conversation}"]`);
  await page.waitForSelector(`#details >> text=#${conversation} · open`);
  await page.click("#toggle-status");
  await page.waitForSelector(`#details >> text=#${conversation} · closed`);
  await context.close();
}));

test("a new agent's name shows in Followers", () => shooting("first-run-followers", async (pages) => {
  const [project] = await rapport.api("/api/v1/projects");
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "task", title: "Count the spoons" } });
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com");
  pages.push(page);
  await page.goto(`${rapport.base}/app/#item/${item.id}`);
  await page.waitForSelector("#details, .followers");
  await page.waitForSelector(".followers");
  // Made after the app loaded its team, then assigned (so following).
  const cy = await rapport.api("/api/v1/users", { method: "POST", json: { email: "cy@example.com", name: "Cy Newcomer", role: "agent", password: "browser test password" } });
  await rapport.api(`/api/v1/items/${item.id}`, { method: "PATCH", json: { assignee_id: cy.id } });
  await page.waitForSelector(".followers >> text=Cy Newcomer");
  assert.doesNotMatch(await page.textContent(".followers"), /User #/);
  await context.close();
}));

test("a visitor's name appears in the agent's list and header as soon as they give it", () => shooting("first-run-name", async (pages) => {
  const visitor = await restVisitor(rapport.base);
  const conversation = await visitor.say("Hello, anyone?");
  const { page, context } = await agentPage(browser, rapport.base, "agent@example.com");
  pages.push(page);
  await page.click("[data-view=open]");
  await page.click(`#entries button[data-id="${conversation}"]`);
  // Before: whatever the app calls an anonymous visitor ("Visitor", or a friendly made-up name).
  await page.waitForFunction(() => /\S/.test(document.querySelector("#pane > header h1")?.textContent || ""));
  assert.doesNotMatch(await page.textContent("#pane > header h1"), /Dora Named|#\d/);
  const res = await fetch(`${rapport.base}/api/v1/widget/identify`, {
    method: "POST", headers: { "content-type": "application/json", "x-rapport-visitor": visitor.token }, body: JSON.stringify({ name: "Dora Named" }),
  });
  assert.ok(res.ok, `identify: ${res.status}`);
  await page.waitForSelector("#pane > header h1 >> text=Dora Named");
  await page.waitForSelector(`#entries button[data-id="${conversation}"] >> text=Dora Named`);
  await page.waitForSelector("#details >> text=Dora Named");
  await context.close();
}));
