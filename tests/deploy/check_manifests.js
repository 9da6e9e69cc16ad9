#!/usr/bin/env node
// Checks the production deployment files against the node they deploy:
//   node check_manifests.js SOURCE_DIR BULKHEAD VAULTCTL BULKHEAD_DEPLOY
// deploy/k8s: every object valid against the Kubernetes schema of its kind,
// and what the node needs from it (probes, key files, data volume, metrics
// scrape, shards x attesters); every embedded config passes `bulkhead check`
// with the pod's volumes laid out in a temporary directory.
// deploy/docker/Dockerfile: lint-clean, two Debian 12 stages, the runtime
// packages cover the binaries' shared libraries, non-root, ENTRYPOINT bulkhead.
// deploy/systemd: `systemd-analyze verify` and `security` on the unit, its
// hardening, and the example config passes `bulkhead check`.
// Prints every failure and exits 1 if there was one.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { createRequire } = require('module');

if (process.argv.length !== 6) {
  console.error('usage: check_manifests.js SOURCE_DIR BULKHEAD VAULTCTL BULKHEAD_DEPLOY');
  process.exit(2);
}
const [src, bulkhead, vaultctl, bhDeploy] = process.argv.slice(2).map((p) => path.resolve(p));
const req = createRequire(path.join(src, 'tests/node/package.json'));
const YAML = req('yaml');
const dockerfileUtils = req('dockerfile-utils');
const { DockerfileParser } = req('dockerfile-ast');

const failures = [];
let checks = 0;
function ok(cond, what) {
  checks++;
  if (!cond) failures.push(what);
  return !!cond;
}
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-deploy-'));
// Any valid secp256k1 secret; `check` reads keys but never uses them.
const DUMMY_KEY = '5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a\n';
const METRICS_PORT_NAME = 'metrics';
const NODE_KEY_FIELDS = ['attester_key_file', 'tx_key_file'];

function bulkheadCheck(configPath) {
  const r = spawnSync(bulkhead, ['check', '-c', configPath], { encoding: 'utf8' });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

function writeKey(file, mode) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, DUMMY_KEY, { mode });
  fs.chmodSync(file, mode);
}

// ---------------------------------------------------------------- Kubernetes

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  try {
    return req(mod)[kind];
  } catch (e) {
    return null;
  }
}

function loadK8s() {
  const dir = path.join(src, 'deploy/k8s');
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const objects = [];
  let kustomization = null;
  for (const f of files) {
    // YAML 1.1, as Kubernetes' decoder reads it (0400 is octal, yes is true).
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'), { version: '1.1' });
    for (const [i, d] of docs.entries()) {
      const where = `deploy/k8s/${f} doc ${i + 1}`;
      if (!ok(d.errors.length === 0, `${where}: YAML: ${d.errors.map((e) => e.message).join('; ')}`)) continue;
      const o = d.toJS();
      if (o === null) continue;
      if (o.kind === 'Kustomization') {
        kustomization = { file: f, o };
        continue;
      }
      objects.push({ where: `${where} (${o.kind} ${o.metadata && o.metadata.name})`, file: f, o });
    }
  }
  return { files, objects, kustomization };
}

function schemaCheck(objects) {
  for (const { where, o } of objects) {
    if (!ok(o.apiVersion && o.kind, `${where}: no apiVersion or kind`)) continue;
    const Model = modelFor(o.apiVersion, o.kind);
    if (!ok(Model, `${where}: unknown kind ${o.apiVersion} ${o.kind}`)) continue;
    try {
      new Model(o).validate();
      checks++;
    } catch (e) {
      ok(false, `${where}: schema: ${e.message}`);
    }
    ok(o.metadata && o.metadata.name, `${where}: no metadata.name`);
  }
}

function selects(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels[k] === v) && Object.keys(selector || {}).length > 0;
}

function probeOk(p, pathWanted, port) {
  return p && p.httpGet && p.httpGet.path === pathWanted &&
    (p.httpGet.port === METRICS_PORT_NAME || p.httpGet.port === port);
}

