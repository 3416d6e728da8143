// LedgerStore against real databases: SQLite in memory, and in a file read back with the
// sqlite3 C API the way docs/contracts.md tells an operator to read it; PostgreSQL when
// CCMON_TEST_PG_URI names a server (tests/integration/pg_ledger_store.sh starts one and runs
// every test that is not about SQLite's file against it). SharedLedgerStoreTest has two
// collectors (writers) share one database, as replicas and shards do.
#include "storage/ledger_store.h"

#include <absl/strings/str_cat.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ccmon::collector {
namespace {

namespace fs = std::filesystem;
using Span = std::pair<std::int64_t, std::int64_t>;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
// 2026-11-02T00:00:00Z: 2026-01-01 is day 56 * 365 + 14 leap days = 20454 of the Unix epoch,
// and 2 November is day 304 + 1 of a common year, so 20759 days.
constexpr std::int64_t kNov2Utc = std::int64_t{20759} * 86'400'000;
static_assert(kNov2Utc == 1'793'577'600'000);
// New York is on EST (UTC-5) after the first Sunday of November (1 November 2026).
constexpr std::int32_t kEst = -5 * 3600;
constexpr std::int64_t kNov2_0800Est = kNov2Utc + 13 * kHour;  // 2026-11-02T13:00Z
constexpr std::int64_t kNov2_2200Est = kNov2Utc + 27 * kHour;  // 2026-11-03T03:00Z
constexpr std::int64_t kNov3_0900Est = kNov2Utc + 38 * kHour;  // 2026-11-03T14:00Z

// A closed row of a New York contract: 5 offered, 4 answered (3 within T), 1 abandoned.
LedgerRow Row(const std::string& client, const std::string& site, const std::string& queue,
              std::int64_t start_ms) {
  LedgerRow r;
  r.client = client;
  r.site = site;
  r.queue = queue;
  r.start_ms = start_ms;
  r.length_minutes = 30;
  r.timezone = "America/New_York";
  r.utc_offset_s = kEst;
  r.counts.offered = 5;
  r.counts.answered = 4;
  r.counts.answered_in_threshold = 3;
  r.counts.abandoned = 1;
  r.counts.abandoned_in_threshold = 1;
  r.counts.completed = 3;
  r.counts.transferred = 1;
  r.counts.handled = 4;
  r.counts.answered_wait_ms = 40'000;
  r.counts.abandoned_wait_ms = 12'000;
  r.counts.handle_ms = 720'000;
  r.closed_ms = start_ms + 35 * kMinute;
  r.changed_ms = r.closed_ms;
  return r;
}

// "client/site/queue HH:MM" (local time), enough to tell the rows of one test apart.
std::vector<std::string> Ids(const std::vector<LedgerRow>& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back(absl::StrCat(r.client, "/", r.site, "/", r.queue, " ", r.LocalTime()));
  }
  return out;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The PostgreSQL server under test, if any.
std::string PgUri() {
  const char* uri = std::getenv("CCMON_TEST_PG_URI");
  return uri == nullptr ? std::string() : std::string(uri);
}

// Empties the PostgreSQL test database: each test starts from no store, as in memory.
void ResetPg(const std::string& uri) {
  auto db = OpenPostgres(uri);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Script("DROP TABLE IF EXISTS ledger_rows, ledger_revisions, exclusions, "
                           "alert_periods, meta CASCADE")
                  .ok());
}

// A new, empty store: SQLite in memory, or the PostgreSQL test database emptied.
std::unique_ptr<LedgerStore> OpenMemory() {
  const std::string pg = PgUri();
  if (!pg.empty()) ResetPg(pg);
  auto s = LedgerStore::Open(pg.empty() ? ":memory:" : pg);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

LedgerQuery Where(const std::string& client, const std::string& site, const std::string& queue,
                  const std::string& local_date = "", std::int64_t from_ms = 0,
                  std::int64_t to_ms = 0) {
  LedgerQuery q;
  q.client = client;
  q.site = site;
  q.queue = queue;
  q.local_date = local_date;
  q.from_ms = from_ms;
  q.to_ms = to_ms;
  return q;
}

std::vector<LedgerRow> Query(const LedgerStore& store, const LedgerQuery& q) {
  auto rows = store.Rows(q);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *std::move(rows) : std::vector<LedgerRow>{};
}

std::vector<RowRevision> RevisionsOf(const LedgerStore& store, const LedgerRow& r) {
  auto revs = store.Revisions(r.client, r.site, r.queue, r.start_ms);
  EXPECT_TRUE(revs.ok()) << revs.status();
  return revs.ok() ? *std::move(revs) : std::vector<RowRevision>{};
}

std::size_t WriteOk(LedgerStore& store, const std::vector<LedgerRow>& rows) {
  auto n = store.Write(rows);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : 999;
}

TEST(LedgerStoreTest, NewRowsGetRevisionOneAndRoundTripEveryTerm) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  LedgerRow r = Row("acme", "manila-1", "billing", kNov2_0800Est);
  r.contract.sl_formula = SlFormula::kRemovedWithin;
  r.contract.sl_threshold_s = 15.5;
  r.contract.sl_target = 0.85;
  r.contract.short_abandon_s = 7;
  r.contract.abandon_target = 0.04;
  r.contract.asa_target_s = 25;
  r.counts.short_abandoned = 1;
  // Distinct values so that two swapped columns cannot pass.
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kTimeout)] = 1;
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kKey)] = 2;
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kEmpty)] = 3;
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kWithdraw)] = 4;
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kLost)] = 5;
  r.counts.answered_wait_unknown = 6;
  r.counts.abandoned_wait_unknown = 7;
  r.revision = 7;  // the store numbers revisions itself
  r.late_events = 0;
  r.rebuilt_events = 2;

  EXPECT_EQ(WriteOk(*store, {r}), 1u);

  const auto rows = Query(*store, {});
  ASSERT_EQ(rows.size(), 1u);
  const LedgerRow& got = rows[0];
  EXPECT_EQ(got.client, "acme");
  EXPECT_EQ(got.site, "manila-1");
  EXPECT_EQ(got.queue, "billing");
  EXPECT_EQ(got.start_ms, kNov2_0800Est);
  EXPECT_EQ(got.timezone, "America/New_York");
  EXPECT_EQ(got.utc_offset_s, kEst);
  EXPECT_EQ(got.length_minutes, 30);
  EXPECT_EQ(got.contract.sl_formula, SlFormula::kRemovedWithin);
  EXPECT_DOUBLE_EQ(got.contract.sl_threshold_s, 15.5);
  EXPECT_DOUBLE_EQ(got.contract.sl_target, 0.85);
  EXPECT_DOUBLE_EQ(got.contract.short_abandon_s, 7);
  EXPECT_DOUBLE_EQ(got.contract.abandon_target, 0.04);
  EXPECT_DOUBLE_EQ(got.contract.asa_target_s, 25);
  EXPECT_EQ(got.counts, r.counts);
  EXPECT_EQ(got.revision, 1u);
  EXPECT_EQ(got.change, RowChange::kClosed);
  EXPECT_EQ(got.rebuilt_events, 2u);
  EXPECT_EQ(got.closed_ms, kNov2_0800Est + 35 * kMinute);
  EXPECT_EQ(got.changed_ms, kNov2_0800Est + 35 * kMinute);
  EXPECT_EQ(got.LocalStart(), "2026-11-02T08:00-05:00");

  const auto revs = RevisionsOf(*store, r);
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0].row.revision, 1u);
  EXPECT_EQ(revs[0].row.change, RowChange::kClosed);
  EXPECT_EQ(revs[0].reason, "closed");
}

TEST(LedgerStoreTest, ARowBornOfLateEventsSaysSoInItsFirstReason) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  LedgerRow r = Row("acme", "manila-1", "billing", kNov2_0800Est);
  r.late_events = 2;
  EXPECT_EQ(WriteOk(*store, {r}), 1u);
  const auto revs = RevisionsOf(*store, r);
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0].reason, "closed; 2 of its events arrived after its interval closed");
}

class LedgerStoreQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenMemory();
    ASSERT_NE(store_, nullptr);
    ASSERT_EQ(WriteOk(*store_, rows_), 5u);
  }

  std::unique_ptr<LedgerStore> store_;
  // Written out of order; Rows() sorts by client, site, queue, start.
  std::vector<LedgerRow> rows_ = {
      Row("globex", "manila-1", "support", kNov3_0900Est),               // local 2026-11-03
      Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute),  // 2026-11-02 08:30
      Row("acme", "pune-1", "billing", kNov2_0800Est),                   // 2026-11-02 08:00
      Row("acme", "manila-1", "vip", kNov2_2200Est),      // 2026-11-02 22:00 local, 11-03 UTC
      Row("acme", "manila-1", "billing", kNov2_0800Est),  // 2026-11-02 08:00
  };
};

TEST_F(LedgerStoreQueryTest, EmptyQueryReturnsEveryRowInKeyOrder) {
  EXPECT_EQ(Ids(Query(*store_, {})),
            (std::vector<std::string>{"acme/manila-1/billing 08:00", "acme/manila-1/billing 08:30",
                                      "acme/manila-1/vip 22:00", "acme/pune-1/billing 08:00",
                                      "globex/manila-1/support 09:00"}));
}

TEST_F(LedgerStoreQueryTest, FiltersByClientSiteAndQueue) {
  EXPECT_EQ(Ids(Query(*store_, Where("globex", "", ""))),
            (std::vector<std::string>{"globex/manila-1/support 09:00"}));
  EXPECT_EQ(Ids(Query(*store_, Where("", "pune-1", ""))),
            (std::vector<std::string>{"acme/pune-1/billing 08:00"}));
  EXPECT_EQ(Ids(Query(*store_, Where("", "", "vip"))),
            (std::vector<std::string>{"acme/manila-1/vip 22:00"}));
  EXPECT_EQ(
      Ids(Query(*store_, Where("acme", "manila-1", "billing"))),
      (std::vector<std::string>{"acme/manila-1/billing 08:00", "acme/manila-1/billing 08:30"}));
  EXPECT_TRUE(Query(*store_, Where("initech", "", "")).empty());
}

TEST_F(LedgerStoreQueryTest, LocalDateIsTheRowsOwnZoneNotUtc) {
  // The vip row starts 2026-11-03T03:00Z, which is 22:00 on 2 November in New York.
  EXPECT_EQ(Ids(Query(*store_, Where("", "", "", "2026-11-02"))),
            (std::vector<std::string>{"acme/manila-1/billing 08:00", "acme/manila-1/billing 08:30",
                                      "acme/manila-1/vip 22:00", "acme/pune-1/billing 08:00"}));
  EXPECT_EQ(Ids(Query(*store_, Where("", "", "", "2026-11-03"))),
            (std::vector<std::string>{"globex/manila-1/support 09:00"}));
}

TEST_F(LedgerStoreQueryTest, FromIsInclusiveAndToExclusive) {
  const std::int64_t t = kNov2_0800Est + 30 * kMinute;
  EXPECT_EQ(Ids(Query(*store_, Where("", "", "", "", t))),
            (std::vector<std::string>{"acme/manila-1/billing 08:30", "acme/manila-1/vip 22:00",
                                      "globex/manila-1/support 09:00"}));
  EXPECT_EQ(Ids(Query(*store_, Where("", "", "", "", 0, t))),
            (std::vector<std::string>{"acme/manila-1/billing 08:00", "acme/pune-1/billing 08:00"}));
  EXPECT_EQ(Ids(Query(*store_, Where("acme", "", "", "", t, kNov2_2200Est))),
            (std::vector<std::string>{"acme/manila-1/billing 08:30"}));
}

TEST_F(LedgerStoreQueryTest, WritingTheSameRowsAgainWritesNoRevision) {
  // A WAL replay after a crash drains the same rows again, with the collector clock and the
  // engine's revision counter moved on: still nothing to write.
  auto replay = rows_;
  for (auto& r : replay) {
    r.closed_ms += kHour;
    r.changed_ms += kHour;
    r.revision = 3;
  }
  EXPECT_EQ(WriteOk(*store_, rows_), 0u);
  EXPECT_EQ(WriteOk(*store_, replay), 0u);
  for (const auto& r : rows_) {
    const auto revs = RevisionsOf(*store_, r);
    ASSERT_EQ(revs.size(), 1u) << r.queue << " " << r.LocalTime();
    EXPECT_EQ(revs[0].row.revision, 1u);
  }
  const auto first = Query(*store_, Where("acme", "pune-1", ""));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].revision, 1u);
  EXPECT_EQ(first[0].closed_ms, kNov2_0800Est + 35 * kMinute);
}

TEST(LedgerStoreTest, AChangedRowGetsTheNextRevisionAndAnAuditReason) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow first = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(WriteOk(*store, {first}), 1u);

  // One late answered call (within T): offered, answered and answered_in_threshold move.
  LedgerRow late = first;
  late.counts.offered = 6;
  late.counts.answered = 5;
  late.counts.answered_in_threshold = 4;
  late.late_events = 1;
  late.revision = 2;
  late.closed_ms = first.closed_ms + 10 * kMinute;  // the store keeps the first close
  late.changed_ms = first.closed_ms + 10 * kMinute;
  EXPECT_EQ(WriteOk(*store, {late}), 1u);

  const auto rows = Query(*store, {});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].revision, 2u);
  EXPECT_EQ(rows[0].change, RowChange::kAmended);
  EXPECT_EQ(rows[0].counts.offered, 6u);
  EXPECT_EQ(rows[0].late_events, 1u);
  EXPECT_EQ(rows[0].closed_ms, first.closed_ms);
  EXPECT_EQ(rows[0].changed_ms, first.closed_ms + 10 * kMinute);

  const auto revs = RevisionsOf(*store, first);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[0].row.revision, 1u);
  EXPECT_EQ(revs[0].row.counts.offered, 5u);
  EXPECT_EQ(revs[0].row.change, RowChange::kClosed);
  EXPECT_EQ(revs[0].reason, "closed");
  EXPECT_EQ(revs[1].row.revision, 2u);
  EXPECT_EQ(revs[1].row.counts.offered, 6u);
  EXPECT_EQ(revs[1].row.change, RowChange::kAmended);
  // The documented audit text: unchanged terms (abandoned, handled...) are not named.
  EXPECT_EQ(revs[1].reason,
            "amended by 1 late event(s): offered 5->6, answered 4->5, answered_in_threshold 3->4");

  // A third change: one more abandoned call.
  LedgerRow later = late;
  later.counts.offered = 7;
  later.counts.abandoned = 2;
  later.late_events = 2;
  EXPECT_EQ(WriteOk(*store, {later}), 1u);
  const auto three = RevisionsOf(*store, first);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2].row.revision, 3u);
  EXPECT_TRUE(Contains(three[2].reason, "late event")) << three[2].reason;
  EXPECT_TRUE(Contains(three[2].reason, "offered 6->7")) << three[2].reason;
  EXPECT_TRUE(Contains(three[2].reason, "abandoned 1->2")) << three[2].reason;
  EXPECT_FALSE(Contains(three[2].reason, "answered")) << three[2].reason;
}

TEST(LedgerStoreTest, UnansweredChangesAreNamedAsTheirTotal) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow first = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(WriteOk(*store, {first}), 1u);
  LedgerRow late = first;
  late.counts.offered = 7;
  late.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kTimeout)] = 1;
  late.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kKey)] = 1;
  late.late_events = 2;
  EXPECT_EQ(WriteOk(*store, {late}), 1u);
  const auto revs = RevisionsOf(*store, first);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[1].reason, "amended by 2 late event(s): offered 5->7, unanswered 0->2");
}

