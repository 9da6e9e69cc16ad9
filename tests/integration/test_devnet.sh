#!/usr/bin/env bash
# deploy/devnet as a new user runs it: a busy port is refused with nothing
# left behind; up reaches a working bridge (sample transfers arrived, the
# vaults agree with the chains, the operator servers answer); up again is a
# no-op; attack (forged burns on gamma) costs alpha and beta nothing, and
# quarantines gamma in every vault of every node; down leaves no process and
# no port open.
# Env: BH_BUILD_DIR (the build to use), BH_NODE (node.js, for HTTP and JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BH_BUILD_DIR:?BH_BUILD_DIR must name the build directory}
node=${BH_NODE:-node}
export BH_BUILD_DIR=$build BH_DEVNET_PACE=0
export BH_DEVNET_DIR
BH_DEVNET_DIR=$(mktemp -d /tmp/bh-devnet-test.XXXXXX)/devnet
out=$(dirname "$BH_DEVNET_DIR")/out
devnet=$root/deploy/devnet
vaultctl=$build/vaults/vaultctl
deployer=$build/chains/bulkhead-deploy
E18=000000000000000000
user=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
attacker=0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc
failed=0
blocker=

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  failed=1
  exit 1
}
ok() { printf 'ok: %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# running, not a zombie waiting for init to reap it
running() {
  local st
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

finish() {
  local rc=$?
  [ -n "$blocker" ] && kill "$blocker" 2>/dev/null
  if [ "$rc" != 0 ] || [ "$failed" = 1 ]; then
    for f in "$BH_DEVNET_DIR"/node-*/node.log "$BH_DEVNET_DIR"/logs/*.out; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
    done
    [ -f "$out" ] && { echo "--- devnet output"; tail -n 40 "$out"; }
  fi
  "$devnet" down >/dev/null 2>&1 || true
  rm -rf "$(dirname "$BH_DEVNET_DIR")"
  exit "$rc"
}
trap finish EXIT

# Six free loopback ports: chains base..base+2, nodes mbase..mbase+2, below
# the kernel's ephemeral range (the ports other tests' sockets are given),
# so another test running beside this one cannot take them meanwhile.
eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
pick() {
  local b p
  for _ in $(seq 1 50); do
    b=$((20000 + RANDOM % (eph_lo - 20000 - 3)))
    for p in $b $((b + 1)) $((b + 2)); do port_open "$p" && continue 2; done
    printf '%s' "$b"
    return 0
  done
  return 1
}
BH_DEVNET_PORT=$(pick)
BH_DEVNET_METRICS_PORT=$(pick)
export BH_DEVNET_PORT BH_DEVNET_METRICS_PORT
ports="$BH_DEVNET_PORT $((BH_DEVNET_PORT + 1)) $((BH_DEVNET_PORT + 2))"
ports="$ports $BH_DEVNET_METRICS_PORT $((BH_DEVNET_METRICS_PORT + 1)) $((BH_DEVNET_METRICS_PORT + 2))"

json() { # file js-expression-of-j: j is the data of vaultctl's --json envelope
  "$node" -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
              if (e.ok !== true) { console.error("not ok:", JSON.stringify(e)); process.exit(1); }
              const j = e.data;
              console.log(eval(process.argv[2]));' "$1" "$2"
}

# ---- an unknown verb: usage, exit 2 ----
rc=0
"$devnet" upp >"$out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown verb exited $rc, not 2"
grep -q 'deploy/devnet up' "$out" || fail "an unknown verb printed no usage"

# ---- a busy port: refused by name, nothing started ----
blocked=$((BH_DEVNET_PORT + 1))
"$node" -e 'require("net").createServer().listen(+process.argv[1], "127.0.0.1")' "$blocked" &
blocker=$!
for _ in $(seq 1 50); do port_open "$blocked" && break; sleep 0.1; done
if "$devnet" up >"$out" 2>&1; then fail "up succeeded with 127.0.0.1:$blocked taken"; fi
grep -q "127.0.0.1:$blocked is in use" "$out" || fail "up did not name the busy port: $(tail -n 3 "$out")"
kill "$blocker"
wait "$blocker" 2>/dev/null || true
blocker=
for p in $ports; do
  [ "$p" = "$blocked" ] && continue
  port_open "$p" && fail "port $p open after a refused up"
done
ok "a busy port is refused by name and nothing starts"

# ---- up ----
"$devnet" up >"$out" 2>&1 || fail "up failed"
grep -q "Dashboard  http://127.0.0.1:$BH_DEVNET_METRICS_PORT/" "$out" || fail "up printed no dashboard URL"
grep -q 'vaultctl -d .* show alpha' "$out" || fail "up printed no vaultctl command"
grep -q 'deploy/devnet down' "$out" || fail "up did not say how to stop"
[ "$(grep -c 'arrived on' "$out")" = 4 ] || fail "not every sample transfer arrived"
ok "up: four sample transfers arrived, dashboard URL printed"

procs="anvil-alpha anvil-beta anvil-gamma node-1 node-2 node-3"
pids_now() { for n in $procs; do cat "$BH_DEVNET_DIR/pids/$n"; done; }
pids=$(pids_now)
[ "$(echo "$pids" | wc -w)" = 6 ] || fail "expected 6 processes, got: $pids"
for p in $pids; do running "$p" || fail "process $p is not running"; done

# The chains: the user holds 60 wTKA on beta (100 locked, 40 burnt home),
# 25 on gamma, 50 wTKB on alpha; 999,915 TKA are back on alpha.
rpc() { printf 'http://127.0.0.1:%s' $((BH_DEVNET_PORT + $1)); }
portal=$(cat "$BH_DEVNET_DIR/portal.0")
tka=$(cat "$BH_DEVNET_DIR/token.0")
tkb=$(cat "$BH_DEVNET_DIR/token.1")
val() { sed -n "s/.*\"$1\":\"\([0-9a-fA-Fx]*\)\".*/\1/p"; }
wrapped() { "$deployer" wrapped --rpc "$(rpc "$1")" --portal "$portal" --home-chain "$2" --token "$3" | val wrapped; }
balance() { "$deployer" balance --rpc "$(rpc "$1")" --token "$2" --of "$3" | val balance; }
[ "$(balance 1 "$(wrapped 1 1 "$tka")" "$user")" = "60$E18" ] || fail "wTKA on beta"
[ "$(balance 2 "$(wrapped 2 1 "$tka")" "$user")" = "25$E18" ] || fail "wTKA on gamma"
[ "$(balance 0 "$(wrapped 0 2 "$tkb")" "$user")" = "50$E18" ] || fail "wTKB on alpha"
[ "$(balance 0 "$tka" "$user")" = "999915$E18" ] || fail "TKA on alpha"

# Every node's vaults say the same: alpha locked 85, 60 out on beta, 25 on gamma.
# (The burn home arrives once two nodes delivered it; the third applies it
# when its own watcher reads it, a poll or two later.)
for n in 1 2 3; do
  d=$BH_DEVNET_DIR/node-$n/data
  for i in $(seq 1 100); do
    "$vaultctl" -d "$d" show alpha --json >"$out.json"
    [ "$(json "$out.json" 'j.assets[0].locked_units')" = 85 ] && break
    sleep 0.1
  done
  [ "$(json "$out.json" 'j.assets[0].locked_units')" = 85 ] || fail "node-$n: alpha locked"
  [ "$(json "$out.json" 'j.assets[0].lanes.find(l => l.chain == 2).outstanding_units')" = 60 ] ||
    fail "node-$n: outstanding toward beta"
  [ "$(json "$out.json" 'j.assets[0].lanes.find(l => l.chain == 3).outstanding_units')" = 25 ] ||
    fail "node-$n: outstanding toward gamma"
  "$vaultctl" -d "$d" audit >/dev/null || fail "node-$n: audit"
done
ok "the chains and every node's vaults agree"

# Each vault prices its own token from its feed on its home chain (TKA $2.00
# on alpha, TKB $1.00 on beta, in cents), and its segment is normal.
for v in alpha:TKA:200 beta:TKB:100; do
  vault=${v%%:*} rest=${v#*:} sym=${rest%%:*} want=${v##*:}
  for i in $(seq 1 100); do
    "$vaultctl" -d "$BH_DEVNET_DIR/node-1/data" values "$vault" --json >"$out.json"
    [ "$(json "$out.json" "(j.prices.find(p => p.symbol == '$sym') || {}).price")" = "$want" ] && break
    sleep 0.1
  done
  [ "$(json "$out.json" "(j.prices.find(p => p.symbol == '$sym') || {}).price")" = "$want" ] ||
    fail "$vault: $sym's price from its feed"
  [ "$(json "$out.json" 'j.segment.state')" = normal ] || fail "$vault: segment state"
done
ok "each vault prices its own token from its feed"

# The operator servers answer.
for n in 0 1 2; do
  m=$((BH_DEVNET_METRICS_PORT + n))
  "$node" -e '(async () => {
      const b = "http://127.0.0.1:" + process.argv[1];
      for (const p of ["/healthz", "/readyz", "/"]) {
        const r = await fetch(b + p);
        if (r.status !== 200) { console.error(p, r.status); process.exit(1); }
      }
      const t = await (await fetch(b + "/metrics")).text();
      if (!/bulkhead_vault_locked_wei\{[^}]*vault="alpha"[^}]*\} 85000000000000000000/.test(t)) {
        console.error("no locked 85 TKA in /metrics"); process.exit(1);
      }
    })().catch(e => { console.error(e.message); process.exit(1); });' "$m" ||
    fail "operator server on $m"