function containerSecurity(where, c) {
  const s = c.securityContext || {};
  ok(s.allowPrivilegeEscalation === false, `${where}: allowPrivilegeEscalation must be false`);
  ok(s.readOnlyRootFilesystem === true, `${where}: readOnlyRootFilesystem must be true`);
  ok(s.capabilities && (s.capabilities.drop || []).includes('ALL') && !(s.capabilities.add || []).length,
     `${where}: capabilities must drop ALL and add none`);
  ok(s.privileged !== true && s.runAsUser !== 0, `${where}: must not run privileged or as root`);
  ok(c.resources && c.resources.requests && c.resources.limits && c.resources.limits.memory,
     `${where}: needs resource requests and a memory limit`);
}

// Where a path of the container lands: the mount holding it, deepest first.
function mountFor(mounts, p) {
  const m = mounts.filter((v) => p === v.mountPath || p.startsWith(v.mountPath.replace(/\/$/, '') + '/'))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  return m[0] || null;
}

// The files an initContainer copies with `install -m MODE -t DIR SRC...`.
function installedKeys(init) {
  const cmd = (init.command || []).concat(init.args || []);
  if (cmd[0] !== 'install') return null;
  let mode = null, dir = null;
  const srcs = [];
  for (let i = 1; i < cmd.length; i++) {
    if (cmd[i] === '-m') mode = cmd[++i];
    else if (cmd[i] === '-t') dir = cmd[++i];
    else srcs.push(cmd[i]);
  }
  if (mode === null || dir === null) return null;
  return { mode: parseInt(mode, 8), dir, srcs };
}