// Calls of unknown wait are terms of their own: a late one makes a revision naming it, and a
// row with fewer of them than the stored one is partial.
TEST(LedgerStoreTest, UnknownWaitChangesAreNamedAndNeverGoBack) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow first = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(WriteOk(*store, {first}), 1u);
  LedgerRow late = first;
  late.counts.offered = 7;
  late.counts.answered = 5;
  late.counts.answered_wait_unknown = 1;
  late.counts.abandoned = 2;
  late.counts.abandoned_wait_unknown = 1;
  late.late_events = 2;
  EXPECT_EQ(WriteOk(*store, {late}), 1u);
  const auto revs = RevisionsOf(*store, first);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[1].reason,
            "amended by 2 late event(s): offered 5->7, answered 4->5, abandoned 1->2, "
            "answered_wait_unknown 0->1, abandoned_wait_unknown 0->1");
  EXPECT_EQ(revs[1].row.counts, late.counts);
  LedgerRow fewer = late;
  fewer.counts.offered = 8;
  fewer.counts.abandoned_wait_unknown = 0;
  EXPECT_EQ(WriteOk(*store, {fewer}), 0u);
  EXPECT_EQ(store->refused(), 1u);
}

TEST(LedgerStoreTest, ReplayedRowWithALowerEngineRevisionStillGetsStoredPlusOne) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow first = Row("acme", "manila-1", "billing", kNov2_0800Est);
  LedgerRow amended = first;
  amended.counts.offered = 6;
  amended.late_events = 1;
  amended.revision = 2;
  ASSERT_EQ(WriteOk(*store, {first}), 1u);
  ASSERT_EQ(WriteOk(*store, {amended}), 1u);

  // After a crash the engine restarts its revision counter at 1; a row equal to the stored
  // one is nothing new...
  LedgerRow replayed = amended;
  replayed.revision = 1;
  EXPECT_EQ(WriteOk(*store, {replayed}), 0u);
  // ...and one that differs follows the stored revision, not the engine's.
  replayed.counts.offered = 8;
  replayed.late_events = 3;
  EXPECT_EQ(WriteOk(*store, {replayed}), 1u);

  const auto rows = Query(*store, {});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].revision, 3u);
  EXPECT_EQ(rows[0].counts.offered, 8u);
  const auto revs = RevisionsOf(*store, first);
  ASSERT_EQ(revs.size(), 3u);
  EXPECT_EQ(revs[0].row.revision, 1u);
  EXPECT_EQ(revs[1].row.revision, 2u);
  EXPECT_EQ(revs[2].row.revision, 3u);
  EXPECT_EQ(revs[2].reason, "amended by 2 late event(s): offered 6->8");
}

TEST(LedgerStoreTest, AChangedContractTermIsARevisionToo) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow first = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(WriteOk(*store, {first}), 1u);
  LedgerRow retargeted = first;
  retargeted.contract.sl_target = 0.9;
  EXPECT_EQ(WriteOk(*store, {retargeted}), 1u);
  const auto revs = RevisionsOf(*store, first);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[1].row.revision, 2u);
  EXPECT_DOUBLE_EQ(revs[1].row.contract.sl_target, 0.9);
  EXPECT_DOUBLE_EQ(revs[0].row.contract.sl_target, 0.8);
  EXPECT_TRUE(Contains(revs[1].reason, "contract terms changed")) << revs[1].reason;
}

TEST(LedgerStoreTest, OneWriteNumbersEachRowOnItsOwn) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow a = Row("acme", "manila-1", "billing", kNov2_0800Est);
  const LedgerRow b = Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute);
  ASSERT_EQ(WriteOk(*store, {a}), 1u);
  LedgerRow a2 = a;
  a2.counts.offered = 6;
  a2.late_events = 1;
  // One new row, one amended, one unchanged: two revisions written.
  EXPECT_EQ(WriteOk(*store, {a2, b, a2}), 2u);
  const auto rows = Query(*store, {});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].revision, 2u);
  EXPECT_EQ(rows[1].revision, 1u);
  EXPECT_EQ(WriteOk(*store, {}), 0u);
}

TEST(LedgerStoreTest, PruneDeletesRowsAndRevisionsThatStartedBefore) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const LedgerRow r1 = Row("acme", "manila-1", "billing", kNov2_0800Est);
  const LedgerRow r2 = Row("acme", "pune-1", "billing", kNov2_0800Est);
  const LedgerRow r3 = Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute);
  const LedgerRow r4 = Row("globex", "manila-1", "support", kNov3_0900Est);
  ASSERT_EQ(WriteOk(*store, {r1, r2, r3, r4}), 4u);
  LedgerRow r1b = r1;
  r1b.counts.offered = 6;
  LedgerRow r3b = r3;
  r3b.counts.offered = 6;
  ASSERT_EQ(WriteOk(*store, {r1b, r3b}), 2u);

  // Everything that started before 08:30 local goes; the row starting at 08:30 stays.
  auto n = store->Prune(kNov2_0800Est + 30 * kMinute);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(Ids(Query(*store, {})), (std::vector<std::string>{"acme/manila-1/billing 08:30",
                                                              "globex/manila-1/support 09:00"}));
  EXPECT_TRUE(RevisionsOf(*store, r1).empty());
  EXPECT_TRUE(RevisionsOf(*store, r2).empty());
  EXPECT_EQ(RevisionsOf(*store, r3).size(), 2u);
  EXPECT_EQ(RevisionsOf(*store, r4).size(), 1u);

  n = store->Prune(kNov2_0800Est + 30 * kMinute);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  // A pruned row written again is a new row (revision 1), not an amendment.
  ASSERT_EQ(WriteOk(*store, {r1}), 1u);
  const auto revs = RevisionsOf(*store, r1);
  ASSERT_EQ(revs.size(), 1u);
  EXPECT_EQ(revs[0].row.revision, 1u);
}

Alert SiteDark(const std::string& client, const std::string& site, std::int64_t starts_ms) {
  Alert a;
  a.name = "SiteDark";
  a.severity = "critical";
  a.client = client;
  a.site = site;
  a.starts_ms = starts_ms;
  return a;
}

std::vector<Span> Spans(const absl::StatusOr<std::vector<Alert>>& a) {
  EXPECT_TRUE(a.ok()) << a.status();
  std::vector<Span> out;
  if (a.ok()) {
    for (const auto& x : *a) out.emplace_back(x.starts_ms, x.ends_ms);
  }
  return out;
}

TEST(LedgerStoreTest, RecordAlertFiringThenResolvedSetsItsEnd) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const std::int64_t t0 = kNov2_0800Est;
  Alert a = SiteDark("acme", "manila-1", t0);
  a.ends_ms = t0 + kHour;  // ignored while firing
  ASSERT_TRUE(store->RecordAlert({a, true}).ok());

  // Firing (ends 0): it overlaps any span that ends after it started, however late.
  EXPECT_EQ(
      Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0 + 30 * kHour, t0 + 31 * kHour)),
      (std::vector<Span>{Span{t0, 0}}));
  // A span ending at its start does not overlap ([from, to) is half open).
  EXPECT_TRUE(Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0 - kHour, t0)).empty());

  a.ends_ms = t0 + 2 * kHour;
  ASSERT_TRUE(store->RecordAlert({a, false}).ok());
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + kHour)),
            (std::vector<Span>{Span{t0, t0 + 2 * kHour}}));
  // Resolved: a span after its end no longer overlaps; one touching its last ms does.
  EXPECT_TRUE(
      Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0 + 2 * kHour, t0 + 3 * kHour))
          .empty());
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0 + 2 * kHour - 1,
                                      t0 + 3 * kHour)),
            (std::vector<Span>{Span{t0, t0 + 2 * kHour}}));
}

