// Measures sign-in to the first painted list in real Chromium, on a database you give it (the
// history `rapport-bench history --data-dir DIR` seeded), against an empty one beside it:
//
//     cargo build --release && RAPPORT_BIN=target/release/rapport \
//         node tests/browser/first_paint.mjs DIR [RUNS]
//
// Each run opens a fresh context (no cache, no cookies), fills the sign-in form as the bench's
// admin, lets the fetches that typing starts finish (as a person's typing would) and times from
// the click to the first row of Open conversations painted (the first animation frame after
// the row is in the page). Prints the median and the worst of RUNS runs
// (default 7) per database, as JSON. A benchmark, not a test: nothing here asserts a time.
// The bench's accounts have a cheap password hash (argon2 with 1 MiB), and so does the empty
// side's admin here: the figures leave out the default hash's own cost (19 MiB, tens of ms).

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, launch, repo } from "./lib.mjs";

const binary = process.env.RAPPORT_BIN || join(repo, "target", "release", "rapport");
const [dir, runs = "7"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node tests/browser/first_paint.mjs DATA_DIR [RUNS]");
  process.exit(2);
}
// The bench's admin (src/bin/rapport-bench/server.rs).
const EMAIL = "bench@example.com";
const PASSWORD = "bench password";

async function serve(dataDir) {
  const listen = `127.0.0.1:${await freePort()}`;
  const proc = spawn(binary, ["serve", "--listen", listen, "--data-dir", dataDir], {
    env: { ...process.env, RAPPORT_LOG: "warn" }, stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://${listen}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch {}
    if (i > 400) throw new Error("rapport did not start");
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return { base, stop: () => new Promise((ok) => { proc.once("exit", ok); proc.kill("SIGTERM"); }) };
}

async function measure(browser, base) {
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${base}/app/`);
    await page.fill("#login [name=email]", EMAIL);
    await page.fill("#login [name=password]", PASSWORD);
    // A person takes a few seconds to type; the app's modules are fetched meanwhile.
    await page.waitForLoadState("networkidle");
    const started = await page.evaluate(() => performance.now());
    await page.click("#login button");
    const painted = await page.evaluate(() => new Promise((ok) => {
      const check = () => document.querySelector("#entries li button.entry") ? requestAnimationFrame(() => ok(performance.now())) : requestAnimationFrame(check);
      check();
    }));
    times.push(painted - started);
    await context.close();
  }
  times.sort((a, b) => a - b);
  return { median_ms: Math.round(times[times.length >> 1]), worst_ms: Math.round(times[times.length - 1]), runs: times.length };
}

// The empty side: the same admin, no conversations but one (a list has a row to paint).
const empty = mkdtempSync(join(tmpdir(), "rapport-paint-"));
const made = spawnSync(binary, ["admin", "create", "--data-dir", empty, "--email", EMAIL, "--name", "Bench Admin", "--password-stdin"],
  { input: PASSWORD + "\n", env: { ...process.env, RAPPORT_PASSWORD_MEMORY_KIB: "1024" } });
if (made.status !== 0) throw new Error(`admin create failed: ${made.stderr}`);
const browser = await launch();
const out = {};
for (const [name, dataDir] of [["empty", empty], ["history", dir]]) {
  const server = await serve(dataDir);
  if (name === "empty") {
    const v = await (await fetch(`${server.base}/api/v1/widget/visitors`, { method: "POST" })).json();
    await fetch(`${server.base}/api/v1/widget/conversations`, { method: "POST", headers: { "content-type": "application/json", "x-rapport-visitor": v.token }, body: JSON.stringify({ message: { body: "Hello" } }) });
  }
  out[name] = await measure(browser, server.base);
  await server.stop();
}
await browser.close();
console.log(JSON.stringify({ scenario: "sign_in_to_first_painted_list", ...out }));
