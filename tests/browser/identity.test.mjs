// One person, one customer (issue 17, defect 8): a visitor leaves their details in the widget,
// the team makes a ticket of the chat, and when the visitor later signs in to the portal with a
// link emailed to that address, the portal lists that ticket with the chat in it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startRapport, hostPage, launch, openWidget, eventually, smtpSink } from "./lib.mjs";

let rapport, host, browser, smtp;
before(async () => {
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

const rand = () => Math.random().toString(36).slice(2, 10);

test("contact details left in the widget, then a portal sign-in with the same address, show the earlier ticket and chat in the portal", async () => {
  const email = `noor-${rand()}@example.com`;
  const question = `Where is my refund for order ${rand()}?`;

  // 1. In the widget on the shop's site: a question, then name and address in the contact form.
  const shop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await shop.newPage();
  await page.goto(host.url);
  const frame = await openWidget(page);
  await frame.fill("#text", question);
  await frame.press("#text", "Enter");
  await frame.waitForSelector(".msg.mine[data-seq]");
  await frame.waitForSelector("#identify:not([hidden]) [name=email]");
  await frame.fill("#identify [name=name]", "Noor");
  await frame.fill("#identify [name=email]", email);
  await frame.click("#identify button[type=submit]");
  await frame.waitForSelector("#identify", { state: "hidden" });
  const visitor = await frame.evaluate(() => localStorage.getItem("rapport.visitor"));
  const [chat] = await (await fetch(`${rapport.base}/api/v1/widget/conversations`, { headers: { "x-rapport-visitor": visitor } })).json();
  assert.ok(chat, "the chat is the visitor's");

  // 2. The team answers and makes a ticket of the chat.
  await rapport.api(`/api/v1/conversations/${chat.id}/messages`, { method: "POST", json: { body: "We are looking into it." } });
  const [project] = await rapport.api("/api/v1/projects");
  const title = `Refund ${rand()}`;
  const { item } = await rapport.api(`/api/v1/conversations/${chat.id}/ticket`, { method: "POST", json: { project_id: project.id, title } });

  // 3. Later, in another browser, the portal: a sign-in link to the same address.
  const elsewhere = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  let portal = await elsewhere.newPage();
  await portal.goto(`${rapport.base}/portal/`);
  await portal.fill("#signin [name=email]", email);
  await portal.click("#send-link");
  const mail = await eventually(`the sign-in email to ${email}`, () => smtp.mails().find((m) => m.to.includes(email) && /#link=/.test(m.text)), 75);
  const link = /https?:\/\/[^\s"'<>]+\/portal\/#link=[^\s"'<>&]+/.exec(mail.text)[0];
  await portal.close();
  portal = await elsewhere.newPage();
  await portal.goto(link);

  // 4. The portal lists the ticket, not "No tickets yet", and it holds the chat.
  await portal.waitForSelector(`#tickets li[data-ticket-id="${item.id}"]`);
  assert.equal(await portal.isVisible("#no-tickets"), false);
  assert.match(await portal.textContent(`#tickets li[data-ticket-id="${item.id}"]`), new RegExp(title));
  await portal.click(`#tickets li[data-ticket-id="${item.id}"] a`);
  await portal.waitForSelector(`#messages >> text=${question}`);
  await portal.waitForSelector("#messages >> text=We are looking into it.");

  // 5. The widget that only typed the address is not signed in as Noor: the chat left it.
  const left = await (await fetch(`${rapport.base}/api/v1/widget/conversations`, { headers: { "x-rapport-visitor": visitor } })).json();
  assert.deepEqual(left, [], "typing an address grants nothing");
  await shop.close();
  await elsewhere.close();
});
