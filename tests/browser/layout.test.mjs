// The main screens keep their layout on a phone (390×844) and on a desktop (1280×800), with the
// demo data (demo.mjs): nothing scrolls sideways, nothing covers the box people write in, and
// every control on screen can be clicked where it is drawn and reached with Tab.
// The screens and the checks are in layout.mjs.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts } from "./lib.mjs";
import {
  demoSession, newContext, screen, PHONE, DESKTOP,
  sidewaysOverflow, composerCovered, unreachableByPointer, unreachableByTab,
} from "./layout.mjs";

/** The screens held to the guarantees, as a person would name them. */
const CHECKED = [
  ["app-inbox-list", "the inbox"],
  ["app-inbox", "an open conversation"],
  ["app-item", "an open ticket"],
  ["app-items", "the list of tickets and tasks"],
  ["app-settings", "an agent's settings"],
  ["app-admin", "the admin area"],
  ["widget-open", "the open chat widget"],
  ["portal", "the customer portal"],
  ["form", "a web form"],
];
const SIZES = [["on a phone", PHONE], ["on a desktop", DESKTOP]];

let session;
before(async () => { session = await demoSession(); });
after(async () => { await session?.stop(); });

for (const [name, what] of CHECKED) {
  for (const [where, viewport] of SIZES) {
    describe(`${what} ${where}`, () => {
      const s = screen(name);
      let context, page, doc;
      before(async () => {
        context = await newContext(session, { viewport, frozen: false });
        ({ page, doc } = await s.open(session, context));
      });
      after(async () => { await context?.close(); });
      /** On failure, keeps what the screen looked like. */
      const keep = async (problems) => {
        if (problems.length) await page.screenshot({ path: join(artifacts, `layout-${name}-${viewport.width}.png`), fullPage: true }).catch(() => {});
        return problems;
      };

      test(`${what} never scrolls sideways ${where}`, async () => {
        assert.deepEqual(await keep(await sidewaysOverflow(doc)), []);
      });
      if (s.composer) {
        test(`nothing covers the reply box of ${what} ${where}`, async () => {
          assert.deepEqual(await keep(await composerCovered(doc, s.composer(doc))), []);
        });
      }
      test(`every control of ${what} can be clicked where it is drawn ${where}`, async () => {
        assert.deepEqual(await keep(await unreachableByPointer(doc)), []);
      });
      test(`every control of ${what} can be reached with Tab ${where}`, async () => {
        assert.deepEqual(await keep(await unreachableByTab(page, doc)), []);
      });
    });
  }
}
