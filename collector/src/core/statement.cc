// The SLA statement: closed interval rows of one client judged under each queue's contract
// terms. The rules below are what a client's auditor recomputes from the CSV, so every
// choice is written down here.
//
// Zones. The statement's zone is the first QueueTerms' terms.timezone ("UTC" without queues).
// The span (from_date 00:00 .. the end of to_date), the periods and the per-day chart are read
// in that zone for every queue, so all queues tile the same span. Measured hours and holidays
// are read in each queue's own terms.timezone, since they are that contract's business hours.
// Bad dates, from_date after to_date or an unknown zone: *error is set and the statement is
// empty. Day boundaries are absl civil days, so a DST day is 23 or 25 hours; rows are keyed by
// UTC start, so the two 01:30 rows of an autumn night are two intervals of the same local day.
//
// Queues. Every queue of `in.queues` and every queue present in rows, in name order. A queue
// without terms takes the first QueueTerms' contract and terms (defaults without queues).
//
// Each row of a queue whose UTC start lies in the span is, in this order:
//  1. unmeasured: its local start date is a holiday, or all_hours is false and its local start
//     minute is in none of its weekday's measured_hours ranges [from, to). all_hours false with
//     every weekday empty measures all hours, as config.h documents. Unmeasured rows are only
//     counted (unmeasured_rows) in their period.
//  2. excluded by force majeure: an accepted exclusion of the client whose [from_ms, to_ms)
//     overlaps the row's [start, start + length) and whose site and queue are empty or equal
//     the row's. Other sites' rows of the same interval still count.
//  3. excluded above forecast (OverForecastPolicy::kExclude): the interval's client-level
//     offered (rows left after 1 and 2, summed over sites) exceeds forecast x (1 + tolerance);
//     all those rows go, noted "offered N above forecast F".
//  4. included: counted in every figure.
//
// Periods. kInterval lists each interval start that has any row ("YYYY-MM-DD HH:MM" local; the
// two repeated autumn hours share a label but not start_ms). kDay, kWeek (ISO, Monday first,
// "YYYY-Www" of the ISO week-year) and kMonth ("YYYY-MM") list every period of the span,
// clipped to it, rows or not. Figures sum the included rows of every site and take ratios of
// the sums by the contract's formula.
//
// Partial weeks. A clipped week would weigh as much as a full one under kMissedPeriods, so an
// ISO week with fewer than 7 days in the span is merged into the adjacent week of the span: a
// partial week at the start joins the following week, one at the end the preceding week. A
// merged period keeps the label of the week it joins with " +N day(s)" for the days merged in
// ("2026-W45 +1 day" for Sun 1 .. Sun 8 November 2026) and its start_ms/end_ms cover all its
// days. A judged week thus has 7 to 13 days, or up to 19 when the span holds a single full
// week with partial weeks on both sides. A span holding no full week is one period: the ISO
// week with more of its days (the earlier on a tie) gives the label, the other week's days
// are the "+N", so a span inside one ISO week keeps that week's plain label.
//
// Terms. Each row carries the contract it was counted under (formula, threshold, target), so a
// statement rebuilt after a change of terms judges as before: each period by the terms most
// of its judged calls were counted under (an included row weighs its offered calls, every row
// one more; a tie goes to the earlier row's), noted "SL terms changed within the period:
// judged by those of most of its calls" when its rows differ; the span, the days and the sites
// by the same vote over the span; a queue without rows by QueueTerms'. A row carries the terms
// configured when it first closed or was last amended, so rows that arrive after a change of
// terms (a site's backlog) carry the new ones. The money terms (period, tiers, caps, fee,
// forecast, volume) are QueueTerms', as configured.
//
// Targets. A period is judged at its terms' sl_target, or with kRelaxed at relaxed_sl_target
// when the offered calls of its included rows that overlap a forecast line (a line lasts the
// contract's interval) exceed (1 + tolerance) x the summed forecasts of its lines (at least
// one). A line in unmeasured hours, or whose interval's rows were all taken out, is left out;
// a line without calls adds its forecast. For kInterval this is the interval's own test.
//
// Period results, in time order:
//  - no rows at all: not judged, "no calls"; only unmeasured rows: not judged, "not measured";
//  - rows but none included (some excluded): excluded, noted with each distinct cause
//    ("force majeure <alert>: <reason>" or the forecast note);
//  - offered below min_volume: with kNotJudged not judged ("N offered below minimum M"); with
//    kPool it opens a pool. Every following period with included rows joins the open pool
//    until the pool's offered reaches min_volume; the pool's summed counts are then judged
//    once at the lowest target of its members (a relaxed member relaxes the pool), and every
//    member gets that result and target, noted "pooled with K periods from <first label>"
//    where K counts every member. Periods without included rows neither join nor close a
//    pool. A pool still short at the end of the span: members not judged, "pool below minimum";
//  - no SL value (empty denominator): not judged, "no calls"; else met when SL >= target.
//
// Queue. Span figures sum every included row; the span is judged at contract.sl_target (not
// judged without an SL value, or below min_volume under kNotJudged). `sites` lists sites with
// included rows, by name. `days` gives the SL of each local date of the span.
//
// Completeness. span_open: the statement was made before the span's end. incomplete_sites: a
// site with a ledger row of the client still open that starts before the span's end (its
// last interval waits for its allowed lateness), or one whose events have arrived up to a
// time within the span but not to its end while it is cut off (not connected, and not heard
// from since before the span's end) or holds events in its spool (sending a backlog). Rows
// may still change or arrive. Not listed: a site gone quiet (rows closed by idle_close,
// connected), a live site whose few events in flight are later than the span, an import that
// finished after the span's end, a site silent since before the span began.
//
// Money. kMonthShortfall: shortfall = (target - span SL) x 100 SL points, 0 when the span is not
// judged or met. kMissedPeriods: shortfall = 100 x missed / (met + missed), 0 without judged
// periods. A positive shortfall earns the percent of the highest tier it reaches, capped at
// credit_cap_percent. A queue whose span is met and that earns no credit gets the incentive of
// the highest tier its surplus (SL - target) x 100 reaches, capped at incentive_cap_percent.
// The statement sums the queues' credits and incentives, each capped by the first queue's cap.
// `exclusions` lists the client's exclusions overlapping the span in any state, by from_ms.
#include "ccmon/collector/statement.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace ccmon::collector {

