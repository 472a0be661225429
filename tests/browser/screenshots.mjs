// Regenerates the screenshot gallery in docs/screenshots/:
//
//     cargo build && node tests/browser/screenshots.mjs [NAME-FILTER]
//
// It starts target/debug/rapport on a temporary data dir, seeds the demo (demo.mjs: the same
// team, customers and conversations every time), and photographs every main screen in the
// light and the dark theme, writing NAME-light.png and NAME-dark.png and docs/screenshots/README.md
// (the gallery). The page clock is frozen and the API's times are moved to a fixed date
// (layout.mjs `freezeTime`), so the images change only when the design does. With a filter,
// only the shots whose name contains it are taken (the README is left as it is).
// Chromium: /usr/bin/chromium, or $CHROMIUM; the binary: $RAPPORT_BIN (see lib.mjs).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repo } from "./lib.mjs";
import { demoSession, newContext, screen, PHONE } from "./layout.mjs";

const WIDE = { width: 1440, height: 900 };
const LAPTOP = { width: 1280, height: 800 };

/** The gallery, in order: file name, the screen (layout.mjs SCREENS), the window, a caption. */
const SHOTS = [
  { name: "app-login", screen: "app-login", viewport: LAPTOP, caption: "Agents sign in" },
  { name: "app-inbox", screen: "app-inbox", viewport: WIDE, caption: "The inbox with a conversation open: the views, the list, the conversation with its ticket, the customer" },
  { name: "app-internal", screen: "app-internal", viewport: WIDE, caption: "An internal discussion beside a ticket" },
  { name: "app-item", screen: "app-item", viewport: WIDE, caption: "A ticket: priority, assignee, requester and its threads" },
  { name: "app-items", screen: "app-items", viewport: WIDE, caption: "Tickets and tasks: open items with priorities and assignees" },
  { name: "app-settings", screen: "app-settings", viewport: WIDE, caption: "An agent's own settings" },
  { name: "app-admin", screen: "app-admin", viewport: WIDE, caption: "Admin: the agents" },
  { name: "app-admin-projects", screen: "app-admin-projects", viewport: WIDE, caption: "Admin: projects and their members" },
  { name: "app-admin-widget", screen: "app-admin-widget", viewport: WIDE, caption: "Admin: the widget and its snippet" },
  { name: "app-admin-automations", screen: "app-admin-automations", viewport: WIDE, caption: "Admin: automations" },
  { name: "app-admin-forms", screen: "app-admin-forms", viewport: WIDE, caption: "Admin: web forms and the portal" },
  { name: "app-phone", screen: "app-inbox", viewport: PHONE, caption: "The agents' app on a phone, a conversation open" },
  { name: "app-phone-inbox", screen: "app-inbox-list", viewport: PHONE, caption: "The inbox on a phone" },
  { name: "widget-closed", screen: "widget-closed", viewport: LAPTOP, caption: "The chat launcher on a customer's site" },
  { name: "widget-open", screen: "widget-open", viewport: LAPTOP, caption: "The chat widget open: a conversation with a photo" },
  { name: "widget-phone", screen: "widget-open", viewport: PHONE, caption: "The chat widget on a phone" },
  { name: "portal", screen: "portal", viewport: LAPTOP, caption: "The customer portal, signed in, a ticket open" },
  { name: "portal-phone", screen: "portal", viewport: PHONE, caption: "The customer portal on a phone" },
  { name: "form", screen: "form", viewport: LAPTOP, caption: "A web form" },
];
const THEMES = ["light", "dark"];

const out = join(repo, "docs", "screenshots");
mkdirSync(out, { recursive: true });
const filter = process.argv[2];
const started = Date.now();
let taken = 0;
// Email as a configured team has it (nothing listens there: the demo sends nothing anyone reads).
process.env.RAPPORT_SMTP_URL ??= "smtp://127.0.0.1:9";
process.env.RAPPORT_SMTP_FROM ??= "support@fernhill.example";
const session = await demoSession();
const { identity_secret: secret } = await session.rapport.api("/api/v1/settings/widget");
/** What changes from run to run (the port, the widget's secret) is shown as a fixed example. */
const SAME_EVERY_TIME = [[session.rapport.base, "https://support.fernhill.example"], [secret, "demo-identity-secret-0123456789abcdef"]];

/** Fonts and images in place, and every conversation log showing its latest message (an image
 * that loads after the log scrolled down would otherwise leave it part way). */
async function settle(page) {
  for (const frame of page.frames()) {
    await frame.evaluate(() => document.fonts.ready);
    await frame.waitForFunction(() => [...document.images].every((i) => i.complete));
    // Messages that fade in are shown as they end up; every log at its bottom, and still there
    // a few frames later (a late line or image may grow it).
    await frame.waitForFunction(() => {
      for (const a of document.getAnimations()) if (a.effect?.getComputedTiming().endTime !== Infinity) a.finish();
      let moved = false;
      for (const log of document.querySelectorAll("[role=log]")) {
        for (let el = log; el; el = el.parentElement) {
          const scrolls = /auto|scroll/.test(getComputedStyle(el).overflowY) || el === document.scrollingElement;
          if (scrolls && el.scrollHeight - el.scrollTop - el.clientHeight > 1) { el.scrollTop = el.scrollHeight; moved = true; }
        }
      }
      window.__steadyFrames = moved ? 0 : (window.__steadyFrames ?? 0) + 1;
      return window.__steadyFrames >= 3;
    }, null, { polling: "raf" });
  }
}

async function stabilise(page) {
  for (const frame of page.frames()) {
    await frame.evaluate((pairs) => {
      const swap = (text) => pairs.reduce((t, [from, to]) => t.split(from).join(to), text);
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) if (pairs.some(([from]) => n.data.includes(from))) n.data = swap(n.data);
      for (const el of document.querySelectorAll("input, textarea")) if (pairs.some(([from]) => el.value.includes(from))) el.value = swap(el.value);
    }, SAME_EVERY_TIME).catch(() => {});
  }
}
try {
  for (const shot of SHOTS.filter((s) => !filter || s.name.includes(filter))) {
    for (const colorScheme of THEMES) {
      const context = await newContext(session, { viewport: shot.viewport, colorScheme });
      try {
        const { page } = await screen(shot.screen).open(session, context);
        // Fonts and images in place, and no caret or animation mid-way.
        await settle(page);
        await stabilise(page);
        const file = `${shot.name}-${colorScheme}.png`;
        await page.screenshot({ path: join(out, file), animations: "disabled", caret: "hide" });
        console.log(file);
        taken++;
      } finally {
        await context.close();
      }
    }
  }
} finally {
  await session.stop();
}

if (!filter) {
  const rows = SHOTS.map((s) => `### ${s.caption}\n\n| Light | Dark |\n| --- | --- |\n`
    + `| ![${s.caption}, light](${s.name}-light.png) | ![${s.caption}, dark](${s.name}-dark.png) |\n`);
  writeFileSync(join(out, "README.md"), `# Screenshots

Every main screen of Rapport with the demo data (\`tests/browser/demo.mjs\`), in the light and the
dark theme. Regenerate them all with \`node tests/browser/screenshots.mjs\` after \`cargo build\`;
the screens are listed in one table at the top of that script.

${rows.join("\n")}`);
}
console.log(`${taken} screenshots in ${Math.round((Date.now() - started) / 1000)} s`);
