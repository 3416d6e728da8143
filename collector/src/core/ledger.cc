#include "ccmon/collector/ledger.h"

#include <absl/time/time.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace ccmon::collector {

const char* ToString(Judgement j) {
  switch (j) {
    case Judgement::kMet:
      return "met";
    case Judgement::kMissed:
      return "missed";
    case Judgement::kNoCalls:
      break;
  }
  return "no_calls";
}

const char* ToString(RowChange c) { return c == RowChange::kAmended ? "amended" : "closed"; }

namespace {

// The row's start as a civil time in a fixed zone of its recorded offset: exact even when
// the zone's rules are unknown to the reader or the label would be ambiguous.
absl::CivilSecond Civil(const LedgerRow& r) {
  return absl::ToCivilSecond(absl::FromUnixMillis(r.start_ms), absl::FixedTimeZone(r.utc_offset_s));
}

}  // namespace

std::string LedgerRow::LocalDate() const {
  const auto c = Civil(*this);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.year()), c.month(), c.day());
  return buf;
}

std::string LedgerRow::LocalTime() const {
  const auto c = Civil(*this);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", c.hour(), c.minute());
  return buf;
}

std::string UtcOffsetText(int offset_s) {
  const int off_min = offset_s / 60;
  const int abs_min = off_min < 0 ? -off_min : off_min;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", off_min < 0 ? '-' : '+', abs_min / 60,
                abs_min % 60);
  return buf;
}

std::string LedgerRow::LocalStart() const {
  return LocalDate() + "T" + LocalTime() + UtcOffsetText(utc_offset_s);
}

Judgement JudgeSl(const Counts& c, const Contract& k) {
  const auto v = ServiceLevel(c, k.sl_formula);
  if (!v) return Judgement::kNoCalls;
  return *v >= k.sl_target ? Judgement::kMet : Judgement::kMissed;
}

Judgement JudgeAbandon(const Counts& c, const Contract& k) {
  const auto v = AbandonRate(c);
  if (!v) return Judgement::kNoCalls;
  return *v <= k.abandon_target ? Judgement::kMet : Judgement::kMissed;
}

Judgement JudgeAsa(const Counts& c, const Contract& k) {
  const auto v = AsaSeconds(c);
  if (!v) return Judgement::kNoCalls;
  return *v <= k.asa_target_s ? Judgement::kMet : Judgement::kMissed;
}

Judgement LedgerRow::SlResult() const { return JudgeSl(counts, contract); }
Judgement LedgerRow::AbandonResult() const { return JudgeAbandon(counts, contract); }
Judgement LedgerRow::AsaResult() const { return JudgeAsa(counts, contract); }

std::vector<LedgerRow> ClientLevelRows(const std::vector<LedgerRow>& rows) {
  std::map<std::tuple<std::string, std::string, std::int64_t>, LedgerRow> sum;
  for (const LedgerRow& r : rows) {
    auto [it, fresh] = sum.try_emplace({r.client, r.queue, r.start_ms}, r);
    LedgerRow& c = it->second;
    if (fresh) {
      c.site.clear();
      continue;
    }
    c.counts += r.counts;
    c.revision = std::max(c.revision, r.revision);
    c.late_events += r.late_events;
    c.rebuilt_events += r.rebuilt_events;
    c.closed_ms = std::max(c.closed_ms, r.closed_ms);
    c.changed_ms = std::max(c.changed_ms, r.changed_ms);
  }
  std::vector<LedgerRow> out;
  out.reserve(sum.size());
  for (auto& [key, r] : sum) out.push_back(std::move(r));
  return out;
}

}  // namespace ccmon::collector