const char* ToString(Period p) {
  switch (p) {
    case Period::kInterval:
      return "interval";
    case Period::kDay:
      return "day";
    case Period::kWeek:
      return "week";
    case Period::kMonth:
      return "month";
  }
  return "interval";
}

std::optional<Period> ParsePeriod(std::string_view s) {
  for (Period p : {Period::kInterval, Period::kDay, Period::kWeek, Period::kMonth}) {
    if (s == ToString(p)) return p;
  }
  return std::nullopt;
}

const char* ToString(Exclusion::State s) {
  switch (s) {
    case Exclusion::State::kProposed:
      return "proposed";
    case Exclusion::State::kAccepted:
      return "accepted";
    case Exclusion::State::kRejected:
      return "rejected";
  }
  return "proposed";
}

const char* ToString(PeriodResult r) {
  switch (r) {
    case PeriodResult::kMet:
      return "met";
    case PeriodResult::kMissed:
      return "missed";
    case PeriodResult::kExcluded:
      return "excluded";
    case PeriodResult::kNotJudged:
      break;
  }
  return "not_judged";
}

namespace {

constexpr std::int64_t kMsPerMinute = std::int64_t{60} * 1000;

// Tiers are written in whole points while SL is a ratio of counts: 0.85 - 0.80 is
// 4.999999999999993 points in binary and must still reach a 5-point tier.
constexpr double kTierEpsilon = 1e-9;

// YYYY-MM-DD exactly (absl refuses 2026-02-30; the length check refuses "2026-2-3").
bool ParseDate(std::string_view s, absl::CivilDay* out) {
  return s.size() == 10 && absl::ParseCivilTime(std::string(s), out);
}

int DaysSinceMonday(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::monday:
      return 0;
    case absl::Weekday::tuesday:
      return 1;
    case absl::Weekday::wednesday:
      return 2;
    case absl::Weekday::thursday:
      return 3;
    case absl::Weekday::friday:
      return 4;
    case absl::Weekday::saturday:
      return 5;
    case absl::Weekday::sunday:
      return 6;
  }
  return 0;
}

// measured_hours is indexed 0 = Sunday .. 6 = Saturday.
int WeekdayFromSunday(absl::CivilDay d) { return (DaysSinceMonday(d) + 1) % 7; }

std::string DateLabel(absl::CivilDay d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(), d.day());
  return buf;
}

// "2026-11-01 01:30-04:00": with the zone's offset, so the two 01:30 intervals of an autumn
// night read apart.
std::string IntervalLabel(absl::CivilSecond c, int offset_s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d", static_cast<int>(c.year()), c.month(),
                c.day(), c.hour(), c.minute());
  return buf + UtcOffsetText(offset_s);
}

