#!/usr/bin/env bash
# Ingest and Monitor API security, with certificates made here by openssl: a site presenting another
# site's certificate or token is rejected (counted, logged); an agent without credentials is
# refused; a liaison's Monitor token for client A cannot read client B, and caller ids are
# shown only to a token with the PII scope.
source "$(dirname "$0")/lib.sh"
DATA=$1
C=$WORK/certs
mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 \
  -subj "/CN=ccmon test CA" 2>/dev/null
issue() {  # name subject-alt-names
  openssl req -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$1" \
    2>/dev/null
  printf 'subjectAltName=%s\n' "$2" >"$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
    -out "$C/$1.pem" -days 2 -extfile "$C/$1.ext" 2>/dev/null
}
issue collector "IP:127.0.0.1,DNS:localhost"
issue site-a "DNS:site-a"
issue site-b "DNS:site-b"
issue ops "DNS:ops"
ACME_TOKEN=acme-liaison-token-0123456789
OPS_TOKEN=vendor-operations-token-0123456789
cat >"$WORK/mtls.yaml" <<YML
tls: {cert: $C/collector.pem, key: $C/collector.key, client_ca: $C/ca.pem}
clients:
  - {name: acme, queues: [billing, support]}
  - {name: globex, queues: [sales]}
monitor_tokens:
  - {token: $ACME_TOKEN, client: acme}
  - {token: $OPS_TOKEN, pii: true}
YML
start_collector mtls --config "$WORK/mtls.yaml"
TLS_AGENT=(--tls-ca "$C/ca.pem")
agent() {  # site cert extra-args...
  local site=$1 cert=$2
  shift 2
  local args=(--site "$site" --collector "127.0.0.1:$GRPC_PORT" --queue-log "$DATA/queue_log.basic"
    --from-start --once --no-fsync --spool-dir "$WORK/spool-$site-$cert" --log-level warn)
  [[ $cert != none ]] && args+=(--tls-cert "$C/$cert.pem" --tls-key "$C/$cert.key")
  "$BIN/ccmon-agent" "${args[@]}" "$@" >>"$WORK/agent-$site-$cert.log" 2>&1
}
agent site-a site-a "${TLS_AGENT[@]}" || fail "site-a with its own certificate was refused"
expect_metric ccmon_calls_offered_total 'client="acme",site="site-a",queue="billing"' 5
# site-a's certificate claiming site-b: refused at once, counted, logged.
agent site-b site-a "${TLS_AGENT[@]}" --once-timeout 20 && fail "site-a's certificate reported as site-b"
grep -q "refused this agent: client certificate is for 'site-a', stream claims site 'site-b'" \
  "$WORK/agent-site-b-site-a.log" || fail "agent did not say why it was refused"
grep -q "refused stream .* for site 'site-b'" "$WORK/mtls.log" || fail "collector did not log it"
expect_metric ccmon_ingest_streams_refused_total 'reason="unauthorized"' 1
[[ $(metric ccmon_calls_offered_total 'client="acme",site="site-b",queue="billing"') == absent ]] ||
  fail "site-b has data"
# No client certificate: the TLS handshake itself fails; nothing is accepted.
agent site-c none "${TLS_AGENT[@]}" --once-timeout 4 && fail "an agent without a certificate got in"
# A plaintext agent against this TLS collector is told what is wrong, not only "no ack".
agent site-d none --once-timeout 4 && fail "a plaintext agent got into a TLS collector"
grep -q "this agent needs --tls-ca" "$WORK/agent-site-d-none.log" ||
  fail "plaintext agent against TLS not explained: $(cat "$WORK/agent-site-d-none.log")"
echo "mTLS: own certificate accepted; another site's refused; none refused"

ctl() { "$BIN/ccmon-ctl" --collector "127.0.0.1:$GRPC_PORT" --tls-ca "$C/ca.pem" \
  --tls-cert "$C/ops.pem" --tls-key "$C/ops.key" "$@"; }
ctl status 2>"$WORK/ctl-none.err" && fail "Monitor API answered without a token"
grep -q 'refused the token' "$WORK/ctl-none.err" || fail "no clear message for a missing token"
echo "$ACME_TOKEN" >"$WORK/acme.token"
echo "$OPS_TOKEN" >"$WORK/ops.token"
ctl --token-file "$WORK/acme.token" --json snapshot --client globex 2>"$WORK/ctl-b.err" &&
  fail "acme's liaison token read globex"
grep -q "may read client 'acme' only" "$WORK/ctl-b.err" || fail "no clear message for the scope"
ctl --token-file "$WORK/acme.token" --json snapshot >"$WORK/acme.json" || fail "acme snapshot failed"
[[ $(jq '[.queues[].client] | unique' -c "$WORK/acme.json") == '["acme"]' ]] ||
  fail "acme's token saw other clients: $(jq -c '[.queues[].client] | unique' "$WORK/acme.json")"
# The fixture's calls carry fixed 2026-11-25 timestamps: list them whatever day the test runs.
# status: a client-scoped token sees neither the pipeline's counts across all clients nor
# other clients' alerts; the vendor's token sees them.
ctl --token-file "$WORK/acme.token" --json status >"$WORK/st-acme.json" || fail "acme status failed"
ctl --token-file "$WORK/ops.token" --json status >"$WORK/st-ops.json" || fail "ops status failed"
jq -e '(.events_accepted | tonumber) == 0' "$WORK/st-acme.json" >/dev/null ||
  fail "acme's token saw the pipeline's event counts: $(cat "$WORK/st-acme.json")"
