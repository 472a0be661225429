// Automations in real Chromium: an admin changes the bot's reply and turns on the close-ticket
// email in Admin → Automations, and the running server behaves differently at once.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRapport, hostPage, launch, openWidget, artifacts, repo, smtpSink, eventually, shooting, logIn } from "./lib.mjs";

const shots = process.env.UPDATE_SCREENSHOTS ? join(repo, "docs", "screenshots") : artifacts;

let rapport, host, browser, smtp;
before(async () => {
  // Without an SMTP server Rapport drops the mail rules leave: give it one that keeps it.
  smtp = await smtpSink();
  process.env.RAPPORT_SMTP_URL = `smtp://127.0.0.1:${smtp.port}`;
  process.env.RAPPORT_SMTP_FROM = "support@example.com";
  rapport = await startRapport();
  host = await hostPage(rapport.base);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await host?.close();
  await rapport?.stop();
  smtp?.close();
});

async function adminPage(pages, viewport = { width: 1400, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pages.push(page);
  page.on("pageerror", (e) => { throw e; });
  page.on("dialog", (d) => d.accept());
  await logIn(page, rapport.base, "agent@example.com");
  await page.goto(`${rapport.base}/app/#admin/automations`);
  await page.waitForSelector("#admin table.rules");
  return { context, page };
}

/** Draws Admin → Automations anew, as the server holds it now. */
async function openAutomations(page) {
  await page.click("#admin .admin-nav a[data-section=automations]");
  await page.waitForSelector("#admin table.rules");
}

const rule = async (template) => (await rapport.api("/api/v1/rules")).find((r) => r.template === template);


const reply = `Hello from the new rule ${Math.random().toString(36).slice(2)}`;
let conversationId;

test("an admin changes the bot's reply and turns on the close notice, and both take effect at once", () => shooting("automations", async (pages) => {
  const { context, page } = await adminPage(pages);
  const auto = await rule("auto_reply");
  const close = await rule("close_notice");
  assert.ok(auto?.enabled && close && !close.enabled, "the defaults: auto-reply on, close notice off");

  // 1. The bot's reply.
  await page.click(`[aria-label="Edit: ${auto.name}"]`);
  await page.fill("#admin textarea[aria-label='Reply text']", reply);
  await page.click("#admin .rule-editor button.primary");
  await page.waitForSelector("#admin table.rules");
  const saved = await rule("auto_reply");
  assert.deepEqual(saved.actions, [{ kind: "bot_reply", text: reply }]);
  assert.deepEqual(saved.conditions, auto.conditions, "the editor keeps the conditions it did not touch");
  assert.deepEqual(saved.trigger, auto.trigger);

  // 2. The close notice, by its checkbox.
  await page.check(`[aria-label="Enabled: ${close.name}"]`);
  await eventually("the close notice is enabled", async () => (await rule("close_notice")).enabled);

  // 3. A customer starts a conversation in the widget and gets the new reply from the bot.
  const customerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const customerPage = await customerContext.newPage();
  pages.push(customerPage);
  await customerPage.goto(host.url);
  const frame = await openWidget(customerPage);
  await frame.fill("#text", "Is anyone reading this?");
  await frame.press("#text", "Enter");
  await frame.waitForSelector(`.msg:not(.mine) >> text=${reply}`);
  conversationId = (await rapport.api("/api/v1/conversations?view=open")).entries[0].id;
  await customerContext.close();

  // 4. A known customer's ticket is closed: the close rule acts and emails them.
  const email = `dora-${Date.now()}@example.com`;
  const customer = await rapport.api("/api/v1/customers", { method: "POST", json: { name: "Dora", email } });
  const project = await rapport.api("/api/v1/projects", { method: "POST", json: { name: "Repairs" } });
  const item = await rapport.api("/api/v1/items", { method: "POST", json: { project_id: project.id, kind: "ticket", title: "Squeaky door", requester_id: customer.id } });
  await rapport.api(`/api/v1/items/${item.id}/status`, { method: "POST", json: { status: "closed" } });
  await eventually("the run log shows the close rule acted", async () => {
    await openAutomations(page);
    return page.$(`#admin table.runs tr:has(td:text-is("${close.name}")):has(td.outcome:text-is("acted"))`);
  }, 20);
  await page.screenshot({ path: join(shots, "app-automations.png") });
  const queued = await eventually("an email to the customer in the outbox", async () => {
    const to = (await rapport.api("/api/v1/email/outbox")).filter((m) => m.to.includes(email));
    return to.length ? to : null;
  });
  const sent = await eventually("the email reaches the SMTP server", () => smtp.mails().find((m) => m.to.includes(email)));
  assert.match(sent.data, /Squeaky door/);
  await new Promise((ok) => setTimeout(ok, 500));
  assert.equal((await rapport.api("/api/v1/email/outbox")).filter((m) => m.to.includes(email)).length, 1, JSON.stringify(queued));
  assert.equal(smtp.mails().filter((m) => m.to.includes(email)).length, 1);
  await context.close();
}));

test("a dry run of the auto-reply shows what it would have done to the conversation just started", () => shooting("automations-dry-run", async (pages) => {
  assert.ok(conversationId, "the first test started a conversation");
  const { context, page } = await adminPage(pages);
  const auto = await rule("auto_reply");
  await page.click(`[aria-label="Edit: ${auto.name}"]`);
  await page.click("#admin .rule-editor >> text=Dry run");
  await page.waitForSelector(`#admin .dry-run li[data-conversation="${conversationId}"]`);
  const matched = await page.$(`#admin .dry-run li.matched[data-conversation="${conversationId}"]`);
  assert.ok(matched, await page.textContent("#admin .dry-run"));
  assert.match(await matched.textContent(), /Matched: yes/);
  // Nothing changed: the rule is as saved.
  assert.deepEqual(await rule("auto_reply"), auto);
  await page.click("#admin .rule-editor >> text=Cancel");
  await page.waitForSelector("#admin table.rules");
  await context.close();
}));

test("a new rule is refused with the server's reason, then saved, and deleted", () => shooting("automations-new-rule", async (pages) => {
  const { context, page } = await adminPage(pages, { width: 390, height: 844 });
  const before = await rapport.api("/api/v1/rules");
  await page.click("#admin >> text=New rule");
  await page.fill("#admin .rule-editor [name=name]", "Note every closed item");
  await page.selectOption("#admin .rule-editor [aria-label=Trigger]", "item_closed");
  await page.selectOption("#admin .rule-editor [aria-label=Action]", "internal_note");
  await page.fill("#admin textarea[aria-label='Note text']", "Closed {{no.such.variable}}");
  await page.click("#admin .rule-editor button.primary");
  await page.waitForFunction(() => /no\.such\.variable/.test(document.querySelector("#admin .rule-editor [role=alert]").textContent));
  // The editor fits a phone: nothing sticks out of the page's column.
  const outside = await page.evaluate(() => {
    const right = document.querySelector("#admin-body").getBoundingClientRect().right;
    return [...document.querySelectorAll("#admin-body *")].filter((e) => e.getBoundingClientRect().right > right + 1).map((e) => e.outerHTML.slice(0, 80));
  });
  assert.deepEqual(outside, []);
  await page.screenshot({ path: join(artifacts, "automations-editor-phone.png") });

  await page.fill("#admin textarea[aria-label='Note text']", "Closed: {{item.title}}");
  await page.click("#admin .rule-editor button.primary");
  await page.waitForSelector(`[aria-label="Enabled: Note every closed item"]`);
  const made = (await rapport.api("/api/v1/rules")).find((r) => r.name === "Note every closed item");
  assert.deepEqual([made.trigger, made.actions], [{ kind: "item_closed" }, [{ kind: "internal_note", text: "Closed: {{item.title}}" }]]);

  await page.click(`[aria-label="Delete: Note every closed item"]`);
  await page.waitForFunction(() => !document.querySelector(`[aria-label="Enabled: Note every closed item"]`));
  assert.deepEqual((await rapport.api("/api/v1/rules")).map((r) => r.id), before.map((r) => r.id));
  await context.close();
}));

test("business hours are saved, and a wrong time zone is refused with the server's message", () => shooting("automations-hours", async (pages) => {
  const { context, page } = await adminPage(pages);
  const form = "#admin form.business-hours";
  const original = await rapport.api("/api/v1/settings/business-hours");
  await page.fill(`${form} [name=timezone]`, "Not/AZone");
  await page.click(`${form} button.primary`);
  await page.waitForFunction((form) => document.querySelector(`${form} [role=alert]`).textContent.trim() !== "", form);

  await page.fill(`${form} [name=timezone]`, "Europe/Lisbon");
  const rows = (await page.$$(`${form} .rule-row`)).length;
  await page.click(`${form} >> text=Add hours`);
  await page.selectOption(`${form} .rule-row:last-of-type [aria-label=Day]`, "sat");
  await page.fill(`${form} .rule-row:last-of-type [aria-label=Opens]`, "10:00");
  await page.fill(`${form} .rule-row:last-of-type [aria-label=Closes]`, "12:30");
  await page.click(`${form} button.primary`);
  await page.waitForSelector(`${form} .saved >> text=Saved`);
  const saved = await rapport.api("/api/v1/settings/business-hours");
  assert.equal(saved.timezone, "Europe/Lisbon");
  assert.equal(saved.enabled, original.enabled);
  assert.equal(saved.hours.length, rows + 1);
  assert.ok(saved.hours.some((x) => x.day === "sat" && x.open === "10:00" && x.close === "12:30"), JSON.stringify(saved.hours));
  await rapport.api("/api/v1/settings/business-hours", { method: "PUT", json: original });
  await context.close();
}));