function checkStatefulSet(ctx, where, ss) {
  const spec = ss.spec || {};
  const tpl = spec.template || {};
  const pod = tpl.spec || {};
  const labels = (tpl.metadata && tpl.metadata.labels) || {};
  const res = { where, labels, shard: labels['bulkhead.io/shard'], ss };
  ok(res.shard, `${where}: pod label bulkhead.io/shard missing`);
  ok(labels['bulkhead.io/attester'] !== undefined, `${where}: pod label bulkhead.io/attester missing`);
  ok(selects(spec.selector && spec.selector.matchLabels, labels), `${where}: selector does not select its pods`);
  ok(spec.replicas === 1, `${where}: replicas must be 1 (one pod per attester key)`);
  ok(spec.podManagementPolicy === 'Parallel', `${where}: podManagementPolicy must be Parallel`);
  const svc = ctx.services.find((s) => s.metadata.name === spec.serviceName);
  ok(svc && svc.spec.clusterIP === 'None', `${where}: serviceName must name a headless Service`);
  ok((pod.terminationGracePeriodSeconds || 30) >= 60,
     `${where}: terminationGracePeriodSeconds must leave the node time to finish its batch (>= 60)`);
  ok(pod.automountServiceAccountToken === false, `${where}: automountServiceAccountToken must be false`);
  const psc = pod.securityContext || {};
  ok(psc.runAsNonRoot === true && psc.runAsUser > 0 && psc.runAsGroup > 0,
     `${where}: pod must run as a non-root user and group`);
  ok(psc.seccompProfile && psc.seccompProfile.type === 'RuntimeDefault', `${where}: seccompProfile must be RuntimeDefault`);
  ok(psc.fsGroup > 0, `${where}: fsGroup must be set so the node can write its volume`);

  const containers = pod.containers || [];
  if (!ok(containers.length === 1, `${where}: expected one container`)) return null;
  const c = containers[0];
  for (const x of containers.concat(pod.initContainers || [])) containerSecurity(`${where} container ${x.name}`, x);

  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const claims = (spec.volumeClaimTemplates || []).map((t) => t.metadata.name);
  const mounts = c.volumeMounts || [];
  for (const m of mounts)
    ok(volumes[m.name] || claims.includes(m.name), `${where}: mount ${m.mountPath}: no volume ${m.name}`);

  // The config: `run -c PATH`, PATH an item of a ConfigMap volume.
  const args = (c.command || []).concat(c.args || []);
  if (!ok(args[0] === 'run' && args[1] === '-c' && args.length === 3, `${where}: args must be run -c CONFIG`)) return null;
  const cfgPath = args[2];
  const cfgMount = mountFor(mounts, cfgPath);
  const cfgVol = cfgMount && volumes[cfgMount.name];
  if (!ok(cfgVol && cfgVol.configMap, `${where}: ${cfgPath} is not on a ConfigMap volume`)) return null;
  const cm = ctx.configMaps.find((m) => m.metadata.name === cfgVol.configMap.name);
  if (!ok(cm, `${where}: ConfigMap ${cfgVol.configMap.name} not in deploy/k8s`)) return null;
  const rel = path.relative(cfgMount.mountPath, cfgPath);
  const item = (cfgVol.configMap.items || []).find((i) => i.path === rel);
  const key = item ? item.key : rel;
  const text = (cm.data || {})[key];
  if (!ok(text !== undefined, `${where}: ConfigMap ${cm.metadata.name} has no ${key}`)) return null;
  let cfg;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    ok(false, `${where}: ${cm.metadata.name}/${key}: ${e.message}`);
    return null;
  }
  res.cfg = cfg;
  res.cm = cm;

  // The operator server: reachable by the probes, on the named port.
  const m = cfg.metrics || {};
  const port = (c.ports || []).find((p) => p.name === METRICS_PORT_NAME);
  ok(port && port.containerPort === m.port, `${where}: containerPort "metrics" must be the config's metrics.port`);
  ok(m.bind === '0.0.0.0' || m.bind === '::', `${where}: metrics.bind must be 0.0.0.0 for probes and scrapes to reach it`);
  ok(probeOk(c.livenessProbe, '/healthz', m.port), `${where}: livenessProbe must GET /healthz on the metrics port`);
  ok(probeOk(c.readinessProbe, '/readyz', m.port), `${where}: readinessProbe must GET /readyz on the metrics port`);
  ok(!c.startupProbe || probeOk(c.startupProbe, '/healthz', m.port), `${where}: startupProbe must GET /healthz`);
  res.metricsPort = m.port;

  // Lay the pod's volumes out under a temporary root, as the node will see them.
  const root = fs.mkdtempSync(path.join(tmpRoot, `${ss.metadata.name}-`));
  const at = (p) => path.join(root, p);
  for (const mt of mounts) fs.mkdirSync(at(mt.mountPath), { recursive: true });

  // Keys: each from a Secret (defaultMode 0400/0600), copied by an
  // initContainer with `install -m 0400|0600` into a memory volume that the
  // node mounts; the Secret itself is not mounted in the node's container.
  const secretsUsed = [];
  const inits = (pod.initContainers || []).map((ic) => ({ ic, inst: installedKeys(ic) })).filter((x) => x.inst);
  const keyFiles = [];
  const node = cfg.node || {};
  for (const f of NODE_KEY_FIELDS) if (node[f]) keyFiles.push([`node.${f}`, node[f]]);
  for (const [i, ch] of (cfg.chains || []).entries()) if (ch.tx_key_file) keyFiles.push([`chains[${i}].tx_key_file`, ch.tx_key_file]);
  if (m.token_file) keyFiles.push(['metrics.token_file', m.token_file]);
  ok(!node.attester_key_env && !node.tx_key_env && !m.token_env, `${where}: keys must come from files (Secrets), not the environment`);
  for (const [field, p0] of keyFiles) {
    const p = path.isAbsolute(p0) ? p0 : path.join(path.dirname(cfgPath), p0);
    const mt = mountFor(mounts, p);
    const vol = mt && volumes[mt.name];
    if (!ok(vol && vol.emptyDir && vol.emptyDir.medium === 'Memory',
            `${where}: ${field} ${p} is not on a memory-backed emptyDir`)) continue;
    const copier = inits.find((x) => x.inst.dir === (x.ic.volumeMounts || []).find((v) => v.name === mt.name)?.mountPath &&
                                  x.inst.srcs.some((s) => path.basename(s) === path.basename(p)));
    if (!ok(copier, `${where}: ${field} ${p}: no initContainer installs ${path.basename(p)} into ${mt.mountPath}`)) continue;
    const mode = copier.inst.mode;
    ok(mode === 0o400 || mode === 0o600, `${where}: ${field}: installed with mode ${mode.toString(8)}, not 0400/0600`);
    const from = copier.inst.srcs.find((s) => path.basename(s) === path.basename(p));
    const smt = mountFor(copier.ic.volumeMounts || [], from);
    const svol = smt && volumes[smt.name];
    if (!ok(svol && svol.secret, `${where}: ${field}: ${from} is not on a Secret volume`)) continue;
    const items = svol.secret.items;
    const sitem = items && items.find((it) => it.path === path.relative(smt.mountPath, from));
    ok(!items || sitem, `${where}: ${field}: Secret ${svol.secret.secretName} volume has no item at ${from}`);
    const smode = sitem && sitem.mode !== undefined ? sitem.mode : svol.secret.defaultMode;
    ok(smode === 0o400 || smode === 0o600, `${where}: ${field}: Secret volume mode ${smode === undefined ? 'unset (0644)' : smode.toString(8)}, not 0400/0600`);
    ok(!mounts.some((v) => v.name === smt.name), `${where}: the Secret volume ${smt.name} must not be mounted in the node's container`);
    secretsUsed.push({ field, secret: svol.secret.secretName });
    writeKey(at(p), mode);
  }
  res.secretsUsed = secretsUsed;

  // data_dir on the StatefulSet's own volume (a volumeClaimTemplate).
  const dd = path.isAbsolute(node.data_dir || '') ? node.data_dir : path.join(path.dirname(cfgPath), node.data_dir || '');
  const dmt = mountFor(mounts, dd);
  ok(dmt && claims.includes(dmt.name) && !dmt.readOnly,
     `${where}: data_dir ${dd} is not on a writable volumeClaimTemplate mount`);
  if (node.log_file) {
    const lmt = mountFor(mounts, node.log_file);
    ok(lmt && !lmt.readOnly && (claims.includes(lmt.name) || (volumes[lmt.name] && volumes[lmt.name].emptyDir)),
       `${where}: log_file ${node.log_file} is not on a writable volume`);
  }

  // `bulkhead check` on the config with its paths moved under the root.
  const moved = JSON.parse(text);
  const move = (p) => (path.isAbsolute(p) ? at(p) : p);
  for (const f of ['data_dir', 'log_file'].concat(NODE_KEY_FIELDS)) if (moved.node && moved.node[f]) moved.node[f] = move(moved.node[f]);
  for (const ch of moved.chains || []) if (ch.tx_key_file) ch.tx_key_file = move(ch.tx_key_file);
  if (moved.metrics && moved.metrics.token_file) moved.metrics.token_file = move(moved.metrics.token_file);
  fs.writeFileSync(at(cfgPath), JSON.stringify(moved));
  const r = bulkheadCheck(at(cfgPath));
  ok(r.status === 0 && r.out.startsWith('ok:'), `${where}: bulkhead check ${cm.metadata.name}/${key}: ${r.out}`);
  return res;
}

