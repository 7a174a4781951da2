// Browser test of the reference SPA (examples/spa), built and served by `vite preview`, which
// proxies /graphql to a running server that accepts the SPA's trusted documents only: sign
// in, see the clients with their contracts, page through with "Load more", filter, see the
// field error of a bad payment amount next to the input, record a payment, sign out.
//
//   node .ci/browser/spa.mjs http://127.0.0.1:4173 EMAIL PASSWORD
//
// Chromium comes from Debian (`apt-get install chromium`); CHROMIUM overrides its path.
import { launch } from './chromium.mjs';

const [url = 'http://127.0.0.1:4173', email, password] = process.argv.slice(2);
const step = (what) => console.log(`spa: ${what}`);

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  const sent = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') sent.push(request);
  });
  page.on('pageerror', (error) => console.error('page error:', error.message));

  await page.goto(url, { waitUntil: 'load' });
  step('sign in');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByTestId('signed-in-as').filter({ hasText: email }).waitFor({ timeout: 30_000 });

  step('the clients page, nested contracts and payments');
  await page.getByTestId('total').waitFor({ timeout: 30_000 });
  const clients = page.getByTestId('client');
  await clients.first().waitFor();
  const firstPage = await clients.count();
  if (firstPage !== 10) throw new Error(`expected 10 clients on the first page, saw ${firstPage}`);
  if ((await page.getByTestId('contract').count()) === 0) throw new Error('no contracts shown');

  step('load more');
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=client]').length > 10, null, { timeout: 30_000 });

  step('filter');
  const firstName = await clients.first().locator('strong').innerText();
  await page.fill('input[name=search]', firstName);
  await page.waitForFunction(
    (name) => {
      const rows = [...document.querySelectorAll('[data-testid=client] strong')];
      return rows.length > 0 && rows.length < 10 && rows.every((row) => row.textContent.toLowerCase().includes(name.toLowerCase()));
    },
    firstName,
    { timeout: 30_000 },
  );
  await page.fill('input[name=search]', '');
  await clients.nth(9).waitFor({ timeout: 30_000 });

  step('a bad amount: the field error next to the input');
  // An active contract that still has something owed.
  const payable = page.getByTestId('contract').filter({ has: page.getByRole('form', { name: 'Record a payment' }) });
  let form = null;
  for (let i = 0; i < (await payable.count()); i += 1) {
    const owed = Number(await payable.nth(i).getByTestId('outstanding').first().innerText());
    if (owed >= 1) {
      form = payable.nth(i).getByRole('form', { name: 'Record a payment' }).first();
      break;
    }
  }
  if (!form) throw new Error('no active contract with something owed on the page');
  await form.locator('input[name=amount]').fill('-5');
  await form.getByRole('button', { name: 'Record payment' }).click();
  const amountError = form.getByTestId('amount-error');
  await amountError.waitFor({ timeout: 30_000 });
  step(`  shown: ${await amountError.innerText()}`);

  step('record a payment');
  await form.locator('input[name=amount]').fill('1.00');
  await form.getByRole('button', { name: 'Record payment' }).click();
  await form.getByTestId('recorded').waitFor({ timeout: 30_000 });

  step('trusted documents only: no request carried a document text');
  for (const request of sent) {
    const body = request.postData() ?? '';
    if (new URL(request.url()).searchParams.has('query') || body.includes('"query"')) {
      throw new Error(`a request sent its document's text: ${request.method()} ${request.url()} ${body}`);
    }
  }
  if (!sent.some((request) => request.method() === 'GET')) throw new Error('no query went over GET');

  step('sign out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('input[name=email]').waitFor({ timeout: 30_000 });
  step('ok');
} catch (error) {
  failed = true;
  console.error('spa test failed:', error);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
