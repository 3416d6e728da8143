// KPI arithmetic over additive call counts, exactly as defined in the design brief
// ("KPI definitions"). Pure functions over plain values; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ccmon/model/event.h"

namespace ccmon::collector {

// The five service-level formulas a contract may choose. Every one leaves out the answered
// and abandoned calls whose wait is unknown (Counts::answered_wait_unknown,
// abandoned_wait_unknown), from its numerator and its denominator: nobody can say whether
// they were within T. Exact expressions: ServiceLevel in kpi.cc, docs/metrics.md.
enum class SlFormula : std::uint8_t {
  kStandard,               // ait / (answered + abandoned + unanswered - short abandoned)
  kAnsweredOnly,           // ait / answered (Asterisk SL)
  kRemovedWithin,          // (ait + abandoned within T) / (answered + abandoned) (Asterisk SL2)
  kIgnoreAbandonedWithin,  // ait / (answered + abandoned after T)
  kOverOffered,            // ait / offered
};
inline constexpr std::array<std::string_view, 5> kSlFormulaNames = {
    "standard", "answered_only", "removed_within", "ignore_abandoned_within", "over_offered"};
std::string_view ToString(SlFormula f);
std::optional<SlFormula> ParseSlFormula(std::string_view name);

// Additive outcome counts of one queue over some span of event time. Durations in ms.
// Checkpoints before the protobuf format stored it as raw bytes, in two layouts that are
// still read (engine_checkpoint.cc, ReadCounts): those layouts are frozen there, not here.
struct Counts {
  std::uint64_t offered = 0;
  std::uint64_t answered = 0;
  std::uint64_t answered_in_threshold = 0;
  std::uint64_t abandoned = 0;
  std::uint64_t abandoned_in_threshold = 0;
  std::uint64_t short_abandoned = 0;
  std::array<std::uint64_t, kUnansweredReasonCount> unanswered{};  // by UnansweredReason
  // Answered / abandoned calls whose wait the source did not give: counted in answered and
  // abandoned, never within T, never short, not in the wait sums or the wait histograms.
  std::uint64_t answered_wait_unknown = 0;
  std::uint64_t abandoned_wait_unknown = 0;
  std::uint64_t completed = 0;
  std::uint64_t transferred = 0;
  std::uint64_t handled = 0;  // completed + transferred: calls whose handle time is known
  // Summed waits of the answered and abandoned calls of known wait.
  std::uint64_t answered_wait_ms = 0;
  std::uint64_t abandoned_wait_ms = 0;
  std::uint64_t handle_ms = 0;  // talk + hold + after-call work of handled calls
  // Agent time in states, for occupancy.
  std::uint64_t on_call_ms = 0;
  std::uint64_t acw_ms = 0;
  std::uint64_t ready_ms = 0;

  std::uint64_t UnansweredTotal() const;
  Counts& operator+=(const Counts& o);
  Counts& operator-=(const Counts& o);
  bool operator==(const Counts& o) const = default;
};

// Each returns nullopt when the denominator is empty (or not positive).
std::optional<double> ServiceLevel(const Counts& c, SlFormula f);
// (abandoned - short) / (offered - short): abandons of unknown wait count in full.
std::optional<double> AbandonRate(const Counts& c);
// answered_wait_ms / (answered - answered_wait_unknown).
std::optional<double> AsaSeconds(const Counts& c);
std::optional<double> AhtSeconds(const Counts& c);
std::optional<double> Occupancy(const Counts& c);

}  // namespace ccmon::collector
