// Accessibility of every page, checked with axe-core (WCAG 2.1 A/AA rules: labels, contrast,
// landmarks, ARIA) in headless Chromium, on the demonstration registry; and the assessment form
// used with the keyboard alone on a ward-tablet screen (768 × 1024).
// Serious or critical violations fail the test.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startServer, launch, signIn } from "./harness.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

let server;
let browser;

before(async () => {
  server = await startServer(
    [
      ["dr.li", "clinician", "clinician-pass-123"],
      ["nurse.wang", "coordinator", "coordinator-pass-123"],
      ["it.admin", "admin", "administrator-pass-123"],
    ],
    { seedDemo: true },
  );
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** axe violations of impact serious/critical on the current page. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  // axe really ran: it found rules that passed (labels, contrast, landmarks …).
  assert.ok(result.passes.length > 10, "axe did not run");
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`);
}

for (const locale of ["zh-CN", "en-GB"]) {
  test(`every page passes axe (WCAG 2.1 AA) in ${locale}`, async () => {
    // axe is injected as a script, which the pages' Content-Security-Policy would (rightly) refuse.
    const clinician = await browser.page(locale, { bypassCSP: true });
    await clinician.goto(server.base + "/login");
    const found = { "/login": await violations(clinician) };
    await signIn(clinician, server.base, "dr.li", "clinician-pass-123");
    for (const p of ["/assess", "/patients?q=DEMO", "/patients/DEMO-0001", "/patients/DEMO-0001/assessments/1"]) {
      await clinician.goto(server.base + p);
      found[p] = await violations(clinician);
    }
    // The form sent back with errors.
    await clinician.goto(server.base + "/assess");
    await Promise.all([clinician.waitForNavigation(), clinician.click("form.assessment button.primary")]);
    found["/assess (errors)"] = await violations(clinician);
    const coordinator = await browser.page(locale, { bypassCSP: true });
    await signIn(coordinator, server.base, "nurse.wang", "coordinator-pass-123");
    for (const p of ["/worklist", "/dashboard"]) {
      await coordinator.goto(server.base + p);
      found[p] = await violations(coordinator);
    }
    const admin = await browser.page(locale, { bypassCSP: true });
    await signIn(admin, server.base, "it.admin", "administrator-pass-123");
    await admin.goto(server.base + "/admin");
    found["/admin"] = await violations(admin);
    const bad = Object.entries(found).filter(([, v]) => v.length);
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 2));
  });
}

test("the form works from the keyboard alone on a tablet screen", async () => {
  const page = await browser.page("zh-CN", { viewport: { width: 768, height: 1024 } });
  await signIn(page, server.base, "dr.li", "clinician-pass-123");
  await page.goto(server.base + "/assess");
  // The skip link is the first stop and jumps to the content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");
  // Levels are added from the spine's buttons with Enter; the new level's select gets the focus.
  await page.focus('.spine-buttons button[data-level="T12"]');
  await page.keyboard.press("Enter");
  await page.focus('.spine-buttons button[data-level="L1"]');
  await page.keyboard.press("Enter");
  const levels = await page.$$eval('select[name$="].level"]', (s) => s.map((x) => x.value));
  assert.deepEqual(levels.slice(0, 2), ["T12", "L1"]);
  assert.equal(await page.getAttribute('.spine-buttons button[data-level="L1"]', "aria-pressed"), "true");
  // Nothing is wider than the tablet screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  assert.deepEqual(page.errors, []);
});