std::string MonthLabel(absl::CivilDay d) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02d", static_cast<int>(d.year()), d.month());
  return buf;
}

// ISO 8601: a week belongs to the year of its Thursday, and week 1 holds the year's first
// Thursday, so 2025-12-29 is in 2026-W01.
std::string IsoWeekLabel(absl::CivilDay d) {
  const absl::CivilDay thursday = d - DaysSinceMonday(d) + 3;
  const auto year = thursday.year();
  const auto week = (thursday - absl::CivilDay(year, 1, 1)) / 7 + 1;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", static_cast<int>(year), static_cast<int>(week));
  return buf;
}

// Calls are whole; forecasts and targets may not be. No trailing zeros, so notes read naturally.
std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::int64_t DayStartMs(absl::CivilDay d, const absl::TimeZone& tz) {
  return absl::ToUnixMillis(absl::FromCivil(d, tz));
}

Figures MakeFigures(const Counts& c, SlFormula f) {
  Figures out;
  out.counts = c;
  out.service_level = ServiceLevel(c, f);
  out.abandon_rate = AbandonRate(c);
  out.asa_s = AsaSeconds(c);
  return out;
}

PeriodResult Judge(const std::optional<double>& sl, double target) {
  if (!sl) return PeriodResult::kNotJudged;
  return *sl >= target ? PeriodResult::kMet : PeriodResult::kMissed;
}

// The percent of the tier with the highest threshold `value` reaches (ties: the larger
// percent), or 0 when it reaches none.
template <typename Tier, typename Threshold>
double TierPercent(const std::vector<Tier>& tiers, Threshold threshold, double value) {
  bool found = false;
  double best_threshold = 0;
  double percent = 0;
  for (const Tier& t : tiers) {
    const double th = threshold(t);
    if (th > value + kTierEpsilon) continue;
    if (!found || th > best_threshold || (th == best_threshold && t.percent > percent)) {
      found = true;
      best_threshold = th;
      percent = t.percent;
    }
  }
  return percent;
}

void AppendNote(std::string* note, const std::string& more) {
  if (more.empty()) return;
  if (!note->empty()) *note += "; ";
  *note += more;
}

enum class RowClass : std::uint8_t { kIncluded, kExcluded, kUnmeasured };

struct QueueRow {
  const LedgerRow* row = nullptr;
  absl::CivilSecond local;  // in the statement's zone
  RowClass cls = RowClass::kIncluded;
  std::string excluded_note;
};

// Weighs the sets of SL terms (formula, threshold, target) rows carry, to judge by the terms
// most of the judged calls were counted under: an included row weighs its offered calls, and
// every row weighs one more (so rows decide where no call is judged, and break ties).
class TermsVote {
 public:
  void Add(const Contract& k, bool included, std::uint64_t offered) {
    const Weight weight{included ? offered : 0, 1};
    for (auto& [c, w] : seen_) {
      if (c->sl_target == k.sl_target && c->sl_formula == k.sl_formula &&
          c->sl_threshold_s == k.sl_threshold_s) {
        w.calls += weight.calls;
        w.rows += weight.rows;
        return;
      }
    }
    seen_.emplace_back(&k, weight);
  }
  // The terms most judged calls were counted under, then most rows (on a tie, those seen
  // first: rows come in time order), or null.
  const Contract* Winner() const {
    const std::pair<const Contract*, Weight>* best = nullptr;
    for (const auto& e : seen_) {
      if (best == nullptr || best->second < e.second) best = &e;
    }
    return best == nullptr ? nullptr : best->first;
  }
  bool Mixed() const { return seen_.size() > 1; }

 private:
  struct Weight {
    std::uint64_t calls = 0;  // included offered calls
    std::uint64_t rows = 0;
    bool operator<(const Weight& o) const {
      return calls != o.calls ? calls < o.calls : rows < o.rows;
    }
  };
  std::vector<std::pair<const Contract*, Weight>> seen_;
};

struct PeriodWork {
  StatementPeriod out;
  TermsVote terms;  // of the period's rows, any class
  SlFormula formula = SlFormula::kStandard;
  std::vector<const LedgerRow*> included;
  Counts counts;
  std::vector<std::string> excluded_notes;  // distinct, first seen first
  std::string relaxed_note;
};

// The statement-wide frame every queue is cut against.
struct Span {
  absl::TimeZone tz;
  absl::CivilDay from;
  absl::CivilDay to;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  int days = 0;
};

