// BuildStatement against hand-computed statements: every expected figure is worked out in the
// comment beside it, never by calling the code under test.
#include "ccmon/collector/statement.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ccmon::collector {
namespace {

constexpr std::int64_t kHourMs = std::int64_t{3600} * 1000;

// UTC instants are written by hand; this only spells them as Unix ms.
std::int64_t Utc(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone()));
}

// A row whose every offered call was answered, `in_threshold` of them within the threshold:
// under the standard formula its SL is in_threshold / offered.
LedgerRow Row(const std::string& site, const std::string& queue, std::int64_t start_ms,
              std::uint64_t offered, std::uint64_t in_threshold) {
  LedgerRow r;
  r.client = "acme";
  r.site = site;
  r.queue = queue;
  r.start_ms = start_ms;
  r.length_minutes = 30;
  r.counts.offered = offered;
  r.counts.answered = offered;
  r.counts.answered_in_threshold = in_threshold;
  return r;
}

StatementInput Input(const std::string& from, const std::string& to, const StatementTerms& terms,
                     const std::string& queue = "sales") {
  StatementInput in;
  in.client = "acme";
  in.from_date = from;
  in.to_date = to;
  in.label = from.substr(0, 7);
  QueueTerms qt;
  qt.queue = queue;
  qt.terms = terms;
  in.queues.push_back(qt);
  return in;
}

Statement Build(const StatementInput& in) {
  std::string error = "unset";
  Statement s = BuildStatement(in, &error);
  EXPECT_EQ(error, "");
  return s;
}

StatementTerms Terms(Period p, const std::string& zone = "UTC") {
  StatementTerms t;
  t.timezone = zone;
  t.period = p;
  return t;
}

TEST(StatementStrings, NamesRoundTrip) {
  EXPECT_STREQ(ToString(Period::kInterval), "interval");
  EXPECT_STREQ(ToString(Period::kDay), "day");
  EXPECT_STREQ(ToString(Period::kWeek), "week");
  EXPECT_STREQ(ToString(Period::kMonth), "month");
  EXPECT_EQ(ParsePeriod("interval"), Period::kInterval);
  EXPECT_EQ(ParsePeriod("day"), Period::kDay);
  EXPECT_EQ(ParsePeriod("week"), Period::kWeek);
  EXPECT_EQ(ParsePeriod("month"), Period::kMonth);
  EXPECT_EQ(ParsePeriod("year"), std::nullopt);
  EXPECT_EQ(ParsePeriod("Day"), std::nullopt);
  EXPECT_EQ(ParsePeriod(""), std::nullopt);
  EXPECT_STREQ(ToString(Exclusion::State::kProposed), "proposed");
  EXPECT_STREQ(ToString(Exclusion::State::kAccepted), "accepted");
  EXPECT_STREQ(ToString(Exclusion::State::kRejected), "rejected");
  EXPECT_STREQ(ToString(PeriodResult::kMet), "met");
  EXPECT_STREQ(ToString(PeriodResult::kMissed), "missed");
  EXPECT_STREQ(ToString(PeriodResult::kExcluded), "excluded");
  EXPECT_STREQ(ToString(PeriodResult::kNotJudged), "not_judged");
}

TEST(BuildStatement, BadInputIsAnErrorWithAnEmptyStatement) {
  const auto expect_error = [](const StatementInput& in) {
    std::string error;
    const Statement s = BuildStatement(in, &error);
    EXPECT_FALSE(error.empty());
    EXPECT_TRUE(s.queues.empty());
    EXPECT_EQ(s.client, "");
  };
  StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kDay));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 10, 8));
  expect_error(Input("2026-02-30", "2026-03-01", Terms(Period::kDay)));  // no 30 February
  expect_error(Input("2026-11", "2026-11-30", Terms(Period::kDay)));
  expect_error(Input("2026-11-01", "2026-1x-30", Terms(Period::kDay)));
  expect_error(Input("2026-11-30", "2026-11-01", Terms(Period::kDay)));  // to before from
  expect_error(Input("2026-11-01", "2026-11-30", Terms(Period::kDay, "Mars/Olympus_Mons")));
  // A second queue's zone is read too (its measured hours), so it must exist as well.
  StatementInput two = in;
  QueueTerms bad;
  bad.queue = "support";
  bad.terms = Terms(Period::kDay, "Nowhere/Else");
  two.queues.push_back(bad);
  expect_error(two);
  // Sanity: the same input with good terms builds.
  EXPECT_EQ(Build(in).queues.size(), 1u);
}

TEST(BuildStatement, StatementHeaderAndQueueOrder) {
  StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kMonth), "zeta");
  in.label = "2026-11";
  in.generated_ms = 1234;
  // "alpha" has no terms: it takes zeta's (month periods). "mid" has terms but no rows.
  QueueTerms mid;
  mid.queue = "mid";
  mid.terms = Terms(Period::kDay);
  in.queues.push_back(mid);
  in.rows.push_back(Row("a", "alpha", Utc(2026, 11, 2, 10, 0), 10, 8));
  in.rows.push_back(Row("a", "zeta", Utc(2026, 11, 2, 10, 0), 10, 9));
  const Statement s = Build(in);
  EXPECT_EQ(s.client, "acme");
  EXPECT_EQ(s.label, "2026-11");
  EXPECT_EQ(s.from_date, "2026-11-01");
  EXPECT_EQ(s.to_date, "2026-11-30");
  EXPECT_EQ(s.timezone, "UTC");
  EXPECT_EQ(s.generated_ms, 1234);
  ASSERT_EQ(s.queues.size(), 3u);
  EXPECT_EQ(s.queues[0].queue, "alpha");
  EXPECT_EQ(s.queues[0].terms.period, Period::kMonth);
  ASSERT_EQ(s.queues[0].periods.size(), 1u);
  EXPECT_EQ(s.queues[0].periods[0].label, "2026-11");
  EXPECT_EQ(s.queues[1].queue, "mid");
  EXPECT_EQ(s.queues[1].periods.size(), 30u);  // 30 November days, none with calls
  EXPECT_EQ(s.queues[1].periods_not_judged, 30u);
  EXPECT_EQ(s.queues[1].periods[0].note, "no calls");
  EXPECT_EQ(s.queues[1].result, PeriodResult::kNotJudged);
  EXPECT_EQ(s.queues[2].queue, "zeta");
  EXPECT_EQ(s.queues[2].figures.counts.offered, 10u);
}

TEST(BuildStatement, NoQueuesUseDefaultTerms) {
  StatementInput in;
  in.client = "acme";
  in.from_date = "2026-11-02";
  in.to_date = "2026-11-02";
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 10, 8));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 0, 0), 10, 8));  // day after: outside
  const Statement s = Build(in);
  EXPECT_EQ(s.timezone, "UTC");
  ASSERT_EQ(s.queues.size(), 1u);
  // Default terms: interval periods, target 0.80; 8/10 = 0.80 is met (>=).
  ASSERT_EQ(s.queues[0].periods.size(), 1u);
  EXPECT_EQ(s.queues[0].periods[0].label, "2026-11-02 10:00+00:00");
  EXPECT_EQ(s.queues[0].periods[0].end_ms - s.queues[0].periods[0].start_ms, kHourMs / 2);
  EXPECT_EQ(s.queues[0].periods[0].result, PeriodResult::kMet);
  EXPECT_DOUBLE_EQ(s.queues[0].periods[0].target, 0.80);
}

