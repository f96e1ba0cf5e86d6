// The screenshots in docs/ and the README: each dashboard page, from `tether-api demo` with its
// defaults (90 days, 6 consenting patients, seed 1) on a fresh database.
//
//   cd tests/browser && npm ci && npm run screenshots

import path from 'node:path';
import { launch, signIn } from './browser.mjs';
import { repoRoot, runDemo, serverBinary, startServer, tempDatabase } from './server.mjs';

const PASSWORD = 'demo screenshots password';
const docs = (name) => path.join(repoRoot, 'docs', `dashboard-${name}.png`);

const bin = serverBinary();
const db = tempDatabase();
let server;
let browser;
try {
  const demo = runDemo(bin, db.url, PASSWORD, 90);
  server = await startServer(bin, db.url, db.dir, 'server');
  browser = await launch();
  const { page } = browser;
  const shot = async (name) => {
    await page.screenshot({ path: docs(name), fullPage: true });
    console.log(`wrote ${path.relative(repoRoot, docs(name))}`);
  };

  await page.goto(`${server.url}/dashboard/sign-in`);
  await page.fill('input[name="email"]', demo.counselor_email);
  await shot('sign-in');
  await signIn(page, server.url, demo.counselor_email, PASSWORD);
  await shot('caseload');
  const marcus = demo.patients[0];
  await page.goto(`${server.url}/dashboard/patients/${marcus.id}`);
  await shot('patient');
  await page.goto(`${server.url}/dashboard/patients/${marcus.id}/schedule`);
  await shot('schedule');
  const withoutConsent = demo.patients.find((p) => !p.consented);
  await page.goto(`${server.url}/dashboard/patients/${withoutConsent.id}`);
  await shot('not-found');
} finally {
  await browser?.close();
  await server?.stop();
  db.remove();
}
