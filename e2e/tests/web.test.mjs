// End-to-end test of the web application in real headless Chromium (Debian's package), against
// the real binary on a fresh SQLite registry. One story, in order, as a ward would live it:
// a coordinator sees an empty dashboard; a clinician signs in, assesses a public vignette through
// the form, switches language, saves it for a new patient, finds the patient, records a
// medication and downloads the PDF; the coordinator completes the follow-up task and sees the
// dashboard change. Any browser console error or uncaught page error fails the test.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { startServer, launch, signIn, signOut, fillRequest } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const VIGNETTE = "pkp-fit-l1-wedge";
const vignette = JSON.parse(readFileSync(path.join(root, "vignettes/public", VIGNETTE + ".json"), "utf8"));
const MRN = "E2E-0001";
const PATIENT = "测试患者";

let server;
let browser;
let clinician;
let coordinator;

before(async () => {
  server = await startServer([
    ["dr.li", "clinician", "clinician-pass-123"],
    ["nurse.wang", "coordinator", "coordinator-pass-123"],
  ]);
  browser = await launch();
  clinician = await browser.page("zh-CN");
  coordinator = await browser.page("zh-CN");
});

after(async () => {
  for (const p of [clinician, coordinator]) {
    if (p) assert.deepEqual(p.errors, [], "browser console errors");
  }
  await browser?.close();
  await server?.stop();
});

test("signed out, every patient page sends to sign-in", async () => {
  const page = await browser.page("zh-CN");
  for (const p of ["/assess", "/patients", "/worklist", "/dashboard", "/patients/" + MRN]) {
    await page.goto(server.base + p);
    assert.match(new URL(page.url()).pathname, /^\/login$/, p);
  }
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal(await page.textContent("h1"), "登录");
  await page.close();
  assert.deepEqual(page.errors, []);
});