TEST(BuildStatement, MeasuredHoursByWeekdayAndHolidays) {
  StatementTerms t = Terms(Period::kDay);
  t.all_hours = false;
  t.measured_hours[1] = {{9 * 60, 17 * 60}};                      // Monday 09:00-17:00
  t.measured_hours[2] = {{8 * 60, 12 * 60}, {13 * 60, 17 * 60}};  // Tuesday, lunch unmeasured
  t.measured_hours[3] = {{0, 1440}};                              // Wednesday all day...
  t.holidays = {"2026-11-04"};                                    // ...but a holiday
  StatementInput in = Input("2026-11-02", "2026-11-04", t);       // Mon 2 .. Wed 4 November
  // Monday: 08:30 before hours, 17:00 at the exclusive end: unmeasured (their 100 calls with
  // none in threshold would sink the SL if counted). 09:00 and 16:30 count: (9 + 7) / 20 = 0.80.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 8, 30), 100, 0));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 9, 0), 10, 9));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 16, 30), 10, 7));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 17, 0), 100, 0));
  // Tuesday: 12:00 is lunch; 11:30 and 13:00 count: (5 + 5) / 20 = 0.50.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 11, 30), 10, 5));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 12, 0), 100, 0));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 13, 0), 10, 5));
  // Wednesday: holiday, nothing measured.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 4, 10, 0), 100, 0));
  const Statement s = Build(in);
  ASSERT_EQ(s.queues.size(), 1u);
  const StatementQueue& q = s.queues[0];
  ASSERT_EQ(q.periods.size(), 3u);
  EXPECT_EQ(q.periods[0].label, "2026-11-02");
  EXPECT_EQ(q.periods[0].rows, 2u);
  EXPECT_EQ(q.periods[0].unmeasured_rows, 2u);
  EXPECT_EQ(q.periods[0].figures.counts.offered, 20u);
  EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, 0.80);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[1].rows, 2u);
  EXPECT_EQ(q.periods[1].unmeasured_rows, 1u);
  EXPECT_DOUBLE_EQ(*q.periods[1].figures.service_level, 0.50);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMissed);
  EXPECT_EQ(q.periods[2].rows, 0u);
  EXPECT_EQ(q.periods[2].unmeasured_rows, 1u);
  EXPECT_EQ(q.periods[2].result, PeriodResult::kNotJudged);
  EXPECT_EQ(q.periods[2].note, "not measured");
  // Span: (16 + 10) / 40 = 0.65.
  EXPECT_EQ(q.figures.counts.offered, 40u);
  EXPECT_DOUBLE_EQ(*q.figures.service_level, 0.65);
  ASSERT_EQ(q.days.size(), 3u);
  EXPECT_EQ(q.days[0].date, "2026-11-02");
  EXPECT_DOUBLE_EQ(*q.days[0].service_level, 0.80);
  EXPECT_DOUBLE_EQ(*q.days[1].service_level, 0.50);
  EXPECT_EQ(q.days[2].service_level, std::nullopt);
  EXPECT_EQ(q.periods_met, 1u);
  EXPECT_EQ(q.periods_missed, 1u);
  EXPECT_EQ(q.periods_not_judged, 1u);
}

TEST(BuildStatement, MeasuredHoursReadInLocalTimeOnTheAutumnNight) {
  // Europe/London, Sunday 2026-10-25, measured 01:00-02:00 local only: both 01:30 rows (BST at
  // 00:30 UTC, GMT at 01:30 UTC) are measured; 00:30 BST (23:30 UTC the day before) is not.
  StatementTerms t = Terms(Period::kDay, "Europe/London");
  t.all_hours = false;
  t.measured_hours[0] = {{60, 120}};
  StatementInput in = Input("2026-10-25", "2026-10-25", t);
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 24, 23, 30), 10, 0));
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 25, 0, 30), 10, 9));
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 25, 1, 30), 10, 7));
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 1u);
  EXPECT_EQ(q.periods[0].rows, 2u);
  EXPECT_EQ(q.periods[0].unmeasured_rows, 1u);
  EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, 0.80);  // (9 + 7) / 20
}

TEST(BuildStatement, LondonDstDaysAre25And23Hours) {
  StatementInput in = Input("2026-10-24", "2026-10-26", Terms(Period::kDay, "Europe/London"));
  // Clocks go back at 02:00 BST = 01:00 UTC on Sunday 25 October 2026.
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 24, 22, 30), 10, 10));  // 23:30 BST, 24th
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 24, 23, 30), 10, 10));  // 00:30 BST, 25th
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 25, 0, 30), 10, 6));    // 01:30 BST
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 25, 1, 30), 10, 6));    // 01:30 GMT
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 25, 23, 30), 10, 10));  // 23:30 GMT, 25th
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 26, 0, 0), 10, 10));    // 00:00 GMT, 26th
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 23, 22, 30), 10, 0));   // 23:30 BST 23rd: out
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 27, 0, 0), 10, 0));     // 27th: out
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 3u);
  // 24th: 00:00 BST = 23:00 UTC on the 23rd, to 23:00 UTC on the 24th (24 h).
  EXPECT_EQ(q.periods[0].label, "2026-10-24");
  EXPECT_EQ(q.periods[0].start_ms, Utc(2026, 10, 23, 23, 0));
  EXPECT_EQ(q.periods[0].end_ms - q.periods[0].start_ms, 24 * kHourMs);
  EXPECT_EQ(q.periods[0].rows, 1u);
  // 25th: 23:00 UTC on the 24th to 00:00 UTC (= 00:00 GMT) on the 26th: 25 h and 4 rows.
  EXPECT_EQ(q.periods[1].label, "2026-10-25");
  EXPECT_EQ(q.periods[1].start_ms, Utc(2026, 10, 24, 23, 0));
  EXPECT_EQ(q.periods[1].end_ms, Utc(2026, 10, 26, 0, 0));
  EXPECT_EQ(q.periods[1].end_ms - q.periods[1].start_ms, 25 * kHourMs);
  EXPECT_EQ(q.periods[1].rows, 4u);
  EXPECT_EQ(q.periods[1].figures.counts.offered, 40u);
  EXPECT_DOUBLE_EQ(*q.periods[1].figures.service_level, 0.80);  // (10 + 6 + 6 + 10) / 40
  EXPECT_EQ(q.periods[2].label, "2026-10-26");
  EXPECT_EQ(q.periods[2].rows, 1u);
  EXPECT_EQ(q.figures.counts.offered, 60u);  // the two rows outside the span are ignored
  ASSERT_EQ(q.days.size(), 3u);
  EXPECT_DOUBLE_EQ(*q.days[1].service_level, 0.80);

  // Spring: clocks go forward at 01:00 GMT on Sunday 29 March 2026; the day runs from 00:00 UTC
  // to 00:00 BST on the 30th = 23:00 UTC on the 29th (23 h).
  StatementInput spring = Input("2026-03-29", "2026-03-29", Terms(Period::kDay, "Europe/London"));
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 29, 0, 30), 10, 10));  // 00:30 GMT
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 29, 22, 30), 10, 6));  // 23:30 BST
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 29, 23, 30), 10, 0));  // 00:30 BST 30th
  const StatementQueue sq = Build(spring).queues.at(0);
  ASSERT_EQ(sq.periods.size(), 1u);
  EXPECT_EQ(sq.periods[0].start_ms, Utc(2026, 3, 29, 0, 0));
  EXPECT_EQ(sq.periods[0].end_ms - sq.periods[0].start_ms, 23 * kHourMs);
  EXPECT_EQ(sq.periods[0].rows, 2u);
  EXPECT_DOUBLE_EQ(*sq.periods[0].figures.service_level, 0.80);  // (10 + 6) / 20
}