// A firing period left open by a crash ends when it was last seen firing, not at the restart;
// one open at a clean stop ends at the stop.
TEST(LedgerStoreTest, OpenAlertPeriodsCloseWhenLastSeenAfterACrash) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const std::int64_t t0 = kNov2_0800Est;
  ASSERT_TRUE(store->RecordAlert({SiteDark("acme", "manila-1", t0), true}).ok());
  ASSERT_TRUE(store->TouchFiringAlerts(t0 + 5 * kMinute).ok());
  // The process died; it starts again six hours later.
  ASSERT_TRUE(store->CloseOpenAlerts(0).ok());
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + 7 * kHour)),
            (std::vector<Span>{Span{t0, t0 + 5 * kMinute}}));
  // Fired again after the restart, then a clean stop at 10:00.
  ASSERT_TRUE(store->RecordAlert({SiteDark("acme", "manila-1", t0 + 6 * kHour), true}).ok());
  ASSERT_TRUE(store->CloseOpenAlerts(t0 + 7 * kHour).ok());
  EXPECT_EQ(
      Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0 + 6 * kHour, t0 + 8 * kHour)),
      (std::vector<Span>{Span{t0 + 6 * kHour, t0 + 7 * kHour}}));
}

// A row with fewer of any call term than the stored one (rebuilt from part of the day) never
// replaces it; a protected store keeps every stored row and still adds new ones.
TEST(LedgerStoreTest, PartialRowsAreRefusedAndProtectionKeepsStoredRows) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  LedgerRow full = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(*store->Write({full}), 1u);
  LedgerRow partial = full;
  partial.counts.offered = 2;  // fewer offered, more answered: still partial
  partial.counts.answered = 6;
  EXPECT_EQ(*store->Write({partial}), 0u);
  EXPECT_EQ(store->refused(), 1u);
  EXPECT_EQ((*store->Rows({}))[0].counts.offered, 5u);
  // A real amendment (more of everything it changes) is written.
  LedgerRow more = full;
  more.counts.offered = 6;
  EXPECT_EQ(*store->Write({more}), 1u);
  // Protected: even a larger row leaves the stored one alone; a new row is added.
  ASSERT_TRUE(store->ProtectStoredRows(kNov2Utc + 40 * kHour).ok());
  more.counts.offered = 9;
  LedgerRow next = Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute);
  EXPECT_EQ(*store->Write({more, next}), 1u);
  EXPECT_EQ(store->refused(), 2u);
  const auto rows = *store->Rows({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].counts.offered, 6u);
  EXPECT_EQ(rows[0].revision, 2u);
  // The protection is persisted: read back before its end it holds, after it, it is gone.
  ASSERT_TRUE(store->LoadProtection(kNov2Utc + 41 * kHour).ok());
  EXPECT_EQ(*store->Write({more}), 1u);
}

// --as-of: each row as its last revision written by then; rows first written later are absent.
TEST(LedgerStoreTest, RowsAsOfTakeTheLastRevisionWrittenByThen) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  LedgerRow a = Row("acme", "manila-1", "billing", kNov2_0800Est);
  a.changed_ms = kNov2_0800Est + 40 * kMinute;
  ASSERT_EQ(*store->Write({a}), 1u);
  LedgerRow a2 = a;
  a2.counts.offered = 7;
  a2.changed_ms = kNov2_0800Est + 3 * kHour;
  ASSERT_EQ(*store->Write({a2}), 1u);
  LedgerRow b = Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute);
  b.changed_ms = kNov2_0800Est + 2 * kHour;
  ASSERT_EQ(*store->Write({b}), 1u);
  auto at = [&](std::int64_t t) { return *store->RowsAsOf({}, t); };
  EXPECT_TRUE(at(kNov2_0800Est).empty());
  ASSERT_EQ(at(kNov2_0800Est + kHour).size(), 1u);
  EXPECT_EQ(at(kNov2_0800Est + kHour)[0].counts.offered, 5u);
  const auto later = at(kNov2_0800Est + 150 * kMinute);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].counts.offered, 5u);
  EXPECT_EQ(later[0].revision, 1u);
  const auto now = at(kNov2_0800Est + 4 * kHour);
  EXPECT_EQ(now[0].counts.offered, 7u);
  EXPECT_EQ(now[0].revision, 2u);
}

// A row that waited for the store (it was down) was not there to be read before it was
// written: as of a time between its change and its writing, the statement had the revision
// before it, or nothing.
TEST(LedgerStoreTest, RowsAsOfGoByWhenTheStoreTookTheRow) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  LedgerRow a = Row("acme", "manila-1", "billing", kNov2_0800Est);
  a.changed_ms = kNov2_0800Est + 40 * kMinute;
  ASSERT_EQ(*store->Write({a}, kNov2_0800Est + 2 * kHour), 1u);  // written 80 minutes late
  LedgerRow a2 = a;
  a2.counts.offered = 7;
  a2.changed_ms = kNov2_0800Est + 3 * kHour;
  ASSERT_EQ(*store->Write({a2}, kNov2_0800Est + 5 * kHour), 1u);
  auto at = [&](std::int64_t t) { return *store->RowsAsOf({}, t); };
  EXPECT_TRUE(at(kNov2_0800Est + kHour).empty());  // changed by then, not yet stored
  ASSERT_EQ(at(kNov2_0800Est + 2 * kHour).size(), 1u);
  EXPECT_EQ(at(kNov2_0800Est + 4 * kHour)[0].counts.offered, 5u);  // a2 waited
  EXPECT_EQ(at(kNov2_0800Est + 5 * kHour)[0].counts.offered, 7u);
}

TEST(LedgerStoreTest, AlertPeriodsFilterByNameClientAndSite) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  const std::int64_t t0 = kNov2_0800Est;
  Alert early = SiteDark("acme", "manila-1", t0);
  early.ends_ms = t0 + kHour;
  ASSERT_TRUE(store->RecordAlert({early, false}).ok());
  ASSERT_TRUE(store->RecordAlert({SiteDark("acme", "pune-1", t0 + 2 * kHour), true}).ok());
  ASSERT_TRUE(store->RecordAlert({SiteDark("globex", "manila-1", t0), true}).ok());
  Alert link = SiteDark("acme", "manila-1", t0);
  link.name = "LinkDown";
  link.link = "mpls-1";
  ASSERT_TRUE(store->RecordAlert({link, true}).ok());

  const std::int64_t end = t0 + 10 * kHour;
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "acme", "manila-1", t0, end)),
            (std::vector<Span>{Span{t0, t0 + kHour}}));
  // Site empty: every site of the client, oldest first.
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "acme", "", t0, end)),
            (std::vector<Span>{Span{t0, t0 + kHour}, Span{t0 + 2 * kHour, 0}}));
  EXPECT_EQ(Spans(store->AlertPeriods("SiteDark", "globex", "", t0, end)),
            (std::vector<Span>{Span{t0, 0}}));
  auto links = store->AlertPeriods("LinkDown", "acme", "manila-1", t0, end);
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].link, "mpls-1");
  EXPECT_EQ((*links)[0].ends_ms, 0);
  EXPECT_TRUE(Spans(store->AlertPeriods("StaffingCollapse", "acme", "", t0, end)).empty());
}

Exclusion Proposed(const std::string& client, std::int64_t from_ms, std::int64_t to_ms) {
  Exclusion e;
  e.client = client;
  e.site = "manila-1";
  e.alert = "SiteDark";
  e.from_ms = from_ms;
  e.to_ms = to_ms;
  e.reason = "typhoon: power cut";
  e.proposed_by = "vendor-ops";
  e.proposed_ms = to_ms + kHour;
  return e;
}

std::vector<std::int64_t> ExclusionIds(const absl::StatusOr<std::vector<Exclusion>>& e) {
  EXPECT_TRUE(e.ok()) << e.status();
  std::vector<std::int64_t> out;
  if (e.ok()) {
    for (const auto& x : *e) out.push_back(x.id);
  }
  return out;
}

