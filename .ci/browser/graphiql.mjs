// Browser test: GraphiQL served by the server itself (no CDN) loads in headless Chromium,
// runs a query typed in the page, and shows the answer.
//
//   node .ci/browser/graphiql.mjs http://127.0.0.1:8000/graphql
//
// Chromium comes from Debian (`apt-get install chromium`); CHROMIUM overrides its path.
import { chromium } from 'playwright-core';

const endpoint = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
let failed = false;
try {
  const page = await browser.newPage();
  const offsite = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol.startsWith('http')) {
      offsite.push(request.url());
    }
  });
  page.on('pageerror', (error) => console.error('page error:', error.message));

  await page.goto(endpoint, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });

  // Type the query into the editor, as a person would.
  await page.click('.graphiql-query-editor .CodeMirror');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type('{ client(id: "00000000-0000-7000-8000-000000000000") { id } __typename }');
  await page.click('.graphiql-execute-button');

  const result = page.locator('.graphiql-response .CodeMirror');
  await result.filter({ hasText: '__typename' }).waitFor({ timeout: 30_000 });
  const text = await result.innerText();
  if (!text.includes('"Query"') || !text.includes('"client": null')) {
    throw new Error(`unexpected answer in GraphiQL:\n${text}`);
  }
  if (offsite.length > 0) {
    throw new Error(`GraphiQL fetched from outside the server: ${offsite.join(', ')}`);
  }
  await page.screenshot({ path: process.env.SCREENSHOT ?? '/tmp/graphiql.png' });
  console.log('browser test: GraphiQL ran a query and showed the answer');
} catch (error) {
  failed = true;
  console.error(`browser test FAILED: ${error.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
