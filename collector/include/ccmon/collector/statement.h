// The contract as written (measurement period, measured hours, holidays, minimum volume,
// service credits, incentives, exclusions, forecast tolerance) and the SLA statement computed
// from closed ledger rows under it. Pure functions over plain values; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ccmon/collector/config.h"
#include "ccmon/collector/ledger.h"

namespace ccmon::collector {

// A force-majeure exclusion: [from_ms, to_ms) of one site (empty: every site) and queue
// (empty: every queue of the client), proposed by the vendor and accepted or rejected by the
// client. Only accepted exclusions remove rows from a statement.
struct Exclusion {
  std::int64_t id = 0;
  std::string client;
  std::string site;
  std::string queue;
  std::string alert;  // SiteDark, StaffingCollapse, LinkDown
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::string reason;
  enum class State : std::uint8_t { kProposed, kAccepted, kRejected };
  State state = State::kProposed;
  std::string proposed_by;
  std::int64_t proposed_ms = 0;
  std::string decided_by;
  std::int64_t decided_ms = 0;
  std::string decision_note;
};
const char* ToString(Exclusion::State s);

// One queue of the client: the contract that judges it.
struct QueueTerms {
  std::string queue;
  Contract contract;
  StatementTerms terms;
};

// How a site serving the client stands when the statement is made: the start of its earliest
// ledger row of the client still open (INT64_MAX: none), how far its events have arrived
// (event time), the events its agent last said wait in its spool, whether it streams, and
// when the collector last heard from it (collector clock).
struct SiteProgress {
  std::string site;
  std::int64_t first_open_row_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t reported_until_ms = 0;
  std::uint64_t backlog_events = 0;
  bool connected = false;
  std::int64_t last_seen_ms = 0;
};

struct StatementInput {
  std::string client;
  // Local dates in the contract's zone, inclusive, YYYY-MM-DD. `label` names the span
  // ("2026-11" for a month statement).
  std::string from_date;
  std::string to_date;
  std::string label;
  std::vector<QueueTerms> queues;     // queues without terms use the first entry's terms
  std::vector<LedgerRow> rows;        // closed rows of the client, any order, any site
  std::vector<Exclusion> exclusions;  // every state; only accepted ones exclude
  std::vector<ForecastEntry> forecast;
  std::int64_t generated_ms = 0;
  // The client's sites now (none for a statement rebuilt as of an earlier time).
  std::vector<SiteProgress> sites;
};

enum class PeriodResult : std::uint8_t { kMet, kMissed, kExcluded, kNotJudged };
const char* ToString(PeriodResult r);

// Figures of one (site or all sites) over a span: raw terms summed before any ratio.
struct Figures {
  Counts counts;
  std::optional<double> service_level;
  std::optional<double> abandon_rate;
  std::optional<double> asa_s;
};

struct StatementPeriod {
  std::int64_t start_ms = 0;  // UTC
  std::int64_t end_ms = 0;
  // Local: "2026-11-03", "2026-11-03 09:30+08:00", "2026-W45" (a partial week at the span's
  // edge joins its neighbour: "2026-W45 +1 day"), "2026-11".
  std::string label;
  Figures figures;    // included rows only
  double target = 0;  // SL target applied (relaxed when over forecast and relaxed)
  PeriodResult result = PeriodResult::kNotJudged;
  std::string note;        // why excluded / not judged / pooled / relaxed
  std::uint32_t rows = 0;  // ledger rows included
  std::uint32_t excluded_rows = 0;
  std::uint32_t unmeasured_rows = 0;
  std::uint32_t amended_rows = 0;  // included rows with revision > 1
};

struct SiteBreakdown {
  std::string site;
  Figures figures;
};

struct DaySl {
  std::string date;  // local YYYY-MM-DD
  std::optional<double> service_level;
};

struct StatementQueue {
  std::string queue;
  Contract contract;
  StatementTerms terms;
  Figures figures;  // month (span) figures: included rows of every site
  PeriodResult result = PeriodResult::kNotJudged;  // the span judged on its own SL
  std::vector<StatementPeriod> periods;
  std::vector<SiteBreakdown> sites;
  std::vector<DaySl> days;  // SL per local day, for the chart
  std::uint32_t periods_met = 0;
  std::uint32_t periods_missed = 0;
  std::uint32_t periods_excluded = 0;
  std::uint32_t periods_not_judged = 0;
  double shortfall = 0;  // in the credit basis' unit; 0 when none
  double service_credit_percent = 0;
  double incentive_percent = 0;
};

struct Statement {
  std::string client;
  std::string label;
  std::string from_date;
  std::string to_date;
  std::string timezone;
  std::int64_t generated_ms = 0;
  // Set when built as the ledger stood at an earlier time (0: as it stands now).
  std::int64_t as_of_ms = 0;
  std::vector<StatementQueue> queues;
  std::vector<Exclusion> exclusions;  // those overlapping the span, every state
  // Sites with ledger rows of the span still open, or with events waiting in their spool from
  // before the span's end: rows may still change or arrive, so the statement is provisional.
  // By site name.
  std::vector<SiteProgress> incomplete_sites;
  bool span_open = false;             // made before the span's end
  double service_credit_percent = 0;  // sum over queues, capped by the first queue's cap
  double incentive_percent = 0;
};

// Computes the statement. Rows outside [from_date, to_date] (in the contract's zone) are
// ignored. Errors (bad dates, unknown zone) come back in *error with an empty statement.
Statement BuildStatement(const StatementInput& in, std::string* error);

// Renderings of one statement. The HTML is one self-contained printable page with an inline
// SVG chart of SL per day against target; every number in it is also in the JSON.
std::string StatementJson(const Statement& s);
std::string StatementCsv(const Statement& s);
std::string StatementHtml(const Statement& s);

}  // namespace ccmon::collector