TEST(LedgerStoreTest, AddExclusionReturnsItProposedWithAnId) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  Exclusion e = Proposed("acme", kNov2_0800Est, kNov2_0800Est + kHour);
  e.state = Exclusion::State::kAccepted;  // a proposal cannot accept itself
  e.decided_by = "someone";
  auto first = store->AddExclusion(e);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(first->state, Exclusion::State::kProposed);
  auto second = store->AddExclusion(Proposed("acme", kNov3_0900Est, kNov3_0900Est + kHour));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->id, 2);

  auto all = store->Exclusions("acme", 0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  const Exclusion& stored = (*all)[0];
  EXPECT_EQ(stored.id, 1);
  EXPECT_EQ(stored.client, "acme");
  EXPECT_EQ(stored.site, "manila-1");
  EXPECT_EQ(stored.queue, "");
  EXPECT_EQ(stored.alert, "SiteDark");
  EXPECT_EQ(stored.from_ms, kNov2_0800Est);
  EXPECT_EQ(stored.to_ms, kNov2_0800Est + kHour);
  EXPECT_EQ(stored.reason, "typhoon: power cut");
  EXPECT_EQ(stored.state, Exclusion::State::kProposed);
  EXPECT_EQ(stored.proposed_by, "vendor-ops");
  EXPECT_EQ(stored.proposed_ms, kNov2_0800Est + 2 * kHour);
  EXPECT_EQ(stored.decided_by, "");
  EXPECT_EQ(stored.decided_ms, 0);
}

TEST(LedgerStoreTest, DecideExclusionIsFinalAndScopedToItsClient) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  auto e = store->AddExclusion(Proposed("acme", kNov2_0800Est, kNov2_0800Est + kHour));
  ASSERT_TRUE(e.ok()) << e.status();
  auto r = store->AddExclusion(Proposed("acme", kNov3_0900Est, kNov3_0900Est + kHour));
  ASSERT_TRUE(r.ok()) << r.status();
  const std::int64_t now = kNov3_0900Est + 5 * kHour;

  // Another client cannot decide acme's exclusion, nor can anyone decide one that is not there.
  auto wrong = store->DecideExclusion("globex", e->id, true, "mallory", "", now);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kNotFound) << wrong.status();
  auto missing = store->DecideExclusion("acme", 99, true, "alice", "", now);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

  auto accepted =
      store->DecideExclusion("acme", e->id, true, "alice", "grid outage confirmed", now);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state, Exclusion::State::kAccepted);
  EXPECT_EQ(accepted->decided_by, "alice");
  EXPECT_EQ(accepted->decided_ms, now);
  EXPECT_EQ(accepted->decision_note, "grid outage confirmed");
  EXPECT_EQ(accepted->reason, "typhoon: power cut");

  auto again = store->DecideExclusion("acme", e->id, false, "bob", "changed my mind", now + 1);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_TRUE(Contains(std::string(again.status().message()), "accepted"))
      << std::string(again.status().message());
  EXPECT_TRUE(Contains(std::string(again.status().message()), "alice"))
      << std::string(again.status().message());

  auto rejected = store->DecideExclusion("acme", r->id, false, "bob", "no evidence", now + 2);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->state, Exclusion::State::kRejected);

  // The decisions are stored, and the refused second decision changed nothing.
  auto all = store->Exclusions("acme", 0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].state, Exclusion::State::kAccepted);
  EXPECT_EQ((*all)[0].decided_by, "alice");
  EXPECT_EQ((*all)[0].decided_ms, now);
  EXPECT_EQ((*all)[0].decision_note, "grid outage confirmed");
  EXPECT_EQ((*all)[1].state, Exclusion::State::kRejected);
  EXPECT_EQ((*all)[1].decided_by, "bob");
  EXPECT_EQ((*all)[1].decided_ms, now + 2);
  EXPECT_EQ((*all)[1].decision_note, "no evidence");
}

TEST(LedgerStoreTest, ExclusionsOverlapTheHalfOpenSpan) {
  auto store = OpenMemory();
  ASSERT_NE(store, nullptr);
  // id 1: [1000, 2000), id 2: [3000, 4000) of acme; id 3 of globex.
  ASSERT_TRUE(store->AddExclusion(Proposed("acme", 1000, 2000)).ok());
  ASSERT_TRUE(store->AddExclusion(Proposed("acme", 3000, 4000)).ok());
  ASSERT_TRUE(store->AddExclusion(Proposed("globex", 1000, 4000)).ok());

  EXPECT_EQ(ExclusionIds(store->Exclusions("acme", 0, 0)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_TRUE(ExclusionIds(store->Exclusions("acme", 2000, 3000)).empty());
  EXPECT_EQ(ExclusionIds(store->Exclusions("acme", 1999, 3000)), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ExclusionIds(store->Exclusions("acme", 2000, 3001)), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(ExclusionIds(store->Exclusions("acme", 1500, 3500)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(ExclusionIds(store->Exclusions("acme", 3500, 0)), (std::vector<std::int64_t>{2}));
  EXPECT_TRUE(ExclusionIds(store->Exclusions("acme", 4000, 0)).empty());
  EXPECT_EQ(ExclusionIds(store->Exclusions("globex", 0, 0)), (std::vector<std::int64_t>{3}));
  EXPECT_TRUE(ExclusionIds(store->Exclusions("initech", 0, 0)).empty());
}

class LedgerStoreFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ccmon-ledger-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "ledger.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A second, independent connection, as the sqlite3 shell would open it.
  sqlite3* OpenReadOnly() const {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << (db != nullptr ? sqlite3_errmsg(db) : "no handle");
    return db;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(LedgerStoreFileTest, RowsAndExclusionsSurviveCloseAndReopen) {
  const LedgerRow r = Row("acme", "manila-1", "billing", kNov2_0800Est);
  LedgerRow amended = r;
  amended.counts.offered = 6;
  amended.late_events = 1;
  {
    auto store = LedgerStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_EQ(WriteOk(**store, {r}), 1u);
    ASSERT_EQ(WriteOk(**store, {amended}), 1u);
    ASSERT_TRUE((*store)->AddExclusion(Proposed("acme", 1000, 2000)).ok());
  }
  auto store = LedgerStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  const auto rows = Query(**store, {});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].revision, 2u);
  EXPECT_EQ(rows[0].counts.offered, 6u);
  EXPECT_EQ(RevisionsOf(**store, r).size(), 2u);
  // Replaying after the restart writes nothing; a new change continues the numbering.
  EXPECT_EQ(WriteOk(**store, {amended}), 0u);
  LedgerRow again = amended;
  again.counts.offered = 7;
  again.late_events = 2;
  EXPECT_EQ(WriteOk(**store, {again}), 1u);
  EXPECT_EQ(Query(**store, {})[0].revision, 3u);

  auto next = (*store)->AddExclusion(Proposed("acme", 3000, 4000));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, 2);
  EXPECT_EQ(ExclusionIds((*store)->Exclusions("acme", 0, 0)), (std::vector<std::int64_t>{1, 2}));
}

TEST_F(LedgerStoreFileTest, TheFileIsInWalMode) {
  auto store = LedgerStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(WriteOk(**store, {Row("acme", "manila-1", "billing", kNov2_0800Est)}), 1u);
  EXPECT_TRUE(fs::exists(path_ + "-wal"));

  sqlite3* db = OpenReadOnly();
  ASSERT_NE(db, nullptr);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(LedgerStoreFileTest, TheSchemaIsQueryableAsDocumented) {
  auto store = LedgerStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  LedgerRow r = Row("acme", "manila-1", "billing", kNov2_0800Est);
  r.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kKey)] = 2;
  r.counts.offered = 7;
  ASSERT_EQ(WriteOk(**store, {r}), 1u);
  LedgerRow amended = r;
  amended.counts.answered_in_threshold = 4;
  amended.late_events = 1;
  ASSERT_EQ(WriteOk(**store, {amended}), 1u);

  // Read while the collector's connection is open, as an operator would.
  sqlite3* db = OpenReadOnly();
  ASSERT_NE(db, nullptr);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                db,
                "SELECT offered, answered_in_threshold, revision, local_date, local_start, "
                "unanswered_timeout + unanswered_key + unanswered_empty + unanswered_withdraw, "
                "sl_result, start_utc, timezone, utc_offset_s FROM ledger_rows "
                "WHERE client = 'acme' AND queue = 'billing' AND local_date = '2026-11-02'",
                -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  auto text = [&](int i) {
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)));
  };
  EXPECT_EQ(sqlite3_column_int64(st, 0), 7);
  EXPECT_EQ(sqlite3_column_int64(st, 1), 4);
  EXPECT_EQ(sqlite3_column_int64(st, 2), 2);
  EXPECT_EQ(text(3), "2026-11-02");
  EXPECT_EQ(text(4), "2026-11-02T08:00-05:00");
  EXPECT_EQ(sqlite3_column_int64(st, 5), 2);
  // Standard SL: 4 / (4 answered + 1 abandoned + 2 unanswered - 0 short) = 0.57 < 0.80.
  EXPECT_EQ(text(6), "missed");
  EXPECT_EQ(text(7), "2026-11-02T13:00:00Z");
  EXPECT_EQ(text(8), "America/New_York");
  EXPECT_EQ(sqlite3_column_int64(st, 9), -18000);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);

  st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT revision, change, reason, answered_in_threshold FROM "
                               "ledger_revisions WHERE client = 'acme' ORDER BY revision",
                               -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 1);
  EXPECT_EQ(text(1), "closed");
  EXPECT_EQ(text(2), "closed");
  EXPECT_EQ(sqlite3_column_int64(st, 3), 3);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 2);
  EXPECT_EQ(text(1), "amended");
  EXPECT_EQ(text(2), "amended by 1 late event(s): answered_in_threshold 3->4");
  EXPECT_EQ(sqlite3_column_int64(st, 3), 4);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// A ledger.db of the first schema (before unanswered_lost, the unknown-wait columns and the
