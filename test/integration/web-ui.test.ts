/**
 * The Temporal Web UI as a person sees it: headless Chromium (Debian's, driven by playwright-core) opens the
 * dev server's UI, filters by `ForgeJobState = "dead"`, opens the dead job, reads its failure reason, and
 * with the codec server sees the decoded input (the planted email) that the raw history does not hold.
 * Saves test-artifacts/web-ui-dead-job.png.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PLANTED_EMAIL, PLANTED_SECRET, startCodecStack, type CodecStack } from '../support/codec-stack';

const CHROMIUM = process.env.FORGE_CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'web-ui-dead-job.png');
// What this closed network needs: no sandbox (root in a container), no GPU, nothing that calls home.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let stack: CodecStack;
let context: BrowserContext;
let page: Page;
let profile: string;
let dead: { workflowId: string; failure?: string; state: string };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does it) or set FORGE_CHROMIUM_PATH`,
    );
  }
  stack = await startCodecStack('web-ui');
  dead = await stack.signup('bad');
  expect(dead.state).toBe('dead');
  expect(dead.failure).toMatch(/400/);
  // Visibility is eventually consistent: the UI's list reads it, so wait until it lists the job as dead.
  const query = `ForgeJobState = "dead" AND WorkflowId = "${dead.workflowId}"`;
  for (let i = 0; ; i++) {
    if ((await stack.client.workflow.count(query)).count === 1) break;
    if (i > 200) throw new Error('the dead job never became visible as dead');
    await new Promise((r) => setTimeout(r, 100));
  }
  profile = await mkdtemp(join(tmpdir(), 'forge-jobs-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await stack?.stop();
});

test('filter by ForgeJobState = "dead", open the dead job, read its reason and its decoded input', async () => {
  const query = encodeURIComponent('ForgeJobState = "dead"');
  await page.goto(`${stack.dev.uiUrl}/namespaces/default/workflows?query=${query}`);
  // The list shows the dead job: its id is a link to its page.
  const link = page.locator(`a[href*="${encodeURIComponent(dead.workflowId)}"], a:has-text("${dead.workflowId}")`).first();
  await link.waitFor({ state: 'visible' });
  await link.click();
  await page.waitForURL(/\/workflows\/.+\/.+/);

  // The failure reason, as Temporal holds it, is on the page.
  const reason = dead.failure!;
  await page.getByText(reason, { exact: false }).first().waitFor({ state: 'visible' });
  // The input, decoded by the browser through the codec server: the planted email the history does not hold.
  await page.getByText(PLANTED_EMAIL, { exact: false }).first().waitFor({ state: 'attached' });
  const body = await page.locator('body').innerText();
  expect(body).toContain(reason);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(existsSync(SCREENSHOT)).toBe(true);
  const html = await page.content();
  expect(html).toContain(PLANTED_EMAIL);
  expect(html).toContain(PLANTED_SECRET); // the raw history holds neither (test/integration/codec.test.ts)
});
