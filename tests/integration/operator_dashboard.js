// Opens the operator dashboard in headless Chromium (Debian's, driven by
// playwright-core from tests/node) for test_node_operator:
//   node operator_dashboard.js NODE_MODULES ARGS_JSON
// ARGS_JSON: url, admin_token, shot, shot_top, vault, asset, raw_before,
// text_before, raw_after, text_after, past_seq, gamma_seq, delayed_seq,
// delayed_text, retime_seq, drop_seq, price_text. In a 1280x800 window:
// 1. waits until the page is live and shows VAULT's ASSET locked =
//    raw_before (data-raw, exact) as text_before (what a user reads), and
//    the event list already shows, from the server's history, the
//    "accepted" and "delivered" events of the transfers past_seq (to beta)
//    and gamma_seq (to gamma) made before the page opened, and the vault's
//    segment "normal" and ASSET's fixed price as price_text; prints "loaded";
// 2. the test then makes a transfer: waits for a live (not history)
//    "accepted" event of VAULT and for locked = raw_after shown as
//    text_after;
// 3. charts (uPlot) with points from the node's samples: delivered and
//    refused per minute with a delivery counted, latency with a p50, chain
//    lag, the lanes to beta (outstanding and the outbound bucket's
//    headroom) and to gamma;
// 4. filters: chain gamma shows only events about gamma (the transfer to
//    gamma among them), chain beta hides them, kind "delivered" only
//    deliveries;
// 5. the pending transfer delayed_seq: its buttons disabled without the
//    admin token; the token entered once; Release, confirm: the node's
//    answer (HTTP 200, rc 0) shown, its "admin" event, the row gone, the
//    transfer's "delivered" event; Retime of retime_seq to a day after its
//    release time (the row then shows that time); Drop of drop_seq, refused
//    by the page without a reason, then done with one (the row gone);
// 6. reload: the token still set in this tab (never in the URL), past
//    events on load (those of step 1 and the release, marked history), the
//    charts at once with at least the points they had;
// 7. every time on the page (text, titles, labels) is
//    "YYYY-MM-DD HH:MM:SSZ"; no caption calls outstanding "minted" without
//    "+ in flight";
// 8. saves shot_top (the window: header, totals, charts) and shot (the
//    whole page), prints one JSON line.
// Exit 0 when all of it was seen; 1 with the reason (and shot saved as
// evidence) otherwise.
'use strict';
const path = require('path');

const [modules, argsJson] = process.argv.slice(2);
const A = JSON.parse(argsJson);
const { chromium } = require(path.join(modules, 'playwright-core'));

function lockedSel() {
  return `[data-vault="${A.vault}"] [data-asset="${A.asset}"] .amt.locked`;
}

async function waitLocked(page, raw, text, timeout) {
  await page.waitForFunction(([sel, r]) => {
    const el = document.querySelector(sel);
    return el && el.dataset.raw === r;
  }, [lockedSel(), raw], { timeout });
  const shown = (await page.textContent(lockedSel())).trim();
  if (shown !== text) throw new Error(`locked shows "${shown}", expected "${text}"`);
}

async function waitFor(page, sel, what, timeout) {
  await page.waitForSelector(sel, { timeout: timeout || 15000 }).catch(() => {
    throw new Error(what);
  });
}

// the past "accepted" and "delivered" events of a transfer, on load
async function pastEvents(page, seq, from, to) {
  for (const kind of ['accepted', 'delivered']) {
    const sel = `li.ev[data-kind="${kind}"][data-history="1"][data-sequence="${seq}"]`;
    await waitFor(page, sel, `no past "${kind}" event of transfer #${seq} on load`);
    const t = (await page.textContent(sel)).replace(/\s+/g, ' ');
    if (!t.includes(`${from} → ${to} #${seq}`) || !t.includes('vault ' + A.vault)) throw new Error('past event reads: ' + t);
  }
}

// points of a chart and whether a series has a value (optionally > 0)
function chartState(page, id) {
  return page.evaluate((c) => {
    const u = window.bulkheadCharts && window.bulkheadCharts.get(c);
    if (!u) return null;
    return { points: u.data[0].length, labels: u.series.slice(1).map((s) => s.label),
      nonNull: u.data.slice(1).map((s) => s.filter((v) => v !== null).length),
      max: u.data.slice(1).map((s) => Math.max(0, ...s.filter((v) => v !== null))) };
  }, id);
}

async function waitChart(page, id, test, what, timeout) {
  const t0 = Date.now();
  let st = null;
  for (;;) {
    st = await chartState(page, id);
    if (st && test(st)) return st;
    if (Date.now() - t0 > (timeout || 20000)) throw new Error(`chart ${id}: ${what}: ${JSON.stringify(st)}`);
    await page.waitForTimeout(200);
  }
}