bool IsMeasured(const LedgerRow& r, const StatementTerms& terms, const absl::TimeZone& tz) {
  const absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixMillis(r.start_ms), tz);
  const absl::CivilDay day(local);
  const std::string date = DateLabel(day);
  if (std::find(terms.holidays.begin(), terms.holidays.end(), date) != terms.holidays.end()) {
    return false;
  }
  if (terms.all_hours) return true;
  const bool none_set = std::all_of(terms.measured_hours.begin(), terms.measured_hours.end(),
                                    [](const std::vector<DayRange>& v) { return v.empty(); });
  if (none_set) return true;
  const int minute = local.hour() * 60 + local.minute();
  for (const DayRange& range : terms.measured_hours[WeekdayFromSunday(day)]) {
    if (minute >= range.from_min && minute < range.to_min) return true;
  }
  return false;
}

std::string ExclusionNote(const Exclusion& e) {
  std::string note = "force majeure " + e.alert;
  if (!e.reason.empty()) note += ": " + e.reason;
  return note;
}

std::string ForecastNote(double offered, double forecast) {
  return "offered " + FormatNumber(offered) + " above forecast " + FormatNumber(forecast);
}

// Merges weeks clipped to fewer than 7 days into their neighbour, as the top of the file
// says. `periods` are the span's ISO weeks in order, fresh from MakePeriods (no rows counted
// yet); `day_period` maps each span day to its period and is rewritten to the merged ones.
void MergePartialWeeks(std::vector<PeriodWork>* periods, std::vector<std::size_t>* day_period) {
  const std::size_t n = periods->size();
  if (n < 2) return;
  std::vector<int> days(n, 0);
  for (std::size_t p : *day_period) ++days[p];
  // The week each one joins (itself when it stays). Only the first and the last week can be
  // clipped, so a span with a full week has it next to each clipped end, and one without has
  // exactly two weeks.
  std::vector<std::size_t> joins(n);
  for (std::size_t i = 0; i < n; ++i) joins[i] = i;
  if (std::find(days.begin(), days.end(), 7) == days.end()) {
    const std::size_t keep = days[0] >= days[1] ? 0 : 1;
    joins[0] = keep;
    joins[1] = keep;
  } else {
    if (days.front() < 7) joins.front() = 1;
    if (days.back() < 7) joins.back() = n - 2;
  }
  // `joins` never decreases, so each merged period is a run of consecutive weeks.
  std::vector<PeriodWork> merged;
  std::vector<int> extra_days;
  std::vector<std::size_t> new_index(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || joins[i] != joins[i - 1]) {
      PeriodWork w;
      w.out.start_ms = (*periods)[i].out.start_ms;
      w.out.label = (*periods)[joins[i]].out.label;
      merged.push_back(std::move(w));
      extra_days.push_back(0);
    }
    merged.back().out.end_ms = (*periods)[i].out.end_ms;
    if (joins[i] != i) extra_days.back() += days[i];
    new_index[i] = merged.size() - 1;
  }
  for (std::size_t m = 0; m < merged.size(); ++m) {
    if (extra_days[m] == 0) continue;
    merged[m].out.label +=
        " +" + std::to_string(extra_days[m]) + (extra_days[m] == 1 ? " day" : " days");
  }
  for (std::size_t& p : *day_period) p = new_index[p];
  *periods = std::move(merged);
}

// Builds the queue's periods (empty ones included for day/week/month) and returns, for each
// row, the index of its period.
std::vector<PeriodWork> MakePeriods(const std::vector<QueueRow>& rows, Period period,
                                    const Span& span, std::vector<std::size_t>* row_period) {
  std::vector<PeriodWork> periods;
  row_period->assign(rows.size(), 0);
  if (period == Period::kInterval) {
    std::map<std::int64_t, std::size_t> by_start;
    for (const QueueRow& qr : rows) by_start.emplace(qr.row->start_ms, 0);
    for (auto& [start, index] : by_start) {
      index = periods.size();
      PeriodWork w;
      w.out.start_ms = start;
      w.out.end_ms = start;
      periods.push_back(std::move(w));
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const LedgerRow& r = *rows[i].row;
      PeriodWork& w = periods[by_start[r.start_ms]];
      w.out.label =
          IntervalLabel(rows[i].local, span.tz.At(absl::FromUnixMillis(r.start_ms)).offset);
      w.out.end_ms =
          std::max(w.out.end_ms, r.start_ms + std::max(r.length_minutes, 1) * kMsPerMinute);
      (*row_period)[i] = by_start[r.start_ms];
    }
    return periods;
  }
  // Day, week or month: walk the span's days and cut wherever the period's key changes.
  std::vector<std::size_t> day_period(static_cast<std::size_t>(span.days));
  std::string key;
  for (int i = 0; i < span.days; ++i) {
    const absl::CivilDay day = span.from + i;
    std::string day_key;
    switch (period) {
      case Period::kDay:
        day_key = DateLabel(day);
        break;
      case Period::kWeek:
        day_key = IsoWeekLabel(day);
        break;
      case Period::kMonth:
      case Period::kInterval:
        day_key = MonthLabel(day);
        break;
    }
    if (periods.empty() || day_key != key) {
      if (!periods.empty()) periods.back().out.end_ms = DayStartMs(day, span.tz);
      PeriodWork w;
      w.out.start_ms = DayStartMs(day, span.tz);
      w.out.label = day_key;
      periods.push_back(std::move(w));
      key = day_key;
    }
    day_period[static_cast<std::size_t>(i)] = periods.size() - 1;
  }
  if (!periods.empty()) periods.back().out.end_ms = span.end_ms;
  if (period == Period::kWeek) MergePartialWeeks(&periods, &day_period);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    // A zone that repeats midnight can put a row in the span whose local date is the day
    // before; it belongs to the span's first day.
    const auto index =
        std::clamp<std::int64_t>(absl::CivilDay(rows[i].local) - span.from, 0, span.days - 1);
    (*row_period)[i] = day_period[static_cast<std::size_t>(index)];
  }
  return periods;
}

