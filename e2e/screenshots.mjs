// Screenshots of every page in both languages, on the demonstration registry
// (`node screenshots.mjs`, after a release build). Written to docs/screenshots/web-<page>-<lang>.png.
// Not part of the test run: screenshots are looked at by people, not asserted.

import path from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startServer, launch, signIn, fillRequest } from "./tests/harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "docs/screenshots");
const vignette = JSON.parse(readFileSync(path.join(root, "vignettes/public/pkp-fit-l1-wedge.json"), "utf8"));

const server = await startServer(
  [
    ["dr.li", "clinician", "clinician-pass-123"],
    ["nurse.wang", "coordinator", "coordinator-pass-123"],
    ["it.admin", "admin", "administrator-pass-123"],
  ],
  { seedDemo: true },
);
const browser = await launch();
const shot = async (page, name, lang) => {
  const file = path.join(out, `web-${name}-${lang}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(file);
};
try {
  for (const [lang, locale] of [["zh", "zh-CN"], ["en", "en-GB"]]) {
    const doc = await browser.page(locale);
    await doc.goto(server.base + "/login");
    await shot(doc, "login", lang);
    await signIn(doc, server.base, "dr.li", "clinician-pass-123");
    await doc.goto(server.base + "/assess");
    await fillRequest(doc, vignette.request);
    await shot(doc, "assess", lang);
    await Promise.all([doc.waitForNavigation(), doc.click("form.assessment button.primary")]);
    // The report's first screen at 1280x800 (summary above the fold), then the whole page.
    await doc.setViewportSize({ width: 1280, height: 800 });
    await doc.screenshot({ path: path.join(out, `web-report-${lang}.png`) });
    console.log(path.join(out, `web-report-${lang}.png`));
    await shot(doc, "report-full", lang);
    await doc.setViewportSize({ width: 1280, height: 900 });
    await doc.goto(server.base + "/patients?q=DEMO");
    await shot(doc, "patients", lang);
    await doc.goto(server.base + "/patients/DEMO-0001");
    await shot(doc, "patient", lang);
    // The README's picture: the first screen of the patient record.
    await doc.screenshot({ path: path.join(out, `web-main-${lang}.png`) });
    const coord = await browser.page(locale);
    await signIn(coord, server.base, "nurse.wang", "coordinator-pass-123");
    await coord.goto(server.base + "/worklist");
    await shot(coord, "worklist", lang);
    await coord.goto(server.base + "/dashboard");
    await shot(coord, "dashboard", lang);
    const admin = await browser.page(locale);
    await signIn(admin, server.base, "it.admin", "administrator-pass-123");
    await admin.goto(server.base + "/admin");
    await shot(admin, "admin", lang);
    for (const p of [doc, coord, admin]) if (p.errors.length) throw new Error("console errors: " + p.errors.join("; "));
  }
} finally {
  await browser.close();
  await server.stop();
}
