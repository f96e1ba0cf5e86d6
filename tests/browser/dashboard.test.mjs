// The counselor dashboard in a real headless browser: Debian's chromium driven by playwright-core
// (which never downloads a browser of its own) against the real `tether-api` binary, on a
// temporary SQLite database filled by `tether-api demo`. Every page visited is saved as a
// screenshot in target/screenshots/.
//
//   cd tests/browser && npm ci && npm test

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { launch, signIn } from './browser.mjs';
import { runDemo, screenshotPath, serverBinary, startServer, tempDatabase } from './server.mjs';

const PASSWORD = 'browser test password';
const PRIORITY_RANK = { urgent: 3, high: 2, medium: 1, none: 0, '': 0 };

/** The HTTP API, as a phone or a script calls it. */
async function api(base, method, route, { token, body } = {}) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function login(base, email, deviceName) {
  const r = await api(base, 'POST', '/v1/auth/login', {
    body: { email, password: PASSWORD, device_name: deviceName },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

/** Every field state a device receives when it pulls from scratch. */
async function pullAll(base, token) {
  const changes = [];
  let cursor = '';
  for (;;) {
    const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await api(base, 'GET', `/v1/sync/pull?${query}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    changes.push(...r.body.changes);
    if (!r.body.has_more) return changes;
    cursor = r.body.cursor;
  }
}

describe('the counselor dashboard', () => {
  let bin;
  let db;
  let demo;
  let server;
  let browser;
  let page;
  let counselorToken;

  before(async () => {
    bin = serverBinary();
    db = tempDatabase();
    demo = runDemo(bin, db.url, PASSWORD);
    server = await startServer(bin, db.url, db.dir, 'server');
    browser = await launch();
    page = browser.page;
    counselorToken = await login(server.url, demo.counselor_email, 'browser test script');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (process.exitCode && server) {
      console.error(`--- server log ---\n${readFileSync(server.logPath, 'utf8').slice(-4000)}`);
    }
    db?.remove();
  });

  it('sends a visitor who is not signed in to the sign-in page', async () => {
    const response = await page.goto(`${server.url}/dashboard/caseload`);
    assert.match(new URL(page.url()).pathname, /^\/dashboard\/sign-in/);
    assert.equal(response.status(), 200);
    await page.screenshot({ path: screenshotPath('sign-in'), fullPage: true });
  });

  it('does not let a patient or an admin in', async () => {
    for (const email of [demo.patients[0].email, demo.admin_email]) {
      await signIn(page, server.url, email, PASSWORD);
      assert.match(new URL(page.url()).pathname, /^\/dashboard\/sign-in/);
      assert.equal(await page.locator('table.caseload').count(), 0);
      assert.ok(await page.locator('[role="alert"]').isVisible());
    }
  });

  it('signs a counselor in and shows the caseload ordered by urgency, the crisis first', async () => {
    await signIn(page, server.url, demo.counselor_email, PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/dashboard/caseload');
    const rows = page.locator('table.caseload tbody tr');
    const consenting = demo.patients.filter((p) => p.consented);
    assert.equal(await rows.count(), consenting.length);
    const priorities = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.priority ?? ''));
    const ranks = priorities.map((p) => PRIORITY_RANK[p] ?? 0);
    for (let i = 1; i < ranks.length; i++) {
      assert.ok(ranks[i - 1] >= ranks[i], `ordered by urgency: ${priorities.join(', ')}`);
    }
    assert.equal(priorities[0], 'urgent');
    assert.equal(await rows.nth(0).locator('th a').first().innerText(), 'Marcus Reyes');
    // A crisis stands out: an alert above the table and a badge that says so in words.
    assert.ok(await page.locator('.alert-urgent[role="alert"]').isVisible());
    assert.match(await rows.nth(0).innerText(), /URGENT/);
    // The same order as the API's caseload.
    const caseload = await api(server.url, 'GET', '/v1/caseload', { token: counselorToken });
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.patient));
    assert.deepEqual(ids, caseload.body.patients.map((p) => p.patient_id));
    // Nobody without consent.
    const withoutConsent = demo.patients.find((p) => !p.consented);
    assert.ok(!(await page.content()).includes(withoutConsent.name));
    await page.screenshot({ path: screenshotPath('caseload'), fullPage: true });
  });

  it('opens a patient whose craving chart has one point per day with check-ins', async () => {
    const marcus = demo.patients[0];
    await Promise.all([
      page.waitForLoadState('load'),
      page.click(`table.caseload a[href="/dashboard/patients/${marcus.id}"]`),
    ]);
    const url = new URL(page.url());
    assert.equal(url.pathname, `/dashboard/patients/${marcus.id}`);
    assert.ok(!decodeURIComponent(page.url()).includes('Marcus'), 'ids only in URLs');
    await checkChart(page, server.url, counselorToken, marcus.id);
    await page.screenshot({ path: screenshotPath('patient'), fullPage: true });

    // The date range picker: a shorter range, and the chart follows.
    const to = await page.inputValue('input[name="to"]');
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 13 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('input[name="from"]', from);
    await Promise.all([page.waitForLoadState('load'), page.click('form.range button[type="submit"]')]);
    assert.equal(new URL(page.url()).searchParams.get('from'), from);
    await checkChart(page, server.url, counselorToken, marcus.id);
  });

  it("writes the view to the patient's access log, where the patient reads it from the phone", async () => {
    const lena = demo.patients.find((p) => p.name === 'Lena Okafor');
    const since = Date.now() - 1_000;
    await page.goto(`${server.url}/dashboard/patients/${lena.id}`);
    const shown = await page.locator('#access-log tbody tr').allInnerTexts();
    assert.ok(shown.some((row) => row.includes('Trends and risk flags') && !row.includes('read_trends')), shown.join('\n'));
    const phone = await login(server.url, lena.email, 'Lena’s phone');
    const log = await api(server.url, 'GET', `/v1/patients/${lena.id}/access-log?limit=100`, { token: phone });
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const mine = log.body.items.filter((e) => e.at >= since && e.actor_role === 'counselor');
    assert.ok(mine.some((e) => e.action === 'read_trends'), JSON.stringify(mine));
    assert.ok(mine.every((e) => e.actor_name === 'Casey Counselor'));
  });

  it('never lets a browser cache a patient page', async () => {
    const marcus = demo.patients[0];
    const response = await page.goto(`${server.url}/dashboard/patients/${marcus.id}`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['cache-control'] ?? '', /no-store/);
  });

  it('shows a patient without consent as a page that is not there, never their data', async () => {
    const alex = demo.patients.find((p) => !p.consented);
    const response = await page.goto(`${server.url}/dashboard/patients/${alex.id}`);
    assert.equal(response.status(), 404);
    const text = await page.locator('body').innerText();
    assert.ok(!text.includes(alex.name));
    assert.equal(await page.locator('svg[data-points]').count(), 0);
    // The API refuses the same read the same way.
    const trends = await api(server.url, 'GET', `/v1/patients/${alex.id}/trends`, { token: counselorToken });
    assert.equal(trends.status, 404);
    await page.screenshot({ path: screenshotPath('not-found'), fullPage: true });
  });

  it("marks attendance, cancels and reschedules sessions, and the patient's phone receives all three on its next pull", async () => {
    const tom = demo.patients.find((p) => p.name === 'Tom Becker');
    // What Tom's phone holds before the counselor changes anything.
    const earlier = await pullAll(server.url, await login(server.url, tom.email, 'Tom’s old phone'));
    const startsBefore = new Map(
      earlier.filter((c) => c.kind === 'session' && c.field === 'starts_at').map((c) => [c.doc, c.value]),
    );
    await page.goto(`${server.url}/dashboard/caseload`);
    await Promise.all([
      page.waitForLoadState('load'),
      page.click(`table.caseload a[href="/dashboard/patients/${tom.id}/schedule"]`),
    ]);
    assert.equal(new URL(page.url()).pathname, `/dashboard/patients/${tom.id}/schedule`);

    // The latest past session that was not cancelled: mark it differently from what it has.
    const past = page.locator('table[aria-describedby="recent"] tbody tr:not(.cancelled)').first();
    const session = await past.getAttribute('data-session');
    const before = await past.locator('.mark').getAttribute('data-attendance');
    const mark = before === 'late' ? 'left_early' : 'late';
    await past.locator('select[name="attendance"]').selectOption(mark);
    await Promise.all([page.waitForLoadState('load'), past.locator('button[type="submit"]').click()]);
    const marked = page.locator(`tr[data-session="${session}"] .mark`).first();
    assert.equal(await marked.getAttribute('data-attendance'), mark);

    // The next upcoming session: cancel it.
    const next = page.locator('table[aria-describedby="upcoming"] tbody tr:not(.cancelled)').first();
    const upcoming = await next.getAttribute('data-session');
    await Promise.all([page.waitForLoadState('load'), next.locator('button.danger').click()]);
    assert.match(await page.locator(`tr[data-session="${upcoming}"]`).first().getAttribute('class'), /cancelled/);

    // The one after it: an hour later (the form takes the clinic's local time).
    const after = page.locator('table[aria-describedby="upcoming"] tbody tr:not(.cancelled)').first();
    const moved = await after.getAttribute('data-session');
    const input = after.locator('input[type="datetime-local"]');
    const old = await input.inputValue();
    const later = old.replace(/T(\d\d):/, (_, h) => `T${String(Number(h) + 1).padStart(2, '0')}:`);
    await input.fill(later);
    await Promise.all([page.waitForLoadState('load'), after.locator('form[action$="/reschedule"] button').click()]);
    await page.screenshot({ path: screenshotPath('schedule'), fullPage: true });

    // Tom's phone, signing in fresh, pulls all three changes.
    const phone = await login(server.url, tom.email, 'Tom’s phone');
    const changes = await pullAll(server.url, phone);
    const state = (doc, field) => changes.find((c) => c.kind === 'session' && c.doc === doc && c.field === field);
    assert.equal(state(session, 'attendance')?.value, mark);
    assert.equal(state(upcoming, 'status')?.value, 'cancelled');
    assert.equal(state(moved, 'starts_at')?.value, startsBefore.get(moved) + 3_600_000);
  });

  it("refuses a form post without the page's CSRF token", async () => {
    const tom = demo.patients.find((p) => p.name === 'Tom Becker');
    await page.goto(`${server.url}/dashboard/patients/${tom.id}/schedule`);
    const session = await page
      .locator('table[aria-describedby="recent"] tbody tr:not(.cancelled)')
      .first()
      .getAttribute('data-session');
    // The browser's own session cookie, but no token from the page.
    const response = await page.request.post(
      `${server.url}/dashboard/patients/${tom.id}/sessions/${session}/attendance`,
      { form: { csrf: 'forged', attendance: 'absent' }, maxRedirects: 0 },
    );
    assert.ok(response.status() >= 400, `status ${response.status()}`);
    const phone = await login(server.url, tom.email, 'Tom’s phone again');
    const changes = await pullAll(server.url, phone);
    const attendance = changes.find((c) => c.doc === session && c.field === 'attendance');
    assert.notEqual(attendance?.value, 'absent');
  });

  it('works with JavaScript turned off: sign in, caseload, patient charts, marking attendance', async () => {
    const noScript = await launch({ javaScript: false });
    try {
      const { page: p } = noScript;
      await signIn(p, server.url, demo.counselor_email, PASSWORD);
      assert.equal(new URL(p.url()).pathname, '/dashboard/caseload');
      assert.ok((await p.locator('table.caseload tbody tr').count()) > 0);
      const sam = demo.patients.find((x) => x.name === 'Sam Whitaker');
      await p.goto(`${server.url}/dashboard/patients/${sam.id}`);
      assert.ok(Number(await p.locator('svg[data-points]').first().getAttribute('data-points')) > 0);
      await p.goto(`${server.url}/dashboard/patients/${sam.id}/schedule`);
      const row = p.locator('table[aria-describedby="recent"] tbody tr:not(.cancelled)').first();
      const session = await row.getAttribute('data-session');
      await row.locator('select[name="attendance"]').selectOption('excused');
      await Promise.all([p.waitForLoadState('load'), row.locator('button[type="submit"]').click()]);
      const mark = p.locator(`tr[data-session="${session}"] .mark`).first();
      assert.equal(await mark.getAttribute('data-attendance'), 'excused');
    } finally {
      await noScript.close();
    }
  });

  it('puts ids, never patient names, in the addresses it links to', async () => {
    const marcus = demo.patients[0];
    for (const route of ['/dashboard/caseload', `/dashboard/patients/${marcus.id}`, `/dashboard/patients/${marcus.id}/schedule`]) {
      await page.goto(`${server.url}${route}`);
      const targets = await page.locator('a[href], form[action]').evaluateAll((els) =>
        els.map((e) => e.getAttribute('href') ?? e.getAttribute('action')),
      );
      assert.ok(targets.length > 0);
      for (const target of targets) {
        const decoded = decodeURIComponent(target).toLowerCase();
        for (const p of demo.patients) {
          for (const part of p.name.toLowerCase().split(' ')) {
            assert.ok(!decoded.includes(part), `${target} names ${p.name}`);
          }
        }
      }
    }
  });

  it('signs out with the button, and the session is gone for good', async () => {
    const other = await launch();
    try {
      const { page: p } = other;
      await signIn(p, server.url, demo.counselor_email, PASSWORD);
      assert.equal(new URL(p.url()).pathname, '/dashboard/caseload');
      const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'tether_dashboard');
      await Promise.all([p.waitForLoadState('load'), p.click('form.sign-out button[type="submit"]')]);
      assert.match(new URL(p.url()).pathname, /^\/dashboard\/sign-in/);
      await p.goto(`${server.url}/dashboard/caseload`);
      assert.match(new URL(p.url()).pathname, /^\/dashboard\/sign-in/);
      // The old cookie, replayed, opens nothing: the server ended the session.
      const replay = await fetch(`${server.url}/dashboard/caseload`, {
        headers: { cookie: `tether_dashboard=${cookie.value}` },
        redirect: 'manual',
      });
      assert.notEqual(replay.status, 200);
    } finally {
      await other.close();
    }
  });

  it('signs the counselor out after the idle time', async () => {
    // A second server on the same database with a three-second idle logoff.
    const quick = await startServer(bin, db.url, db.dir, 'idle-server', {
      TETHER_DASHBOARD_IDLE_MINUTES: '0.05',
    });
    const fresh = await launch();
    try {
      await signIn(fresh.page, quick.url, demo.counselor_email, PASSWORD);
      assert.equal(new URL(fresh.page.url()).pathname, '/dashboard/caseload');
      await new Promise((r) => setTimeout(r, 4_500));
      await fresh.page.reload();
      assert.match(new URL(fresh.page.url()).pathname, /^\/dashboard\/sign-in/);
      assert.equal(await fresh.page.locator('table.caseload').count(), 0);
      assert.match(await fresh.page.locator('body').innerText(), /inactiv|idle|signed out/i);
      await fresh.page.screenshot({ path: screenshotPath('signed-out-idle'), fullPage: true });
    } finally {
      await fresh.close();
      await quick.stop();
    }
  });

  it('warns before the idle logoff, and one press keeps the counselor signed in', async () => {
    // Six seconds idle: the warning comes three seconds in.
    const quick = await startServer(bin, db.url, db.dir, 'warning-server', {
      TETHER_DASHBOARD_IDLE_MINUTES: '0.1',
    });
    const fresh = await launch();
    try {
      const p = fresh.page;
      await signIn(p, quick.url, demo.counselor_email, PASSWORD);
      assert.equal(new URL(p.url()).pathname, '/dashboard/caseload');
      const warning = p.locator('#idle-warning');
      assert.equal(await warning.isVisible(), false, 'no warning at first');
      await warning.waitFor({ state: 'visible', timeout: 5_000 });
      assert.match(await warning.innerText(), /you will be signed out in \d+ seconds? without activity/);
      assert.equal(await warning.getAttribute('role'), 'alertdialog');
      await p.screenshot({ path: screenshotPath('idle-warning') });
      // "Stay signed in" restarts the server's idle clock without leaving the page.
      await p.click('#keep-alive button');
      await warning.waitFor({ state: 'hidden', timeout: 2_000 });
      await new Promise((r) => setTimeout(r, 4_500));
      assert.equal(new URL(p.url()).pathname, '/dashboard/caseload', 'still signed in past the first idle time');
      assert.equal(await p.locator('table.caseload').count(), 1);
      // Left alone, the page leaves itself for the sign-in page when the time is up.
      await p.waitForURL(/\/dashboard\/sign-in/, { timeout: 15_000 });
      assert.equal(await p.locator('table.caseload').count(), 0);
    } finally {
      await fresh.close();
      await quick.stop();
    }
  });

  it('never writes a password, session token or CSRF token to the server log', async () => {
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'tether_dashboard');
    assert.ok(session, 'the browser holds a session cookie');
    await page.goto(`${server.url}/dashboard/caseload`);
    const csrf = await page.locator('input[name="csrf"]').first().inputValue().catch(() => null);
    const log = readFileSync(server.logPath, 'utf8');
    assert.ok(log.length > 0);
    assert.ok(!log.includes(PASSWORD), 'password in the log');
    assert.ok(!log.includes(session.value), 'session token in the log');
    if (csrf) assert.ok(!log.includes(csrf), 'CSRF token in the log');
    for (const p of demo.patients) assert.ok(!log.includes(p.name), `${p.name} in the log`);
  });
});

/** The craving chart on the page has as many points as the API has days with check-ins. */
async function checkChart(page, base, token, patientId) {
  const from = await page.inputValue('input[name="from"]');
  const to = await page.inputValue('input[name="to"]');
  const trends = await api(base, 'GET', `/v1/patients/${patientId}/trends?from=${from}&to=${to}`, { token });
  assert.equal(trends.status, 200, JSON.stringify(trends.body));
  const expected = trends.body.daily.filter((d) => d.count > 0).length;
  assert.ok(expected > 0, 'the demo patient has check-ins in the range');
  const chart = page.locator('section[aria-labelledby="craving-heading"] svg[data-points]');
  assert.equal(await chart.count(), 1);
  assert.equal(Number(await chart.getAttribute('data-points')), expected);
  assert.equal(await chart.locator('circle.point').count(), expected);
  // The heat map has a cell for every weekday and hour with check-ins; the IOP hours chart a bar
  // pair for every week of the ledger.
  const heat = page.locator('section[aria-labelledby="heatmap-heading"] svg[data-cells]');
  assert.equal(Number(await heat.getAttribute('data-cells')), trends.body.heatmap.filter((c) => c.count > 0).length);
  const ledger = await api(base, 'GET', `/v1/patients/${patientId}/iop-hours?from=${from}&to=${to}`, { token });
  assert.equal(ledger.status, 200, JSON.stringify(ledger.body));
  const hours = page.locator('section[aria-labelledby="hours-heading"] svg[data-weeks]');
  assert.equal(Number(await hours.getAttribute('data-weeks')), ledger.body.weeks.length);
  // Readable without colour: axes with labels and units, and a text alternative.
  assert.ok((await chart.locator('.axis').count()) >= 2);
  assert.equal(await chart.getAttribute('role'), 'img');
  assert.ok((await chart.getAttribute('aria-label'))?.length > 0 || (await chart.locator('title').count()) > 0);
}