void JudgePeriods(std::vector<PeriodWork>& periods, const StatementTerms& terms) {
  struct Pool {
    std::vector<std::size_t> members;
    Counts counts;
    double target = 0;
  };
  std::optional<Pool> pool;
  const auto close_pool = [&](bool complete) {
    const std::string first_label = periods[pool->members.front()].out.label;
    PeriodResult result = PeriodResult::kNotJudged;
    std::string note = "pool below minimum";
    if (complete) {
      const SlFormula formula = periods[pool->members.back()].formula;
      result = Judge(ServiceLevel(pool->counts, formula), pool->target);
      note = "pooled with " + std::to_string(pool->members.size()) + " periods from " + first_label;
    }
    for (std::size_t m : pool->members) {
      StatementPeriod& p = periods[m].out;
      p.result = result;
      p.target = pool->target;
      p.note = periods[m].relaxed_note;
      AppendNote(&p.note, note);
    }
    pool.reset();
  };

  for (std::size_t i = 0; i < periods.size(); ++i) {
    PeriodWork& w = periods[i];
    StatementPeriod& p = w.out;
    if (p.rows + p.excluded_rows + p.unmeasured_rows == 0) {
      p.result = PeriodResult::kNotJudged;
      p.note = "no calls";
      continue;
    }
    if (p.rows == 0) {
      if (p.excluded_rows > 0) {
        p.result = PeriodResult::kExcluded;
        for (const std::string& n : w.excluded_notes) AppendNote(&p.note, n);
      } else {
        p.result = PeriodResult::kNotJudged;
        p.note = "not measured";
      }
      continue;
    }
    if (pool) {
      pool->members.push_back(i);
      pool->counts += w.counts;
      pool->target = std::min(pool->target, p.target);
      if (pool->counts.offered >= terms.min_volume) close_pool(true);
      continue;
    }
    if (w.counts.offered < terms.min_volume) {
      if (terms.min_volume_policy == MinVolumePolicy::kPool) {
        pool.emplace();
        pool->members.push_back(i);
        pool->counts = w.counts;
        pool->target = p.target;
      } else {
        p.result = PeriodResult::kNotJudged;
        p.note = std::to_string(w.counts.offered) + " offered below minimum " +
                 std::to_string(terms.min_volume);
      }
      continue;
    }
    p.result = Judge(p.figures.service_level, p.target);
    p.note = p.result == PeriodResult::kNotJudged ? "no calls" : w.relaxed_note;
  }
  if (pool) close_pool(false);
}

