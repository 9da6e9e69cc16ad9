// bulkhead operator dashboard: reads /ws (frames in PROTOCOL.md) and draws
// the latest snapshot, charts of the samples the node keeps (uPlot, served
// by the node from the pinned npm package) and an event feed that starts
// with the server's recent history. No network access beyond this server.
// Data is only ever put in the page as text. Every time shown is UTC, in
// one format: 2026-12-02 14:03:07Z.
/* global uPlot */
'use strict';
(function () {
  const MAX_EVENTS = 300;
  const KIND_TEXT = {
    accepted: 'accepted', delayed: 'delayed', held: 'held', rejected: 'rejected',
    released: 'released', delivered: 'delivered', delivery_failed: 'delivery failed',
    quarantined: 'quarantined', limits: 'limits', parked: 'parked', admin: 'admin',
    portal: 'portal',
  };
  const token = new URLSearchParams(location.search).get('token');
  let snap = null;
  let snapAt = 0;
  let lastSeq = 0;
  let missed = 0;
  let retry = 1000;
  const feed = [];

  const $ = (id) => document.getElementById(id);

  // h('div', {class: 'x'}, 'text', child...) -> element; strings become text nodes
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      el.setAttribute(k, String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  function replace(el, ...kids) {
    el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined));
  }

  const isDec = (s) => typeof s === 'string' && /^[0-9]+$/.test(s);

  function group(intStr) {
    return intStr.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // "1500000", 6 -> "1.5"; at most 6 fraction digits shown ("…" marks a cut)
  function units(raw, decimals) {
    if (!isDec(raw)) return raw === '' || raw === undefined ? '—' : String(raw);
    const d = Number(decimals) || 0;
    let s = raw.replace(/^0+(?=\d)/, '');
    if (d === 0) return group(s);
    s = s.padStart(d + 1, '0');
    const i = s.slice(0, s.length - d);
    let f = s.slice(s.length - d).replace(/0+$/, '');
    if (f.length > 6) f = f.slice(0, 6) + '…';
    return group(i) + (f ? '.' + f : '');
  }

  // an amount element: whole tokens shown, exact smallest units on hover
  function amount(raw, decimals, symbol, cls) {
    const text = units(raw, decimals) + (symbol ? ' ' + symbol : '');
    return h('span', {
      class: cls || 'amt', 'data-raw': isDec(raw) ? raw : null,
      title: isDec(raw) ? raw + ' smallest units (10^-' + (decimals || 0) + ')' : null,
    }, text);
  }

  // a / b in percent (BigInt-safe); null when b is zero or not a number
  function percent(a, b) {
    if (!isDec(a) || !isDec(b) || BigInt(b) === 0n) return null;
    return Number((BigInt(a) * 10000n) / BigInt(b)) / 100;
  }

  function chainName(id) {
    const c = snap && (snap.chains || []).find((x) => x.bridge_id === id);
    return c ? c.name : 'chain ' + id;
  }

  // unix seconds -> "2026-12-02 03:50:12Z" (ISO 8601, UTC), the one format shown
  function clock(unix) {
    if (!unix) return '—';
    const d = new Date(unix * 1000);
    if (isNaN(d.getTime())) return '—';
    return d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
  }

  function ago(seconds) {
    const s = Math.round(Math.abs(seconds));
    const t = s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h';
    return seconds >= 0 ? t + ' ago' : 'in ' + t;
  }

  function kv(k, v, title) {
    return h('span', { class: 'kv', title }, h('span', { class: 'k' }, k + ' '),
      h('span', { class: 'v' }, v));
  }

  function assetInfo(vaultName, symbol) {
    const v = snap && (snap.vaults || []).find((x) => x.name === vaultName);
    const a = v && (v.assets || []).find((x) => x.symbol === symbol);
    return a || null;
  }

  // ------------------------------------------------------------- totals
  function drawTotals() {
    const t = snap.totals || {};
    const op = snap.operator || {};
    const cell = (k, v, title) => h('div', { class: 'total', title },
      h('div', { class: 'v' }, v === undefined ? '—' : group(String(v))), h('div', { class: 'k' }, k));
    replace($('totals'),
      cell('events observed', t.events_observed, 'bridge events seen on every chain'),
      cell('accepted', t.accepted, 'messages applied to a vault'),
      cell('rejected', t.rejected, 'messages refused, by reason under each vault'),
      cell('delivered', t.delivered, 'transfers submitted to their destination'),
      cell('quarantines', t.quarantines, 'chains frozen since the node started'),
      cell('dashboard clients', op.clients, 'websocket clients connected to this node'));
  }

  // -------------------------------------------------------------- vaults
  // what outstanding is made of: the snapshot's split when it has one
  function splitText(x, dec, sym) {
    if (isDec(x.minted) && isDec(x.in_flight))
      return [' outstanding: ', amount(x.minted, dec, sym, 'amt minted'), ' minted + ',
        amount(x.in_flight, dec, sym, 'amt in-flight'), ' in flight'];
    return ' outstanding (minted + in flight)';
  }

  function laneView(asset, lane) {
    const dec = asset.decimals;
    const sym = asset.symbol;
    const name = chainName(lane.chain);
    const share = percent(lane.outstanding, asset.locked);
    const hasCap = isDec(lane.cap) && lane.cap !== '0' && BigInt(lane.cap) > 0n;
    // the bar's full width is the larger of locked and the cap
    let scale = asset.locked;
    if (hasCap && isDec(asset.locked) && BigInt(lane.cap) > BigInt(asset.locked)) scale = lane.cap;
    const fillPct = percent(lane.outstanding, scale) || 0;
    const capUse = hasCap ? percent(lane.outstanding, lane.cap) : null;
    const fill = h('div', { class: 'fill' + (capUse !== null && capUse >= 100 ? ' full' : capUse !== null && capUse >= 80 ? ' high' : '') });
    fill.style.width = Math.min(100, fillPct) + '%';
    const bar = h('div', { class: 'bar', title: 'outstanding on ' + name + ' (minted + in flight) against locked' + (hasCap ? ' (line: cap)' : '') }, fill);
    if (hasCap) {
      const mark = h('div', { class: 'mark' });
      mark.style.left = Math.min(100, percent(lane.cap, scale) || 0) + '%';
      bar.appendChild(mark);
    }
    const limits = [];
    limits.push(hasCap ? ['cap ', amount(lane.cap, dec, sym)] : 'no exposure cap');
    limits.push(isDec(lane.in_headroom) ? ['inbound bucket headroom ', amount(lane.in_headroom, dec, sym)] : 'no inbound bucket');
    limits.push(isDec(lane.out_headroom) ? ['outbound bucket headroom ', amount(lane.out_headroom, dec, sym)] : 'no outbound bucket');
    const winLimited = isDec(lane.window_limit) && BigInt(lane.window_limit) > 0n;
    let win = null;
    if (winLimited) {
      const wf = h('div', { class: 'fill win' });
      wf.style.width = Math.min(100, percent(lane.window_used, lane.window_limit) || 0) + '%';
      win = h('div', { class: 'bar', title: '24 h window: value received from ' + name }, wf);
    }
    return h('div', { class: 'lane', 'data-lane': name },
      h('div', { class: 'title' },
        h('span', { class: 'caption', title: 'outstanding on ' + name + ': counted from acceptance, so minted + in flight (in flight: pending, in the outbox or in a transaction not yet mined)' },
          'on ', h('b', {}, name), ': ', amount(lane.outstanding, dec, sym, 'amt outstanding'), splitText(lane, dec, sym)),
        h('span', { class: 'muted' }, share === null ? '' : share.toFixed(2) + '% of locked')),
      bar,
      h('div', { class: 'limits' }, limits.map((x, i) => [i ? ' · ' : '', x])),
      h('div', { class: 'limits' }, '24 h window: ', amount(lane.window_used, dec, sym),
        winLimited ? [' of ', amount(lane.window_limit, dec, sym)] : ' (no limit)'),
      win);
  }

  // the segment's state (its value limits tightened by a price move, or
  // quarantined) and each price the value limits use, with its age
  function segmentView(v) {
    const seg = v.segment;
    const prices = v.prices || [];
    if (!seg && !prices.length) return null;
    const kids = [];
    if (seg) {
      const state = seg.state || 'normal';
      const cls = state === 'normal' ? 'chip' : state === 'tightened' ? 'chip warn' : 'chip bad';
      let text = 'segment ' + state;
      if (state === 'tightened') {
        text += ' to ' + seg.percent + '% of its limits';
        if (seg.until) text += ' until ' + clock(seg.until);
      }
      kids.push(h('span', { class: cls, 'data-segment': state, title: seg.since ? 'since ' + clock(seg.since) : null }, text));
    }
    for (const p of prices) {
      const price = isDec(p.price) && p.price !== '0' ? units(p.price, v.quote_decimals) : 'no price';
      const age = p.source === 'fixed' ? 'fixed' : p.source + (p.age >= 0 ? ', ' + ago(p.age) : '');
      kids.push(h('span', { class: p.usable ? 'chip' : 'chip warn', 'data-price': p.symbol,
        title: p.usable ? (p.feed ? 'feed ' + p.feed : null) : 'not usable: ' + p.why },
      p.symbol + ' at ' + price + ' (' + age + ')' + (p.usable ? '' : ': ' + p.why)));
    }
    return h('div', { class: 'row' }, 'value limits: ', kids);
  }

  function vaultView(v) {
    // a vault's "lane" to its own home chain never holds anything
    const remote = (a) => (a.lanes || []).filter((l) => l.chain !== v.chain);
    const quarantined = (v.quarantined || []).map((id) => h('span', { class: 'chip bad' }, chainName(id) + ' quarantined'));
    const rejected = Object.entries(v.rejected || {}).map(([r, n]) => h('span', { class: 'chip warn', title: 'rejected: ' + r }, r + ' × ' + n));
    const assets = (v.assets || []).map((a) => h('div', { class: 'asset', 'data-asset': a.symbol },
      h('h4', {}, a.symbol || a.token, ' ', h('span', { class: 'muted', title: a.token }, '(' + (a.decimals || 0) + ' decimals)')),
      h('div', { class: 'row' },
        kv('locked', amount(a.locked, a.decimals, a.symbol, 'amt locked'), 'held in custody on ' + v.name),
        kv('outstanding, all lanes (minted + in flight)', amount(a.outstanding_total, a.decimals, a.symbol, 'amt outstanding-total'),
          'counted from acceptance, so it includes transfers accepted and not yet delivered (see outbox)')),
      remote(a).length ? remote(a).map((l) => laneView(a, l)) : h('p', { class: 'muted' }, 'nothing sent to other chains yet')));
    return h('div', { class: 'card vault', 'data-vault': v.name },
      h('h3', {}, 'Vault ', v.name, ' ', h('span', { class: 'muted' }, '· home chain, bridge id ' + v.chain)),
      h('div', { class: 'row' },
        kv('accepted', group(String(v.accepted ?? 0))), kv('delayed', group(String(v.delayed ?? 0))),
        kv('held', group(String(v.held ?? 0))), kv('pending', group(String(v.pending ?? 0))),
        kv('outbox', group(String(v.outbox_depth ?? 0)), 'transfers waiting for delivery'),
        kv('oldest in outbox', (v.outbox_oldest_age || 0) + ' s')),
      rejected.length ? h('div', { class: 'row' }, 'rejected: ', rejected) : null,
      quarantined.length ? h('div', { class: 'row' }, quarantined) : null,
      segmentView(v),
      assets.length ? assets : h('p', { class: 'muted' }, 'no assets registered'));
  }

  function drawVaults() {
    const vs = snap.vaults || [];
    replace($('vaults'), vs.length ? vs.map(vaultView) : h('p', { class: 'muted' }, 'no vaults'));
  }

  // ------------------------------------------------------------- pending
  // Rows are keyed by "vault/id" and updated in place, so a form being
  // filled in survives the snapshots that arrive meanwhile.
  const pendingRows = new Map(); // key -> {tr, cells, act, form, p, done}
  const TOKEN_KEY = 'bulkhead.admin_token';
  const USER_KEY = 'bulkhead.admin_user';
  const adminToken = () => sessionStorage.getItem(TOKEN_KEY) || '';
  const adminUser = () => sessionStorage.getItem(USER_KEY) || 'dashboard';

  // the node's clock now: the snapshot's time plus what elapsed since
  function nodeNow() {
    return snap ? Number(snap.time) + (Date.now() - snapAt) / 1000 : Date.now() / 1000;
  }

  // "2026-12-02 14:03:07Z" (also with T, without seconds or Z) -> unix s
  function parseClock(text) {
    const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*Z?\s*$/.exec(text);
    if (!m) return null;
    const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) / 1000;
    return isNaN(t) ? null : t;
  }

  function pendingCells(v, p) {
    const a = assetInfo(v.name, p.symbol);
    const now = nodeNow();
    return [
      v.name + '/' + p.id,
      chainName(p.from) + ' → ' + chainName(p.to),
      String(p.sequence),
      amount(p.amount, a ? a.decimals : 0, p.symbol),
      p.cause,
      p.release_at ? [clock(p.release_at), ' ', h('span', { class: 'muted' }, '(' + ago(now - p.release_at) + ')')]
        : h('span', { class: 'warn' }, 'waits for an operator'),
    ];
  }

  function actionButtons(r) {
    const token = adminToken();
    const why = token ? null : 'enter the admin token above first';
    const mk = (verb, text, title, off) => {
      const b = h('button', { type: 'button', class: 'act act-' + verb, 'data-action': verb,
        title: off || why || title, disabled: !token || off || r.busy ? 'disabled' : null }, text);
      b.addEventListener('click', () => openForm(r, verb));
      return b;
    };
    const held = r.p.cause === 'quarantine';
    replace(r.act,
      mk('release', 'Release', 'deliver it now: it goes to the outbox'),
      mk('drop', 'Drop', 'never deliver it; asks a reason', null),
      mk('retime', 'Retime', 'set another release time; asks the time',
        held ? 'a quarantine hold cannot be re-timed: release it once its chain is unfrozen' : null),
      r.done ? h('span', { class: 'done' }, ' ' + r.done) : null);
  }

  function closeForm(r) {
    if (r.form) r.form.remove();
    r.form = null;
  }

  // the inline form of an action: what it does, what it asks, confirm
  function openForm(r, verb) {
    closeForm(r);
    const p = r.p;
    const reason = h('input', { type: 'text', class: 'reason', size: 36, 'aria-label': 'reason',
      placeholder: verb === 'drop' ? 'reason (required, journaled)' : 'reason (optional, journaled)' });
    const fields = [];
    let when = null, hint = null;
    if (verb === 'retime') {
      const at = p.release_at && p.release_at > nodeNow() ? p.release_at : Math.ceil(nodeNow()) + 3600;
      when = h('input', { type: 'text', class: 'when', size: 22, value: clock(at), 'aria-label': 'new release time, UTC' });
      hint = h('span', { class: 'muted' });
      const show = () => {
        const t = parseClock(when.value);
        hint.textContent = t === null ? ' write it as 2026-12-02 14:03:07Z' : t < nodeNow() ? ' that is in the past (Release delivers now)'
          : ' (' + ago(nodeNow() - t) + ')';
      };
      when.addEventListener('input', show);
      show();
      fields.push('new release time (UTC) ', when, hint, ' ');
    }
    const what = {
      release: 'Release ' + r.key + ' now: it goes to the outbox and is delivered.',
      drop: 'Drop ' + r.key + ': it is never delivered and its ledger effect is reversed; nothing is refunded on chain.',
      retime: 'Retime ' + r.key + ': it waits until the time given.',
    }[verb];
    const go = h('button', { type: 'submit', class: 'confirm', 'data-confirm': verb }, { release: 'Release now', drop: 'Drop it', retime: 'Retime' }[verb]);
    const cancel = h('button', { type: 'button', class: 'cancel' }, 'Cancel');
    const msg = h('span', { class: 'answer' });
    const form = h('form', { class: 'act-form', 'data-form': verb, autocomplete: 'off' },
      h('div', {}, what), h('div', {}, fields, reason, ' ', go, ' ', cancel, ' ', msg));
    cancel.addEventListener('click', () => closeForm(r));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const args = [];
      if (verb === 'retime') {
        const t = parseClock(when.value);
        if (t === null || t < nodeNow()) { msg.textContent = 'give a time to come, as 2026-12-02 14:03:07Z'; return; }
        args.push(((t - nodeNow()) / 86400).toFixed(6));
      }
      const why = reason.value.trim();
      if (verb === 'drop' && !why) { msg.textContent = 'a drop needs a reason'; return; }
      if (why) args.push('--reason', why);
      act(r, verb, args, msg, go);
    });
    r.form = h('tr', { class: 'form-row', 'data-form-for': r.key }, h('td', { colspan: 7 }, form));
    r.tr.after(r.form);
    (verb === 'retime' ? when : reason).focus();
  }

  // one admin API call; the answer is shown under the table and in the form
  async function act(r, verb, args, msg, go) {
    const token = adminToken();
    if (!token) { msg.textContent = 'enter the admin token above first'; return; }
    const argv = [verb, r.key].concat(args);
    r.busy = true;
    go.disabled = true;
    msg.textContent = 'sent to the node…';
    let status = 0, answer = null, failure = null;
    try {
      const res = await fetch('/admin/v1/vaultctl', {
        method: 'POST', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
        headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ argv, actor: adminUser() }),
      });
      status = res.status;
      answer = await res.json().catch(() => null);
    } catch (err) {
      failure = 'the node did not answer: ' + err.message;
    }
    r.busy = false;
    go.disabled = false;
    const ok = status === 200 && answer && answer.ok && answer.rc === 0;
    logAnswer(argv, status, answer, failure, ok);
    if (status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      adminState('the node refused the admin token (401): enter it again');
    }
    if (ok) {
      r.done = { release: 'released', drop: 'dropped', retime: 'retimed' }[verb] + ' at ' + clock(Date.now() / 1000) +
        (verb === 'retime' ? '' : '; leaves the list with the next snapshot');
      closeForm(r);
      actionButtons(r);
    } else {
      msg.textContent = failure || (answer && answer.message) || (answer && answer.stderr) ||
        ('HTTP ' + status + (answer && answer.rc !== undefined ? ', rc ' + answer.rc : ''));
    }
  }

  function logAnswer(argv, status, answer, failure, ok) {
    const log = $('admin-log');
    const rc = answer && answer.rc !== undefined ? answer.rc : null;
    const head = [h('span', { class: 't' }, clock(Date.now() / 1000)), ' ', h('code', {}, argv.join(' ')), ' as api:' + adminUser() + ' · ',
      failure ? failure : 'HTTP ' + status + (rc !== null ? ' · rc ' + rc : '') + (answer && answer.error ? ' · ' + answer.error : '')];
    const out = [];
    if (answer && answer.message) out.push(h('div', {}, answer.message));
    // vaultctl writes 2026-12-02T14:03:07Z: shown in the page's one format
    const iso = (text) => text.replace(/(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}Z)/g, '$1 $2');
    if (answer && answer.stdout) out.push(h('pre', { class: 'stdout' }, iso(answer.stdout)));
    if (answer && answer.stderr) out.push(h('pre', { class: 'stderr' }, iso(answer.stderr)));
    if (answer && answer.truncated) out.push(h('div', { class: 'muted' }, '(output cut by the node)'));
    log.insertBefore(h('li', { class: ok ? 'ok' : 'bad', 'data-verb': argv[0], 'data-id': argv[1], 'data-status': status,
      'data-rc': rc === null ? null : rc, 'data-ok': ok ? '1' : '0' }, h('div', {}, head), out), log.firstChild);
    while (log.children.length > 20) log.lastChild.remove();
  }

  function adminState(error) {
    const token = adminToken();
    $('admin-form').classList.toggle('hidden', !!token);
    $('admin-on').classList.toggle('hidden', !token);
    $('admin-who').textContent = 'api:' + adminUser();
    $('admin-error').textContent = error || '';
    for (const r of pendingRows.values()) actionButtons(r);
  }

  function drawPending() {
    const list = [];
    for (const v of snap.vaults || []) for (const p of v.pending_list || []) list.push([v, p]);
    if (!list.length) {
      for (const r of pendingRows.values()) closeForm(r);
      pendingRows.clear();
      replace($('pending'), h('p', { class: 'muted' }, 'no delayed or held transfers'));
      return;
    }
    let tbody = $('pending').querySelector('tbody');
    if (!tbody) {
      tbody = h('tbody', {});
      replace($('pending'), h('table', { class: 'pending' },
        h('thead', {}, h('tr', {}, h('th', {}, 'vault/id'), h('th', {}, 'lane'), h('th', { class: 'num' }, 'sequence'),
          h('th', { class: 'num' }, 'amount'), h('th', {}, 'cause'), h('th', {}, 'release'), h('th', {}, 'actions'))),
        tbody));
    }
    const seen = new Set();
    let prev = null;
    for (const [v, p] of list) {
      const key = v.name + '/' + p.id;
      seen.add(key);
      let r = pendingRows.get(key);
      if (!r) {
        const cells = [0, 1, 2, 3, 4, 5].map((i) => h('td', { class: i === 2 || i === 3 ? 'num' : null }));
        r = { key, cells, act: h('td', { class: 'actions' }), form: null, p, done: null, busy: false };
        r.tr = h('tr', { 'data-pending': key, 'data-sequence': p.sequence }, cells, r.act);
        pendingRows.set(key, r);
      }
      r.p = p;
      pendingCells(v, p).forEach((c, i) => replace(r.cells[i], c));
      if (r.tr.previousElementSibling !== prev || r.tr.parentNode !== tbody) {
        if (prev) prev.after(r.tr);
        else tbody.prepend(r.tr);
      }
      prev = r.tr;
      if (r.form) {
        if (r.tr.nextElementSibling !== r.form) r.tr.after(r.form);
        prev = r.form;
      }
      if (!r.busy && !r.form) actionButtons(r);
    }
    for (const [key, r] of pendingRows) {
      if (seen.has(key)) continue;
      closeForm(r);
      r.tr.remove();
      pendingRows.delete(key);
    }
  }

  // -------------------------------------------------------------- chains
  function chainView(c) {
    const lagging = c.max_lag && c.lag > c.max_lag;
    const pill = c.quarantined ? h('span', { class: 'pill pill-bad' }, 'QUARANTINED')
      : c.portal_paused ? h('span', { class: 'pill pill-bad', title: "paused by the Portal's owner" }, 'PORTAL PAUSED')
      : lagging ? h('span', { class: 'pill pill-wait' }, 'lagging') : h('span', { class: 'pill pill-ok' }, 'ok');
    const lanes = (c.paused_lanes || []).length ? h('div', { class: 'warn' },
      "Portal lane paused by its owner: " + c.paused_lanes.join(', ')) : null;
    const cursed = (c.cursed_lanes || []).length ? h('div', { class: 'warn' },
      "cursed on this Portal (nothing from or to them executes): " + c.cursed_lanes.join(', ')) : null;
    const trip = c.tripped ? h('div', {},
      h('div', { class: 'warn' }, h('b', {}, 'breaker tripped: ' + c.tripped.cause), c.tripped.at ? ' at ' + clock(c.tripped.at) : ''),
      h('div', { class: 'evidence' }, c.tripped.evidence || '(no evidence recorded)')) : null;
    const eps = (c.endpoints || []).map((e) => h('tr', {},
      h('td', { class: 'url', title: e.healthy ? 'healthy' : 'backing off after failures' },
        h('span', { class: 'dot ' + (e.healthy ? 'ok' : 'bad') }), e.url),
      h('td', { class: 'num' }, group(String(e.calls ?? 0))),
      h('td', { class: 'num' }, group(String(e.failures ?? 0))),
      h('td', { class: 'num' }, group(String(e.rate_limited ?? 0))),
      h('td', { class: 'num' }, group(String(e.disagreements ?? 0))),
      h('td', { class: 'num' }, ((e.latency_us || 0) / 1000).toFixed(1))));
    return h('div', { class: 'card chain' + (c.quarantined ? ' quarantined' : ''), 'data-chain': c.name },
      h('h3', {}, c.name, ' ', h('span', { class: 'muted' }, '· bridge id ' + c.bridge_id), ' ', pill),
      h('div', { class: 'row' },
        kv('head', group(String(c.head ?? '—'))), kv('finalized', group(String(c.finalized ?? '—'))),
        kv('cursor', group(String(c.cursor ?? '—')), 'last block whose events are stored'),
        kv('lag', (c.lag ?? '—') + ' / max ' + (c.max_lag ?? '—'), 'blocks behind the finalized head')),
      h('div', { class: 'row' },
        kv('queue', group(String(c.queue_depth ?? 0)), 'events stored, not yet applied'),
        kv('observed', group(String(c.events_observed ?? 0))),
        kv('deliveries', (c.deliveries_ok ?? 0) + ' ok / ' + (c.deliveries_failed ?? 0) + ' failed'),
        kv('relayer wallet', isDec(c.wallet_wei) ? amount(c.wallet_wei, 18, 'native') : 'unknown', 'gas balance of the relayer account, 18 decimals')),
      trip,
      lanes,
      cursed,
      eps.length ? h('table', { class: 'endpoints' }, h('thead', {}, h('tr', {}, h('th', {}, 'RPC endpoint'),
        h('th', { class: 'num' }, 'calls'), h('th', { class: 'num', title: 'calls that failed' }, 'failed'),
        h('th', { class: 'num', title: 'calls refused as rate limited' }, 'limited'),
        h('th', { class: 'num', title: 'answers that disagreed with the quorum' }, 'disagreed'),
        h('th', { class: 'num', title: 'average latency, milliseconds' }, 'ms'))), h('tbody', {}, eps)) : null);
  }

  function drawChains() {
    replace($('chains'), (snap.chains || []).map(chainView));
  }

  // -------------------------------------------------------------- events
  function eventView(e) {
    const parts = [];
    if (e.kind === 'quarantined') {
      parts.push(h('b', {}, e.chain || ('chain ' + e.chain_id)), ' frozen');
    } else if (e.kind === 'portal') {
      parts.push(h('b', {}, (e.chain || ('chain ' + e.chain_id)) + "'s Portal"));
    } else if (e.from !== undefined || e.from_chain !== undefined) {
      parts.push(h('b', {}, (e.from || 'chain ' + e.from_chain) + ' → ' + (e.to || 'chain ' + e.to_chain)));
      if (e.sequence !== undefined) parts.push(' #' + e.sequence);
      if (e.amount !== undefined) {
        const a = assetInfo(e.vault, e.symbol);
        parts.push(' · ', amount(e.amount, a ? a.decimals : 0, e.symbol || (a ? '' : '(smallest units)')));
      }
    }
    if (e.vault) parts.push(h('span', { class: 'muted' }, ' · vault ' + e.vault));
    if (e.reason) parts.push(' · ', h('span', { class: 'chip bad' }, e.reason));
    if (e.detail) parts.push(h('span', { class: 'muted' }, ' · ' + e.detail));
    return h('li', { class: 'ev' + (e.history ? ' past' : ''), 'data-kind': e.kind, 'data-seq': e.seq,
      'data-sequence': e.sequence, 'data-history': e.history ? '1' : null, 'data-chains': evChains(e).join(' ') },
      h('span', { class: 't', title: 'event seq ' + e.seq + (e.history ? ', from before this page connected' : '') }, clock(e.time)),
      h('span', { class: 'kind kind-' + e.kind }, KIND_TEXT[e.kind] || e.kind),
      h('span', {}, parts));
  }

  // the chains an event is about: its vault (home chain), source, destination
  function evChains(e) {
    return [...new Set([e.vault, e.from, e.to, e.chain].filter(Boolean))];
  }

  function wanted(e) {
    const c = $('f-chain').value, k = $('f-kind').value;
    return (!c || evChains(e).includes(c)) && (!k || e.kind === k);
  }

  function countShown() {
    const c = $('f-chain').value, k = $('f-kind').value;
    $('f-count').textContent = c || k ? 'showing ' + feed.filter(wanted).length + ' of ' + feed.length : '';
  }

  // the chain filter lists the snapshot's chains (and keeps a choice made)
  function chainOptions() {
    const sel = $('f-chain');
    const names = (snap.chains || []).map((c) => c.name);
    if (sel.value && !names.includes(sel.value)) names.push(sel.value);
    const have = [...sel.options].slice(1).map((o) => o.value);
    if (have.join(',') === names.join(',')) return;
    const keep = sel.value;
    replace(sel, h('option', { value: '' }, 'every chain'), names.map((n) => h('option', { value: n }, n)));
    sel.value = keep;
  }

  // filters live in the URL's fragment (#chain=alpha&kind=delivered), never the token
  function filtersToHash() {
    const q = new URLSearchParams();
    if ($('f-chain').value) q.set('chain', $('f-chain').value);
    if ($('f-kind').value) q.set('kind', $('f-kind').value);
    const hash = q.toString();
    history.replaceState(null, '', location.pathname + location.search + (hash ? '#' + hash : ''));
  }

  function filtersFromHash() {
    const q = new URLSearchParams(location.hash.slice(1));
    const c = q.get('chain'), k = q.get('kind');
    if (c && /^[a-z0-9_-]{1,32}$/.test(c)) {
      $('f-chain').appendChild(h('option', { value: c }, c));
      $('f-chain').value = c;
    }
    if (k && KIND_TEXT[k]) $('f-kind').value = k;
  }

  function onEvent(e) {
    // after a reconnect the server's history repeats what this page has
    if (e.history && e.seq <= lastSeq) return;
    if (lastSeq && e.seq > lastSeq + 1) {
      missed += e.seq - lastSeq - 1;
      const gap = $('gap');
      gap.textContent = missed + ' event(s) missed (while disconnected, or the node produced them faster than they could be sent); figures above stay exact.';
      gap.classList.remove('hidden');
    }
    lastSeq = Math.max(lastSeq, e.seq || 0);
    feed.unshift(e);
    if (feed.length > MAX_EVENTS) feed.length = MAX_EVENTS;
    if ($('pause').checked) return;
    countShown();
    if (!wanted(e)) return;
    const list = $('events');
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.insertBefore(eventView(e), list.firstChild);
    while (list.children.length > MAX_EVENTS) list.lastChild.remove();
  }

  function redrawFeed() {
    const shown = feed.filter(wanted);
    replace($('events'), shown.length ? shown.map(eventView)
      : h('li', { class: 'muted empty' }, feed.length ? 'no events match the filters' : 'no events yet'));
    countShown();
  }

  // -------------------------------------------------------------- charts
  // The node's samples (PROTOCOL.md, "samples"): one every interval_s, kept
  // by the node (so a reload keeps the charts) and sent on connect; columns
  // kept here as the node sent them, at most `capacity`, drawn by uPlot.
  const COLORS = ['#3182ce', '#1f8a4c', '#b7791f', '#805ad5', '#c53030', '#1d2330', '#d53f8c', '#319795'];
  const LANE_SERIES = [
    ['outstanding', 'outstanding (minted + in flight)', '#3182ce'],
    ['minted', 'minted', '#1d2330'],
    ['in_flight', 'in flight', '#d53f8c'],
    ['in_headroom', 'inbound bucket headroom', '#1f8a4c'],
    ['out_headroom', 'outbound bucket headroom', '#b7791f'],
  ];
  let S = null;
  let chartsSig = '';
  const charts = new Map(); // chart id -> uPlot
  window.bulkheadCharts = charts; // read by the dashboard test

  function pushCol(arr, src, k) {
    for (let i = 0; i < k; i++) arr.push(src && src[i] !== undefined ? src[i] : null);
  }

  // a "samples" frame replaces what the page has, a "sample" frame adds one
  function onSamples(f, replaceAll) {
    if (replaceAll || !S) {
      S = { interval: f.interval_s || 10, cap: f.capacity || 360, t: [], delivered: [], rejected: [],
        p50: [], p99: [], chains: new Map(), lanes: new Map() };
    }
    const k = (f.t || []).length;
    const n0 = S.t.length;
    if (k && n0 && f.t[0] <= S.t[n0 - 1]) return; // already here
    pushCol(S.t, f.t, k);
    pushCol(S.delivered, f.delivered, k);
    pushCol(S.rejected, f.rejected, k);
    pushCol(S.p50, f.latency_p50_ms, k);
    pushCol(S.p99, f.latency_p99_ms, k);
    const seen = new Set();
    for (const c of f.chains || []) {
      let e = S.chains.get(c.chain);
      if (!e) S.chains.set(c.chain, e = { name: c.chain, lag: new Array(n0).fill(null) });
      pushCol(e.lag, c.lag, k);
      seen.add(c.chain);
    }
    for (const [name, e] of S.chains) if (!seen.has(name)) pushCol(e.lag, null, k);
    seen.clear();
    for (const l of f.lanes || []) {
      const key = l.vault + '/' + l.asset + '/' + l.chain;
      let e = S.lanes.get(key);
      if (!e) {
        e = { key, vault: l.vault, asset: l.asset, lane: l.lane || chainName(l.chain), has: {} };
        for (const [col] of LANE_SERIES) e[col] = new Array(n0).fill(null);
        S.lanes.set(key, e);
      }
      for (const [col] of LANE_SERIES) {
        if (l[col]) e.has[col] = true;
        pushCol(e[col], l[col], k);
      }
      seen.add(key);
    }
    for (const [key, e] of S.lanes) if (!seen.has(key)) for (const [col] of LANE_SERIES) pushCol(e[col], null, k);
    const extra = S.t.length - S.cap;
    if (extra > 0) {
      for (const a of [S.t, S.delivered, S.rejected, S.p50, S.p99]) a.splice(0, extra);
      for (const e of S.chains.values()) e.lag.splice(0, extra);
      for (const e of S.lanes.values()) for (const [col] of LANE_SERIES) e[col].splice(0, extra);
    }
    drawCharts();
  }

  // at each sample, the sum of a count column over the trailing window
  // (a minute, or one interval when that is longer): exact, not extrapolated
  function perWindow(col, win) {
    const out = new Array(col.length).fill(null);
    let j = 0;
    for (let i = 0; i < col.length; i++) {
      while (S.t[j] <= S.t[i] - win) j++;
      let sum = null;
      for (let x = j; x <= i; x++) if (col[x] !== null) sum = (sum || 0) + col[x];
      out[i] = sum;
    }
    return out;
  }

  function fmtNum(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    const a = Math.abs(v);
    if (Number.isInteger(v)) return group(String(v));
    return a >= 1000 ? group(String(Math.round(v))) : String(Number(v.toPrecision(a >= 1 ? 4 : 3)));
  }

  function fmtMs(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s' : Math.round(v) + ' ms';
  }

  function chartDefs() {
    const win = Math.max(60, S.interval);
    const per = win === 60 ? 'per minute' : 'per ' + win + ' s';
    const defs = [
      { id: 'delivered', title: 'delivered and refused, ' + per, fmt: fmtNum, zero: true,
        hint: 'transfers delivered and messages refused over the trailing ' + win + ' s, from the node\'s totals',
        series: [{ label: 'delivered', stroke: '#1f8a4c', data: perWindow(S.delivered, win) },
          { label: 'refused', stroke: '#c53030', data: perWindow(S.rejected, win) }] },
      { id: 'latency', title: 'delivery latency, p50 and p99', fmt: fmtMs, zero: true,
        hint: 'from a transfer\'s "accepted" event to its "delivered" event, over the transfers delivered in each ' + S.interval + ' s interval',
        series: [{ label: 'p50', stroke: '#3182ce', data: S.p50 }, { label: 'p99', stroke: '#805ad5', data: S.p99 }] },
      { id: 'lag', title: 'chain lag, blocks', fmt: fmtNum, zero: true, hint: 'finalized height minus cursor height, per chain',
        series: [...S.chains.values()].map((c, i) => ({ label: c.name, stroke: COLORS[i % COLORS.length], data: c.lag })) },
    ];
    for (const e of S.lanes.values()) {
      defs.push({ id: 'lane-' + e.key, title: 'vault ' + e.vault + ' · ' + e.asset + ' → ' + e.lane,
        fmt: fmtNum, legendFmt: (v) => (v === null || v === undefined ? '—' : fmtNum(v) + ' ' + e.asset),
        hint: 'whole tokens; outstanding counts a transfer from its acceptance: minted + in flight ' +
          '(in flight: pending, in the outbox or in a transaction not yet mined)',
        series: LANE_SERIES.filter(([col]) => col === 'outstanding' || e.has[col])
          .map(([col, label, stroke]) => ({ label, stroke, data: e[col] })) });
    }
    return defs;
  }

  // the legend shows the newest sample unless the pointer is on a chart
  function showLatest(u) {
    if (u.cursor.idx === null || u.cursor.idx === undefined) {
      const n = u.data[0].length;
      if (n) u.setLegend({ idx: n - 1 });
    }
  }

  function chartOpts(def, width) {
    return {
      width, height: 160,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      padding: [10, 70, 0, 0], // room for the last time label
      hooks: { setCursor: [showLatest] },
      scales: def.zero ? { y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } } : {},
      series: [{ label: 'time', value: (u, v) => (v === null || v === undefined ? '—' : clock(v)) }]
        .concat(def.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, value: (u, v) => (def.legendFmt || def.fmt)(v) }))),
      axes: [
        { space: 170, size: 36, font: '11px system-ui, sans-serif', values: (u, splits) => splits.map((v) => clock(v)) },
        { size: 72, font: '11px system-ui, sans-serif', values: (u, splits) => splits.map((v) => def.fmt(v)) },
      ],
    };
  }

  function drawCharts() {
    const el = $('charts');
    if (!S || S.t.length === 0) return;
    const defs = chartDefs();
    const sig = defs.map((d) => d.id + ':' + d.series.map((x) => x.label).join(',')).join('|');
    if (sig !== chartsSig) { // another set of charts: build them anew
      for (const u of charts.values()) u.destroy();
      charts.clear();
      const boxes = defs.map((d) => h('div', { class: 'chartbox', 'data-chart': d.id },
        h('div', { class: 'ct', title: d.hint }, d.title), h('div', { class: 'plot' })));
      replace(el, boxes);
      defs.forEach((d, i) => {
        const plot = boxes[i].querySelector('.plot');
        charts.set(d.id, new uPlot(chartOpts(d, Math.max(200, plot.clientWidth)), [S.t, ...d.series.map((x) => x.data)], plot));
      });
      chartsSig = sig;
    } else {
      for (const d of defs) charts.get(d.id).setData([S.t, ...d.series.map((x) => x.data)]);
    }
    for (const u of charts.values()) showLatest(u);
    for (const box of el.querySelectorAll('.chartbox')) box.dataset.points = String(S.t.length);
    $('charts-range').textContent = S.t.length + ' sample(s), one every ' + S.interval + ' s, from ' + clock(S.t[0]) +
      ' to ' + clock(S.t[S.t.length - 1]) + ' (kept by the node: the last ' + S.cap + ')';
  }

  function resizeCharts() {
    for (const [id, u] of charts) {
      const plot = document.querySelector(`.chartbox[data-chart="${CSS.escape(id)}"] .plot`);
      if (plot && Math.abs(plot.clientWidth - u.width) > 4) u.setSize({ width: Math.max(200, plot.clientWidth), height: 160 });
    }
  }

  // ----------------------------------------------------------- transport
  function setConn(text, cls) {
    const el = $('conn');
    el.textContent = text;
    el.className = 'pill ' + cls;
  }

  function tick() {
    if (!snapAt) return;
    const el = $('updated');
    el.textContent = 'updated ' + ago((Date.now() - snapAt) / 1000);
    el.title = 'snapshot taken at ' + clock(snap.time) + ' (node time)';
  }

  function onSnapshot(s) {
    if (snap && s.started !== snap.started) { // the node restarted: its counters and seq did too
      feed.length = 0;
      lastSeq = 0;
      S = null; // its samples too: the new process sends its own
      chartsSig = '';
      for (const u of charts.values()) u.destroy();
      charts.clear();
      replace($('charts'), h('p', { class: 'muted' }, 'the node restarted: charts start again with its first sample…'));
      missed = 0;
      $('gap').classList.add('hidden');
      redrawFeed();
    }
    snap = s;
    snapAt = Date.now();
    $('node').textContent = s.node ? 'node ' + s.node : '';
    $('node').title = s.started ? 'running since ' + clock(s.started) : 'node name';
    chainOptions();
    drawTotals();
    drawVaults();
    drawPending();
    drawChains();
    tick();
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = proto + '//' + location.host + '/ws?samples=1' + (token ? '&token=' + encodeURIComponent(token) : '');
    const ws = new WebSocket(url);
    ws.onopen = () => { retry = 1000; setConn('live', 'pill-ok'); };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch (err) { return; }
      if (f.type === 'snapshot') onSnapshot(f);
      else if (f.type === 'event') onEvent(f);
      else if (f.type === 'samples') onSamples(f, true);
      else if (f.type === 'sample') onSamples(f, false);
      else if (f.type === 'error') setConn('server says: ' + f.message, 'pill-bad');
    };
    ws.onclose = (ev) => {
      const why = ev.reason ? ev.reason : ev.code === 1006 ? 'connection lost' + (token ? '' : ' (token needed? open /?token=…)') : 'closed ' + ev.code;
      setConn('offline: ' + why + ' · retrying', 'pill-bad');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('pause').addEventListener('change', () => { if (!$('pause').checked) redrawFeed(); });
    replace($('f-kind'), h('option', { value: '' }, 'every kind'),
      Object.entries(KIND_TEXT).map(([k, text]) => h('option', { value: k }, text)));
    filtersFromHash();
    for (const id of ['f-chain', 'f-kind']) $(id).addEventListener('change', () => { filtersToHash(); redrawFeed(); });
    $('admin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('admin-token').value.trim();
      const user = $('admin-user').value.trim() || 'dashboard';
      if (!/^[\x21-\x7e]{16,255}$/.test(token)) { adminState('an admin token is 16 to 255 printable characters, no spaces'); return; }
      if (!/^[\x21-\x7e]{1,64}$/.test(user)) { adminState('a name is 1 to 64 printable characters, no spaces'); return; }
      sessionStorage.setItem(TOKEN_KEY, token);
      sessionStorage.setItem(USER_KEY, user);
      $('admin-token').value = '';
      adminState();
    });
    $('admin-forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      adminState();
    });
    if (sessionStorage.getItem(USER_KEY)) $('admin-user').value = adminUser();
    adminState();
    setInterval(tick, 1000);
    let resizing = 0;
    window.addEventListener('resize', () => { clearTimeout(resizing); resizing = setTimeout(resizeCharts, 150); });
    connect();
  });
})();