TEST(BuildStatement, NewYorkDstDaysAndRepeatedIntervalLabels) {
  // Clocks go back at 02:00 EDT = 06:00 UTC on Sunday 1 November 2026.
  StatementInput in = Input("2026-10-31", "2026-11-01", Terms(Period::kDay, "America/New_York"));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 3, 30), 10, 10));  // 23:30 EDT, 31st
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 4, 30), 10, 10));  // 00:30 EDT, 1st
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 5, 30), 10, 4));   // 01:30 EDT
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 6, 30), 10, 4));   // 01:30 EST
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 4, 30), 10, 10));  // 23:30 EST, 1st
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 2u);
  EXPECT_EQ(q.periods[0].label, "2026-10-31");
  EXPECT_EQ(q.periods[0].rows, 1u);
  // 1st: 00:00 EDT = 04:00 UTC to 00:00 EST on the 2nd = 05:00 UTC (25 h).
  EXPECT_EQ(q.periods[1].label, "2026-11-01");
  EXPECT_EQ(q.periods[1].start_ms, Utc(2026, 11, 1, 4, 0));
  EXPECT_EQ(q.periods[1].end_ms, Utc(2026, 11, 2, 5, 0));
  EXPECT_EQ(q.periods[1].rows, 4u);
  EXPECT_DOUBLE_EQ(*q.periods[1].figures.service_level, 0.70);  // (10 + 4 + 4 + 10) / 40
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMissed);

  // Interval periods: the two 01:30 rows are two periods, told apart by their offset.
  StatementInput iv = in;
  iv.queues[0].terms.period = Period::kInterval;
  const StatementQueue iq = Build(iv).queues.at(0);
  ASSERT_EQ(iq.periods.size(), 5u);
  EXPECT_EQ(iq.periods[0].label, "2026-10-31 23:30-04:00");
  EXPECT_EQ(iq.periods[1].label, "2026-11-01 00:30-04:00");
  EXPECT_EQ(iq.periods[2].label, "2026-11-01 01:30-04:00");
  EXPECT_EQ(iq.periods[2].start_ms, Utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(iq.periods[3].label, "2026-11-01 01:30-05:00");
  EXPECT_EQ(iq.periods[3].start_ms, Utc(2026, 11, 1, 6, 30));
  EXPECT_EQ(iq.periods[4].label, "2026-11-01 23:30-05:00");
  ASSERT_EQ(iq.days.size(), 2u);
  EXPECT_DOUBLE_EQ(*iq.days[1].service_level, 0.70);

  // Spring: clocks go forward at 02:00 EST = 07:00 UTC on Sunday 8 March 2026; the day runs
  // from 05:00 UTC to 00:00 EDT on the 9th = 04:00 UTC (23 h).
  StatementInput spring =
      Input("2026-03-08", "2026-03-08", Terms(Period::kDay, "America/New_York"));
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 8, 4, 30), 10, 0));  // 23:30 EST 7th
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 8, 5, 30), 10, 9));  // 00:30 EST
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 9, 3, 30), 10, 9));  // 23:30 EDT
  spring.rows.push_back(Row("a", "sales", Utc(2026, 3, 9, 4, 30), 10, 0));  // 00:30 EDT 9th
  const StatementQueue sq = Build(spring).queues.at(0);
  ASSERT_EQ(sq.periods.size(), 1u);
  EXPECT_EQ(sq.periods[0].start_ms, Utc(2026, 3, 8, 5, 0));
  EXPECT_EQ(sq.periods[0].end_ms - sq.periods[0].start_ms, 23 * kHourMs);
  EXPECT_EQ(sq.periods[0].rows, 2u);
  EXPECT_DOUBLE_EQ(*sq.periods[0].figures.service_level, 0.90);  // 18 / 20
}

TEST(BuildStatement, MinimumVolumeNotJudged) {
  StatementTerms t = Terms(Period::kDay);
  t.min_volume = 20;
  t.min_volume_policy = MinVolumePolicy::kNotJudged;
  StatementInput in = Input("2026-11-02", "2026-11-03", t);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 10, 5));   // 10 < 20
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 0), 30, 27));  // 27 / 30 = 0.90
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 2u);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kNotJudged);
  EXPECT_EQ(q.periods[0].note, "10 offered below minimum 20");
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods_not_judged, 1u);
  EXPECT_EQ(q.periods_met, 1u);
  // Span: 40 offered >= 20, (5 + 27) / 40 = 0.80: met.
  EXPECT_EQ(q.result, PeriodResult::kMet);

  // The whole span below the minimum is not judged either, and earns no credit.
  StatementTerms few = t;
  few.min_volume = 50;
  few.credits = {{1, 10}};
  StatementInput small = in;
  small.queues[0].terms = few;
  small.rows[1].counts.answered_in_threshold = 0;  // span SL 5 / 40, far below target
  const StatementQueue sq = Build(small).queues.at(0);
  EXPECT_EQ(sq.result, PeriodResult::kNotJudged);
  EXPECT_EQ(sq.periods_not_judged, 2u);
  EXPECT_DOUBLE_EQ(sq.shortfall, 0);
  EXPECT_DOUBLE_EQ(sq.service_credit_percent, 0);
}

TEST(BuildStatement, MinimumVolumePooled) {
  StatementTerms t = Terms(Period::kDay);
  t.min_volume = 20;
  t.min_volume_policy = MinVolumePolicy::kPool;
  StatementInput in = Input("2026-11-02", "2026-11-06", t);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 8, 8));  // 8 < 20: opens a pool
  // 3 November: no rows, neither joins nor closes the pool.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 4, 10, 0), 7, 3));   // pool 15
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 5, 10, 0), 10, 5));  // pool 25 >= 20
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 6, 10, 0), 5, 5));   // new pool, ends short
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 5u);
  // Pool of 2, 4 and 5 November: (8 + 3 + 5) / 25 = 0.64 < 0.80: missed, for every member.
  for (int i : {0, 2, 3}) {
    EXPECT_EQ(q.periods[i].result, PeriodResult::kMissed) << i;
    EXPECT_EQ(q.periods[i].note, "pooled with 3 periods from 2026-11-02") << i;
    EXPECT_DOUBLE_EQ(q.periods[i].target, 0.80);
  }
  // Each member keeps its own figures: 8 / 8 on the 2nd.
  EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, 1.0);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kNotJudged);
  EXPECT_EQ(q.periods[1].note, "no calls");
  EXPECT_EQ(q.periods[4].result, PeriodResult::kNotJudged);
  EXPECT_EQ(q.periods[4].note, "pool below minimum");
  EXPECT_EQ(q.periods_missed, 3u);
  EXPECT_EQ(q.periods_not_judged, 2u);
  EXPECT_EQ(q.periods_met, 0u);
  // Span: 30 offered, 21 in threshold = 0.70, judged although a pool stayed short.
  EXPECT_EQ(q.result, PeriodResult::kMissed);
  EXPECT_DOUBLE_EQ(*q.figures.service_level, 0.70);

  // A pool reaching exactly the minimum closes: 8 + 12 = 20 offered, all 20 in threshold (1.0).
  StatementInput good = Input("2026-11-02", "2026-11-03", t);
  good.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 8, 8));
  good.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 0), 12, 12));
  const StatementQueue gq = Build(good).queues.at(0);
  EXPECT_EQ(gq.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(gq.periods[1].result, PeriodResult::kMet);
  EXPECT_EQ(gq.periods[1].note, "pooled with 2 periods from 2026-11-02");
}

// One queue, one row of 100 calls, `in_threshold` of them in threshold: SL = in_threshold %.
StatementQueue MonthWithSl(const StatementTerms& t, std::uint64_t in_threshold) {
  StatementInput in = Input("2026-11-01", "2026-11-30", t);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 100, in_threshold));
  return Build(in).queues.at(0);
}

