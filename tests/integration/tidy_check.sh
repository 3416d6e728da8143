#!/usr/bin/env bash
# The tree is clean under clang-tidy (.clang-tidy at the root: bugprone-* and performance-*):
# every ccmon source in the build's compile_commands.json, with the build's own flags. Results
# are cached in BUILD_DIR/tidy-cache by a hash of the file, its command, every ccmon header and
# the config, so a rerun checks only what changed. Usage: tidy_check.sh BUILD_DIR
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: tidy_check.sh BUILD_DIR}" && pwd)
cd "$ROOT"
TIDY=$(command -v clang-tidy || ls /usr/bin/clang-tidy-* 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $TIDY && -x $TIDY ]] || fail "clang-tidy is not installed (deploy/install-deps.sh installs it)"
DB="$BUILD/compile_commands.json"
[[ -f $DB ]] || fail "$DB missing (configure with CMAKE_EXPORT_COMPILE_COMMANDS)"
CACHE="$BUILD/tidy-cache"
mkdir -p "$CACHE"

# ccmon's own translation units (not protoc's output, not the tests' fuzz-only tree).
mapfile -t files < <(jq -r --arg root "$ROOT/" '.[].file | select(startswith($root))
  | select(test("\\.pb\\.cc$") | not)' "$DB" | sort -u)
((${#files[@]} > 40)) || fail "only ${#files[@]} sources in $DB"
headers=$(git ls-files '*.h' 2>/dev/null | xargs cat 2>/dev/null | sha256sum | cut -c1-16)
config=$( (cat .clang-tidy; "$TIDY" --version) | sha256sum | cut -c1-16)

check() {  # file -> writes its findings to the cache, keyed by what they depend on
  local f=$1 key cmd
  cmd=$(jq -r --arg f "$f" 'first(.[] | select(.file == $f) | .command)' "$DB")
  key=$( (cat "$f"; echo "$cmd"; echo "$headers$config") | sha256sum | cut -c1-32)
  [[ -f "$CACHE/$key" ]] && return 0
  "$TIDY" -p "$BUILD" --quiet "$f" >"$CACHE/$key.tmp" 2>/dev/null || true
  mv "$CACHE/$key.tmp" "$CACHE/$key"
}
export -f check
export TIDY BUILD DB CACHE headers config
printf '%s\n' "${files[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'check "$@"' _ {}

findings=0
for f in "${files[@]}"; do
  cmd=$(jq -r --arg f "$f" 'first(.[] | select(.file == $f) | .command)' "$DB")
  key=$( (cat "$f"; echo "$cmd"; echo "$headers$config") | sha256sum | cut -c1-32)
  if grep -q 'warning:\|error:' "$CACHE/$key"; then
    grep -E 'warning:|error:' "$CACHE/$key" >&2
    findings=$((findings + 1))
  fi
done
((findings == 0)) || fail "$findings file(s) with clang-tidy findings (fix them, or NOLINT with a reason)"
echo "PASS: ${#files[@]} sources clean under clang-tidy"
