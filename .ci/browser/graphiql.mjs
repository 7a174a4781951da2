// Browser test: GraphiQL served by the server itself (no CDN) loads in headless Chromium; its
// documentation explorer shows the schema (`Client` and its fields) before signing in; a
// person signs in with the development admin (a mutation typed in the page), pastes the access
// token into the header editor, runs a query and sees the answer; then subscribes to payments
// and sees the event of a payment recorded over HTTP.
//
//   node .ci/browser/graphiql.mjs http://127.0.0.1:8000/graphql
//
// Chromium comes from Debian (`apt-get install chromium`); CHROMIUM overrides its path.
import { launch } from './chromium.mjs';

const endpoint = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';

const browser = await launch();
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

  // The documentation explorer has the schema before anyone signs in (GraphiQL's
  // introspection query is admitted without credentials): find `Client` and its fields.
  await page.getByRole('button', { name: /Show Documentation Explorer/ }).click();
  const explorer = page.locator('.graphiql-doc-explorer');
  await explorer.getByText('Query', { exact: true }).first().waitFor({ timeout: 30_000 });
  await explorer.locator('.graphiql-doc-explorer-search-input').click();
  await page.keyboard.type('Client');
  await page.locator('.graphiql-doc-explorer-search-type', { hasText: /^Client$/ }).first().click();
  await explorer.locator('.graphiql-doc-explorer-title', { hasText: 'Client' }).waitFor({ timeout: 30_000 });
  await explorer.locator('.graphiql-doc-explorer-field-name', { hasText: 'companyName' }).first()
    .waitFor({ timeout: 30_000 });

  // Type an operation into the query editor and run it, as a person would.
  const run = async (operation, expect) => {
    await page.click('.graphiql-query-editor .CodeMirror');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(operation);
    await page.click('.graphiql-execute-button');
    const result = page.locator('.graphiql-response .CodeMirror');
    await result.filter({ hasText: expect }).waitFor({ timeout: 30_000 });
    return result.innerText();
  };

  // Without a token the API answers UNAUTHENTICATED.
  const anonymous = await run('{ me { username } }', 'UNAUTHENTICATED');
  if (!anonymous.includes('UNAUTHENTICATED')) throw new Error(`anonymous answer:\n${anonymous}`);

  // Sign in (an empty database in development mode has the development admin).
  const signedIn = await run(
    'mutation { signIn(email: "admin@crm.local", password: "crm-dev-admin-password") { accessToken } }',
    'accessToken',
  );
  const token = /"accessToken":\s*"([^"]+)"/.exec(signedIn.replace(/\s+/g, ' '))?.[1];
  if (!token) throw new Error(`no access token in GraphiQL:\n${signedIn}`);

  // Paste it into the header editor.
  await page.getByRole('button', { name: 'Headers' }).click();
  const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await headers.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(`{"Authorization": "Bearer ${token}"}`);

  const text = await run(
    '{ me { username role } client(id: "00000000-0000-7000-8000-000000000000") { id } __typename }',
    '__typename',
  );
  if (!text.includes('"Query"') || !text.includes('"client": null') || !text.includes('"admin"')) {
    throw new Error(`unexpected answer in GraphiQL:\n${text}`);
  }
  // A subscription in GraphiQL (a WebSocket on the same path, signed in with the header
  // editor's Authorization): a payment recorded over HTTP shows in the result pane.
  const api = async (query, variables = {}) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const client = (await api('mutation { createClient(input: { companyName: "Browser Live" }) { id } }'))
    .createClient.id;
  await api('mutation($id: UUID!) { completeClientKyc(id: $id) { id } }', { id: client });
  const contract = (await api(
    'mutation($c: UUID!) { createContract(input: { contractNumber: "BL-1", clientId: $c, title: "Live", amount: "900.00" }) { id } }',
    { c: client },
  )).createContract.id;
  await api('mutation($id: UUID!) { signContract(id: $id) { id } }', { id: contract });
  await page.click('.graphiql-query-editor .CodeMirror');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type('subscription { paymentChanged { operation payment { amount } } }');
  // GraphiQL parses the editor's text a moment after the last key: only then does it know the
  // operation is a subscription (and take the WebSocket).
  await page.waitForTimeout(1000);
  await page.click('.graphiql-execute-button');
  // The subscription starts once the socket is acknowledged; record payments until one shows
  // (the first may come before the subscription does).
  const result = page.locator('.graphiql-response .CodeMirror');
  let seen = false;
  for (let attempt = 0; attempt < 10 && !seen; attempt += 1) {
    await page.waitForTimeout(500);
    await api('mutation($c: UUID!) { recordPayment(input: { contractId: $c, amount: "12.34" }) { id } }', { c: contract });
    seen = await result.filter({ hasText: '12.34' }).waitFor({ timeout: 2_000 }).then(() => true, () => false);
  }
  const event = await result.innerText();
  if (!seen || !event.includes('"created"') || !event.includes('paymentChanged')) {
    throw new Error(`no payment event in GraphiQL:\n${event}`);
  }

  if (offsite.length > 0) {
    throw new Error(`GraphiQL fetched from outside the server: ${offsite.join(', ')}`);
  }
  await page.screenshot({ path: process.env.SCREENSHOT ?? '/tmp/graphiql.png' });
  console.log('browser test: found Client in the documentation explorer, signed in through GraphiQL, sent the token from the header editor, got the answer, saw a payment event in a subscription');
} catch (error) {
  failed = true;
  console.error(`browser test FAILED: ${error.message}`);
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    await page.screenshot({ path: process.env.SCREENSHOT ?? '/tmp/graphiql.png' }).catch(() => {});
    const answer = await page.locator('.graphiql-response').innerText().catch(() => '');
    console.error(`GraphiQL showed:\n${answer}`);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