TEST(BuildStatement, CreditTiersOnMonthShortfall) {
  StatementTerms t = Terms(Period::kMonth);
  t.credits = {{5, 10}, {2, 5}, {10, 20}};  // any order
  t.credit_cap_percent = 15;
  // 0.80 target met: no shortfall, no credit.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 80).service_credit_percent, 0);
  // 0.79: 1 point short, below the lowest tier (2): no credit.
  StatementQueue q = MonthWithSl(t, 79);
  EXPECT_NEAR(q.shortfall, 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(q.service_credit_percent, 0);
  // 0.77: 3 points reach the 2-point tier only: 5 %.
  q = MonthWithSl(t, 77);
  EXPECT_NEAR(q.shortfall, 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(q.service_credit_percent, 5);
  // 0.74: 6 points reach the 2- and 5-point tiers; the highest pays 10 %.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 74).service_credit_percent, 10);
  // 0.75: exactly 5 points (0.80 - 0.75 in binary is not exactly 0.05) still reaches 5: 10 %.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 75).service_credit_percent, 10);
  // 0.60: 20 points reach the 10-point tier, 20 %, capped at 15 %.
  q = MonthWithSl(t, 60);
  EXPECT_NEAR(q.shortfall, 20.0, 1e-9);
  EXPECT_DOUBLE_EQ(q.service_credit_percent, 15);
  EXPECT_DOUBLE_EQ(q.incentive_percent, 0);
}

TEST(BuildStatement, StatementCreditIsTheSumCappedByTheFirstQueue) {
  StatementTerms t = Terms(Period::kMonth);
  t.credits = {{2, 10}};
  t.credit_cap_percent = 15;
  StatementInput in = Input("2026-11-01", "2026-11-30", t, "sales");
  QueueTerms support;
  support.queue = "support";
  support.terms = t;
  support.terms.credit_cap_percent = 100;  // only the first queue's cap binds the statement
  in.queues.push_back(support);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 100, 70));    // 10 points: 10 %
  in.rows.push_back(Row("a", "support", Utc(2026, 11, 2, 10, 0), 100, 75));  // 5 points: 10 %
  const Statement s = Build(in);
  ASSERT_EQ(s.queues.size(), 2u);
  EXPECT_DOUBLE_EQ(s.queues[0].service_credit_percent, 10);
  EXPECT_DOUBLE_EQ(s.queues[1].service_credit_percent, 10);
  EXPECT_DOUBLE_EQ(s.service_credit_percent, 15);  // 10 + 10 = 20, capped at 15
}

TEST(BuildStatement, IncentiveTiers) {
  StatementTerms t = Terms(Period::kMonth);
  t.incentives = {{10, 4}, {5, 2}};
  t.incentive_cap_percent = 3;
  // 0.82: 2 points above target, below the 5-point tier.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 82).incentive_percent, 0);
  // 0.85: exactly 5 points (4.999999999999993 in binary) reach the 5-point tier: 2 %.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 85).incentive_percent, 2);
  // 0.86: 6 points: 2 %.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 86).incentive_percent, 2);
  // 0.95: 15 points reach the 10-point tier, 4 %, capped at 3 %.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 95).incentive_percent, 3);
  // Missed: no incentive.
  EXPECT_DOUBLE_EQ(MonthWithSl(t, 70).incentive_percent, 0);

  // The statement sums incentives under the first queue's cap.
  StatementInput in = Input("2026-11-01", "2026-11-30", t, "sales");
  QueueTerms support{"support", Contract{}, t};
  in.queues.push_back(support);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 100, 86));    // 2 %
  in.rows.push_back(Row("a", "support", Utc(2026, 11, 2, 10, 0), 100, 86));  // 2 %
  EXPECT_DOUBLE_EQ(Build(in).incentive_percent, 3);  // 2 + 2 = 4, capped at 3
}

TEST(BuildStatement, MissedPeriodsBasis) {
  StatementTerms t = Terms(Period::kDay);
  t.credit_basis = CreditBasis::kMissedPeriods;
  t.credits = {{20, 5}, {30, 8}};
  t.incentives = {{5, 2}};
  StatementInput in = Input("2026-11-02", "2026-11-06", t);
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 100, 100));  // met
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 0), 100, 100));  // met
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 4, 10, 0), 100, 100));  // met
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 5, 10, 0), 100, 50));   // missed
  // 6 November: no calls, not judged, not in the denominator.
  const StatementQueue q = Build(in).queues.at(0);
  EXPECT_EQ(q.periods_met, 3u);
  EXPECT_EQ(q.periods_missed, 1u);
  EXPECT_EQ(q.periods_not_judged, 1u);
  // 100 x 1 / (3 + 1) = 25 % of periods missed: reaches the 20 tier only: 5 %.
  EXPECT_DOUBLE_EQ(q.shortfall, 25);
  EXPECT_DOUBLE_EQ(q.service_credit_percent, 5);
  // The span is met (350 / 400 = 0.875, 7.5 points above target, past the 5-point incentive
  // tier), but a queue with a credit earns no incentive.
  EXPECT_EQ(q.result, PeriodResult::kMet);
  EXPECT_DOUBLE_EQ(q.incentive_percent, 0);

  // Nothing judged: no shortfall.
  StatementInput none = Input("2026-11-02", "2026-11-03", t);
  const StatementQueue nq = Build(none).queues.at(0);
  EXPECT_DOUBLE_EQ(nq.shortfall, 0);
  EXPECT_DOUBLE_EQ(nq.service_credit_percent, 0);
}

Exclusion MakeExclusion(std::int64_t id, Exclusion::State state, std::int64_t from_ms,
                        std::int64_t to_ms) {
  Exclusion e;
  e.id = id;
  e.client = "acme";
  e.alert = "SiteDark";
  e.reason = "generator failure";
  e.state = state;
  e.from_ms = from_ms;
  e.to_ms = to_ms;
  return e;
}

TEST(BuildStatement, AcceptedForceMajeureRemovesOneSitesRows) {
  StatementInput in = Input("2026-11-02", "2026-11-02", Terms(Period::kInterval));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 10, 0));   // excluded
  in.rows.push_back(Row("b", "sales", Utc(2026, 11, 2, 10, 0), 10, 10));  // other site stays
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 30), 10, 0));  // excluded
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 11, 0), 10, 8));
  in.rows.push_back(Row("b", "sales", Utc(2026, 11, 2, 11, 0), 10, 8));
  // Site a, 10:15 to 11:00: overlaps [10:00, 10:30) and [10:30, 11:00), not [11:00, 11:30).
  Exclusion site_dark = MakeExclusion(7, Exclusion::State::kAccepted, Utc(2026, 11, 2, 10, 15),
                                      Utc(2026, 11, 2, 11, 0));
  site_dark.site = "a";
  // Accepted but for another queue: no effect on sales, still listed.
  Exclusion other_queue = MakeExclusion(8, Exclusion::State::kAccepted, Utc(2026, 11, 2, 11, 0),
                                        Utc(2026, 11, 2, 12, 0));
  other_queue.queue = "support";
  // Every site and queue, but only proposed or rejected: listed, no effect.
  const Exclusion proposed = MakeExclusion(9, Exclusion::State::kProposed, Utc(2026, 11, 2, 9, 0),
                                           Utc(2026, 11, 2, 12, 0));
  const Exclusion rejected = MakeExclusion(10, Exclusion::State::kRejected, Utc(2026, 11, 2, 8, 0),
                                           Utc(2026, 11, 2, 12, 0));
  // Another client's accepted exclusion: neither applied nor listed.
  Exclusion other_client = MakeExclusion(11, Exclusion::State::kAccepted, Utc(2026, 11, 2, 0, 0),
                                         Utc(2026, 11, 3, 0, 0));
  other_client.client = "globex";
  // Outside the span: not listed.
  const Exclusion earlier = MakeExclusion(12, Exclusion::State::kAccepted, Utc(2026, 11, 1, 0, 0),
                                          Utc(2026, 11, 2, 0, 0));
  in.exclusions = {other_queue, site_dark, proposed, rejected, other_client, earlier};

  const Statement s = Build(in);
  const StatementQueue& q = s.queues.at(0);
  ASSERT_EQ(q.periods.size(), 3u);
  // 10:00: b's 10 of 10 remain: SL 1.0, met.
  EXPECT_EQ(q.periods[0].rows, 1u);
  EXPECT_EQ(q.periods[0].excluded_rows, 1u);
  EXPECT_EQ(q.periods[0].figures.counts.offered, 10u);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  // 10:30: all rows excluded.
  EXPECT_EQ(q.periods[1].rows, 0u);
  EXPECT_EQ(q.periods[1].excluded_rows, 1u);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kExcluded);
  EXPECT_EQ(q.periods[1].note, "force majeure SiteDark: generator failure");
  // 11:00: both sites, 16 / 20 = 0.80, met.
  EXPECT_EQ(q.periods[2].rows, 2u);
  EXPECT_EQ(q.periods[2].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods_excluded, 1u);
  EXPECT_EQ(q.periods_met, 2u);
  // Span: 30 offered, 26 in threshold.
  EXPECT_EQ(q.figures.counts.offered, 30u);
  EXPECT_EQ(q.figures.counts.answered_in_threshold, 26u);
  ASSERT_EQ(q.sites.size(), 2u);
  EXPECT_EQ(q.sites[0].figures.counts.offered, 10u);  // a: 11:00 only
  EXPECT_EQ(q.sites[1].figures.counts.offered, 20u);  // b: 10:00 and 11:00
  // Listed by from_ms: rejected 08:00, proposed 09:00, site_dark 10:15, other_queue 11:00.
  ASSERT_EQ(s.exclusions.size(), 4u);
  EXPECT_EQ(s.exclusions[0].id, 10);
  EXPECT_EQ(s.exclusions[1].id, 9);
  EXPECT_EQ(s.exclusions[2].id, 7);
  EXPECT_EQ(s.exclusions[3].id, 8);
}

