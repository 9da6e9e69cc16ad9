// bulkhead operator dashboard: reads /ws (frames in PROTOCOL.md) and draws
// the latest snapshot, small charts of the snapshots it received (kept in
// this page only, bounded) and an event feed that starts with the server's
// recent history. No dependencies, no network access beyond this server.
// Data is only ever put in the page as text. Every time shown is UTC.
'use strict';
(function () {
  const MAX_EVENTS = 300;
  const HISTORY_S = 30 * 60; // snapshots kept for the charts: 30 minutes...
  const MAX_SAMPLES = 1800; // ...and never more than this many
  const RATE_S = 60; // "per minute": a counter's increase over the trailing 60 s
  const SVG = 'http://www.w3.org/2000/svg';
  const KIND_TEXT = {
    accepted: 'accepted', delayed: 'delayed', held: 'held', rejected: 'rejected',
    released: 'released', delivered: 'delivered', delivery_failed: 'delivery failed',
    quarantined: 'quarantined', limits: 'limits', parked: 'parked',
  };
  const token = new URLSearchParams(location.search).get('token');
  let snap = null;
  let snapAt = 0;
  let lastSeq = 0;
  let missed = 0;
  let retry = 1000;
  const feed = [];
  let samples = [];

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
    const bar = h('div', { class: 'bar', title: 'sent to ' + name + ' (minted or on the way) against locked' + (hasCap ? ' (line: cap)' : '') }, fill);
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
        h('span', { class: 'caption', title: 'outstanding on ' + name + ': minted or on the way (accepted, maybe still in the outbox)' },
          'on ', h('b', {}, name), ': ', amount(lane.outstanding, dec, sym, 'amt outstanding'), ' sent (minted or on the way)'),
        h('span', { class: 'muted' }, share === null ? '' : share.toFixed(2) + '% of locked')),
      bar,
      h('div', { class: 'limits' }, limits.map((x, i) => [i ? ' · ' : '', x])),
      h('div', { class: 'limits' }, '24 h window: ', amount(lane.window_used, dec, sym),
        winLimited ? [' of ', amount(lane.window_limit, dec, sym)] : ' (no limit)'),
      win);
  }

  function vaultView(v) {
    const quarantined = (v.quarantined || []).map((id) => h('span', { class: 'chip bad' }, chainName(id) + ' quarantined'));
    const rejected = Object.entries(v.rejected || {}).map(([r, n]) => h('span', { class: 'chip warn', title: 'rejected: ' + r }, r + ' × ' + n));
    const assets = (v.assets || []).map((a) => h('div', { class: 'asset', 'data-asset': a.symbol },
      h('h4', {}, a.symbol || a.token, ' ', h('span', { class: 'muted', title: a.token }, '(' + (a.decimals || 0) + ' decimals)')),
      h('div', { class: 'row' },
        kv('locked', amount(a.locked, a.decimals, a.symbol, 'amt locked'), 'held in custody on ' + v.name),
        kv('sent, all lanes (minted or on the way)', amount(a.outstanding_total, a.decimals, a.symbol, 'amt outstanding-total'),
          'outstanding: counted from acceptance, so it includes transfers accepted and not yet delivered (see outbox)')),
      (a.lanes || []).length ? (a.lanes || []).map((l) => laneView(a, l)) : h('p', { class: 'muted' }, 'nothing sent to other chains yet')));
    return h('div', { class: 'card vault', 'data-vault': v.name },
      h('h3', {}, 'Vault ', v.name, ' ', h('span', { class: 'muted' }, '· home chain, bridge id ' + v.chain)),
      h('div', { class: 'row' },
        kv('accepted', group(String(v.accepted ?? 0))), kv('delayed', group(String(v.delayed ?? 0))),
        kv('held', group(String(v.held ?? 0))), kv('pending', group(String(v.pending ?? 0))),
        kv('outbox', group(String(v.outbox_depth ?? 0)), 'transfers waiting for delivery'),
        kv('oldest in outbox', (v.outbox_oldest_age || 0) + ' s')),
      rejected.length ? h('div', { class: 'row' }, 'rejected: ', rejected) : null,
      quarantined.length ? h('div', { class: 'row' }, quarantined) : null,
      assets.length ? assets : h('p', { class: 'muted' }, 'no assets registered'));
  }

  function drawVaults() {
    const vs = snap.vaults || [];
    replace($('vaults'), vs.length ? vs.map(vaultView) : h('p', { class: 'muted' }, 'no vaults'));
  }

  // ------------------------------------------------------------- pending
  function drawPending() {
    const rows = [];
    const now = Date.now() / 1000;
    for (const v of snap.vaults || []) {
      for (const p of v.pending_list || []) {
        const a = assetInfo(v.name, p.symbol);
        rows.push(h('tr', {},
          h('td', {}, v.name + '/' + p.id),
          h('td', {}, chainName(p.from) + ' → ' + chainName(p.to)),
          h('td', { class: 'num' }, String(p.sequence)),
          h('td', { class: 'num' }, amount(p.amount, a ? a.decimals : 0, p.symbol)),
          h('td', {}, p.cause),
          h('td', {}, p.release_at ? [clock(p.release_at), ' ', h('span', { class: 'muted' }, '(' + ago(now - p.release_at) + ')')]
            : h('span', { class: 'warn' }, 'waits for an operator'))));
      }
    }
    if (!rows.length) {
      replace($('pending'), h('p', { class: 'muted' }, 'no delayed or held transfers'));
      return;
    }
    replace($('pending'), h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'vault/id'), h('th', {}, 'lane'), h('th', { class: 'num' }, 'sequence'),
        h('th', { class: 'num' }, 'amount'), h('th', {}, 'cause'), h('th', {}, 'release'))),
      h('tbody', {}, rows)));
  }

  // -------------------------------------------------------------- chains
  function chainView(c) {
    const lagging = c.max_lag && c.lag > c.max_lag;
    const pill = c.quarantined ? h('span', { class: 'pill pill-bad' }, 'QUARANTINED')
      : lagging ? h('span', { class: 'pill pill-wait' }, 'lagging') : h('span', { class: 'pill pill-ok' }, 'ok');
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
      'data-sequence': e.sequence, 'data-history': e.history ? '1' : null },
      h('span', { class: 't', title: 'event seq ' + e.seq + (e.history ? ', from before this page connected' : '') }, clock(e.time)),
      h('span', { class: 'kind kind-' + e.kind }, KIND_TEXT[e.kind] || e.kind),
      h('span', {}, parts));
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
    const list = $('events');
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.insertBefore(eventView(e), list.firstChild);
    while (list.children.length > MAX_EVENTS) list.lastChild.remove();
  }

  function redrawFeed() {
    replace($('events'), feed.length ? feed.map(eventView) : h('li', { class: 'muted empty' }, 'no events yet'));
  }

  // -------------------------------------------------------------- charts
  // a token amount as a float, for charts only (figures stay exact elsewhere)
  function approx(raw, decimals) {
    if (!isDec(raw)) return null;
    const d = Number(decimals) || 0;
    const s = raw.padStart(d + 1, '0');
    return Number(s.slice(0, s.length - d) + '.' + (s.slice(s.length - d) || '0'));
  }

  function addSample(s) {
    const t = Number(s.time);
    if (!t) return;
    if (samples.length && samples[samples.length - 1].t >= t) return; // a reused snapshot
    const chains = {};
    for (const c of s.chains || []) chains[c.name] = { lag: Number(c.lag) || 0, ok: Number(c.deliveries_ok) || 0 };
    const assets = {};
    for (const v of s.vaults || []) {
      for (const a of v.assets || []) {
        assets[v.name + '/' + (a.symbol || a.token)] = {
          vault: v.name, symbol: a.symbol || a.token,
          locked: approx(a.locked, a.decimals), out: approx(a.outstanding_total, a.decimals),
        };
      }
    }
    samples.push({ t, chains, assets, rejected: Number((s.totals || {}).rejected) || 0 });
    while (samples.length > MAX_SAMPLES || (samples.length && samples[0].t < t - HISTORY_S)) samples.shift();
  }

  // at each sample, a counter's increase over the trailing RATE_S seconds:
  // a count, never extrapolated (less than a minute of samples gives less)
  function perMinute(get) {
    const pts = [];
    let j = 0;
    for (let i = 0; i < samples.length; i++) {
      while (samples[j].t < samples[i].t - RATE_S) j++;
      const a = samples[j], b = samples[i];
      const va = get(a), vb = get(b);
      if (b.t <= a.t || va === null || vb === null) continue;
      pts.push([b.t, Math.max(0, vb - va)]);
    }
    return pts;
  }

  function fmtNum(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    const a = Math.abs(v);
    if (Number.isInteger(v)) return group(String(v));
    return a >= 1000 ? group(String(Math.round(v))) : a >= 10 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(2);
  }

  // one small SVG line chart; series: [{name, cls, pts: [[t, v], ...]}]
  function chart(id, title, series) {
    const W = 300, H = 64, P = 2;
    const all = series.flatMap((x) => x.pts);
    const t0 = samples.length ? samples[0].t : 0, t1 = samples.length ? samples[samples.length - 1].t : 1;
    const max = Math.max(0, ...all.map((p) => p[1]));
    const ymax = max > 0 ? max * 1.1 : 1;
    const x = (t) => P + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (W - 2 * P) : W - 2 * P);
    const y = (v) => H - P - (v / ymax) * (H - 2 * P);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('data-chart', id);
    svg.setAttribute('data-points', String(Math.max(0, ...series.map((s) => s.pts.length))));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', title);
    for (const sr of series) {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('class', 'line ' + (sr.cls || ''));
      line.setAttribute('points', sr.pts.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' '));
      svg.appendChild(line);
    }
    const legend = series.map((sr, i) => [i ? ' · ' : '', h('span', { class: 'key ' + (sr.cls || '') }, '■ '), sr.name + ' ',
      h('b', {}, sr.pts.length ? fmtNum(sr.pts[sr.pts.length - 1][1]) : '—')]);
    return h('div', { class: 'chartbox', 'data-chart-box': id },
      h('div', { class: 'ct' }, h('span', {}, title), h('span', { class: 'muted', title: 'top of the scale' }, 'max ' + fmtNum(max))),
      svg,
      h('div', { class: 'legend' }, legend));
  }

  function drawCharts() {
    const el = $('charts');
    if (samples.length === 0) return;
    const last = samples[samples.length - 1];
    const boxes = [];
    for (const name of Object.keys(last.chains)) {
      const lagPts = samples.filter((sm) => sm.chains[name]).map((sm) => [sm.t, sm.chains[name].lag]);
      boxes.push(chart('lag-' + name, name + ' · lag, blocks', [{ name: 'lag', cls: 's0', pts: lagPts }]));
      boxes.push(chart('deliveries-' + name, name + ' · deliveries per minute',
        [{ name: 'last 60 s', cls: 's1', pts: perMinute((sm) => (sm.chains[name] ? sm.chains[name].ok : null)) }]));
    }
    for (const key of Object.keys(last.assets)) {
      const a = last.assets[key];
      const pick = (f) => samples.filter((sm) => sm.assets[key] && sm.assets[key][f] !== null).map((sm) => [sm.t, sm.assets[key][f]]);
      boxes.push(chart('vault-' + key, 'vault ' + a.vault + ' · ' + a.symbol,
        [{ name: 'locked', cls: 's2', pts: pick('locked') }, { name: 'sent (minted or on the way)', cls: 's0', pts: pick('out') }]));
    }
    boxes.push(chart('refused', 'refused messages per minute, all vaults',
      [{ name: 'last 60 s', cls: 's3', pts: perMinute((sm) => sm.rejected) }]));
    replace(el, boxes);
    $('charts-range').textContent = samples.length + ' snapshot(s) from ' + clock(samples[0].t) + ' to ' + clock(last.t) +
      ' (kept in this page for ' + HISTORY_S / 60 + ' min)';
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
      samples = [];
      lastSeq = 0;
      missed = 0;
      $('gap').classList.add('hidden');
      redrawFeed();
    }
    snap = s;
    addSample(s);
    snapAt = Date.now();
    $('node').textContent = s.node ? 'node ' + s.node : '';
    $('node').title = s.started ? 'running since ' + clock(s.started) : 'node name';
    drawTotals();
    drawCharts();
    drawVaults();
    drawPending();
    drawChains();
    tick();
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = proto + '//' + location.host + '/ws' + (token ? '?token=' + encodeURIComponent(token) : '');
    const ws = new WebSocket(url);
    ws.onopen = () => { retry = 1000; setConn('live', 'pill-ok'); };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch (err) { return; }
      if (f.type === 'snapshot') onSnapshot(f);
      else if (f.type === 'event') onEvent(f);
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
    setInterval(tick, 1000);
    connect();
  });
})();
