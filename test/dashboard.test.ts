// The live dashboard in a real browser (Debian's chromium driven by
// playwright-core): it follows a running evolution without a reload, stays
// read-only and inside the experiment; and the report opens from disk
// without console errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { importDataset } from '../src/data/import.js';
import { startDashboard } from '../src/server/dashboard.js';
import type { Dashboard } from '../src/server/dashboard.js';
import { EVONAS, runCli } from './support/cli.js';
import { learnableCifar10Folder } from './support/formats.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const root = mkdtempSync(join(tmpdir(), 'evonas-dashboard-'));
const cache = join(root, 'cache');
const exp = join(root, 'exp');
let browser: Browser;
let dashboard: Dashboard;
let evolution: ReturnType<typeof spawn>;
let evolutionDone: Promise<number>;

before(async () => {
  await importDataset(learnableCifar10Folder(join(root, 'src'), 60, 40), { out: cache, validation: 20 });
  // Slow enough children (a few a second) that the page sees them arrive.
  evolution = spawn(process.execPath, [
    EVONAS,
    'evolve',
    '--data',
    cache,
    '--out',
    exp,
    '--population',
    '4',
    '--workers',
    '1',
    '--steps',
    '40',
    '--batch',
    '10',
    '--time-budget',
    '25s',
    '--objectives',
    'accuracy,parameters',
  ]);
  evolutionDone = new Promise((r) => evolution.on('close', (code) => r(code ?? -1)));
  for (let i = 0; i < 100 && !statSync(join(exp, 'run.json'), { throwIfNoEntry: false }); i++) await new Promise((r) => setTimeout(r, 100));
  dashboard = await startDashboard(exp, { port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await dashboard?.close();
  evolution?.kill('SIGINT');
  await evolutionDone;
  rmSync(root, { recursive: true, force: true });
});

describe('evonas dashboard', () => {
  it('shows new individuals of a running evolution without a reload', async () => {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'localhost unless told otherwise');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dashboard.url);
    await page.waitForFunction(() => Number(document.getElementById('individuals')?.textContent) > 0);
    const first = Number(await page.textContent('#individuals'));
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.waitForFunction((n) => Number(document.getElementById('individuals')?.textContent) > n, first, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the same page: no reload');
    await page.waitForSelector('#figure1 svg');
    // Several objectives: the front, live, as a figure and a table (the search keeps accuracy against parameters).
    // (the front is empty until a child is trained: wait for a member's row, not only the figure)
    await page.waitForSelector('#pareto svg', { timeout: 20_000 });
    await page.waitForSelector('#front tr:nth-child(2)', { timeout: 20_000 });
    const dots = await page.locator('#figure1 svg path').count();
    assert.ok(dots > 0);
    const shot = join(root, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
    assert.deepEqual(errors, []);
  });

  it('says on its first line when it is bound beyond this host', async () => {
    const firstLine = async (host: string[]) => {
      const child = spawn(process.execPath, [EVONAS, 'dashboard', exp, '--port', '0', ...host]);
      let out = '';
      const line = await new Promise<string>((res, rej) => {
        child.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('\n')) res(out.split('\n')[0]!);
        });
        child.on('exit', (code) => rej(new Error(`dashboard exited ${code} before its first line`)));
      });
      child.kill('SIGINT');
      return line;
    };
    assert.match(await firstLine(['--host', '0.0.0.0']), /^dashboard at http:\/\/0\.0\.0\.0:\d+\/ \(read-only\) on 0\.0\.0\.0: reachable from the network/);
    assert.match(await firstLine([]), /^dashboard at http:\/\/127\.0\.0\.1:\d+\/ \(read-only; Ctrl-C stops it\)$/);
  });

  it('is read-only and serves nothing outside its routes', async () => {
    const get = (path: string, init?: RequestInit) => fetch(new URL(path, dashboard.url), init);
    assert.equal((await get('/api/state')).status, 200);
    assert.equal((await get('/experiment.json')).status, 404);
    assert.equal((await get('/../../../etc/passwd')).status, 404);
    assert.equal((await get('/api/diagram/..%2Fexperiment.json.svg')).status, 404);
    assert.equal((await get('/api/diagram/%2e%2e%2f%2e%2e%2fetc%2fpasswd.svg')).status, 404);
    assert.equal((await get('/api/state', { method: 'POST', body: '{}' })).status, 405);
    assert.equal((await get('/api/state', { method: 'DELETE' })).status, 405);
    const state = (await (await get('/api/state')).json()) as { top: { id: string }[] };
    const diagram = await get(`/api/diagram/${state.top[0]!.id}.svg`);
    assert.equal(diagram.status, 200);
    assert.match(await diagram.text(), /^<svg/);
  });

  it('the report opens from disk with no console errors', async () => {
    assert.equal(await evolutionDone, 0);
    const r = await runCli(['report', exp, '--ensemble', '3']);
    assert.equal(r.code, 0, r.stderr);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (q) => errors.push(`request failed: ${q.url()}`));
    await page.goto(pathToFileURL(join(exp, 'report', 'index.html')).href);
    assert.match((await page.textContent('body')) ?? '', /best by validation/);
    assert.match((await page.textContent('body')) ?? '', /The Pareto front/);
    assert.ok((await page.locator('svg').count()) >= 3);
    await page.screenshot({ path: join(root, 'report.png'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});
