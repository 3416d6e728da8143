// The interval SLA ledger's row: one per (client, site, queue, interval start) for ever, with
// every raw term a client needs to recompute it and the contract terms that judged it.
// Plain values; thread-safe as values are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ccmon/collector/config.h"
#include "ccmon/collector/kpi.h"

namespace ccmon::collector {

enum class Judgement : std::uint8_t { kNoCalls, kMet, kMissed };
const char* ToString(Judgement j);

// Why a row changed: the first close, or an amendment by events that arrived after it.
enum class RowChange : std::uint8_t { kClosed, kAmended };
const char* ToString(RowChange c);

struct LedgerRow {
  std::string client;
  std::string site;
  std::string queue;
  std::int64_t start_ms = 0;  // interval start, UTC (Unix ms)
  int length_minutes = 30;
  // The zone the interval is aligned to (the contract's, else the site's) and its UTC offset
  // at the interval start, so a local label is never ambiguous (two 01:00 rows on a DST night).
  std::string timezone = "UTC";
  std::int32_t utc_offset_s = 0;
  Contract contract;  // the terms that judged this row (formula, threshold, targets)
  Counts counts;
  // 1 when first closed, +1 for each amendment.
  std::uint32_t revision = 1;
  // Events counted in this row that arrived after it closed (each amendment's cause).
  std::uint64_t late_events = 0;
  // Events the agent rebuilt (e.g. an outcome inferred from a lost queue_log line).
  std::uint64_t rebuilt_events = 0;
  // Collector clock: when the row first closed and when it last changed.
  std::int64_t closed_ms = 0;
  std::int64_t changed_ms = 0;
  // What the last change was and, for amendments, how many late events it added.
  RowChange change = RowChange::kClosed;
  std::uint64_t change_events = 0;

  // "YYYY-MM-DD", "HH:MM" and "YYYY-MM-DDTHH:MM+HH:MM" of the start in `timezone`.
  std::string LocalDate() const;
  std::string LocalTime() const;
  std::string LocalStart() const;
  Judgement SlResult() const;
  Judgement AbandonResult() const;
  Judgement AsaResult() const;
};

// A UTC offset as RFC 3339 writes it: "+05:30", "-04:00".
std::string UtcOffsetText(int offset_s);

// Judges counts against a contract: no value (empty denominator) is kNoCalls.
Judgement JudgeSl(const Counts& c, const Contract& k);
Judgement JudgeAbandon(const Counts& c, const Contract& k);
Judgement JudgeAsa(const Counts& c, const Contract& k);

// Client-level rows: the rows of each (client, queue, interval start) summed across sites
// (site empty), raw counts added before any ratio. Revision is the highest of the parts,
// late and rebuilt events add up. Sorted by client, queue, start.
std::vector<LedgerRow> ClientLevelRows(const std::vector<LedgerRow>& rows);

// The same row identity as a tuple, for sorting and maps.
inline auto RowKey(const LedgerRow& r) { return std::tie(r.client, r.site, r.queue, r.start_ms); }

}  // namespace ccmon::collector