TEST(BuildStatement, VolumeAboveForecastExcluded) {
  StatementTerms t = Terms(Period::kInterval);
  t.forecast_tolerance = 0.25;  // exact in binary, so 100 x 1.25 is exactly 125
  t.over_forecast = OverForecastPolicy::kExclude;
  StatementInput in = Input("2026-11-02", "2026-11-02", t);
  // 10:00: 70 + 60 = 130 across sites > 100 x 1.25 = 125: both rows excluded.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 70, 0));
  in.rows.push_back(Row("b", "sales", Utc(2026, 11, 2, 10, 0), 60, 0));
  // 10:30: 60 + 65 = 125, not above 125: judged, (50 + 50) / 125 = 0.80, met.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 30), 60, 50));
  in.rows.push_back(Row("b", "sales", Utc(2026, 11, 2, 10, 30), 65, 50));
  // 11:00: no forecast: judged whatever the volume, 140 / 200 = 0.70, missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 11, 0), 200, 140));
  in.forecast = {{"sales", Utc(2026, 11, 2, 10, 0), 100},
                 {"sales", Utc(2026, 11, 2, 10, 30), 100},
                 {"support", Utc(2026, 11, 2, 11, 0), 1}};  // another queue's forecast
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 3u);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kExcluded);
  EXPECT_EQ(q.periods[0].excluded_rows, 2u);
  EXPECT_EQ(q.periods[0].note, "offered 130 above forecast 100");
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[1].rows, 2u);
  EXPECT_EQ(q.periods[2].result, PeriodResult::kMissed);
  EXPECT_EQ(q.figures.counts.offered, 325u);  // 125 + 200: the excluded 130 are gone
}

TEST(BuildStatement, VolumeAboveForecastRelaxedPerInterval) {
  StatementTerms t = Terms(Period::kInterval);
  t.forecast_tolerance = 0.10;
  t.over_forecast = OverForecastPolicy::kRelaxed;
  t.relaxed_sl_target = 0.60;
  StatementInput in = Input("2026-11-02", "2026-11-02", t);
  // 10:00: 120 > 110: judged at 0.60; 84 / 120 = 0.70: met.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 120, 84));
  // 10:30: 100, on forecast: judged at 0.80; 70 / 100 = 0.70: missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 30), 100, 70));
  in.forecast = {{"sales", Utc(2026, 11, 2, 10, 0), 100}, {"sales", Utc(2026, 11, 2, 10, 30), 100}};
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 2u);
  EXPECT_DOUBLE_EQ(q.periods[0].target, 0.60);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[0].note, "offered 120 above forecast 100, target relaxed to 0.6");
  EXPECT_DOUBLE_EQ(q.periods[1].target, 0.80);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMissed);
  EXPECT_EQ(q.periods[1].note, "");
  // Relaxed is not excluded: every call counts in the span, 154 / 220 = 0.70 against 0.80.
  EXPECT_EQ(q.figures.counts.offered, 220u);
  EXPECT_EQ(q.result, PeriodResult::kMissed);
}

// A day is judged at the relaxed target when the calls of its intervals that have a forecast
// line exceed their summed forecasts x (1 + tolerance): calls in intervals without a line are
// not compared, and a forecast interval without calls adds its forecast against nothing.
TEST(BuildStatement, VolumeAboveForecastRelaxedPerDay) {
  StatementTerms t = Terms(Period::kDay);
  t.forecast_tolerance = 0.10;
  t.over_forecast = OverForecastPolicy::kRelaxed;
  t.relaxed_sl_target = 0.60;
  StatementInput in = Input("2026-11-02", "2026-11-05", t);
  // 2nd: 60 + 70 = 130 offered in the forecast intervals against (50 + 60) x 1.1 = 121:
  // relaxed; the day's 160 calls (11:00 has no line) are judged, 112 / 160 = 0.70 >= 0.60: met.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 60, 42));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 30), 70, 49));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 11, 0), 30, 21));
  // 3rd: 50 + 100 = 150 against (100 + 40) x 1.1 = 154: not relaxed although 10:30 alone is
  // far over its forecast; 105 / 150 = 0.70 < 0.80: missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 0), 50, 35));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 30), 100, 70));
  // 3rd, 11:00: 100 calls and no forecast line: not compared (it would make 250 > 154).
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 11, 0), 100, 70));
  // 4th: no forecast at all: not relaxed; 140 / 200 = 0.70: missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 4, 10, 0), 200, 140));
  // 5th: 100 calls at 10:00 and none at 10:30 or 11:00, each forecast 50: 100 against
  // 150 x 1.1 = 165, on forecast; 70 / 100 = 0.70: missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 5, 10, 0), 100, 70));
  in.forecast = {{"sales", Utc(2026, 11, 2, 10, 0), 50},  {"sales", Utc(2026, 11, 2, 10, 30), 60},
                 {"sales", Utc(2026, 11, 3, 10, 0), 100}, {"sales", Utc(2026, 11, 3, 10, 30), 40},
                 {"sales", Utc(2026, 11, 5, 10, 0), 50},  {"sales", Utc(2026, 11, 5, 10, 30), 50},
                 {"sales", Utc(2026, 11, 5, 11, 0), 50}};
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 4u);
  EXPECT_DOUBLE_EQ(q.periods[0].target, 0.60);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[0].note, "offered 130 above forecast 110, target relaxed to 0.6");
  EXPECT_DOUBLE_EQ(q.periods[1].target, 0.80);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMissed);
  EXPECT_DOUBLE_EQ(q.periods[2].target, 0.80);
  EXPECT_EQ(q.periods[2].result, PeriodResult::kMissed);
  EXPECT_DOUBLE_EQ(q.periods[3].target, 0.80);
  EXPECT_EQ(q.periods[3].result, PeriodResult::kMissed);
}