jq -e '(.events_accepted | tonumber) > 0' "$WORK/st-ops.json" >/dev/null ||
  fail "the vendor token lost the event counts: $(cat "$WORK/st-ops.json")"
ctl --token-file "$WORK/acme.token" --json abandoned --since 3650d >"$WORK/ab-acme.json"
ctl --token-file "$WORK/ops.token" --json abandoned --since 3650d >"$WORK/ab-ops.json"
jq -e '.calls | length > 0' "$WORK/ab-ops.json" >/dev/null || fail "no abandoned calls listed"
jq -e '[.calls[].caller_id | test("[*]")] | all' "$WORK/ab-acme.json" >/dev/null ||
  fail "liaison without PII scope saw caller ids"
jq -e '[.calls[].caller_id | test("^[+][0-9]+$")] | all' "$WORK/ab-ops.json" >/dev/null ||
  fail "the PII-scoped token did not see caller ids"
echo "Monitor tokens: scoped to their client; caller ids only with the PII scope"

# Per-site bearer tokens on a plaintext loopback collector.
cat >"$WORK/tokens.yaml" <<YML
sites:
  - {id: site-a, token: site-a-secret-token-0123456789}
  - {id: site-b, token: site-b-secret-token-0123456789}
YML
start_collector tokens --config "$WORK/tokens.yaml"
echo site-a-secret-token-0123456789 >"$WORK/a.token"
agent site-a none --token-file "$WORK/a.token" || fail "site-a with its token was refused"
agent site-b none --once-timeout 20 && fail "a token-less agent got in"
grep -q 'refused this agent: bearer token required' "$WORK/agent-site-b-none.log" ||
  fail "token-less agent not told why"
agent site-b none --token-file "$WORK/a.token" --once-timeout 20 &&
  fail "site-a's token reported as site-b"
grep -q "token belongs to site 'site-a'" "$WORK/agent-site-b-none.log" || fail "wrong-token not explained"
echo "tokens: own accepted; missing or another site's refused"

# A token is never sent in cleartext off this machine unless the operator says so.
"$BIN/ccmon-agent" --site site-a --collector 192.0.2.10:7400 --token-file "$WORK/a.token" \
  --jsonl "$WORK/a.token" --once --spool-dir "$WORK/spool-insecure" >"$WORK/insecure.log" 2>&1 &&
  fail "a token was about to go in cleartext to 192.0.2.10"
grep -q "would send the token in cleartext to 192.0.2.10:7400" "$WORK/insecure.log" ||
  fail "cleartext token refusal not explained: $(cat "$WORK/insecure.log")"
"$BIN/ccmon-agent" --site site-a --collector 192.0.2.10:7400 --token-file "$WORK/a.token" \
  --allow-insecure-token --help >/dev/null || fail "--allow-insecure-token not accepted"

# Two agents streaming under one site id (two spools): warned with both ids and counted.
: >"$WORK/empty.jsonl"
for n in 1 2; do
  start_bg twin$n "$BIN/ccmon-agent" --site site-a --collector "127.0.0.1:$GRPC_PORT" \
    --token-file "$WORK/a.token" --jsonl "$WORK/empty.jsonl" --no-fsync \
    --spool-dir "$WORK/spool-twin$n"
done
twins() { grep -q "streams while instance .* is connected too" "$WORK/tokens.log"; }
wait_for twins || fail "two agents under one site id were not warned about"
[[ $(scrape | awk '$1 == "ccmon_ingest_concurrent_instances_total" { print $2 }') == 1 ]] ||
  fail "two agents under one site id not counted"
echo "identity: no cleartext token off the machine; twin agents warned"

# --check-config: a config whose TLS files can be read is valid, without a data directory
# made or a port taken; an unreadable certificate or plaintext off loopback exits 2, named.
out=$("$BIN/ccmon-collector" --config "$WORK/mtls.yaml" --listen 0.0.0.0:7400 --check-config \
  --data-dir "$WORK/never-made" --alertmanager http://127.0.0.1:1) ||
  fail "a valid TLS config failed --check-config: $out"
[[ $out == *"$WORK/mtls.yaml is valid: 2 clients"* ]] || fail "--check-config said: $out"
[[ ! -e $WORK/never-made ]] || fail "--check-config made the data directory"
sed "s|$C/collector.pem|$C/missing.pem|" "$WORK/mtls.yaml" >"$WORK/nocert.yaml"
set +e
err=$("$BIN/ccmon-collector" --config "$WORK/nocert.yaml" --check-config 2>&1)
rc=$?
set -e
[[ $rc == 2 && $err == *"$C/missing.pem: cannot read"* ]] ||
  fail "an unreadable certificate gave exit $rc: $err"
set +e
err=$("$BIN/ccmon-collector" --listen 0.0.0.0:7400 --check-config 2>&1)
rc=$?
set -e
[[ $rc == 2 && $err == *"is not loopback"* ]] || fail "plaintext off loopback gave exit $rc: $err"
echo "--check-config: valid TLS config passes untouched; bad ones exit 2 naming the fault"
echo PASS
