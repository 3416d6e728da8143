#!/usr/bin/env bash
# The tree is clean under clang-format (.clang-format at the root): every C++ source and header
# the repository holds, checked without changing anything. Fix with `clang-format -i FILE`.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v clang-format >/dev/null ||
  fail "clang-format is not installed (deploy/install-deps.sh installs it)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else
  mapfile -t files < <(find . -path './build*' -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
((${#files[@]} > 100)) || fail "only ${#files[@]} C++ files found: not the ccmon tree?"
clang-format --dry-run -Werror "${files[@]}" 2>"$WORK/format.log" || {
  grep 'error:' "$WORK/format.log" | cut -d: -f1 | sort -u | sed 's/^/  not formatted: /' >&2
  fail "files not clang-formatted (clang-format -i them)"
}
echo "PASS: ${#files[@]} files clang-formatted"
