#!/usr/bin/env bash
# The ledger store's unit tests against a real PostgreSQL server: every LedgerStoreTest,
# LedgerStoreQueryTest and SharedLedgerStoreTest (two writers on one database, from two
# threads at once) runs on a throwaway server this script starts, as it runs on SQLite in the
# unit tests. Usage: pg_ledger_store.sh BUILD_TESTS_DIR
source "$(dirname "$0")/lib.sh"
TESTS=${1:?usage: pg_ledger_store.sh BUILD_TESTS_DIR}

start_postgres
CCMON_TEST_PG_URI=$PG_URI "$TESTS/collector_adapters_test" \
  --gtest_filter='LedgerStoreTest.*:LedgerStoreQueryTest.*:SharedLedgerStoreTest.*' \
  --gtest_brief=1 >"$WORK/gtest.log" 2>&1 || { cat "$WORK/gtest.log" >&2; fail "tests failed on PostgreSQL"; }
ran=$(grep -Eo '^\[==========\] [0-9]+ tests' "$WORK/gtest.log" | grep -Eo '[0-9]+')
((ran >= 25)) || fail "only $ran tests ran on PostgreSQL"
# They ran on PostgreSQL, not on a fallback: the tables are there, with the rows the last
# test left.
[[ $(psql_q "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ledger_rows'") == 1 ]] ||
  fail "no ledger_rows table on the PostgreSQL server"
echo "PASS: $ran ledger store tests on PostgreSQL $(psql_q 'SHOW server_version')"
