// SPDX-License-Identifier: MIT
// Loads a page of `ctrace export --format html` in Debian's chromium (headless, driven by
// playwright-core from tests/package.json) and checks it against `ctrace report --json`
// of the same trace:
//   - no console error and no uncaught exception;
//   - the top wait site (the first frame of the sync profile's first entry) is shown;
//   - a click on a flame-graph frame zooms: that frame then spans the whole width;
//   - the timeline draws one arrow per wait whose releasing thread is another drawn one;
//   - each convoy plot has as many convoy windows as the report's convoy evidence;
//   - each deadlock of the report is listed with its threads;
//   - a range selected on the time axis filters the objects table; a column click sorts it.
// Saves a screenshot. Prints "ok: ..." lines and exits 0, or prints what failed and exits 1.
// usage: node html-report.mjs PAGE.html REPORT.json SCREENSHOT.png
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [page_path, report_path, shot] = process.argv.slice(2);
if (!shot) {
  console.error('usage: node html-report.mjs PAGE.html REPORT.json SCREENSHOT.png');
  process.exit(2);
}
const report = JSON.parse(fs.readFileSync(report_path, 'utf8'));
const profile = dir => fs.mkdtempSync(path.join(os.tmpdir(), dir));
const failures = [];
function check(cond, what) {
  if (cond) console.log('ok: ' + what);
  else { console.log('FAILED: ' + what); failures.push(what); }
}

const userDir = profile('ctrace-chromium-');
const ctx = await chromium.launchPersistentContext(userDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1400, height: 1000 },
});
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [], requests = [];
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', e => errors.push(String(e)));
  page.on('request', r => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto('file://' + path.resolve(page_path));
  await page.waitForSelector('#timeline-canvas');

  // top wait site
  const sync = report.profiles.filter(p => p.profile === 'sync');
  const top = sync.sort((a, b) => b.total_ns - a.total_ns)[0];
  const topFunc = top.frames[0].func;
  const topText = await page.textContent('#top-site');
  check(topText && topText.includes(topFunc), `top wait site "${topFunc}" shown (${topText})`);

  // flame graph: click a frame that is narrower than the graph; it then spans it
  const full = await page.$eval('#flame-svg', s => s.clientWidth);
  const target = await page.$$eval('#flame-svg g.frame', gs => {
    const g = gs.find(g => Number(g.dataset.width) < 0.9 * g.ownerSVGElement.clientWidth &&
                        Number(g.dataset.width) > 20);
    return g ? g.dataset.name : null;
  });
  check(target !== null, `a flame-graph frame narrower than the graph exists (${target})`);
  if (target) {
    await page.locator('#flame-svg g.frame', { has: page.locator(`xpath=self::*[@data-name=${JSON.stringify(target)}]`) })
      .first().locator('rect').click();
    const after = await page.$$eval('#flame-svg g.frame', (gs, name) =>
      gs.filter(g => g.dataset.name === name).map(g => Number(g.dataset.width)), target);
    const zoom = await page.$eval('#flame-svg', s => s.getAttribute('data-zoom'));
    check(zoom === target && after.some(w => w >= full - 1),
      `click on "${target}" zooms: it spans ${after.join(',')} of ${full} px`);
  }

  // timeline arrows: every drawn wait whose release is on another drawn thread
  const expectArrows = await page.evaluate(() => {
    const D = JSON.parse(document.getElementById('ctrace-data').textContent);
    return D.timeline.waits.filter(w => w[7] >= 0 && w[7] !== w[0]).length;
  });
  const arrows = Number(await page.$eval('#timeline-canvas', c => c.dataset.arrows));
  // a trace with wake-ups across threads (the convoy example) must show them; whether a
  // deadlocked program's few waits had one depends on scheduling (ARROWS_OPTIONAL=1)
  check(arrows === expectArrows && (arrows > 0 || process.env.ARROWS_OPTIONAL === '1'),
    `the timeline draws ${arrows} arrows (expected ${expectArrows})`);

  // convoy plots: one per convoyed object, with its convoy windows
  const convoys = report.objects.filter(o => o.convoy);
  const plots = await page.$$eval('svg.convoy-plot', s => s.length);
  check(plots === convoys.length, `${plots} convoy plot(s) for the report's ${convoys.length} convoyed object(s)`);
  for (const o of convoys) {
    const n = await page.$$eval(`svg.convoy-plot[data-object="${o.address}"] rect.window.convoy`, r => r.length);
    check(n === o.convoy_evidence.windows && n > 0,
      `convoy plot of ${o.address}: ${n} convoy windows (report: ${o.convoy_evidence.windows})`);
  }

  // deadlocks: one entry per cycle, naming its threads
  const cycles = await page.$$eval('#chains div.yes', d => d.map(x => x.textContent));
  check(cycles.length === report.deadlocks.length,
    `${cycles.length} deadlock(s) shown, the report has ${report.deadlocks.length}`);
  for (const [i, c] of report.deadlocks.entries()) {
    const text = await page.$eval(`#chains ul.chains:nth-of-type(${i + 1})`, u => u.textContent);
    check(c.every(l => text.includes('tid ' + l.tid + ' waits on')),
      `deadlock ${i + 1} names threads ${c.map(l => l.tid).join(', ')}`);
  }

  // the selected range filters the tables
  const box = await page.$eval('#timeline-canvas', c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width]; });
  await page.mouse.move(box[0] + 200, box[1] + 8);
  await page.mouse.down();
  await page.mouse.move(box[0] + 400, box[1] + 8);
  await page.mouse.up();
  const info = await page.textContent('#range-info');
  check(/selected/.test(info), `dragging on the time axis selects a range (${info})`);
  // ... which filters the objects table: its waits are those overlapping the range
  const expectRows = await page.evaluate(() => {
    const D = JSON.parse(document.getElementById('ctrace-data').textContent);
    const [lo, hi] = window.ctraceReport.range;
    const objs = new Set(D.timeline.waits.filter(w => w[6] && w[3] < hi && w[3] + w[4] > lo).map(w => w[6]));
    return objs.size;
  });
  const note = await page.textContent('#objects .note');
  const rowsInRange = await page.$$eval('#objects-table tbody tr', r => r.length);
  check(/selected range/.test(note) && rowsInRange > 0 && rowsInRange === expectRows,
    `the objects table shows the objects waited on in the range (${rowsInRange}, expected ${expectRows})`);
  await page.click('#range-clear');
  // the objects table sorts by a clicked column
  await page.click('#objects-table th[data-key="waits"]');
  const waits = await page.$$eval('#objects-table tbody tr td:nth-child(3)', t => t.map(x => Number(x.textContent)));
  check(waits.length > 1 && waits.every((w, i) => i === 0 || waits[i - 1] >= w),
    `a click on "waits" sorts the objects table (${waits.slice(0, 4).join(' ')} ...)`);
  await page.click('#flame-reset');

  check(requests.length === 0, `nothing fetched (${requests.join(' ')})`);
  check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);
} finally {
  await ctx.close();
  fs.rmSync(userDir, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);