TEST(BuildStatement, WeekAndMonthLabelsAcrossYearEnds) {
  // Wed 2025-12-24 .. Tue 2026-01-06. 2026-01-01 is a Thursday, so Mon 2025-12-29 starts
  // 2026-W01; the span's first five days are 2025-W52 and its last two 2026-W02. Both are
  // partial, so both join 2026-W01, the only full week: one period of 5 + 7 + 2 = 14 days.
  StatementInput in = Input("2025-12-24", "2026-01-06", Terms(Period::kWeek));
  in.rows.push_back(Row("a", "sales", Utc(2025, 12, 31, 10, 0), 10, 9));
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 1u);
  EXPECT_EQ(q.periods[0].label, "2026-W01 +7 days");  // 5 + 2 days merged in
  EXPECT_EQ(q.periods[0].start_ms, Utc(2025, 12, 24, 0, 0));
  EXPECT_EQ(q.periods[0].end_ms, Utc(2026, 1, 7, 0, 0));
  EXPECT_EQ(q.periods[0].rows, 1u);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);  // 9 / 10
  EXPECT_EQ(q.days.size(), 14u);

  // Mon 2025-12-22 .. Tue 2026-01-06: 2025-W52 (22-28 December) and 2026-W01 are full; the
  // two days of 2026-W02 join 2026-W01, which then runs 29 December .. 6 January.
  const StatementQueue qf =
      Build(Input("2025-12-22", "2026-01-06", Terms(Period::kWeek))).queues.at(0);
  ASSERT_EQ(qf.periods.size(), 2u);
  EXPECT_EQ(qf.periods[0].label, "2025-W52");
  EXPECT_EQ(qf.periods[0].start_ms, Utc(2025, 12, 22, 0, 0));
  EXPECT_EQ(qf.periods[0].end_ms, Utc(2025, 12, 29, 0, 0));
  EXPECT_EQ(qf.periods[1].label, "2026-W01 +2 days");
  EXPECT_EQ(qf.periods[1].start_ms, Utc(2025, 12, 29, 0, 0));
  EXPECT_EQ(qf.periods[1].end_ms, Utc(2026, 1, 7, 0, 0));
  EXPECT_EQ(qf.periods[1].result, PeriodResult::kNotJudged);
  EXPECT_EQ(qf.periods[1].note, "no calls");

  // 2026 has 53 ISO weeks: Mon 2026-12-28 .. Sun 2027-01-03 (Thursday 31 December) is
  // 2026-W53, and Mon 2027-01-04 starts 2027-W01 (2027-01-01 is a Friday, so its first
  // Thursday is the 7th).
  const StatementQueue q53 =
      Build(Input("2026-12-28", "2027-01-10", Terms(Period::kWeek))).queues.at(0);
  ASSERT_EQ(q53.periods.size(), 2u);
  EXPECT_EQ(q53.periods[0].label, "2026-W53");
  EXPECT_EQ(q53.periods[1].label, "2027-W01");
  EXPECT_EQ(q53.periods[1].start_ms, Utc(2027, 1, 4, 0, 0));

  // Wed 2026-12-30 .. Mon 2027-01-04: 5 days of 2026-W53 and 1 of 2027-W01, no full week, so
  // one period named after the week holding more of its days.
  const StatementQueue q6 =
      Build(Input("2026-12-30", "2027-01-04", Terms(Period::kWeek))).queues.at(0);
  ASSERT_EQ(q6.periods.size(), 1u);
  EXPECT_EQ(q6.periods[0].label, "2026-W53 +1 day");
  EXPECT_EQ(q6.periods[0].start_ms, Utc(2026, 12, 30, 0, 0));
  EXPECT_EQ(q6.periods[0].end_ms, Utc(2027, 1, 5, 0, 0));

  const StatementQueue qm =
      Build(Input("2025-12-30", "2026-01-02", Terms(Period::kMonth))).queues.at(0);
  ASSERT_EQ(qm.periods.size(), 2u);
  EXPECT_EQ(qm.periods[0].label, "2025-12");
  EXPECT_EQ(qm.periods[0].end_ms, Utc(2026, 1, 1, 0, 0));
  EXPECT_EQ(qm.periods[1].label, "2026-01");
}

TEST(BuildStatement, PerSiteBreakdownAndAmendedRows) {
  StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kMonth));
  in.rows.push_back(Row("zeta", "sales", Utc(2026, 11, 2, 10, 0), 10, 9));
  in.rows.push_back(Row("alpha", "sales", Utc(2026, 11, 2, 10, 0), 20, 10));
  in.rows.push_back(Row("mid", "sales", Utc(2026, 11, 2, 10, 0), 30, 30));
  in.rows.push_back(Row("alpha", "sales", Utc(2026, 11, 3, 10, 0), 20, 20));
  in.rows.back().revision = 3;
  in.rows.push_back(Row("zeta", "sales", Utc(2026, 11, 3, 10, 0), 10, 5));
  in.rows.back().revision = 2;
  // A site whose only row is excluded by force majeure has no included figures to list.
  in.rows.push_back(Row("omega", "sales", Utc(2026, 11, 4, 10, 0), 10, 0));
  Exclusion dark =
      MakeExclusion(1, Exclusion::State::kAccepted, Utc(2026, 11, 4, 0, 0), Utc(2026, 11, 5, 0, 0));
  dark.site = "omega";
  in.exclusions.push_back(dark);
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.sites.size(), 3u);
  EXPECT_EQ(q.sites[0].site, "alpha");
  EXPECT_EQ(q.sites[0].figures.counts.offered, 40u);
  EXPECT_DOUBLE_EQ(*q.sites[0].figures.service_level, 0.75);  // (10 + 20) / 40
  EXPECT_EQ(q.sites[1].site, "mid");
  EXPECT_DOUBLE_EQ(*q.sites[1].figures.service_level, 1.0);  // 30 / 30
  EXPECT_EQ(q.sites[2].site, "zeta");
  EXPECT_DOUBLE_EQ(*q.sites[2].figures.service_level, 0.70);  // (9 + 5) / 20
  // Queue: (30 + 30 + 14) / (40 + 30 + 20) = 74 / 90, from summed counts.
  EXPECT_DOUBLE_EQ(*q.figures.service_level, 74.0 / 90.0);
  ASSERT_EQ(q.periods.size(), 1u);
  EXPECT_EQ(q.periods[0].rows, 5u);
  EXPECT_EQ(q.periods[0].excluded_rows, 1u);
  EXPECT_EQ(q.periods[0].amended_rows, 2u);
}

TEST(BuildStatement, EveryFormulaTakesTheMonthSlFromSummedCounts) {
  LedgerRow r1 = Row("a", "sales", Utc(2026, 11, 2, 10, 0), 50, 30);
  r1.counts.answered = 40;
  r1.counts.abandoned = 8;
  r1.counts.abandoned_in_threshold = 3;
  r1.counts.short_abandoned = 2;
  r1.counts.unanswered[1] = 2;
  r1.counts.answered_wait_ms = 400'000;
  LedgerRow r2 = Row("b", "sales", Utc(2026, 11, 20, 15, 30), 50, 35);
  r2.counts.answered = 45;
  r2.counts.abandoned = 4;
  r2.counts.abandoned_in_threshold = 1;
  r2.counts.short_abandoned = 1;
  r2.counts.unanswered[1] = 1;
  r2.counts.answered_wait_ms = 450'000;
  // Sums: offered 100, answered 85, in threshold 65, abandoned 12 (4 within T, 3 short),
  // unanswered 3, answered wait 850 s.
  struct Case {
    SlFormula formula;
    double sl;
  };
  const Case cases[] = {
      {SlFormula::kStandard, 65.0 / 97.0},               // 65 / (85 + 12 + 3 - 3)
      {SlFormula::kAnsweredOnly, 65.0 / 85.0},           // 65 / 85
      {SlFormula::kRemovedWithin, 69.0 / 97.0},          // (65 + 4) / (85 + 12)
      {SlFormula::kIgnoreAbandonedWithin, 65.0 / 93.0},  // 65 / (85 + 12 - 4)
      {SlFormula::kOverOffered, 0.65},                   // 65 / 100
  };
  for (const Case& c : cases) {
    StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kMonth));
    in.queues[0].contract.sl_formula = c.formula;
    in.rows = {r1, r2};
    for (LedgerRow& r : in.rows) r.contract.sl_formula = c.formula;  // the rows' own terms
    const StatementQueue q = Build(in).queues.at(0);
    ASSERT_EQ(q.periods.size(), 1u);
    EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, c.sl) << ToString(c.formula);
    EXPECT_DOUBLE_EQ(*q.figures.service_level, c.sl) << ToString(c.formula);
    EXPECT_DOUBLE_EQ(*q.figures.abandon_rate, 9.0 / 97.0);  // (12 - 3) / (100 - 3)
    EXPECT_DOUBLE_EQ(*q.figures.asa_s, 10.0);               // 850 s / 85
    // Every formula gives less than 0.80 here, so each month is missed.
    EXPECT_EQ(q.result, PeriodResult::kMissed) << ToString(c.formula);
  }
}