function checkK8s() {
  const { files, objects, kustomization } = loadK8s();
  schemaCheck(objects);
  const byKind = (k) => objects.filter((x) => x.o.kind === k);
  if (ok(kustomization, 'deploy/k8s: no kustomization.yaml')) {
    const listed = (kustomization.o.resources || []).slice().sort();
    const present = files.filter((f) => f !== kustomization.file).sort();
    ok(JSON.stringify(listed) === JSON.stringify(present),
       `deploy/k8s/kustomization.yaml: resources ${listed} must be exactly the files ${present}`);
  }
  const ns = byKind('Namespace').map((x) => x.o.metadata.name);
  for (const { where, o } of objects)
    if (o.kind !== 'Namespace') ok(ns.includes(o.metadata.namespace), `${where}: namespace ${o.metadata.namespace} not defined here`);

  const ctx = {
    services: byKind('Service').map((x) => x.o),
    configMaps: byKind('ConfigMap').map((x) => x.o),
  };
  const sets = byKind('StatefulSet').map(({ where, o }) => checkStatefulSet(ctx, where, o)).filter(Boolean);
  ok(sets.length > 0, 'deploy/k8s: no StatefulSet');

  // Shards x attesters: in a shard every attester watches the same chains
  // with its own signer_index, name and keys; a chain (its vault) belongs to
  // exactly one shard; no two pods share a key Secret.
  const shards = {};
  for (const s of sets) (shards[s.shard] = shards[s.shard] || []).push(s);
  const chainShard = {};
  const secretOwner = {};
  for (const s of sets)
    for (const u of s.secretsUsed.filter((x) => x.field !== 'metrics.token_file')) {
      ok(!secretOwner[u.secret] || secretOwner[u.secret] === s.where,
         `${s.where}: key Secret ${u.secret} is also used by ${secretOwner[u.secret]}: every attester needs its own keys`);
      secretOwner[u.secret] = s.where;
    }
  const chainsOf = (cfg) => JSON.stringify((cfg.chains || []).map((c) => [c.name, c.bridge_id, c.evm_chain_id, c.portal.toLowerCase(), c.assets]));
  for (const [shard, members] of Object.entries(shards)) {
    const w = `shard ${shard}`;
    const first = members[0].cfg;
    const idx = members.map((s) => s.cfg.node.signer_index);
    ok(new Set(idx).size === idx.length, `${w}: signer_index values ${idx} must differ`);
    const names = members.map((s) => s.cfg.node.name);
    ok(new Set(names).size === names.length, `${w}: node names ${names} must differ`);
    for (const s of members) {
      ok(chainsOf(s.cfg) === chainsOf(first), `${s.where}: chains differ from the rest of ${w}`);
      ok(s.cfg.node.signer_set_index === first.node.signer_set_index, `${s.where}: signer_set_index differs within ${w}`);
    }
    for (const c of first.chains || []) {
      ok(!chainShard[c.bridge_id] || chainShard[c.bridge_id] === shard,
         `${w}: chain ${c.name} (bridge_id ${c.bridge_id}) is also in shard ${chainShard[c.bridge_id]}: a vault lives in one shard`);
      chainShard[c.bridge_id] = shard;
    }
    // The disruption budget keeps the Portals' quorum of attesters up.
    const q = Number((members[0].cm.metadata.annotations || {})['bulkhead.io/portal-quorum']);
    ok(Number.isInteger(q) && q >= 1, `${w}: ConfigMap annotation bulkhead.io/portal-quorum missing`);
    ok(members.length > q, `${w}: ${members.length} attesters for a quorum of ${q}: no attester could ever be drained`);
    const pdbs = byKind('PodDisruptionBudget').filter((x) => members.every((s) => selects(x.o.spec.selector.matchLabels, s.labels)));
    if (ok(pdbs.length === 1, `${w}: expected one PodDisruptionBudget selecting its attesters, found ${pdbs.length}`)) {
      const p = pdbs[0].o.spec;
      const allowed = p.minAvailable !== undefined ? members.length - p.minAvailable : p.maxUnavailable;
      ok(Number.isInteger(allowed) && allowed >= 1 && members.length - allowed >= q,
         `${w}: PodDisruptionBudget lets ${allowed} of ${members.length} attesters go down; the quorum is ${q}`);
      const others = sets.filter((s) => s.shard !== shard && selects(p.selector.matchLabels, s.labels));
      ok(others.length === 0, `${w}: PodDisruptionBudget also selects pods of other shards`);
    }
  }

  // The metrics Service: scrape annotations, every node's pods, the metrics port.
  const scraped = ctx.services.filter((s) => (s.metadata.annotations || {})['prometheus.io/scrape'] === 'true');
  if (ok(scraped.length === 1, `deploy/k8s: expected one Service with prometheus.io/scrape "true", found ${scraped.length}`)) {
    const s = scraped[0];
    const a = s.metadata.annotations;
    ok(a['prometheus.io/path'] === '/metrics', `Service ${s.metadata.name}: prometheus.io/path must be /metrics`);
    for (const st of sets) {
      ok(selects(s.spec.selector, st.labels), `Service ${s.metadata.name} does not select the pods of ${st.where}`);
      ok(a['prometheus.io/port'] === String(st.metricsPort), `Service ${s.metadata.name}: prometheus.io/port must be ${st.metricsPort}`);
    }
    const p = (s.spec.ports || []).find((x) => x.targetPort === METRICS_PORT_NAME || sets.some((st) => x.targetPort === st.metricsPort));
    ok(p, `Service ${s.metadata.name}: no port targets the metrics port`);
    ok(s.spec.publishNotReadyAddresses === true, `Service ${s.metadata.name}: publishNotReadyAddresses must be true (keep scraping unready nodes)`);
  }
  for (const { where, o } of byKind('NetworkPolicy'))
    ok(sets.every((s) => selects(o.spec.podSelector.matchLabels, s.labels)), `${where}: does not select every node's pods`);
  return sets.length;
}

