// The real server for the browser tests: the `tether-api` binary built from this checkout, a
// temporary SQLite database filled by `tether-api demo`, and servers on random ports (the
// binary prints `tether-api listening on port N` on stdout; nothing here sleeps waiting for it).

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const targetDir = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
export const screenshotDir = path.join(targetDir, 'screenshots');

/** The server binary: `TETHER_API_BIN`, or `cargo build -p api` (debug) and its output. */
export function serverBinary() {
  if (process.env.TETHER_API_BIN) return process.env.TETHER_API_BIN;
  const built = spawnSync('cargo', ['build', '--quiet', '-p', 'api', '--bin', 'tether-api'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0) throw new Error('cargo build -p api failed');
  return path.join(targetDir, 'debug', 'tether-api');
}

/** A temporary directory with a SQLite database path in it; `remove()` deletes it. */
export function tempDatabase() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tether-browser-'));
  return { dir, url: path.join(dir, 'tether.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `tether-api demo` with the password on stdin; returns its JSON summary. */
export function runDemo(bin, databaseUrl, password, days = 60) {
  const out = spawnSync(
    bin,
    ['demo', '--database-url', databaseUrl, '--password-stdin', '--json', '--days', String(days)],
    { input: `${password}\n`, encoding: 'utf8', env: { PATH: process.env.PATH, TETHER_LOG: 'warn' } },
  );
  if (out.status !== 0) throw new Error(`tether-api demo failed:\n${out.stderr}`);
  return JSON.parse(out.stdout);
}

/**
 * Starts a server on a random port over `databaseUrl` with extra environment; resolves to
 * `{ url, stop() }` once it listens. Its log goes to `<dir>/<name>.log`.
 */
export function startServer(bin, databaseUrl, dir, name, extraEnv = {}) {
  const logPath = path.join(dir, `${name}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(bin, [], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      TETHER_BIND: '127.0.0.1:0',
      TETHER_JWT_SECRET: randomBytes(32).toString('hex'),
      TETHER_LOG: 'info',
      TETHER_SHUTDOWN_SECS: '2',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', log],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the server did not start in 60 s; its log:\n${readFileSync(logPath, 'utf8')}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}); its log:\n${readFileSync(logPath, 'utf8')}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^tether-api listening on port (\d+)$/.exec(line.trim());
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        logPath,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** Makes sure the screenshot folder exists; returns the path of `name.png` in it. */
export function screenshotPath(name) {
  mkdirSync(screenshotDir, { recursive: true });
  return path.join(screenshotDir, `${name}.png`);
}