// Rows keep the terms they were counted under: October's statement rebuilt after the target
// went from 80% to 85% is judged at 80% as issued, although the configuration now says 85%;
// a period is judged by the terms most of its rows carry, and says so when they differ (as the
// last rows of a month do, closed after midnight under the new terms); so is the span.
TEST(BuildStatement, RowsAreJudgedByTheTermsMostOfThemWereCountedUnder) {
  StatementInput in = Input("2026-10-30", "2026-10-31", Terms(Period::kDay));
  in.queues[0].contract.sl_target = 0.85;  // today's configuration
  // 30th, under 80%: (82 + 85) / 200 = 0.835, met (missed at 85%).
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 30, 10, 0), 100, 82));
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 30, 10, 30), 100, 85));
  // 31st: 10:00 under 80%, 10:30 and 11:00 under 90% with the answered-only formula: the day
  // is judged at 90% by that formula, (40 + 41 + 40) / (50 + 45 + 45) = 0.8643, missed.
  in.rows.push_back(Row("a", "sales", Utc(2026, 10, 31, 10, 0), 50, 40));
  for (const auto& [minute, in_threshold] : {std::pair{30, 41}, std::pair{60, 40}}) {
    LedgerRow r = Row("a", "sales", Utc(2026, 10, 31, 10, 0) + minute * 60'000, 50, in_threshold);
    r.counts.answered = 45;
    r.counts.abandoned = 5;
    r.contract.sl_target = 0.90;
    r.contract.sl_formula = SlFormula::kAnsweredOnly;
    in.rows.push_back(r);
  }
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 2u);
  EXPECT_DOUBLE_EQ(q.periods[0].target, 0.80);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[0].note, "");
  EXPECT_DOUBLE_EQ(q.periods[1].target, 0.90);
  EXPECT_DOUBLE_EQ(*q.periods[1].figures.service_level, 121.0 / 140.0);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMissed);
  EXPECT_EQ(q.periods[1].note,
            "SL terms changed within the period: judged by those of most of its calls");
  // The span: three rows under 80% against two, by the standard formula
  // (82 + 85 + 40 + 41 + 40) / (340 answered + 10 abandoned) = 0.8229, met.
  EXPECT_DOUBLE_EQ(q.contract.sl_target, 0.80);
  EXPECT_DOUBLE_EQ(*q.figures.service_level, 288.0 / 350.0);
  EXPECT_EQ(q.result, PeriodResult::kMet);
  // Without rows, the configured terms.
  in.rows.clear();
  EXPECT_DOUBLE_EQ(Build(in).queues.at(0).contract.sl_target, 0.85);
}

// A statement is provisional while its span is not over, and lists the sites whose rows of the
// span may still change or arrive: one with a row of the span still open, and one that
// reported during the span but not to its end while cut off (not heard from since before the
// span's end) or sending a backlog. Not a site gone quiet (rows closed, connected), a live
// site whose events in flight are later than the span, an import finished after the span, nor
// one silent since before the span (gone).
TEST(BuildStatement, OpenRowsOrASiteShortOfTheEndMakeItProvisional) {
  StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kMonth));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 100, 82));
  const std::int64_t end = Utc(2026, 12, 1, 0, 0);
  in.generated_ms = end + kHourMs;
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  const std::int64_t now = in.generated_ms;
  in.sites = {{"manila-1", end - kHourMs / 2, end + kHourMs, 0, true, now},  // 23:30 open
              {"quiet-1", kNone, Utc(2026, 11, 30, 18, 0), 0, true, now},
              {"cut-1", kNone, Utc(2026, 11, 20, 2, 0), 0, false, Utc(2026, 11, 20, 2, 0)},
              {"catching-up-1", kNone, Utc(2026, 11, 25, 0, 0), 40000, true, now},
              {"live-1", kNone, end + kHourMs, 5, true, now},
              {"gone-1", kNone, Utc(2026, 10, 20, 0, 0), 7, false, Utc(2026, 10, 20, 0, 0)},
              // November's log imported with --once on 5 December, ending at 23:50
              {"imported-1", kNone, Utc(2026, 11, 30, 23, 50), 0, false, Utc(2026, 12, 5, 9, 0)}};
  Statement s = Build(in);
  EXPECT_FALSE(s.span_open);
  ASSERT_EQ(s.incomplete_sites.size(), 3u);
  EXPECT_EQ(s.incomplete_sites[0].site, "catching-up-1");
  EXPECT_EQ(s.incomplete_sites[1].site, "cut-1");
  EXPECT_EQ(s.incomplete_sites[2].site, "manila-1");
  EXPECT_EQ(s.incomplete_sites[2].first_open_row_ms, end - kHourMs / 2);
  // Made on the 10th: the month is not over, whatever the sites say.
  in.generated_ms = Utc(2026, 11, 10, 3, 10);
  in.sites = {{"quiet-1", kNone, Utc(2026, 11, 10, 2, 50), 0, true, in.generated_ms}};
  s = Build(in);
  EXPECT_TRUE(s.span_open);
  EXPECT_TRUE(s.incomplete_sites.empty());
}

