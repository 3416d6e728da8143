#!/usr/bin/env bash
# Every dashboard in grafana/dashboards/ against Grafana's own published schema, @grafana/schema
# (the version pinned in tests/schema/package.json), checked by the TypeScript compiler: each
# dashboard and each panel is typed as the schema's Dashboard, Panel with its plugin's Options and
# FieldConfig, Prometheus queries; see tests/schema/dashboard-types.ts for what is and is not
# checked. Wrong value types, values outside an enum, unknown keys and missing required keys fail
# it, reported as file:line:col: JSON path: message.
#
# usage: dashboard_schema.sh [CACHE_DIR]   (default build/dashboard-schema)
#   CACHE_DIR gets the pinned packages (npm ci) once, and again only when the lock file changes;
#   after that the test runs offline.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CACHE=${1:-$ROOT/build/dashboard-schema}
SCHEMA_DIR=$ROOT/tests/schema

for tool in node npm; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed: run deploy/install-deps.sh (it installs Node.js and npm)"
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  fail "node $(node --version) is too old: 18 or later is needed (deploy/install-deps.sh)"

# The schema must not be older than the Grafana the deployment runs: bump it along with the image.
grafana=$(sed -nE 's/^[[:space:]]*image:[[:space:]]*grafana\/grafana(-oss|-enterprise)?:([0-9]+\.[0-9]+)[^[:space:]]*.*/\2/p' \
  deploy/compose/docker-compose.yml | head -1)
schema=$(sed -nE 's/^[[:space:]]*"@grafana\/schema":[[:space:]]*"([0-9]+\.[0-9]+)\.[0-9]+".*/\1/p' "$SCHEMA_DIR/package.json")
[[ -n "$grafana" ]] || fail "no grafana/grafana image with a version in deploy/compose/docker-compose.yml"
[[ -n "$schema" ]] || fail "no exact @grafana/schema version in tests/schema/package.json"
if [[ "$(printf '%s\n%s\n' "$grafana" "$schema" | sort -V | tail -1)" != "$schema" ]]; then
  fail "deploy/compose runs Grafana $grafana but dashboards are checked against the older" \
    "@grafana/schema $schema: run (cd tests/schema && npm install --save-exact @grafana/schema@$grafana)"
fi

# The pinned packages, installed once per lock file.
mkdir -p "$CACHE"
if ! cmp -s "$SCHEMA_DIR/package-lock.json" "$CACHE/installed-package-lock.json" ||
  [[ ! -d "$CACHE/node_modules" ]]; then
  rm -f "$CACHE/installed-package-lock.json"
  cp "$SCHEMA_DIR/package.json" "$SCHEMA_DIR/package-lock.json" "$CACHE/"
  echo "npm ci: installing tests/schema/package-lock.json into $CACHE"
  npm ci --prefix "$CACHE" --no-audit --no-fund >"$WORK/npm.log" 2>&1 ||
    fail "npm ci into $CACHE failed (the npm registry must be reachable the first time): $(tail -n 20 "$WORK/npm.log")"
  cp "$SCHEMA_DIR/package-lock.json" "$CACHE/installed-package-lock.json"
fi

# Self-test: a dashboard with three known defects must give exactly those three violations, so
# that a check that no longer sees anything (after an upgrade, say) does not pass as green.
cat >"$WORK/broken.json" <<'JSON'
{
  "title": "self-test", "schemaVersion": 37, "notAKey": true,
  "panels": [
    {
      "type": "timeseries", "title": "t", "id": 1,
      "gridPos": { "x": "a", "y": 0, "w": 12, "h": 8 },
      "datasource": { "type": "prometheus", "uid": "ccmon-prometheus" },
      "targets": [ { "refId": "A", "expr": "up" } ],
      "fieldConfig": { "defaults": { "custom": { "spanNulls": "yes" } }, "overrides": [] },
      "options": { "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                   "tooltip": { "mode": "single", "sort": "none" } }
    }
  ]
}
JSON
set +e
node "$SCHEMA_DIR/check-dashboards.js" --modules "$CACHE" "$WORK/broken.json" >"$WORK/self-test.out" 2>&1
rc=$?
set -e
got=$(grep -oE '^[^ ]*broken\.json:[0-9]+:[0-9]+: [^:]+' "$WORK/self-test.out" | sed 's/.*: //' | sort | tr '\n' ' ')
want='notAKey panels[0].fieldConfig.defaults.custom.spanNulls panels[0].gridPos.x '
if [[ $rc -ne 1 || "$got" != "$want" ]]; then
  cat "$WORK/self-test.out" >&2
  fail "self-test: the check reported '$got' (exit $rc) for a dashboard whose defects are '$want'"
fi

# The dashboards.
node "$SCHEMA_DIR/check-dashboards.js" --modules "$CACHE" grafana/dashboards/*.json ||
  fail "grafana/dashboards/ do not match Grafana's published schema (above); Grafana $grafana is deployed"
echo "PASS"
