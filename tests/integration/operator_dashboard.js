// Opens the operator dashboard in headless Chromium (Debian's, driven by
// playwright-core from tests/node) for test_node_operator:
//   node operator_dashboard.js NODE_MODULES URL SHOT VAULT ASSET RAW_BEFORE TEXT_BEFORE RAW_AFTER TEXT_AFTER
// 1. waits until the page is live and shows VAULT's ASSET locked = RAW_BEFORE
//    (data-raw, exact) as TEXT_BEFORE (what a user reads), prints "loaded";
// 2. the test then makes a transfer: waits for a live "accepted" event of
//    VAULT and for locked = RAW_AFTER shown as TEXT_AFTER;
// 3. saves a full-page screenshot to SHOT and prints one JSON line.
// Exit 0 when all of it was seen; 1 with the reason (and SHOT saved as
// evidence) otherwise.
'use strict';
const path = require('path');

const [modules, url, shot, vault, asset, rawBefore, textBefore, rawAfter, textAfter] =
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
    process.stdout.write('loaded\n');

    await page.waitForSelector(`li.ev[data-kind="accepted"]`, { timeout: 60000 });
    const ev = (await page.textContent('li.ev[data-kind="accepted"]')).replace(/\s+/g, ' ');
    if (!ev.includes('vault ' + vault)) throw new Error('the live event does not name the vault: ' + ev);
    await waitLocked(page, rawAfter, textAfter, 30000);
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    await page.screenshot({ path: shot, fullPage: true });
    const conn = (await page.textContent('#conn')).trim();
    process.stdout.write(JSON.stringify({ ok: true, event: ev.trim(), connection: conn, screenshot: shot }) + '\n');
    await browser.close();
  } catch (e) {
    if (page) await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    process.stdout.write(JSON.stringify({ ok: false, error: String(e.message || e), page_errors: errors }) + '\n');
    await browser.close();
    process.exit(1);
  }
})();