// alert periods' writer), with a row, its revision and an alert period left open by a crash:
// it opens, gains the columns at 0, keeps its rows, revisions and periods, takes rows with the
// new terms and periods by the new key, and opens again unchanged.
TEST_F(LedgerStoreFileTest, AStoreOfThePreviousSchemaOpensAndGainsTheNewColumns) {
  // The term columns of schema 1 and one row's values for them, in order.
  const std::vector<std::pair<const char*, std::string>> terms = {
      {"start_utc TEXT", "'2026-11-02T13:00:00Z'"},
      {"local_start TEXT", "'2026-11-02T08:00-05:00'"},
      {"local_date TEXT", "'2026-11-02'"},
      {"timezone TEXT", "'America/New_York'"},
      {"utc_offset_s INTEGER", "-18000"},
      {"length_minutes INTEGER", "30"},
      {"sl_formula TEXT", "'standard'"},
      {"sl_threshold_s REAL", "20"},
      {"sl_target REAL", "0.8"},
      {"short_abandon_s REAL", "5"},
      {"abandon_target REAL", "0.05"},
      {"asa_target_s REAL", "30"},
      {"offered INTEGER", "5"},
      {"answered INTEGER", "4"},
      {"answered_in_threshold INTEGER", "3"},
      {"abandoned INTEGER", "1"},
      {"abandoned_in_threshold INTEGER", "1"},
      {"short_abandoned INTEGER", "0"},
      {"unanswered_timeout INTEGER", "0"},
      {"unanswered_key INTEGER", "0"},
      {"unanswered_empty INTEGER", "0"},
      {"unanswered_withdraw INTEGER", "0"},
      {"completed INTEGER", "3"},
      {"transferred INTEGER", "1"},
      {"handled INTEGER", "4"},
      {"answered_wait_ms INTEGER", "40000"},
      {"abandoned_wait_ms INTEGER", "12000"},
      {"handle_ms INTEGER", "720000"},
      {"sl_result TEXT", "'missed'"},
      {"abandon_result TEXT", "'missed'"},
      {"asa_result TEXT", "'met'"},
      {"revision INTEGER", "1"},
      {"late_events INTEGER", "0"},
      {"rebuilt_events INTEGER", "0"},
      {"closed_ms INTEGER", std::to_string(kNov2_0800Est + 35 * kMinute)},
      {"changed_ms INTEGER", std::to_string(kNov2_0800Est + 35 * kMinute)}};
  std::string ddl, values;
  for (const auto& [column, value] : terms) {
    absl::StrAppend(&ddl, ", ", column, " NOT NULL");
    absl::StrAppend(&values, ", ", value);
  }
  const std::string key =
      "client TEXT NOT NULL, site TEXT NOT NULL, queue TEXT NOT NULL, "
      "start_utc_ms INTEGER NOT NULL";
  const std::string row = absl::StrCat("'acme', 'manila-1', 'billing', ", kNov2_0800Est, values);
  std::string schema1;
  absl::StrAppend(&schema1, "CREATE TABLE ledger_rows (", key, ddl,
                  ", PRIMARY KEY (client, site, queue, start_utc_ms)) WITHOUT ROWID;");
  absl::StrAppend(&schema1, "CREATE TABLE ledger_revisions (", key, ddl,
                  ", change TEXT NOT NULL, reason TEXT NOT NULL, "
                  "PRIMARY KEY (client, site, queue, start_utc_ms, revision)) WITHOUT ROWID;");
  absl::StrAppend(&schema1, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
                  "INSERT INTO meta VALUES ('schema_version', '1');");
  absl::StrAppend(&schema1, "INSERT INTO ledger_rows VALUES (", row, ");");
  absl::StrAppend(&schema1, "INSERT INTO ledger_revisions VALUES (", row, ", 'closed', 'closed');");
  absl::StrAppend(&schema1,
                  "CREATE TABLE alert_periods (name TEXT NOT NULL, client TEXT NOT NULL, "
                  "site TEXT NOT NULL, queue TEXT NOT NULL, link TEXT NOT NULL, "
                  "starts_ms INTEGER NOT NULL, ends_ms INTEGER NOT NULL, seen_ms INTEGER NOT "
                  "NULL, PRIMARY KEY (name, client, site, queue, link, starts_ms)) WITHOUT ROWID;",
                  "INSERT INTO alert_periods VALUES ('SiteDark', 'acme', 'manila-1', '', '', ",
                  kNov2_0800Est, ", 0, ", kNov2_0800Est + kHour, ");");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, schema1.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
  }

  const LedgerRow stored = Row("acme", "manila-1", "billing", kNov2_0800Est);
  {
    auto store = LedgerStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto rows = Query(**store, {});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].counts, stored.counts);  // the new terms read 0
    EXPECT_EQ(rows[0].revision, 1u);
    // Its revision counts as written when it changed (the store took rows as they came then).
    auto as_of = (*store)->RowsAsOf({}, kNov2_0800Est + 35 * kMinute);
    ASSERT_TRUE(as_of.ok()) << as_of.status();
    EXPECT_EQ(as_of->size(), 1u);
    // Replaying the same row writes nothing; one late lost call and one late answer of
    // unknown wait make revision 2 with the new terms.
    EXPECT_EQ(WriteOk(**store, {stored}), 0u);
    LedgerRow late = stored;
    late.counts.offered = 7;
    late.counts.answered = 5;
    late.counts.answered_wait_unknown = 1;
    late.counts.unanswered[static_cast<std::size_t>(UnansweredReason::kLost)] = 1;
    late.late_events = 2;
    EXPECT_EQ(WriteOk(**store, {late}), 1u);
    const auto revs = RevisionsOf(**store, stored);
    ASSERT_EQ(revs.size(), 2u);
    EXPECT_EQ(revs[0].row.counts, stored.counts);
    EXPECT_EQ(revs[1].row.counts, late.counts);
    EXPECT_EQ(revs[1].reason,
              "amended by 2 late event(s): offered 5->7, answered 4->5, unanswered 0->1, "
              "answered_wait_unknown 0->1");
    // The open period closes at its last touch; a new one is recorded and resolved.
    ASSERT_TRUE((*store)->CloseOpenAlerts(0).ok());
    Alert again = SiteDark("acme", "manila-1", kNov2_0800Est + 3 * kHour);
    ASSERT_TRUE((*store)->RecordAlert({again, true}).ok());
    again.ends_ms = kNov2_0800Est + 4 * kHour;
    ASSERT_TRUE((*store)->RecordAlert({again, false}).ok());
    EXPECT_EQ(Spans((*store)->AlertPeriods("SiteDark", "acme", "manila-1", 0,
                                           kNov2_0800Est + 24 * kHour)),
              (std::vector<Span>{Span{kNov2_0800Est, kNov2_0800Est + kHour},
                                 Span{kNov2_0800Est + 3 * kHour, kNov2_0800Est + 4 * kHour}}));
  }
  // Opened again: nothing left to add, the rows as written.
  auto store = LedgerStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  const auto rows = Query(**store, {});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].revision, 2u);
  EXPECT_EQ(rows[0].counts.answered_wait_unknown, 1u);
  EXPECT_EQ(rows[0].counts.unanswered[static_cast<std::size_t>(UnansweredReason::kLost)], 1u);

  sqlite3* db = OpenReadOnly();
  ASSERT_NE(db, nullptr);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT value FROM meta WHERE key = 'schema_version'), "
                               "unanswered_lost, answered_wait_unknown, abandoned_wait_unknown "
                               "FROM ledger_rows",
                               -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "4");
  EXPECT_EQ(sqlite3_column_int64(st, 1), 1);
  EXPECT_EQ(sqlite3_column_int64(st, 2), 1);
  EXPECT_EQ(sqlite3_column_int64(st, 3), 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(LedgerStoreFileTest, OpenFailsNamingThePath) {
  const std::string bad = (dir_ / "missing" / "ledger.db").string();
  auto store = LedgerStore::Open(bad);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(std::string(store.status().message()), bad))
      << std::string(store.status().message());
}