// ---------------------------------------------------------------- Dockerfile

function runtimePackages(binaries) {
  // The Debian packages that ship the libraries the binaries link against.
  const pkgs = new Set();
  for (const b of binaries) {
    const out = execFileSync('ldd', [b], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const m = line.match(/=>\s+(\/\S+)/);
      if (!m) continue;
      const needed = execFileSync('readelf', ['-d', b], { encoding: 'utf8' });
      const soname = line.trim().split(/\s+/)[0];
      if (!needed.includes(`[${soname}]`)) continue;
      const real = fs.realpathSync(m[1]);
      const r = spawnSync('dpkg', ['-S', real], { encoding: 'utf8' });
      const r2 = r.status === 0 ? r : spawnSync('dpkg', ['-S', m[1]], { encoding: 'utf8' });
      if (ok(r2.status === 0, `${path.basename(b)}: ${soname} (${real}) belongs to no Debian package`))
        pkgs.add(r2.stdout.split(':')[0]);
    }
  }
  return pkgs;
}

function aptInstalls(run) {
  const m = run.match(/apt-get install\s+([^&;]*)/);
  return m ? m[1].split(/\s+/).filter((w) => w && !w.startsWith('-')) : [];
}

function checkDockerfile() {
  const file = path.join(src, 'deploy/docker/Dockerfile');
  const text = fs.readFileSync(file, 'utf8');
  const diags = dockerfileUtils.validate(text);
  ok(diags.length === 0, `Dockerfile: lint: ${diags.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
  const df = DockerfileParser.parse(text);
  const froms = df.getFROMs();
  ok(froms.length === 2, `Dockerfile: expected 2 stages, found ${froms.length}`);
  for (const f of froms)
    ok(/^debian:12-slim(@sha256:[0-9a-f]{64})?$/.test(f.getImage()), `Dockerfile: FROM ${f.getImage()}: must be debian:12-slim`);
  const ins = df.getInstructions();
  const lastFrom = ins.lastIndexOf(froms[froms.length - 1]);
  const runtime = ins.slice(lastFrom + 1);
  const build = ins.slice(0, lastFrom);
  const kw = (list, k) => list.filter((i) => i.getKeyword() === k);
  const args = (i) => i.getArgumentsContent() || '';

  // build stage: the -dev packages the build needs (deploy/install-deps) and node/npm,
  // none of those only the tests need, and a build without the tests
  const deps = fs.readFileSync(path.join(src, 'deploy/install-deps'), 'utf8');
  const aptList = (name) => {
    const arr = deps.match(new RegExp(`\\b${name}=\\(([\\s\\S]*?)\\n\\)`));
    return arr ? arr[1].replace(/#.*$/gm, '').split(/\s+/).filter((w) => w) : [];
  };
  const buildOnly = (w) => /-dev$|^cmake$|^pkg-config$|^build-essential$/.test(w);
  const wanted = aptList('APT_PACKAGES').filter(buildOnly);
  const testOnly = aptList('APT_TEST_PACKAGES').filter(buildOnly);
  ok(wanted.length > 0, 'deploy/install-deps: no APT_PACKAGES');
  ok(testOnly.length > 0, 'deploy/install-deps: no -dev package in APT_TEST_PACKAGES');
  const buildPkgs = kw(build, 'RUN').flatMap((i) => aptInstalls(args(i)));
  for (const p of wanted.concat(['nodejs', 'npm'])) ok(buildPkgs.includes(p), `Dockerfile build stage: does not install ${p}`);
  for (const p of testOnly) ok(!buildPkgs.includes(p), `Dockerfile build stage: installs ${p}, which only the tests need`);
  ok(kw(build, 'RUN').some((i) => /cmake -S .* -DBUILD_TESTING=OFF\b/.test(args(i))),
     'Dockerfile build stage: must configure with -DBUILD_TESTING=OFF');
  ok(kw(build, 'RUN').some((i) => /cmake --build .*--target bulkhead vaultctl bulkhead-deploy/.test(args(i))),
     'Dockerfile build stage: must build the targets bulkhead vaultctl bulkhead-deploy');
  ok(kw(build, 'RUN').some((i) => /npm (ci|install)\b/.test(args(i))), 'Dockerfile build stage: no npm install of tests/node');

  // runtime stage: only runtime packages, and every library the binaries need
  const runPkgs = kw(runtime, 'RUN').flatMap((i) => aptInstalls(args(i)));
  ok(runPkgs.length > 0 && runPkgs.every((p) => !/-dev$/.test(p) && p !== 'nodejs' && p !== 'npm'),
     `Dockerfile runtime stage: installs build-only packages: ${runPkgs}`);
  for (const p of runtimePackages([bulkhead, vaultctl, bhDeploy]))
    ok(p.startsWith('libc6') || runPkgs.includes(p), `Dockerfile runtime stage: does not install ${p}, which the binaries link`);
  ok(runPkgs.includes('ca-certificates'), 'Dockerfile runtime stage: ca-certificates (https endpoints)');
  const copies = kw(runtime, 'COPY');
  ok(copies.some((c) => c.getFromFlag() && c.getFromFlag().getValue() === froms[0].getBuildStage()),
     'Dockerfile runtime stage: must COPY --from the build stage');
  const users = kw(runtime, 'USER');
  ok(users.length > 0 && !/^(0|root)(:|$)/.test(args(users[users.length - 1])), 'Dockerfile: the final stage must run as a non-root USER');
  const json = (i) => {
    try {
      return JSON.parse(args(i));
    } catch (e) {
      return null;
    }
  };
  const ep = kw(runtime, 'ENTRYPOINT');
  ok(ep.length === 1 && JSON.stringify(json(ep[0])) === '["bulkhead"]', 'Dockerfile: ENTRYPOINT must be ["bulkhead"]');
  const cmd = kw(runtime, 'CMD');
  ok(cmd.length === 1 && (json(cmd[0]) || [])[0] === 'run', 'Dockerfile: CMD must be ["run", "-c", CONFIG]');
  ok(kw(runtime, 'VOLUME').some((i) => args(i).includes('/var/lib/bulkhead')), 'Dockerfile: VOLUME /var/lib/bulkhead');
  ok(kw(runtime, 'EXPOSE').length === 1, 'Dockerfile: EXPOSE the metrics port');
  ok(kw(runtime, 'HEALTHCHECK').some((i) => args(i).includes('/healthz')), 'Dockerfile: HEALTHCHECK on /healthz');

  const ignore = fs.readFileSync(path.join(src, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['.git', 'build*/', '**/node_modules', '.devnet/', '**/*.key'])
    ok(ignore.includes(p), `.dockerignore: must exclude ${p}`);
}

// ---------------------------------------------------------------- systemd

function unitDirectives(text) {
  const d = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) (d[m[1]] = d[m[1]] || []).push(m[2].trim());
  }
  return d;
}

function checkSystemd() {
  const unitFile = path.join(src, 'deploy/systemd/bulkhead@.service');
  const text = fs.readFileSync(unitFile, 'utf8');
  const d = unitDirectives(text);
  const one = (k) => (d[k] || []).slice(-1)[0];
  const want = {
    ProtectSystem: 'strict', NoNewPrivileges: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
    ProtectHome: 'yes', ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes', RestrictNamespaces: 'yes', LockPersonality: 'yes', MemoryDenyWriteExecute: 'yes',
    CapabilityBoundingSet: '', UMask: '0077', Restart: 'on-failure', RestartPreventExitStatus: '2',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX', ExecReload: '/bin/kill -HUP $MAINPID',
  };
  for (const [k, v] of Object.entries(want)) ok(one(k) === v, `bulkhead@.service: ${k}=${v} (found ${one(k)})`);
  ok((d.SystemCallFilter || [])[0] === '@system-service', 'bulkhead@.service: SystemCallFilter=@system-service');
  ok(one('User') && one('User') !== 'root', 'bulkhead@.service: User= must name a non-root user');
  ok(/^\d+s?$/.test(one('RestartSec') || '') && parseInt(one('RestartSec'), 10) >= 1, 'bulkhead@.service: RestartSec');
  ok(one('StartLimitIntervalSec') && one('StartLimitBurst'), 'bulkhead@.service: a start limit');
  const state = one('StateDirectory');
  ok(state, 'bulkhead@.service: StateDirectory= (the LMDB data_dir)');
  const startPre = one('ExecStartPre') || '', start = one('ExecStart') || '';
  const cfgArg = (start.match(/ run -c (\S+)$/) || [])[1];
  ok(cfgArg && startPre.endsWith(` check -c ${cfgArg}`) && startPre.split(' ')[0] === start.split(' ')[0],
     'bulkhead@.service: ExecStartPre must `bulkhead check -c` the config ExecStart runs');

  // systemd-analyze on a copy that runs the binary just built.
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'systemd-'));
  const copy = path.join(dir, 'bulkhead@node.service');
  fs.writeFileSync(copy, text.split('/usr/local/bin/bulkhead').join(bulkhead));
  const v = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
  ok(!v.error && v.status === 0 && !v.stderr.trim(), `systemd-analyze verify: ${v.error ? v.error.message : v.stderr.trim()}`);
  // Exposure 1.2 today; the same unit without its sandbox scores 9.2.
  const s = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=15', copy], { encoding: 'utf8' });
  ok(!s.error && s.status === 0, `systemd-analyze security: exposure above 1.5: ${(s.stdout || '').trim().split('\n').pop()}`);

  // The example config, laid out as the unit gives it: credentials in one
  // directory next to the config, data and logs in the unit's directories.
  const creds = {};
  for (const l of d.LoadCredential || []) {
    const [id, from] = l.split(':');
    creds[id] = from;
  }
  const cfgName = cfgArg ? path.basename(cfgArg) : '';
  ok(cfgArg === `%d/${cfgName}` && creds[cfgName], 'bulkhead@.service: the config must be a LoadCredential read from %d');
  const example = path.join(src, 'deploy/systemd/config.json');
  const cfg = JSON.parse(fs.readFileSync(example, 'utf8'));
  const credDir = fs.mkdtempSync(path.join(tmpRoot, 'creds-'));
  const node = cfg.node;
  for (const f of ['attester_key_file', 'tx_key_file']) {
    const p = node[f];
    if (ok(p && !path.isAbsolute(p) && !p.includes('/') && creds[p], `deploy/systemd/config.json: node.${f} ${p} must be a LoadCredential id`))
      writeKey(path.join(credDir, p), 0o400);
  }
  ok(node.data_dir === `/var/lib/${state.replace('%i', node.name)}`,
     `deploy/systemd/config.json: data_dir must be /var/lib/${state} (StateDirectory), instance ${node.name}`);
  const logs = one('LogsDirectory');
  ok(!node.log_file || (logs && node.log_file.startsWith(`/var/log/${logs}/`)),
     'deploy/systemd/config.json: log_file must be under LogsDirectory');
  const moved = JSON.parse(JSON.stringify(cfg));
  moved.node.data_dir = path.join(dir, 'state');
  if (moved.node.log_file) moved.node.log_file = path.join(dir, 'node.log');
  fs.writeFileSync(path.join(credDir, cfgName), JSON.stringify(moved));
  const r = bulkheadCheck(path.join(credDir, cfgName));
  ok(r.status === 0 && r.out.startsWith('ok:'), `deploy/systemd/config.json: bulkhead check: ${r.out}`);
  for (const id of Object.keys(creds))
    ok(creds[id] === `/etc/bulkhead/%i/${id}`, `bulkhead@.service: LoadCredential ${id} must come from /etc/bulkhead/%i/${id}`);

  const lr = fs.readFileSync(path.join(src, 'deploy/systemd/logrotate'), 'utf8');
  ok(logs && lr.includes(`/var/log/${logs}/`) && /systemctl reload 'bulkhead@\*\.service'/.test(lr),
     'deploy/systemd/logrotate: must rotate LogsDirectory and reload (SIGHUP) the nodes');
}

let pods = 0;
try {
  pods = checkK8s();
  checkDockerfile();
  checkSystemd();
} finally {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}
if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  console.error(`${failures.length} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`ok: ${checks} checks (${pods} StatefulSets, Dockerfile, systemd unit)`);