done
ok "every node serves /healthz, /readyz, the dashboard and /metrics"

# The operators' admin token steers every node, as the summary shows: a
# limit set through node-2's admin API lands in node-2's vault with the
# actor, and only there; without the token the node refuses.
grep -q 'vaultctl --node "$NODE" --admin-token-file .*admin.token' "$out" ||
  fail "up printed no vaultctl --node command"
adm=$BH_DEVNET_DIR/keys/admin.token
[ "$(stat -c %a "$adm")" = 600 ] || fail "admin token mode $(stat -c %a "$adm")"
m2=http://127.0.0.1:$((BH_DEVNET_METRICS_PORT + 1))
"$vaultctl" --node "$m2" --admin-token-file "$adm" --actor devnet-test \
  limits beta TKB big_delay=43200 --reason "devnet test" >/dev/null || fail "limits through node-2"
"$vaultctl" -d "$BH_DEVNET_DIR/node-2/data" limits beta TKB --json >"$out.json"
[ "$(json "$out.json" 'j.assets[0].big_delay')" = 43200 ] || fail "node-2: big_delay not set"
grep -q 'api:devnet-test' "$out.json" || fail "node-2: the limit's provenance names no actor"
"$vaultctl" -d "$BH_DEVNET_DIR/node-1/data" limits beta TKB --json >"$out.json"
[ "$(json "$out.json" 'j.assets[0].big_delay')" = 86400 ] || fail "node-1 changed with node-2"
(umask 077 && echo "not-the-admin-token-of-this-set" >"$out.token")
rc=0
"$vaultctl" --node "$m2" --admin-token-file "$out.token" list --json >"$out.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q '"ok": false' "$out.json" || fail "node-2 answered a wrong admin token (rc $rc)"
ok "the admin token steers one node at a time; no token, no action"