// Two collectors on one database: replicas of a shard, or two shards. On SQLite a file both
// open; on PostgreSQL the test server.
class SharedLedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    where_ = PgUri();
    if (where_.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "ccmon-shared-ledger-XXXXXX").string();
      ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      where_ = (dir_ / "ledger.db").string();
    } else {
      ResetPg(where_);
    }
    a_ = Open("shard-1/a");
    b_ = Open("shard-1/b");
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::unique_ptr<LedgerStore> Open(const std::string& writer) {
    auto s = LedgerStore::Open(where_, writer);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  std::string where_;
  fs::path dir_;
  std::unique_ptr<LedgerStore> a_, b_;
};

// Replicas close the same rows: the first write stores them, the second is the same row and
// writes nothing, and neither counts a refusal.
TEST_F(SharedLedgerStoreTest, TheSameRowsFromTwoReplicasAreOneRowEach) {
  const std::vector<LedgerRow> rows = {
      Row("acme", "manila-1", "billing", kNov2_0800Est),
      Row("acme", "manila-1", "billing", kNov2_0800Est + 30 * kMinute)};
  EXPECT_EQ(WriteOk(*a_, rows), 2u);
  EXPECT_EQ(WriteOk(*b_, rows), 0u);
  EXPECT_EQ(a_->refused() + b_->refused(), 0u);
  EXPECT_EQ(Query(*b_, {}).size(), 2u);
  EXPECT_EQ(RevisionsOf(*a_, rows[0]).size(), 1u);
  auto n = b_->RowCount();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
}

// A replica ahead of the other (it already has a late call) amends the row; the one behind
// writes its older row, which is refused and counted, and when it catches up its row is the
// stored one: one amendment in the audit trail, not three.
TEST_F(SharedLedgerStoreTest, AReplicaBehindNeverTakesARowBack) {
  const LedgerRow closed = Row("acme", "manila-1", "billing", kNov2_0800Est);
  LedgerRow late = closed;
  late.counts.offered = 6;
  late.counts.abandoned = 2;
  late.late_events = 1;
  EXPECT_EQ(WriteOk(*a_, {closed}), 1u);
  EXPECT_EQ(WriteOk(*a_, {late}), 1u);
  EXPECT_EQ(WriteOk(*b_, {closed}), 0u);
  EXPECT_EQ(b_->refused(), 1u);
  EXPECT_EQ(WriteOk(*b_, {late}), 0u);
  const auto revs = RevisionsOf(*b_, closed);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[1].row.counts.offered, 6u);
  EXPECT_EQ(Query(*a_, {})[0].revision, 2u);
}

// Both writers at once, from two threads, rows overlapping: every row stored once, numbered
// once, and no write fails (writers take turns).
TEST_F(SharedLedgerStoreTest, ConcurrentWritersStoreEachRowOnce) {
  std::vector<LedgerRow> rows;
  rows.reserve(60);
  for (int i = 0; i < 60; ++i) {
    rows.push_back(Row("acme", i % 2 == 0 ? "manila-1" : "pune-1", "billing",
                       kNov2_0800Est + i * 30 * kMinute));
  }
  auto run = [&](LedgerStore& s, std::size_t* written) {
    for (std::size_t i = 0; i < rows.size(); i += 6) {
      auto n = s.Write({rows.begin() + static_cast<std::ptrdiff_t>(i),
                        rows.begin() + static_cast<std::ptrdiff_t>(i + 6)});
      EXPECT_TRUE(n.ok()) << n.status();
      if (n.ok()) *written += *n;
    }
  };
  std::size_t wa = 0, wb = 0;
  std::thread ta(run, std::ref(*a_), &wa);
  std::thread tb(run, std::ref(*b_), &wb);
  ta.join();
  tb.join();
  EXPECT_EQ(wa + wb, rows.size());
  const auto stored = Query(*a_, {});
  ASSERT_EQ(stored.size(), rows.size());
  for (const auto& r : stored) EXPECT_EQ(r.revision, 1u) << r.site << " " << r.start_ms;
}

// Two replicas amending the same rows at once (late calls arriving at both): every write
// succeeds, the revisions of a row are numbered 1, 2, 3... without a gap or a repeat, and the
// row ends with every late call.
TEST_F(SharedLedgerStoreTest, ConcurrentAmendmentsNumberRevisionsOnce) {
  const LedgerRow base = Row("acme", "manila-1", "billing", kNov2_0800Est);
  auto run = [&](LedgerStore& s, int* failures) {
    for (std::uint64_t k = 0; k <= 20; ++k) {
      LedgerRow r = base;
      r.counts.offered += k;
      r.counts.abandoned += k;
      r.late_events = k;
      auto n = s.Write({r});
      if (!n.ok()) {
        ++*failures;
        ADD_FAILURE() << n.status();
      }
    }
  };
  int fa = 0, fb = 0;
  std::thread ta(run, std::ref(*a_), &fa);
  std::thread tb(run, std::ref(*b_), &fb);
  ta.join();
  tb.join();
  EXPECT_EQ(fa + fb, 0);
  const auto revs = RevisionsOf(*a_, base);
  ASSERT_FALSE(revs.empty());
  for (std::size_t i = 0; i < revs.size(); ++i) {
    EXPECT_EQ(revs[i].row.revision, i + 1);
    if (i > 0) {
      EXPECT_GT(revs[i].row.counts.offered, revs[i - 1].row.counts.offered);
    }
  }
  EXPECT_EQ(revs.back().row.counts.offered, base.counts.offered + 20);
  EXPECT_EQ(Query(*b_, {})[0].revision, revs.size());
}

