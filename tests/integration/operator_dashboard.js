// Opens the operator dashboard in headless Chromium (Debian's, driven by
// playwright-core from tests/node) for test_node_operator:
//   node operator_dashboard.js NODE_MODULES URL SHOT VAULT ASSET RAW_BEFORE TEXT_BEFORE RAW_AFTER TEXT_AFTER PAST_SEQ
// 1. waits until the page is live and shows VAULT's ASSET locked = RAW_BEFORE
//    (data-raw, exact) as TEXT_BEFORE (what a user reads), and the event
//    list already shows, from the server's history, the "accepted" and
//    "delivered" events of the transfer PAST_SEQ made before the page
//    opened; prints "loaded";
// 2. the test then makes a transfer: waits for a live (not history)
//    "accepted" event of VAULT and for locked = RAW_AFTER shown as TEXT_AFTER;
// 3. waits for charts with data points (lag of each chain, the vault's
//    asset, refused per minute); checks that every time on the page (text,
//    titles, labels) is "YYYY-MM-DD HH:MM:SSZ" and that no caption calls
//    the outstanding figure "minted" without "or on the way";
// 4. saves a full-page screenshot to SHOT and prints one JSON line.
// Exit 0 when all of it was seen; 1 with the reason (and SHOT saved as
// evidence) otherwise.
'use strict';
const path = require('path');

const [modules, url, shot, vault, asset, rawBefore, textBefore, rawAfter, textAfter, pastSeq] =
  process.argv.slice(2);
const { chromium } = require(path.join(modules, 'playwright-core'));

function lockedSel() {
  return `[data-vault="${vault}"] [data-asset="${asset}"] .amt.locked`;
}

async function waitLocked(page, raw, text, timeout) {
  await page.waitForFunction(([sel, r]) => {
    const el = document.querySelector(sel);
    return el && el.dataset.raw === r;
  }, [lockedSel(), raw], { timeout });
  const shown = (await page.textContent(lockedSel())).trim();
  if (shown !== text) throw new Error(`locked shows "${shown}", expected "${text}"`);
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

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const errors = [];
  let page;
  try {
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url);
    await page.waitForSelector('#conn.pill-ok', { timeout: 15000 });
    await waitLocked(page, rawBefore, textBefore, 20000);
    // past events, there on load: the server's history
    for (const kind of ['accepted', 'delivered']) {
      const sel = `li.ev[data-kind="${kind}"][data-history="1"][data-sequence="${pastSeq}"]`;
      await page.waitForSelector(sel, { timeout: 10000 }).catch(() => {
        throw new Error(`no past "${kind}" event of transfer #${pastSeq} on load`);
      });
      const t = (await page.textContent(sel)).replace(/\s+/g, ' ');
      if (!t.includes('#' + pastSeq) || !t.includes('vault ' + vault)) throw new Error('past event reads: ' + t);
    }
    process.stdout.write('loaded\n');

    const live = 'li.ev[data-kind="accepted"]:not([data-history])';
    await page.waitForSelector(live, { timeout: 60000 });
    const ev = (await page.textContent(live)).replace(/\s+/g, ' ');
    if (!ev.includes('vault ' + vault)) throw new Error('the live event does not name the vault: ' + ev);
    await waitLocked(page, rawAfter, textAfter, 30000);

    // charts (uPlot) of the node's samples (one a second in this test)
    const charts = ['delivered', 'latency', 'lag', `lane-${vault}/${asset}/2`];
    for (const id of charts) {
      await page.waitForFunction((c) => {
        const u = window.bulkheadCharts && window.bulkheadCharts.get(c);
        return u && u.data[0].length >= 3 && u.data.slice(1).some((s) => s.some((v) => v !== null));
      }, id, { timeout: 20000 }).catch(() => { throw new Error(`chart ${id} has no data points`); });
    }

    // one time format everywhere
    const text = await page.evaluate(readable);
    const isoCount = (text.match(ISO) || []).length;
    const rest = text.replace(ISO, '');
    const other = rest.match(/\b\d{1,2}:\d{2}(:\d{2})?\b|\b[AP]M\b/gi);
    if (other) throw new Error('times not in UTC ISO format: ' + JSON.stringify(other.slice(0, 5)));
    const evTimes = await page.$$eval('li.ev .t', (els) => els.map((e) => e.textContent.trim()));
    if (evTimes.length < 3 || !evTimes.every((t) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/.test(t)))
      throw new Error('event times: ' + JSON.stringify(evTimes.slice(0, 5)));
    if (isoCount < evTimes.length + 2) throw new Error('too few times shown: ' + isoCount);

    // no "minted" for a figure that includes transfers in flight
    const alone = text.replace(/minted \+ in flight/g, '…').match(/.{0,60}minted.{0,60}/i);
    if (alone) throw new Error('a caption says "minted" alone: ' + alone[0]);
    const caption = (await page.textContent(`[data-vault="${vault}"] [data-asset="${asset}"]`)).replace(/\s+/g, ' ');
    if (!caption.includes('outstanding, all lanes (minted + in flight)')) throw new Error('asset caption: ' + caption);

    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    await page.screenshot({ path: shot, fullPage: true });
    const conn = (await page.textContent('#conn')).trim();
    process.stdout.write(JSON.stringify({ ok: true, event: ev.trim(), connection: conn, times: isoCount,
      screenshot: shot }) + '\n');
    await browser.close();
  } catch (e) {
    if (page) await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    process.stdout.write(JSON.stringify({ ok: false, error: String(e.message || e), page_errors: errors }) + '\n');
    await browser.close();
    process.exit(1);
  }
})();