StatementQueue BuildQueue(const std::string& name, const QueueTerms& qt,
                          const std::vector<const LedgerRow*>& rows, const absl::TimeZone& queue_tz,
                          const Span& span, const std::vector<const Exclusion*>& accepted,
                          const std::map<std::pair<std::string, std::int64_t>, double>& forecast) {
  const StatementTerms& terms = qt.terms;
  StatementQueue q;
  q.queue = name;
  q.terms = terms;

  // Classify every row: unmeasured, excluded by force majeure, then above forecast.
  std::vector<QueueRow> qrows;
  qrows.reserve(rows.size());
  for (const LedgerRow* r : rows) {
    QueueRow qr;
    qr.row = r;
    qr.local = absl::ToCivilSecond(absl::FromUnixMillis(r->start_ms), span.tz);
    if (!IsMeasured(*r, terms, queue_tz)) {
      qr.cls = RowClass::kUnmeasured;
    } else {
      const std::int64_t end = r->start_ms + std::max(r->length_minutes, 1) * kMsPerMinute;
      for (const Exclusion* e : accepted) {
        if (r->start_ms < e->to_ms && e->from_ms < end && (e->site.empty() || e->site == r->site) &&
            (e->queue.empty() || e->queue == r->queue)) {
          qr.cls = RowClass::kExcluded;
          qr.excluded_note = ExclusionNote(*e);
          break;
        }
      }
    }
    qrows.push_back(std::move(qr));
  }

  // Client-level offered per interval, after force majeure, for the forecast tests; and the
  // intervals with rows none of which is included.
  std::map<std::int64_t, std::uint64_t> interval_offered;
  std::set<std::int64_t> taken_out;
  for (const QueueRow& qr : qrows) {
    if (qr.cls == RowClass::kIncluded) interval_offered[qr.row->start_ms] += qr.row->counts.offered;
  }
  for (const QueueRow& qr : qrows) {
    if (interval_offered.count(qr.row->start_ms) == 0) taken_out.insert(qr.row->start_ms);
  }
  const double headroom = 1 + terms.forecast_tolerance;
  if (terms.over_forecast == OverForecastPolicy::kExclude) {
    std::map<std::int64_t, std::string> over;
    for (const auto& [start, offered] : interval_offered) {
      const auto f = forecast.find({name, start});
      if (f == forecast.end()) continue;
      if (static_cast<double>(offered) > f->second * headroom) {
        over[start] = ForecastNote(static_cast<double>(offered), f->second);
      }
    }
    for (QueueRow& qr : qrows) {
      const auto o = over.find(qr.row->start_ms);
      if (qr.cls == RowClass::kIncluded && o != over.end()) {
        qr.cls = RowClass::kExcluded;
        qr.excluded_note = o->second;
      }
    }
  }

  std::vector<std::size_t> row_period;
  std::vector<PeriodWork> periods = MakePeriods(qrows, terms.period, span, &row_period);
  Counts span_counts;
  std::map<std::string, Counts> site_counts;
  std::vector<Counts> day_counts(static_cast<std::size_t>(span.days));
  std::vector<bool> day_has_rows(static_cast<std::size_t>(span.days), false);
  // Each row keeps the contract it was counted under (its threshold is in its counts), so a
  // statement rebuilt later judges by the terms then in force: the span and each period by
  // the terms most of their judged calls were counted under; a queue without rows by the
  // configured contract.
  TermsVote span_terms;
  for (std::size_t i = 0; i < qrows.size(); ++i) {
    const QueueRow& qr = qrows[i];
    PeriodWork& w = periods[row_period[i]];
    w.terms.Add(qr.row->contract, qr.cls == RowClass::kIncluded, qr.row->counts.offered);
    span_terms.Add(qr.row->contract, qr.cls == RowClass::kIncluded, qr.row->counts.offered);
    switch (qr.cls) {
      case RowClass::kUnmeasured:
        ++w.out.unmeasured_rows;
        continue;
      case RowClass::kExcluded:
        ++w.out.excluded_rows;
        if (std::find(w.excluded_notes.begin(), w.excluded_notes.end(), qr.excluded_note) ==
            w.excluded_notes.end()) {
          w.excluded_notes.push_back(qr.excluded_note);
        }
        continue;
      case RowClass::kIncluded:
        break;
    }
    const LedgerRow& r = *qr.row;
    ++w.out.rows;
    if (r.revision > 1) ++w.out.amended_rows;
    w.included.push_back(&r);
    w.counts += r.counts;
    span_counts += r.counts;
    site_counts[r.site] += r.counts;
    const auto day = static_cast<std::size_t>(
        std::clamp<std::int64_t>(absl::CivilDay(qr.local) - span.from, 0, span.days - 1));
    day_counts[day] += r.counts;
    day_has_rows[day] = true;
  }

  const Contract& contract = span_terms.Winner() != nullptr ? *span_terms.Winner() : qt.contract;
  q.contract = contract;

  for (PeriodWork& w : periods) {
    const Contract& k = w.terms.Winner() != nullptr ? *w.terms.Winner() : contract;
    w.formula = k.sl_formula;
    w.out.figures = MakeFigures(w.counts, k.sl_formula);
    w.out.target = k.sl_target;
    if (w.terms.Mixed()) {
      w.relaxed_note = "SL terms changed within the period: judged by those of most of its calls";
    }
    if (terms.over_forecast != OverForecastPolicy::kRelaxed || w.out.rows == 0) continue;
    // Like with like: the period's forecast lines against the calls of the rows that fall in
    // them (overlapping: a site in another zone may cut its intervals elsewhere). A line in
    // unmeasured hours, or whose rows were all taken out, adds nothing; one without calls adds
    // its forecast; calls outside every line are not compared.
    const std::int64_t line_ms =
        std::int64_t{std::max(qt.contract.interval_minutes, 1)} * kMsPerMinute;
    std::vector<std::int64_t> lines;
    double expected = 0;
    for (auto f = forecast.lower_bound({name, w.out.start_ms});
         f != forecast.end() && f->first.first == name && f->first.second < w.out.end_ms; ++f) {
      const std::int64_t start = f->first.second;
      LedgerRow at;
      at.start_ms = start;
      if (taken_out.count(start) != 0 || !IsMeasured(at, terms, queue_tz)) continue;
      lines.push_back(start);
      expected += f->second;
    }
    double offered = 0;
    for (const LedgerRow* r : w.included) {
      const std::int64_t end = r->start_ms + std::max(r->length_minutes, 1) * kMsPerMinute;
      // The last line starting before the row ends overlaps it if it ends after the row starts.
      const auto after = std::lower_bound(lines.begin(), lines.end(), end);
      if (after != lines.begin() && *std::prev(after) + line_ms > r->start_ms) {
        offered += static_cast<double>(r->counts.offered);
      }
    }
    if (!lines.empty() && offered > expected * headroom) {
      w.out.target = terms.relaxed_sl_target;
      AppendNote(&w.relaxed_note, ForecastNote(offered, expected) + ", target relaxed to " +
                                      FormatNumber(w.out.target));
    }
  }
  JudgePeriods(periods, terms);

  q.periods.reserve(periods.size());
  for (PeriodWork& w : periods) {
    switch (w.out.result) {
      case PeriodResult::kMet:
        ++q.periods_met;
        break;
      case PeriodResult::kMissed:
        ++q.periods_missed;
        break;
      case PeriodResult::kExcluded:
        ++q.periods_excluded;
        break;
      case PeriodResult::kNotJudged:
        ++q.periods_not_judged;
        break;
    }
    q.periods.push_back(std::move(w.out));
  }

  q.figures = MakeFigures(span_counts, contract.sl_formula);
  const bool below_minimum = terms.min_volume_policy == MinVolumePolicy::kNotJudged &&
                             span_counts.offered < terms.min_volume;
  q.result =
      below_minimum ? PeriodResult::kNotJudged : Judge(q.figures.service_level, contract.sl_target);
  for (const auto& [site, counts] : site_counts) {
    q.sites.push_back({site, MakeFigures(counts, contract.sl_formula)});
  }
  for (int i = 0; i < span.days; ++i) {
    const auto d = static_cast<std::size_t>(i);
    DaySl day{DateLabel(span.from + i), std::nullopt};
    if (day_has_rows[d]) day.service_level = ServiceLevel(day_counts[d], contract.sl_formula);
    q.days.push_back(std::move(day));
  }

  // A span that is not judged (no SL, or too few calls) earns neither credit nor incentive.
  if (terms.credit_basis == CreditBasis::kMonthShortfall) {
    if (q.result == PeriodResult::kMissed) {
      q.shortfall = (contract.sl_target - *q.figures.service_level) * 100;
    }
  } else if (q.periods_met + q.periods_missed > 0) {
    q.shortfall = 100.0 * q.periods_missed / (q.periods_met + q.periods_missed);
  }
  if (q.shortfall > 0) {
    q.service_credit_percent =
        std::min(TierPercent(
                     terms.credits, [](const CreditTier& t) { return t.shortfall; }, q.shortfall),
                 terms.credit_cap_percent);
  }
  if (q.result == PeriodResult::kMet && q.service_credit_percent == 0) {
    const double surplus = (*q.figures.service_level - contract.sl_target) * 100;
    q.incentive_percent =
        std::min(TierPercent(
                     terms.incentives, [](const IncentiveTier& t) { return t.surplus; }, surplus),
                 terms.incentive_cap_percent);
  }
  return q;
}

}  // namespace

