#!/usr/bin/env bash
# The Prometheus side checked by the real tools. promtool checks and unit-tests the rules
# and checks deploy/prometheus.yml laid out as installed (rules/ beside it); amtool checks
# deploy/alertmanager.yml and its routing; the dashboards are valid JSON on the ccmon data source;
# and every ccmon_* name a rule or a panel uses is in the catalogue (docs/metrics.md), every
# recorded name it uses is defined in rules/.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
for tool in promtool amtool jq; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done
errors=()

# 1. Rules: syntax and unit tests.
promtool check rules rules/*.yml || errors+=("promtool check rules")
promtool test rules rules/tests/*.yml || errors+=("promtool test rules")

# 2. deploy/prometheus.yml names rule_files relative to its own directory; check it where it is
#    meant to live, with rules/ beside it, and make sure the rule files are really found.
mkdir -p "$WORK/etc/rules"
cp deploy/prometheus.yml "$WORK/etc/prometheus.yml"
cp rules/*.yml "$WORK/etc/rules/"
if promtool check config "$WORK/etc/prometheus.yml" >"$WORK/check-config.log" 2>&1; then
  want=$(ls rules/*.yml | wc -l)
  grep -q "SUCCESS: $want rule files found" "$WORK/check-config.log" ||
    errors+=("deploy/prometheus.yml does not load the $want files of rules/: $(cat "$WORK/check-config.log")")
else
  cat "$WORK/check-config.log" >&2
  errors+=("promtool check config deploy/prometheus.yml")
fi

# 3. Alertmanager: syntax, then where alerts go.
amtool check-config deploy/alertmanager.yml || errors+=("amtool check-config")
route_is() {  # expected-receivers labels...
  local want=$1
  shift
  amtool config routes test --config.file=deploy/alertmanager.yml --verify.receivers="$want" "$@" \
    >/dev/null 2>&1 || errors+=("alertmanager routes '$*' to $(amtool config routes test \
    --config.file=deploy/alertmanager.yml "$@" 2>/dev/null), expected $want")
}
# Each audience of docs/alerts.md "Who is told": on-call (paged for what stops service),
# vendor network/IT, the site's floor leads (every site's for SiteDark), workforce management,
# and the client's liaison, at once or in the digest for informational alerts.
route_is oncall-pager alertname=ShardDown severity=critical team=oncall shard=asia
route_is oncall-pager,vendor-noc,floor-all,liaison-acme alertname=SiteDark severity=critical client=acme site=manila-1
route_is oncall-pager,vendor-noc,floor-manila-1,liaison-acme alertname=LinkDown severity=critical client=acme site=manila-1 link=wan
route_is oncall-pager,vendor-noc,floor-manila-1,liaison-acme alertname=TrunkDown severity=critical client=acme site=manila-1 link=carrier-a
route_is oncall-pager,vendor-noc alertname=TrunkDown severity=critical client=default site=x link=carrier-a
route_is vendor-noc,floor-manila-1,liaison-acme-digest alertname=LinkDegraded severity=warning client=acme site=manila-1 link=wan
route_is floor-bogota-1,liaison-globex alertname=SlaAtRisk severity=warning client=globex site=bogota-1 queue=sales
route_is floor-bogota-1,liaison-globex-digest alertname=QueueSurge severity=warning client=globex site=bogota-1 queue=sales
route_is oncall-pager,floor-pune-1,workforce,liaison-acme alertname=StaffingCollapse severity=critical client=acme site=pune-1
route_is oncall-tickets,vendor-noc,liaison-acme-digest alertname=ClockSkew severity=warning client=acme site=pune-1
route_is oncall-tickets,vendor-noc,liaison-acme-digest alertname=SpoolBacklog severity=warning client=acme site=pune-1
route_is vendor-noc,floor-pune-1,liaison-acme-digest alertname=VoiceQualityLow severity=warning client=acme site=pune-1 queue=billing
route_is oncall-pager alertname=CollectorDown severity=critical team=oncall
route_is oncall-pager,liaison-acme alertname=SlaBreach severity=critical team=oncall client=acme
route_is oncall-tickets alertname=ScrapeSlow severity=warning team=oncall
route_is oncall-tickets alertname=QueueSurge severity=warning client=default site=x
route_is deadman alertname=Watchdog severity=none team=oncall
route_is oncall-pager alertname=CollectorDurabilityLost severity=critical team=oncall cause=checkpoint
route_is oncall-tickets alertname=CollectorDiskFilling severity=warning team=oncall cause=low
route_is oncall-pager alertname=LedgerStoreUnavailable severity=critical team=oncall
route_is oncall-tickets alertname=IngestStreamsRefused severity=warning team=oncall reason=unauthorized
route_is oncall-tickets alertname=AlertReceiverDown severity=warning team=oncall
route_is oncall-tickets,vendor-noc alertname=AgentSourceMissing severity=warning team=oncall site=manila-1

# 4. Dashboards: JSON, schema, one data source, the three template variables.
for f in grafana/dashboards/*.json; do
  jq -e . "$f" >/dev/null || { errors+=("$f is not valid JSON"); continue; }
  jq -e '.schemaVersion >= 36 and .schemaVersion <= 39' "$f" >/dev/null ||
    errors+=("$f: schemaVersion $(jq .schemaVersion "$f")")
  bad=$(jq -r '[.. | objects | select(has("datasource")) | .datasource | objects
               | select(.type == "prometheus" and .uid != "ccmon-prometheus") | .uid] | unique | join(",")' "$f")
  [[ -z "$bad" ]] || errors+=("$f uses data source uid(s) $bad, not ccmon-prometheus")
  # The three selectors every dashboard offers; hidden helpers (hide: 2) may come beside them.
  vars=$(jq -r '[.templating.list[] | select(.hide != 2) | .name] | sort | join(",")' "$f")
  [[ "$vars" == "client,queue,site" ]] || errors+=("$f template variables are '$vars'")
  n=$(jq '[.. | objects | select(has("expr"))] | length' "$f")
  ((n > 0)) || errors+=("$f has no panel query")
done

# 5. Names: every ccmon_* family in a rule or a panel query must be in docs/metrics.md, and every
#    recorded name (level:metric:operations) must be recorded by rules/. Comments are left out of
#    the rule files; annotations are kept (their templates query metrics too).
catalogue=$(grep -oE '^\| `ccmon_[a-z0-9_]+`' docs/metrics.md | tr -d '|` ' | sort -u)
[[ -n "$catalogue" ]] || errors+=("no metric names found in docs/metrics.md")
recorded=$(sed -nE 's/^ *- record: *([^ ]+).*/\1/p' rules/*.yml | sort -u)
: >"$WORK/uses"
for f in rules/*.yml; do
  sed -E 's/(^|[[:space:]])#.*$//' "$f" | grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*' |
    awk -v f="$f" '/ccmon_/ { print $0 "\t" f }' >>"$WORK/uses"
done
for f in grafana/dashboards/*.json; do
  # Panel queries and template variable queries; string literals (label values) left out.
  jq -r '.. | objects | (select(has("expr")) | .expr), (select(has("definition")) | .definition)' "$f" |
    sed -E 's/"([^"\\]|\\.)*"//g' | grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*' |
    awk -v f="$f" '/ccmon_/ { print $0 "\t" f }' >>"$WORK/uses"
done
missing_metrics=()
missing_records=()
while IFS=$'\t' read -r name files; do
  if [[ "$name" == *:* ]]; then
    grep -qxF "$name" <<<"$recorded" || missing_records+=("$name ($files)")
  elif [[ "$name" == ccmon_* ]]; then
    base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")
    grep -qxF "$name" <<<"$catalogue" || grep -qxF "$base" <<<"$catalogue" ||
      missing_metrics+=("$base ($files)")
  fi
done < <(sort -u "$WORK/uses" | awk -F'\t' '{ a[$1] = a[$1] (a[$1] ? ", " : "") $2 }
                                            END { for (n in a) print n "\t" a[n] }' | sort)
if ((${#missing_metrics[@]})); then
  mapfile -t missing_metrics < <(printf '%s\n' "${missing_metrics[@]}" | sort -u)
  echo "metric names used by rules or dashboards but missing from docs/metrics.md:" >&2
  printf '  %s\n' "${missing_metrics[@]}" >&2
  errors+=("${#missing_metrics[@]} metric name(s) not in docs/metrics.md")
fi
if ((${#missing_records[@]})); then
  echo "recorded names used but not recorded by rules/*.yml:" >&2
  printf '  %s\n' "${missing_records[@]}" >&2
  errors+=("${#missing_records[@]} recorded name(s) not defined")
fi
echo "checked $(cut -f1 "$WORK/uses" | sort -u | wc -l) names against $(wc -l <<<"$catalogue") catalogue entries and $(wc -l <<<"$recorded") recording rules"

if ((${#errors[@]})); then
  printf 'FAIL: %s\n' "${errors[@]}" >&2
  exit 1
fi
echo "PASS"
