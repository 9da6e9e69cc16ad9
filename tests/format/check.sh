#!/usr/bin/env bash
# The C sources against .clang-format, with the pinned formatter: Debian 12's
# clang-format 14 (deploy/install-deps installs it; another major version
# formats the same file differently, so any other is refused).
#   tests/format/check.sh [FILE...]   every tracked *.c and *.h, or those named
#   BH_FORMAT_VERBOSE=1               also print clang-format's findings
#   CLANG_FORMAT=PATH                 the formatter (default: clang-format)
# Exit 0 when every file is formatted, 1 naming those that are not (fix:
# clang-format -i FILE...), 2 when clang-format 14 is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cf=${CLANG_FORMAT:-clang-format}

version=$("$cf" --version 2>/dev/null || true)
case "$version" in
*"clang-format version 14."*) ;;
*)
  echo "format: needs clang-format 14 (deploy/install-deps), found: ${version:-no $cf}" >&2
  exit 2
  ;;
esac

# Generated or third-party C never tracked so far; a path listed here (an
# extended regex) would be skipped.
skip='(^|/)(generated|third_party|vendor)/'
if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h' | grep -Ev "$skip" || true)
else
  mapfile -t files < <(find messages vaults chains relayer tests -name '*.[ch]' | grep -Ev "$skip" | sort)
fi
[ "${#files[@]}" -gt 0 ] || { echo "format: no C files found" >&2; exit 2; }

bad=()
for f in "${files[@]}"; do
  if ! out=$("$cf" --style=file --dry-run -Werror "$f" 2>&1); then
    bad+=("$f")
    n=$(grep -c ': error: code should be clang-formatted' <<<"$out" || true)
    echo "format: $f: $n places differ from .clang-format"
    [ -z "${BH_FORMAT_VERBOSE:-}" ] || printf '%s\n' "$out"
  fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "format: ${#bad[@]} of ${#files[@]} files are not clang-formatted (clang-format -i FILE... fixes them)" >&2
  exit 1
fi
echo "format: ${#files[@]} files clang-formatted ($version)"