Statement BuildStatement(const StatementInput& in, std::string* error) {
  const auto fail = [&](std::string message) {
    if (error != nullptr) *error = std::move(message);
    return Statement{};
  };
  const QueueTerms first = in.queues.empty() ? QueueTerms{} : in.queues.front();

  Span span;
  if (!absl::LoadTimeZone(first.terms.timezone, &span.tz)) {
    return fail("unknown time zone \"" + first.terms.timezone + "\"");
  }
  if (!ParseDate(in.from_date, &span.from)) return fail("bad from_date \"" + in.from_date + "\"");
  if (!ParseDate(in.to_date, &span.to)) return fail("bad to_date \"" + in.to_date + "\"");
  if (span.to < span.from)
    return fail("to_date " + in.to_date + " before from_date " + in.from_date);
  span.days = static_cast<int>(span.to - span.from) + 1;
  span.start_ms = DayStartMs(span.from, span.tz);
  span.end_ms = DayStartMs(span.to + 1, span.tz);

  // Each queue's terms; the first entry of a repeated name wins.
  std::map<std::string, QueueTerms> terms_by_queue;
  for (const QueueTerms& qt : in.queues) terms_by_queue.emplace(qt.queue, qt);
  std::map<std::string, std::vector<const LedgerRow*>> rows_by_queue;
  for (const auto& [queue, qt] : terms_by_queue) rows_by_queue[queue];
  for (const LedgerRow& r : in.rows) {
    if (r.start_ms < span.start_ms || r.start_ms >= span.end_ms) continue;
    rows_by_queue[r.queue].push_back(&r);
  }

  std::map<std::string, absl::TimeZone> zones;
  for (const auto& [queue, rows] : rows_by_queue) {
    const auto it = terms_by_queue.find(queue);
    const std::string& zone =
        it == terms_by_queue.end() ? first.terms.timezone : it->second.terms.timezone;
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(zone, &tz)) {
      std::string message = "unknown time zone \"" + zone;
      message += "\" of queue ";
      message += queue;
      return fail(std::move(message));
    }
    zones.emplace(zone, tz);
  }

  std::vector<const Exclusion*> accepted;
  Statement s;
  for (const Exclusion& e : in.exclusions) {
    if (e.client != in.client) continue;
    if (e.state == Exclusion::State::kAccepted) accepted.push_back(&e);
    if (e.from_ms < span.end_ms && span.start_ms < e.to_ms) s.exclusions.push_back(e);
  }
  std::stable_sort(s.exclusions.begin(), s.exclusions.end(),
                   [](const Exclusion& a, const Exclusion& b) { return a.from_ms < b.from_ms; });
  std::stable_sort(accepted.begin(), accepted.end(),
                   [](const Exclusion* a, const Exclusion* b) { return a->from_ms < b->from_ms; });

  std::map<std::pair<std::string, std::int64_t>, double> forecast;
  for (const ForecastEntry& f : in.forecast)
    forecast.emplace(std::make_pair(f.queue, f.start_ms), f.offered);

  s.client = in.client;
  s.label = in.label;
  s.from_date = in.from_date;
  s.to_date = in.to_date;
  s.timezone = first.terms.timezone;
  s.generated_ms = in.generated_ms;
  for (auto& [queue, rows] : rows_by_queue) {
    std::stable_sort(rows.begin(), rows.end(), [](const LedgerRow* a, const LedgerRow* b) {
      return std::tie(a->start_ms, a->site) < std::tie(b->start_ms, b->site);
    });
    const auto it = terms_by_queue.find(queue);
    const QueueTerms& qt = it == terms_by_queue.end() ? first : it->second;
    s.queues.push_back(
        BuildQueue(queue, qt, rows, zones.at(qt.terms.timezone), span, accepted, forecast));
    s.service_credit_percent += s.queues.back().service_credit_percent;
    s.incentive_percent += s.queues.back().incentive_percent;
  }
  s.span_open = in.generated_ms < span.end_ms;
  for (const SiteProgress& p : in.sites) {
    const bool open_rows = p.first_open_row_ms < span.end_ms;
    const bool during = p.reported_until_ms >= span.start_ms && p.reported_until_ms < span.end_ms;
    // Cut off: not heard from since before the span's end. Sending a backlog: still behind it.
    const bool cut_off = !p.connected && p.last_seen_ms < span.end_ms;
    if (open_rows || (during && (cut_off || p.backlog_events > 0))) {
      s.incomplete_sites.push_back(p);
    }
  }
  std::sort(s.incomplete_sites.begin(), s.incomplete_sites.end(),
            [](const SiteProgress& a, const SiteProgress& b) { return a.site < b.site; });
  s.service_credit_percent = std::min(s.service_credit_percent, first.terms.credit_cap_percent);
  s.incentive_percent = std::min(s.incentive_percent, first.terms.incentive_cap_percent);
  if (error != nullptr) error->clear();
  return s;
}

}  // namespace ccmon::collector