// Each replica records the firing it saw (their clocks differ by a few seconds): the store
// answers one period. A replica that restarts closes only its own open periods.
TEST_F(SharedLedgerStoreTest, OneFiringSeenByTwoReplicasIsOnePeriod) {
  const std::int64_t t0 = kNov2_0800Est;
  ASSERT_TRUE(a_->RecordAlert({SiteDark("acme", "manila-1", t0), true}).ok());
  ASSERT_TRUE(b_->RecordAlert({SiteDark("acme", "manila-1", t0 + 3000), true}).ok());
  ASSERT_TRUE(a_->TouchFiringAlerts(t0 + kMinute).ok());
  ASSERT_TRUE(b_->TouchFiringAlerts(t0 + kMinute).ok());
  EXPECT_EQ(Spans(b_->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + 2 * kHour)),
            (std::vector<Span>{Span{t0, 0}}));
  // a crashed and restarted: its period ends at its last touch; b's still fires.
  auto a2 = Open("shard-1/a");
  ASSERT_NE(a2, nullptr);
  ASSERT_TRUE(a2->CloseOpenAlerts(0).ok());
  EXPECT_EQ(Spans(a2->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + 2 * kHour)),
            (std::vector<Span>{Span{t0, 0}}));
  // b resolves it: one period, from the first start to the last end.
  Alert resolved = SiteDark("acme", "manila-1", t0 + 3000);
  resolved.ends_ms = t0 + 2 * kHour;
  ASSERT_TRUE(b_->RecordAlert({resolved, false}).ok());
  EXPECT_EQ(Spans(a2->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + 3 * kHour)),
            (std::vector<Span>{Span{t0, t0 + 2 * kHour}}));
  // A later firing that does not touch it stays a period of its own.
  ASSERT_TRUE(a2->RecordAlert({SiteDark("acme", "manila-1", t0 + 5 * kHour), true}).ok());
  EXPECT_EQ(Spans(b_->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + 6 * kHour)),
            (std::vector<Span>{Span{t0, t0 + 2 * kHour}, Span{t0 + 5 * kHour, 0}}));
}

// A collector that left for good (another host name) leaves its open period behind: a live
// writer ends it at its last touch once nobody has touched it for ten minutes, never sooner.
TEST_F(SharedLedgerStoreTest, AnOrphanedOpenPeriodEndsAtItsLastTouch) {
  const std::int64_t t0 = kNov2_0800Est;
  auto gone = Open("shard-1/old-host/0.0.0.0:7400");
  ASSERT_NE(gone, nullptr);
  ASSERT_TRUE(gone->RecordAlert({SiteDark("acme", "manila-1", t0), true}).ok());
  ASSERT_TRUE(gone->TouchFiringAlerts(t0 + kMinute).ok());
  gone.reset();
  const std::int64_t stale = t0 + kMinute + LedgerStore::kOrphanedAfterMs;
  // a's first touch in a long while (it was away too) judges nobody.
  ASSERT_TRUE(a_->TouchFiringAlerts(stale + kHour).ok());
  EXPECT_EQ(Spans(a_->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + kHour)),
            (std::vector<Span>{Span{t0, 0}}));
  // c has touched every 10 s for ten minutes when the period is ten minutes untouched: not
  // yet orphaned; a moment later it is.
  auto c = Open("shard-2/c");
  ASSERT_NE(c, nullptr);
  for (std::int64_t t = stale - LedgerStore::kOrphanedAfterMs; t <= stale; t += 10'000) {
    ASSERT_TRUE(c->TouchFiringAlerts(t).ok());
  }
  EXPECT_EQ(Spans(a_->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + kHour)),
            (std::vector<Span>{Span{t0, 0}}));
  ASSERT_TRUE(c->TouchFiringAlerts(stale + 1).ok());
  EXPECT_EQ(Spans(a_->AlertPeriods("SiteDark", "acme", "manila-1", t0, t0 + kHour)),
            (std::vector<Span>{Span{t0, t0 + kMinute}}));
}

// An exclusion proposed through one collector is decided through another, once: a second
// decision through the first is refused, naming who decided.
TEST_F(SharedLedgerStoreTest, AnExclusionIsDecidedOnceWhicheverCollectorIsAsked) {
  auto e = a_->AddExclusion(Proposed("acme", kNov2_0800Est, kNov2_0800Est + kHour));
  ASSERT_TRUE(e.ok()) << e.status();
  auto accepted = b_->DecideExclusion("acme", e->id, true, "acme-liaison", "ok", kNov3_0900Est);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  auto again = a_->DecideExclusion("acme", e->id, false, "someone", "", kNov3_0900Est);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(std::string(again.status().message()), "accepted by acme-liaison"))
      << again.status();
}

// Protection after a lost checkpoint is the writer's own: one replica rebuilt without its
// checkpoint refuses to amend stored rows, the other still amends them.
TEST_F(SharedLedgerStoreTest, ProtectionIsPerWriter) {
  const LedgerRow closed = Row("acme", "manila-1", "billing", kNov2_0800Est);
  ASSERT_EQ(WriteOk(*a_, {closed}), 1u);
  ASSERT_TRUE(a_->ProtectStoredRows(kNov3_0900Est).ok());
  LedgerRow late = closed;
  late.counts.offered = 6;
  late.counts.abandoned = 2;
  late.late_events = 1;
  EXPECT_EQ(WriteOk(*a_, {late}), 0u);
  EXPECT_EQ(a_->refused(), 1u);
  auto b2 = Open("shard-1/b");
  ASSERT_NE(b2, nullptr);
  ASSERT_TRUE(b2->LoadProtection(kNov2_0800Est).ok());
  EXPECT_EQ(WriteOk(*b2, {late}), 1u);
  auto a2 = Open("shard-1/a");
  ASSERT_NE(a2, nullptr);
  ASSERT_TRUE(a2->LoadProtection(kNov2_0800Est).ok());
  late.counts.offered = 7;
  late.counts.abandoned = 3;
  late.late_events = 2;
  EXPECT_EQ(WriteOk(*a2, {late}), 0u);
}

}  // namespace
}  // namespace ccmon::collector

namespace ccmon::collector {
namespace {

// A PostgreSQL server that cannot be reached does not stop a collector from starting: the
// store opens, says why it is not reachable (naming the database, never its password), fails
// each call with Unavailable, and remembers what start asked of it.
TEST(UnreachableLedgerStoreTest, OpensAndFailsEachCallNamingTheDatabase) {
  auto store = LedgerStore::Open("postgresql://ccmon:s3cret@127.0.0.1:1/ccmon?connect_timeout=2",
                                 "shard-1/a");
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Status why = (*store)->Reachable();
  EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable) << why;
  EXPECT_TRUE(Contains(std::string(why.message()), "postgresql://ccmon:***@127.0.0.1:1/ccmon"))
      << why;
  EXPECT_FALSE(Contains(std::string(why.message()), "s3cret")) << why;
  EXPECT_TRUE((*store)->CloseOpenAlerts(0).ok());  // deferred to the first connection
  EXPECT_TRUE((*store)->LoadProtection(kNov2_0800Est).ok());
  auto n = (*store)->Write({Row("acme", "manila-1", "billing", kNov2_0800Est)});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Rows({}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(UnreachableLedgerStoreTest, SqliteErrorsFailOpen) {
  auto store = LedgerStore::Open("/nonexistent-dir/ledger.db");
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(Contains(std::string(store.status().message()), "/nonexistent-dir/ledger.db"))
      << store.status();
}

// Every wait is bounded unless the URI says otherwise, and the URI's own settings stand.
TEST(SessionDefaultsTest, BoundEveryWaitUnlessTheUriSetsIt) {
  const std::string u = WithSessionDefaults("postgresql://ccmon@db:5432/ccmon");
  for (const char* want : {"?connect_timeout=3", "&keepalives=1", "&tcp_user_timeout=60000",
                           "lock_timeout%3D5s", "statement_timeout%3D30s",
                           "idle_in_transaction_session_timeout", "extra_float_digits%3D3"}) {
    EXPECT_TRUE(Contains(u, want)) << want << " not in " << u;
  }
  EXPECT_TRUE(Contains(WithSessionDefaults("postgresql://db/x?"), "/x?connect_timeout=3&"));
  const std::string own = WithSessionDefaults("postgres://db/x?sslmode=require&connect_timeout=10");
  EXPECT_TRUE(Contains(own, "?sslmode=require&connect_timeout=10&keepalives=1")) << own;
  EXPECT_FALSE(Contains(own, "connect_timeout=3")) << own;
}

TEST(RedactUriTest, HidesPasswordsInUserinfoAndParameters) {
  EXPECT_EQ(RedactUri("postgresql://u:pw@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUri("postgres://u@h/db?sslmode=require&password=pw&x=1"),
            "postgres://u@h/db?sslmode=require&password=***&x=1");
  EXPECT_EQ(RedactUri("postgresql://h/db"), "postgresql://h/db");
}

}  // namespace
}  // namespace ccmon::collector
