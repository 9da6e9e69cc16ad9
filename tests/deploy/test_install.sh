#!/usr/bin/env bash
# test_install: `cmake --install` gives the systemd unit, the Dockerfile's
# runtime stage and deploy/README.md what they use, as is, and nothing else.
#   test_install.sh SOURCE_DIR BUILD_DIR [CMAKE]
# The paths come from the files themselves (the unit's ExecStartPre and
# ExecStart, the Dockerfile's install, COPY, ENTRYPOINT and build targets,
# the README's PREFIX/... paths), so the test fails when one of them drifts
# from the install rules. Then the installed binaries run: the unit's
# ExecStartPre on the installed example config laid out as its credentials,
# the image's ENTRYPOINT with --version, vaultctl and bulkhead-deploy --help.
set -euo pipefail
src=${1:?usage: test_install.sh SOURCE_DIR BUILD_DIR [CMAKE]}
build=${2:?usage: test_install.sh SOURCE_DIR BUILD_DIR [CMAKE]}
cmake=${3:-cmake}
unit_file=$src/deploy/systemd/bulkhead@.service
dockerfile=$src/deploy/docker/Dockerfile
readme=$src/deploy/README.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
check() { # check DESCRIPTION COMMAND...: one assertion
  local what=$1
  shift
  checks=$((checks + 1))
  if ! "$@"; then
    echo "FAIL $what" >&2
    failures=$((failures + 1))
  fi
}
die() {
  echo "FAIL $*" >&2
  exit 1
}
# A file with its continuation lines joined (systemd and Dockerfile alike).
joined() { sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$1"; }
# Installs BUILD with DESTDIR=$1 (and the arguments after it); prints the
# installed files, DESTDIR stripped, one a line.
install_into() {
  local root=$1
  shift
  DESTDIR=$root "$cmake" --install "$build" "$@" >"$root.log" 2>&1 ||
    die "cmake --install $*: $(cat "$root.log")"
  (cd "$root" && find . -type f -o -type l) | sed 's|^\.||' | sort
}

# ---- the systemd unit: PREFIX/bin/bulkhead in ExecStartPre and ExecStart
mapfile -t execs < <(joined "$unit_file" | sed -n 's/^ExecStart\(Pre\)\?=[-@:+!]*//p')
[ "${#execs[@]}" -ge 2 ] || die "$unit_file: no ExecStartPre and ExecStart"
unit_bins=()
for e in "${execs[@]}"; do unit_bins+=("${e%% *}"); done
unit_prefix=${unit_bins[0]%/bin/*}
if [ "$unit_prefix" = "${unit_bins[0]}" ] || [ "${unit_prefix#/}" = "$unit_prefix" ]; then
  die "$unit_file: ExecStart runs ${unit_bins[0]}, not PREFIX/bin/NAME"
fi
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
check "the build's CMAKE_INSTALL_PREFIX is $configured, the unit runs $unit_prefix/bin (a plain \`cmake --install\` must give the unit its binaries)" \
  test "$configured" = "$unit_prefix"

mkdir -p "$tmp/unit"
mapfile -t unit_tree < <(install_into "$tmp/unit" --prefix "$unit_prefix")
for b in "${unit_bins[@]}"; do
  check "unit: $b is not installed (or not executable)" test -f "$tmp/unit$b" -a -x "$tmp/unit$b"
done
unit_installed=$(grep '/bulkhead@\.service$' < <(printf '%s\n' "${unit_tree[@]}") || true)
check "unit: bulkhead@.service is not installed" test -n "$unit_installed"
if [ -n "$unit_installed" ]; then
  check "unit: the installed $unit_installed differs from deploy/systemd/bulkhead@.service" \
    cmp -s "$tmp/unit$unit_installed" "$unit_file"
  unit_dir=$(dirname "$unit_installed")
  if command -v systemd-analyze >/dev/null; then
    check "unit: $unit_dir is not a directory systemd loads units from (systemd-analyze unit-paths)" \
      grep -qx "$unit_dir" < <(systemd-analyze unit-paths)
  fi
fi

# ---- deploy/README.md: every PREFIX/... path its install steps name
mapfile -t readme_paths < <(grep -o "$unit_prefix/[A-Za-z0-9_./@-]*[A-Za-z0-9_@-]" "$readme" | sort -u)
check "deploy/README.md names no path under $unit_prefix" test "${#readme_paths[@]}" -gt 0
for p in "${readme_paths[@]}"; do
  case "$p" in "$unit_prefix"/bin) continue ;; esac
  check "deploy/README.md: $p is not installed" test -e "$tmp/unit$p"
done

# ---- the Dockerfile: the build stage's install, the runtime stage's COPY
df=$(joined "$dockerfile")
last_from=$(grep -n '^FROM ' <<<"$df" | tail -n 1 | cut -d: -f1)
build_stage=$(head -n $((last_from - 1)) <<<"$df")
runtime_stage=$(tail -n +"$last_from" <<<"$df")
stage_name=$(grep -m1 '^FROM ' <<<"$build_stage" | sed -n 's/.* AS \([A-Za-z0-9_-]*\).*/\1/p')
install_cmd=$(grep -o 'cmake --install [^&;]*' <<<"$build_stage" | head -n 1 || true)
[ -n "$install_cmd" ] || die "Dockerfile: the build stage runs no \`cmake --install\`"
destdir=$(grep -o 'DESTDIR=[^ ]*' <<<"$build_stage" | head -n 1 | cut -d= -f2 || true)
docker_prefix=$(sed -n 's/.*--prefix[= ]\([^ ]*\).*/\1/p' <<<"$install_cmd")
[ -n "$docker_prefix" ] || docker_prefix=$configured
targets=$(grep -o 'cmake --build [^&;]*--target [^&;]*' <<<"$build_stage" | sed 's/.*--target //' | head -n 1)
read -r -a targets <<<"$targets"
[ "${#targets[@]}" -gt 0 ] || die "Dockerfile: the build stage builds no --target"

mkdir -p "$tmp/stage" "$tmp/image"
mapfile -t docker_tree < <(install_into "$tmp/stage" --prefix "$docker_prefix")
copies=0
while read -r from dst; do
  copies=$((copies + 1))
  [ -z "$destdir" ] || case "$from" in "$destdir"/*) from=${from#"$destdir"} ;; esac
  mkdir -p "$tmp/image$dst"
  if [ -d "$tmp/stage$from" ]; then
    cp -a "$tmp/stage${from%/}/." "$tmp/image$dst"
  elif [ -e "$tmp/stage$from" ]; then
    cp -a "$tmp/stage$from" "$tmp/image$dst"
  else
    check "Dockerfile: COPY --from=$stage_name $from: not in the installed tree" false
  fi
done < <(sed -n "s|^COPY --from=$stage_name \([^ ]*\) \([^ ]*\)$|\1 \2|p" <<<"$runtime_stage")
check "Dockerfile: the runtime stage copies nothing from the installed tree" test "$copies" -gt 0

path=$(sed -n 's/^ENV PATH[= ]//p' <<<"$runtime_stage" | tail -n 1)
[ -n "$path" ] || path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin # debian:12
on_path() { # on_path NAME: the image file NAME resolves to on PATH, or nothing
  local d
  IFS=: read -r -a dirs <<<"$path"
  for d in "${dirs[@]}"; do
    if [ -f "$tmp/image$d/$1" ] && [ -x "$tmp/image$d/$1" ]; then
      echo "$d/$1"
      return
    fi
  done
}
for t in "${targets[@]}"; do
  check "Dockerfile: $t (a build target) is not on the image's PATH" test -n "$(on_path "$t")"
done
mapfile -t image_exes < <(cd "$tmp/image" && find . -type f -perm -u+x | sed 's|^\./|/|' | sort)
want_exes=$(for t in "${targets[@]}"; do on_path "$t"; done | sort)
check "Dockerfile: the image's executables are ${image_exes[*]}, not those of the build targets (${want_exes//$'\n'/ })" \
  test "$(printf '%s\n' "${image_exes[@]}")" = "$want_exes"
entry=$(sed -n 's/^ENTRYPOINT \["\([^"]*\)".*/\1/p' <<<"$runtime_stage")
case "$entry" in
/*) entry_bin=$entry ;;
*) entry_bin=$(on_path "$entry") ;;
esac
check "Dockerfile: ENTRYPOINT ${entry:-(none)} is not in the image" test -n "$entry_bin" -a -x "$tmp/image$entry_bin"

# ---- exactly these files: nothing installed that none of them uses
used=$(
  printf '%s\n' "${unit_bins[@]}" "$unit_installed"
  for p in "${readme_paths[@]}"; do [ -f "$tmp/unit$p" ] && echo "$p"; done
  for t in "${targets[@]}"; do echo "$unit_prefix/bin/$t"; done
)
extra=$(comm -23 <(printf '%s\n' "${unit_tree[@]}") <(sort -u <<<"$used"))
check "installed, but neither the unit, the Dockerfile nor deploy/README.md uses: $extra" test -z "$extra"
check "the Dockerfile's --prefix $docker_prefix installs another tree than the unit's" \
  test "$(printf '%s\n' "${docker_tree[@]}" | sed "s|^$docker_prefix/||")" = \
  "$(printf '%s\n' "${unit_tree[@]}" | sed "s|^$unit_prefix/||")"

# ---- the installed binaries run
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
if [ -n "$entry_bin" ]; then
  out=$("$tmp/image$entry_bin" --version 2>&1) || true
  check "image: $entry --version printed '$out', not 'bulkhead $version (COMMIT)'" \
    grep -Eqx "bulkhead $version \(([0-9a-f]{12}(-dirty)?|unknown)\)" <<<"$out"
fi
for t in vaultctl bulkhead-deploy; do
  check "installed $t --help fails" "$tmp/unit$unit_prefix/bin/$t" --help >/dev/null
  out=$("$tmp/unit$unit_prefix/bin/$t" --version 2>&1) || true
  check "installed $t --version printed '$out', not '$t $version (COMMIT)'" \
    grep -Eqx "$t $version \(([0-9a-f]{12}(-dirty)?|unknown)\)" <<<"$out"
done
# ExecStartPre as systemd runs it: %d the credentials (LoadCredential=ID:...),
# here the installed example config and dummy keys for every other ID.
creds=$tmp/creds
mkdir -m 0700 "$creds"
config=$(grep -o "$unit_prefix/[A-Za-z0-9_./-]*config\.json" "$readme" | head -n 1 || true)
check "deploy/README.md installs no config.json from $unit_prefix" test -n "$config"
while IFS=: read -r id _; do
  case "$id" in
  *.json) [ -z "$config" ] || install -m 0400 "$tmp/unit$config" "$creds/$id" ;;
  *) (umask 077 && printf '%064x\n' 1 >"$creds/$id") && chmod 0400 "$creds/$id" ;;
  esac
done < <(joined "$unit_file" | sed -n 's/^LoadCredential=//p')
pre=$(joined "$unit_file" | sed -n 's/^ExecStartPre=[-@:+!]*//p' | head -n 1)
pre=${pre//%d/$creds}
pre=${pre//%i/node}
read -r -a argv <<<"$pre"
argv[0]=$tmp/unit${argv[0]}
out=$("${argv[@]}" 2>&1) && rc=0 || rc=$?
check "unit: ExecStartPre (${pre#"$tmp"}) exited $rc: $out" test "$rc" -eq 0 -a "${out#ok:}" != "$out"

if [ "$failures" -gt 0 ]; then
  echo "$failures of $checks checks failed" >&2
  exit 1
fi
echo "ok: $checks checks (unit ${unit_bins[0]}, image $entry_bin, ${#unit_tree[@]} files installed)"