async function select(page, id, value) {
  await page.selectOption('#' + id, value);
  await page.waitForTimeout(50);
}

// the events shown: their kinds, chains and sequences
function shownEvents(page) {
  return page.$$eval('li.ev', (els) => els.map((e) => ({ kind: e.dataset.kind, chains: (e.dataset.chains || '').split(' '),
    sequence: e.dataset.sequence, history: e.dataset.history === '1' })));
}

// Everything a user can read: the text, and the tooltips and labels.
function readable() {
  const parts = [document.body.innerText];
  for (const el of document.querySelectorAll('[title], [aria-label]')) {
    if (el.getAttribute('title')) parts.push(el.getAttribute('title'));
    if (el.getAttribute('aria-label')) parts.push(el.getAttribute('aria-label'));
  }
  return parts.join('\n');
}

const ISO = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/g;

const clock = (t) => new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ') + 'Z';
const unclock = (s) => Date.parse(s.replace(' ', 'T')) / 1000;

// an action's answer in the admin log: ok, HTTP 200, rc 0
async function answerOk(page, verb, key) {
  const sel = `#admin-log li[data-verb="${verb}"][data-id="${key}"]`;
  await waitFor(page, sel, `no answer from the admin API to ${verb} shown`, 30000);
  const ans = await page.$eval(sel, (li) => ({ ok: li.dataset.ok, status: li.dataset.status, rc: li.dataset.rc, text: li.innerText }));
  if (ans.ok !== '1' || ans.status !== '200' || ans.rc !== '0') throw new Error(`the ${verb} answer: ` + JSON.stringify(ans));
  return ans;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const errors = [];
  const seen = {};
  let page;
  try {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    // the admin token goes in the Authorization header of POSTs, never in a URL
    page.on('request', (r) => {
      if (r.url().includes(A.admin_token)) errors.push('the admin token is in a URL: ' + r.url());
    });
    await page.goto(A.url);
    await page.waitForSelector('#conn.pill-ok', { timeout: 15000 });
    await waitLocked(page, A.raw_before, A.text_before, 20000);
    await pastEvents(page, A.past_seq, 'alpha', 'beta');
    await pastEvents(page, A.gamma_seq, 'alpha', 'gamma');
    // the vault's value limits: its segment's state and its asset's price
    const seg = (await page.textContent(`[data-vault="${A.vault}"] [data-segment]`)).trim();
    if (seg !== 'segment normal') throw new Error('segment shows: ' + seg);
    const price = (await page.textContent(`[data-vault="${A.vault}"] [data-price="${A.asset}"]`)).trim();
    if (price !== A.asset + ' at ' + A.price_text + ' (fixed)') throw new Error('price shows: ' + price);
    process.stdout.write('loaded\n');

    const live = 'li.ev[data-kind="accepted"]:not([data-history])';
    await waitFor(page, live, 'no live "accepted" event', 60000);
    const ev = (await page.textContent(live)).replace(/\s+/g, ' ');
    if (!ev.includes('vault ' + A.vault)) throw new Error('the live event does not name the vault: ' + ev);
    await waitLocked(page, A.raw_after, A.text_after, 30000);

    // 3. charts (uPlot) of the node's samples, one a second in this test
    const lane = (to) => `lane-${A.vault}/${A.asset}/${to}`;
    seen.delivered = await waitChart(page, 'delivered', (s) => s.points >= 3 && s.max[0] > 0, 'no delivery counted');
    seen.latency = await waitChart(page, 'latency', (s) => s.points >= 3 && s.nonNull[0] > 0 && s.nonNull[1] > 0, 'no latency');
    seen.lag = await waitChart(page, 'lag', (s) => s.points >= 3 && s.labels.join() === 'alpha,beta,gamma' &&
      s.nonNull.every((n) => n > 0), 'no lag of each chain');
    seen.beta = await waitChart(page, lane(2), (s) => s.points >= 3 && s.labels[0] === 'outstanding (minted + in flight)' &&
      s.nonNull[0] > 0 && s.max[0] > 0 && s.labels.includes('outbound bucket headroom') &&
      s.nonNull[s.labels.indexOf('outbound bucket headroom')] > 0, 'no outstanding or headroom');
    seen.gamma = await waitChart(page, lane(3), (s) => s.points >= 3 && s.max[0] >= 3, 'no outstanding to gamma');
    const canvases = await page.$$eval('.chartbox canvas', (cs) => cs.filter((c) => c.width > 100 && c.height > 50).length);
    if (canvases < 5) throw new Error('charts drawn: ' + canvases);

    // 4. filters by chain and by kind
    await select(page, 'f-chain', 'gamma');
    let evs = await shownEvents(page);
    if (!evs.length || evs.some((e) => !e.chains.includes('gamma')) ||
        !evs.some((e) => e.sequence === String(A.gamma_seq) && e.kind === 'delivered'))
      throw new Error('chain gamma shows: ' + JSON.stringify(evs.slice(0, 5)));
    const hash = await page.evaluate(() => location.hash);
    if (hash !== '#chain=gamma') throw new Error('the filter is not in the URL fragment: ' + hash);
    await select(page, 'f-chain', 'beta');
    evs = await shownEvents(page);
    if (!evs.length || evs.some((e) => e.chains.includes('gamma') || !e.chains.includes('beta')))
      throw new Error('chain beta shows: ' + JSON.stringify(evs.slice(0, 5)));
    await select(page, 'f-kind', 'delivered');
    evs = await shownEvents(page);
    if (!evs.length || evs.some((e) => e.kind !== 'delivered')) throw new Error('kind delivered shows: ' + JSON.stringify(evs.slice(0, 5)));
    const count = (await page.textContent('#f-count')).trim();
    if (!/^showing \d+ of \d+$/.test(count)) throw new Error('filter count: ' + count);
    await select(page, 'f-chain', '');
    await select(page, 'f-kind', '');
    seen.filters = { gamma: true, beta: evs.length };

    // 5. release the delayed transfer through the page
    const row = `tr[data-pending][data-sequence="${A.delayed_seq}"]`;
    await waitFor(page, row, `no pending row for transfer #${A.delayed_seq}`);
    const rowText = (await page.textContent(row)).replace(/\s+/g, ' ');
    if (!rowText.includes(A.delayed_text) || !rowText.includes('big')) throw new Error('pending row reads: ' + rowText);
    const key = await page.getAttribute(row, 'data-pending');
    for (const b of ['release', 'drop', 'retime'])
      if (!(await page.isDisabled(`${row} button.act-${b}`))) throw new Error(`${b} is enabled without the admin token`);
    await page.fill('#admin-token', A.admin_token);
    await page.click('#admin-use');
    await waitFor(page, '#admin-on:not(.hidden)', 'the admin token was not taken');
    if (await page.inputValue('#admin-token') !== '') throw new Error('the token stays in the input');
    for (const b of ['release', 'drop', 'retime'])
      if (await page.isDisabled(`${row} button.act-${b}`)) throw new Error(`${b} stays disabled with the admin token`);
    await page.click(`${row} button.act-release`);
    await page.fill('form[data-form="release"] input.reason', 'checked in the dashboard test');
    await page.click('button[data-confirm="release"]');
    const ans = await answerOk(page, 'release', key);
    const adminEv = `li.ev[data-kind="admin"]:not([data-history])`;
    await page.waitForFunction(([sel, k]) => [...document.querySelectorAll(sel)]
      .some((li) => li.textContent.includes('release ' + k) && li.textContent.includes('api:dashboard: rc 0')),
    [adminEv, key], { timeout: 15000 }).catch(() => { throw new Error('no admin event of the release'); });
    await page.waitForSelector(row, { state: 'detached', timeout: 15000 }).catch(() => {
      throw new Error('the released row stays');
    });
    await waitFor(page, `li.ev[data-kind="delivered"][data-sequence="${A.delayed_seq}"]:not([data-history])`,
      'the released transfer was not delivered', 30000);
    seen.release = { key, answer: ans.text.split('\n')[0] };

    // ... retime another one to a day after its release time
    const rrow = `tr[data-pending][data-sequence="${A.retime_seq}"]`;
    await waitFor(page, rrow, `no pending row for transfer #${A.retime_seq}`);
    const rkey = await page.getAttribute(rrow, 'data-pending');
    const was = unclock((await page.textContent(`${rrow} td:nth-child(6)`)).match(ISO)[0]);
    const want = was + 86400;
    await page.click(`${rrow} button.act-retime`);
    await page.fill('form[data-form="retime"] input.when', clock(want));
    await page.click('button[data-confirm="retime"]');
    await answerOk(page, 'retime', rkey);
    await page.waitForFunction(([sel, w]) => {
      const td = document.querySelector(sel);
      const m = td && td.textContent.match(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/);
      return m && Math.abs(Date.parse(m[0].replace(' ', 'T')) / 1000 - w) <= 2;
    }, [`${rrow} td:nth-child(6)`, want], { timeout: 15000 }).catch(async () => {
      throw new Error(`retimed row shows ${await page.textContent(`${rrow} td:nth-child(6)`)}, wanted ${clock(want)}`);
    });
    // ... and drop a third: a reason is asked first
    const drow = `tr[data-pending][data-sequence="${A.drop_seq}"]`;
    await waitFor(page, drow, `no pending row for transfer #${A.drop_seq}`);
    const dkey = await page.getAttribute(drow, 'data-pending');
    const logged = await page.$$eval('#admin-log li', (l) => l.length);
    await page.click(`${drow} button.act-drop`);
    await page.click('button[data-confirm="drop"]');
    const refusal = (await page.textContent('form[data-form="drop"] .answer')).trim();
    if (refusal !== 'a drop needs a reason') throw new Error('a drop without a reason: ' + refusal);
    if (await page.$$eval('#admin-log li', (l) => l.length) !== logged) throw new Error('a drop without a reason was sent');
    await page.fill('form[data-form="drop"] input.reason', 'sender asked, in the dashboard test');
    await page.click('button[data-confirm="drop"]');
    await answerOk(page, 'drop', dkey);
    await page.waitForSelector(drow, { state: 'detached', timeout: 15000 }).catch(() => {
      throw new Error('the dropped row stays');
    });
    seen.retime = { key: rkey, to: clock(want) };
    seen.drop = { key: dkey };

    // 6. reload: the token kept in this tab, past events, the charts at once
    const before = (await chartState(page, 'delivered')).points;
    await page.reload();
    await page.waitForSelector('#conn.pill-ok', { timeout: 15000 });
    if (page.url().includes(A.admin_token)) throw new Error('the admin token is in the URL');
    await waitFor(page, '#admin-on:not(.hidden)', 'the admin token was forgotten by a reload');
    await pastEvents(page, A.past_seq, 'alpha', 'beta');
    await waitFor(page, `li.ev[data-kind="delivered"][data-history="1"][data-sequence="${A.delayed_seq}"]`,
      'no past delivery of the released transfer after a reload');
    await waitFor(page, 'li.ev[data-kind="admin"][data-history="1"]', 'no past admin event after a reload');
    const t0 = Date.now();
    const after = await waitChart(page, 'delivered', (s) => s.points >= before, 'fewer points after a reload', 3000);
    seen.reload = { points_before: before, points_after: after.points, ms: Date.now() - t0 };

    // 7. one time format everywhere, outstanding named honestly
    await page.hover('.chartbox[data-chart="latency"] .u-over'); // a legend showing a time under the pointer
    const text = await page.evaluate(readable);
    const isoCount = (text.match(ISO) || []).length;
    const rest = text.replace(ISO, '');
    const other = rest.match(/\b\d{1,2}:\d{2}(:\d{2})?\b|\b[AP]M\b/gi);
    if (other) throw new Error('times not in UTC ISO format: ' + JSON.stringify(other.slice(0, 5)));
    const evTimes = await page.$$eval('li.ev .t', (els) => els.map((e) => e.textContent.trim()));
    if (evTimes.length < 3 || !evTimes.every((t) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/.test(t)))
      throw new Error('event times: ' + JSON.stringify(evTimes.slice(0, 5)));
    if (isoCount < evTimes.length + 2) throw new Error('too few times shown: ' + isoCount);
    // "minted" only as a part of the split: minted, then in flight beside it
    const alone = text.replace(/minted \+ in flight/g, '…').match(/.{0,60}minted(?![^]{0,40}in flight).{0,60}/i);
    if (alone) throw new Error('a caption says "minted" alone: ' + alone[0]);
    const caption = (await page.textContent(`[data-vault="${A.vault}"] [data-asset="${A.asset}"]`)).replace(/\s+/g, ' ');
    if (!caption.includes('outstanding, all lanes (minted + in flight)')) throw new Error('asset caption: ' + caption);
    // the asset's lanes are to the other chains only, not to its own home
    const laneNames = await page.$$eval(`[data-vault="${A.vault}"] [data-asset="${A.asset}"] .lane`, (els) => els.map((e) => e.dataset.lane));
    if (laneNames.includes(A.vault) || !laneNames.includes('beta')) throw new Error('asset lanes: ' + JSON.stringify(laneNames));

    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    // 8. screenshots: the window as an operator opens it, then the whole page
    // (once the charts hold 20 samples: 20 s of this test's node)
    await waitChart(page, 'delivered', (st) => st.points >= 20, 'fewer than 20 samples', 40000);
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(300);
    await page.screenshot({ path: A.shot_top });
    await page.screenshot({ path: A.shot, fullPage: true });
    const conn = (await page.textContent('#conn')).trim();
    process.stdout.write(JSON.stringify({ ok: true, event: ev.trim(), connection: conn, times: isoCount, seen,
      screenshot: A.shot_top }) + '\n');
    await browser.close();
  } catch (e) {
    if (page) await page.screenshot({ path: A.shot, fullPage: true }).catch(() => {});
    process.stdout.write(JSON.stringify({ ok: false, error: String(e.message || e), page_errors: errors, seen }) + '\n');
    await browser.close();
    process.exit(1);
  }
})();