test("a wrong password is refused without saying which part was wrong", async () => {
  const page = await browser.page("en-GB");
  await page.goto(server.base + "/login");
  await page.fill("#username", "dr.li");
  await page.fill("#password", "not-the-password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.match(await page.textContent(".form-error"), /Wrong user name or password/);
  await page.close();
});

test("coordinator: the dashboard starts empty", async () => {
  await signIn(coordinator, server.base, "nurse.wang", "coordinator-pass-123");
  await coordinator.goto(server.base + "/dashboard");
  assert.equal((await coordinator.textContent("#identified strong")).trim(), "0");
});

test("clinician: assess a public vignette through the form and see its plan", async () => {
  await signIn(clinician, server.base, "dr.li", "clinician-pass-123");
  await clinician.goto(server.base + "/assess");
  assert.equal(await clinician.getAttribute("html", "lang"), "zh-CN");
  // An empty submit: the engine's errors land at their fields.
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.assessment button.primary")]);
  assert.ok(await clinician.isVisible(".error-summary"));
  assert.ok(await clinician.isVisible("#g-patient .group-error"), "no patient given: said at the group");
  assert.ok(await clinician.isVisible("#g-fractures .group-error"), "no fracture given: said at the group");
  // A partly filled patient: the missing field is named at the field itself.
  await clinician.fill('[name="patient.age"]', "300");
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.assessment button.primary")]);
  assert.ok(await clinician.isVisible('.field.invalid[data-path="patient.age"]'));
  assert.ok(await clinician.isVisible('.field.invalid[data-path="patient.sex"]'));
  await clinician.goto(server.base + "/assess");
  // The vignette, field by field (levels through the spine diagram).
  await fillRequest(clinician, vignette.request);
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.assessment button.primary")]);
  const plan = await clinician.getAttribute("#plan", "data-plan");
  assert.equal(plan, vignette.expect["treatment.plan"]);
  assert.ok(await clinician.isVisible("#explain"), "the why panel");
  assert.ok((await clinician.locator(".mark.grade[title]").count()) > 0, "graded recommendations with sources");
  // Summary first (issue 10): the whole summary is above the fold at 1280x800, the evidence
  // appendix is collapsed and opens on a click.
  await clinician.setViewportSize({ width: 1280, height: 800 });
  await clinician.evaluate(() => window.scrollTo(0, 0));
  const box = await clinician.locator("section#summary").boundingBox();
  assert.ok(box && box.y + box.height <= 800, `summary ends at ${box && box.y + box.height}px`);
  assert.equal(await clinician.getAttribute("section#evidence details", "open"), null, "appendix closed");
  await clinician.click("section#evidence summary");
  assert.notEqual(await clinician.getAttribute("section#evidence details", "open"), null, "appendix opens");
  await clinician.setViewportSize({ width: 1280, height: 900 });
});

test("clinician: switch language and back", async () => {
  await Promise.all([clinician.waitForNavigation(), clinician.click("a.lang")]);
  assert.equal(await clinician.getAttribute("html", "lang"), "en");
  assert.equal((await clinician.textContent("h1")).trim(), "OVCF assessment");
  await Promise.all([clinician.waitForNavigation(), clinician.click("a.lang")]);
  assert.equal(await clinician.getAttribute("html", "lang"), "zh-CN");
});

test("clinician: save the assessment for a new patient", async () => {
  await clinician.goto(server.base + "/assess");
  await fillRequest(clinician, vignette.request);
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.assessment button.primary")]);
  await clinician.fill("#save-mrn", MRN);
  await clinician.fill("#save-name", PATIENT);
  await clinician.fill("#save-birth", "1958-03-02");
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.save button.primary")]);
  assert.equal((await clinician.textContent("#mrn")).trim(), MRN);
  assert.ok(await clinician.isVisible(".notice"));
});

test("clinician: find the patient and record a medication", async () => {
  await clinician.goto(server.base + "/patients");
  await clinician.fill("#q", "测试");
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.search button")]);
  await Promise.all([clinician.waitForNavigation(), clinician.click(`a:text("${MRN}")`)]);
  assert.equal((await clinician.textContent("#mrn")).trim(), MRN);
  await clinician.selectOption("#m-drug", "zoledronic_acid");
  await clinician.fill("#m-start", vignette.request.as_of);
  await clinician.fill("#m-last", vignette.request.as_of);
  await Promise.all([clinician.waitForNavigation(), clinician.click("form.card:has(#m-drug) button")]);
  assert.match(await clinician.textContent("table.meds"), /唑来膦酸/);
});

test("clinician: download the PDF of the saved assessment", async () => {
  await Promise.all([clinician.waitForNavigation(), clinician.click("table.grid a[href*='/assessments/']")]);
  const [download] = await Promise.all([
    clinician.waitForEvent("download"),
    clinician.click("a.button[href$='/pdf']"),
  ]);
  const file = await download.path();
  const head = readFileSync(file).subarray(0, 5).toString("latin1");
  assert.equal(head, "%PDF-");
  assert.match(download.suggestedFilename(), /\.pdf$/);
});

test("coordinator: complete the follow-up task, and the dashboard changes", async () => {
  await coordinator.goto(server.base + "/worklist?status=all");
  const row = coordinator.locator(`tr[data-task]:has(a:text("${MRN}"))`).first();
  assert.ok(await row.isVisible(), "the new patient's task is on the worklist");
  await row.locator("input[name=note]").fill("电话随访已完成");
  await Promise.all([coordinator.waitForNavigation(), row.locator("button").click()]);
  await coordinator.goto(server.base + "/worklist?status=done");
  assert.match(await coordinator.textContent("table.worklist"), /电话随访已完成/);
  await coordinator.goto(server.base + "/dashboard?from=2000-01-01&to=2100-12-31");
  assert.equal((await coordinator.textContent("#identified strong")).trim(), "1");
  assert.match(await coordinator.textContent('[data-kpi="treatment_recommended"] .fraction'), /^\s*1 \/ 1/);
});

test("sign-out ends the session", async () => {
  await signOut(clinician);
  await clinician.goto(server.base + "/patients/" + MRN);
  assert.match(new URL(clinician.url()).pathname, /^\/login$/);
});