TEST(BuildStatement, PartialWeeksJoinTheAdjacentWeek) {
  // November 2026 in New York. 2026-01-01 is a Thursday, so 2026-W01 starts Mon 2025-12-29;
  // Mon 2 November is 3 + 305 = 308 days = 44 weeks later: 2026-W45 starts on the 2nd. Sun 1
  // November is the last day of 2026-W44 and Mon 30 November the first of 2026-W49: each is
  // merged into its neighbour, leaving 8 + 7 + 7 + 8 = 30 days in 4 periods.
  StatementInput in = Input("2026-11-01", "2026-11-30", Terms(Period::kWeek, "America/New_York"));
  // Clocks go back at 02:00 EDT = 06:00 UTC on Sunday 1 November; EDT is UTC-4, EST UTC-5.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 3, 30), 10, 0));   // 23:30 EDT 31st: out
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 5, 30), 10, 0));   // 01:30 EDT 1st
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 6, 30), 10, 0));   // 01:30 EST 1st
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 4, 30), 10, 10));  // 23:30 EST 1st
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 15, 0), 70, 70));  // 10:00 EST 3rd
  // 2026-W46 (9-15 November) has no rows.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 17, 15, 0), 10, 10));  // W47
  in.rows.push_back(Row("a", "sales", Utc(2026, 12, 1, 4, 30), 10, 5));    // 23:30 EST 30th
  in.rows.push_back(Row("a", "sales", Utc(2026, 12, 1, 5, 0), 10, 0));     // 00:00 EST 1 Dec: out
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 4u);
  // 1 .. 8 November: 00:00 EDT = 04:00 UTC on the 1st to 00:00 EST on the 9th = 05:00 UTC;
  // 8 days and the hour repeated on the 1st: 193 h.
  EXPECT_EQ(q.periods[0].label, "2026-W45 +1 day");
  EXPECT_EQ(q.periods[0].start_ms, Utc(2026, 11, 1, 4, 0));
  EXPECT_EQ(q.periods[0].end_ms, Utc(2026, 11, 9, 5, 0));
  EXPECT_EQ(q.periods[0].end_ms - q.periods[0].start_ms, 193 * kHourMs);
  // The three rows of the 1st count here: (0 + 0 + 10 + 70) / (10 + 10 + 10 + 70) = 0.80, met.
  EXPECT_EQ(q.periods[0].rows, 4u);
  EXPECT_EQ(q.periods[0].figures.counts.offered, 100u);
  EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, 0.80);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  // Full weeks: 00:00 EST = 05:00 UTC each Monday.
  EXPECT_EQ(q.periods[1].label, "2026-W46");
  EXPECT_EQ(q.periods[1].start_ms, Utc(2026, 11, 9, 5, 0));
  EXPECT_EQ(q.periods[1].end_ms, Utc(2026, 11, 16, 5, 0));
  EXPECT_EQ(q.periods[1].result, PeriodResult::kNotJudged);  // days without rows still count
  EXPECT_EQ(q.periods[1].note, "no calls");
  EXPECT_EQ(q.periods[2].label, "2026-W47");
  EXPECT_EQ(q.periods[2].start_ms, Utc(2026, 11, 16, 5, 0));
  EXPECT_EQ(q.periods[2].end_ms, Utc(2026, 11, 23, 5, 0));
  EXPECT_EQ(q.periods[2].result, PeriodResult::kMet);
  // 23 .. 30 November: to 00:00 EST on 1 December = 05:00 UTC (8 x 24 h).
  EXPECT_EQ(q.periods[3].label, "2026-W48 +1 day");
  EXPECT_EQ(q.periods[3].start_ms, Utc(2026, 11, 23, 5, 0));
  EXPECT_EQ(q.periods[3].end_ms, Utc(2026, 12, 1, 5, 0));
  EXPECT_EQ(q.periods[3].end_ms - q.periods[3].start_ms, 8 * 24 * kHourMs);
  EXPECT_EQ(q.periods[3].rows, 1u);
  EXPECT_EQ(q.periods[3].result, PeriodResult::kMissed);  // 5 / 10
  EXPECT_EQ(q.periods_met, 2u);
  EXPECT_EQ(q.periods_missed, 1u);
  EXPECT_EQ(q.periods_not_judged, 1u);
  EXPECT_EQ(q.days.size(), 30u);
  // Span: 6 rows, 120 offered, 0 + 0 + 10 + 70 + 10 + 5 = 95 in threshold.
  EXPECT_EQ(q.figures.counts.offered, 120u);
  EXPECT_EQ(q.figures.counts.answered_in_threshold, 95u);
}

TEST(BuildStatement, SpanWithoutAFullWeekIsOnePeriod) {
  // Mon 2 .. Fri 6 November 2026: five days of 2026-W45, the week's plain label.
  StatementInput in = Input("2026-11-02", "2026-11-06", Terms(Period::kWeek));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 2, 10, 0), 10, 10));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 6, 10, 0), 10, 6));
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 1u);
  EXPECT_EQ(q.periods[0].label, "2026-W45");
  EXPECT_EQ(q.periods[0].start_ms, Utc(2026, 11, 2, 0, 0));
  EXPECT_EQ(q.periods[0].end_ms, Utc(2026, 11, 7, 0, 0));
  EXPECT_EQ(q.periods[0].rows, 2u);
  EXPECT_DOUBLE_EQ(*q.periods[0].figures.service_level, 0.80);  // 16 / 20

  // Fri 6 .. Tue 10 November: Fri-Sun of 2026-W45 (3 days), Mon-Tue of 2026-W46 (2 days).
  // Still one period, named after W45, which holds more of it.
  StatementInput across = Input("2026-11-06", "2026-11-10", Terms(Period::kWeek));
  across.rows.push_back(Row("a", "sales", Utc(2026, 11, 6, 10, 0), 10, 10));
  across.rows.push_back(Row("a", "sales", Utc(2026, 11, 10, 10, 0), 10, 6));
  const StatementQueue aq = Build(across).queues.at(0);
  ASSERT_EQ(aq.periods.size(), 1u);
  EXPECT_EQ(aq.periods[0].label, "2026-W45 +2 days");
  EXPECT_EQ(aq.periods[0].start_ms, Utc(2026, 11, 6, 0, 0));
  EXPECT_EQ(aq.periods[0].end_ms, Utc(2026, 11, 11, 0, 0));
  EXPECT_EQ(aq.periods[0].rows, 2u);
  EXPECT_EQ(aq.periods[0].result, PeriodResult::kMet);  // 16 / 20 = 0.80

  // Sat 7 .. Tue 10 November: 2 days each; the earlier week names it.
  const StatementQueue tq =
      Build(Input("2026-11-07", "2026-11-10", Terms(Period::kWeek))).queues.at(0);
  ASSERT_EQ(tq.periods.size(), 1u);
  EXPECT_EQ(tq.periods[0].label, "2026-W45 +2 days");

  // Sun 1 .. Sat 7 November: seven days but no full ISO week (1 of W44, 6 of W45).
  const StatementQueue sq =
      Build(Input("2026-11-01", "2026-11-07", Terms(Period::kWeek))).queues.at(0);
  ASSERT_EQ(sq.periods.size(), 1u);
  EXPECT_EQ(sq.periods[0].label, "2026-W45 +1 day");
  EXPECT_EQ(sq.periods[0].start_ms, Utc(2026, 11, 1, 0, 0));
  EXPECT_EQ(sq.periods[0].end_ms, Utc(2026, 11, 8, 0, 0));
}

TEST(BuildStatement, MissedPeriodsBasisWithMergedWeeks) {
  StatementTerms t = Terms(Period::kWeek);
  t.credit_basis = CreditBasis::kMissedPeriods;
  t.credits = {{20, 5}, {40, 10}};
  StatementInput in = Input("2026-11-01", "2026-11-30", t);
  // Sun 1 November alone would be a missed week (0 / 10); merged into 2026-W45 it weighs
  // its calls only: (0 + 90) / (10 + 90) = 0.90, met.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 1, 10, 0), 10, 0));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 3, 10, 0), 90, 90));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 10, 10, 0), 100, 100));  // W46: met
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 17, 10, 0), 100, 70));   // W47: 0.70 missed
  // 2026-W48 + Mon 30 November: (90 + 0) / (90 + 10) = 0.90, met.
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 24, 10, 0), 90, 90));
  in.rows.push_back(Row("a", "sales", Utc(2026, 11, 30, 10, 0), 10, 0));
  const StatementQueue q = Build(in).queues.at(0);
  ASSERT_EQ(q.periods.size(), 4u);
  EXPECT_EQ(q.periods[0].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[1].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods[2].result, PeriodResult::kMissed);
  EXPECT_EQ(q.periods[3].result, PeriodResult::kMet);
  EXPECT_EQ(q.periods_met, 3u);
  EXPECT_EQ(q.periods_missed, 1u);
  // 100 x 1 / (3 + 1) = 25 %: the 20 tier only, 5 %. (With the two 1-day weeks judged on their
  // own it would have been 3 missed of 6 = 50 %, the 40 tier: 10 %.)
  EXPECT_DOUBLE_EQ(q.shortfall, 25);
  EXPECT_DOUBLE_EQ(q.service_credit_percent, 5);
  // Span: (0 + 90 + 100 + 70 + 90 + 0) / 400 = 0.875, met.
  EXPECT_EQ(q.result, PeriodResult::kMet);
}

}  // namespace
}  // namespace ccmon::collector