# ---- up again: nothing restarts ----
"$devnet" up >"$out" 2>&1 || fail "second up failed"
grep -q 'already up' "$out" || fail "second up did not say the devnet is already up"
[ "$(pids_now)" = "$pids" ] ||
  fail "second up restarted processes"
"$devnet" status >"$out" 2>&1 || fail "status failed"
[ "$(grep -c ' running (pid' "$out")" = 6 ] || fail "status does not list six running processes"
ok "up twice is safe; status lists the six processes"

# ---- attack ----
"$devnet" attack >"$out" 2>&1 || fail "attack failed"
lost_a=$(balance 0 "$tka" "$attacker")
lost_b=$(balance 1 "$tkb" "$attacker")
[ "$lost_a" = 0 ] || fail "alpha lost $lost_a to forged burns on gamma"
grep -q "alpha's vault lost 0 TKA" "$out" || fail "attack does not print alpha's loss as 0"
[ "$lost_b" = 0 ] || fail "beta lost $lost_b"
for n in 1 2 3; do
  "$vaultctl" -d "$BH_DEVNET_DIR/node-$n/data" list --json >"$out.json"
  [ "$(json "$out.json" 'j.filter(v => v.quarantined.includes(3)).length')" = 3 ] ||
    fail "node-$n: gamma is not quarantined in every vault"
  "$vaultctl" -d "$BH_DEVNET_DIR/node-$n/data" audit >/dev/null || fail "node-$n: audit after attack"
done
[ "$(balance 1 "$(wrapped 1 1 "$tka")" "$user")" = "65$E18" ] || fail "alpha -> beta stopped flowing"
ok "attack: the first forged burn quarantined gamma everywhere; alpha and beta lost nothing"
for c in 0 1; do
  "$deployer" controls --rpc "$(rpc "$c")" --portal "$(cat "$BH_DEVNET_DIR/portal.$c")" \
    --remote-chain 3 | grep -q '"cursed":true' || fail "gamma is not cursed on chain $c's Portal"
done
grep -q "event=curse_voted" "$out" || fail "attack does not show the curse vote"
ok "attack: gamma cursed on alpha's and beta's Portals"

# ---- rotate ----
"$devnet" rotate >"$out" 2>&1 || fail "rotate failed: $(tail -5 "$out")"
[ "$(balance 1 "$(wrapped 1 1 "$tka")" "$user")" = "75$E18" ] ||
  fail "the ten transfers sent across the rotation did not all arrive"
for n in 1 2 3; do
  "$vaultctl" -d "$BH_DEVNET_DIR/node-$n/data" portals beta --json >"$out.json"
  [ "$(json "$out.json" 'j[0].set.index')" = 1 ] || fail "node-$n does not see set 1 on beta"
  # set 1 lists node 2, 3, 1: node n signs as (n + 1) mod 3
  [ "$(json "$out.json" 'j[0].set.signer')" = $(((n + 1) % 3)) ] ||
    fail "node-$n does not sign from its new place in set 1"
done
ok "rotate: a new set on every Portal while transfers flow; each node signs from its new place"

# ---- down ----
"$devnet" down >"$out" 2>&1 || fail "down failed: $(cat "$out")"
for p in $pids; do running "$p" && fail "process $p still runs after down"; done
for p in $ports; do port_open "$p" && fail "port $p still open after down"; done
pgrep -f -- "$BH_DEVNET_DIR" >/dev/null && fail "a process naming the devnet directory still runs"
[ -e "$BH_DEVNET_DIR" ] && fail "down left $BH_DEVNET_DIR"
"$devnet" down >"$out" 2>&1 || fail "second down failed"
grep -q 'not running' "$out" || fail "second down did not say not running"
ok "down: no process, no port, no files left"
