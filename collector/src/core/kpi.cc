#include "ccmon/collector/kpi.h"

#include <numeric>

namespace ccmon::collector {

std::string_view ToString(SlFormula f) { return kSlFormulaNames[static_cast<std::size_t>(f)]; }

std::optional<SlFormula> ParseSlFormula(std::string_view name) {
  for (std::size_t i = 0; i < kSlFormulaNames.size(); ++i) {
    if (kSlFormulaNames[i] == name) return static_cast<SlFormula>(i);
  }
  return std::nullopt;
}

std::uint64_t Counts::UnansweredTotal() const {
  return std::accumulate(unanswered.begin(), unanswered.end(), std::uint64_t{0});
}

Counts& Counts::operator+=(const Counts& o) {
  offered += o.offered;
  answered += o.answered;
  answered_in_threshold += o.answered_in_threshold;
  abandoned += o.abandoned;
  abandoned_in_threshold += o.abandoned_in_threshold;
  short_abandoned += o.short_abandoned;
  for (std::size_t i = 0; i < unanswered.size(); ++i) unanswered[i] += o.unanswered[i];
  answered_wait_unknown += o.answered_wait_unknown;
  abandoned_wait_unknown += o.abandoned_wait_unknown;
  completed += o.completed;
  transferred += o.transferred;
  handled += o.handled;
  answered_wait_ms += o.answered_wait_ms;
  abandoned_wait_ms += o.abandoned_wait_ms;
  handle_ms += o.handle_ms;
  on_call_ms += o.on_call_ms;
  acw_ms += o.acw_ms;
  ready_ms += o.ready_ms;
  return *this;
}

Counts& Counts::operator-=(const Counts& o) {
  offered -= o.offered;
  answered -= o.answered;
  answered_in_threshold -= o.answered_in_threshold;
  abandoned -= o.abandoned;
  abandoned_in_threshold -= o.abandoned_in_threshold;
  short_abandoned -= o.short_abandoned;
  for (std::size_t i = 0; i < unanswered.size(); ++i) unanswered[i] -= o.unanswered[i];
  answered_wait_unknown -= o.answered_wait_unknown;
  abandoned_wait_unknown -= o.abandoned_wait_unknown;
  completed -= o.completed;
  transferred -= o.transferred;
  handled -= o.handled;
  answered_wait_ms -= o.answered_wait_ms;
  abandoned_wait_ms -= o.abandoned_wait_ms;
  handle_ms -= o.handle_ms;
  on_call_ms -= o.on_call_ms;
  acw_ms -= o.acw_ms;
  ready_ms -= o.ready_ms;
  return *this;
}

namespace {
std::optional<double> Ratio(double num, double den) {
  if (den <= 0) return std::nullopt;
  return num / den;
}
}  // namespace

// Answered and abandoned calls of unknown wait leave every formula: the numerators cannot
// hold them (answered_in_threshold and abandoned_in_threshold never count them), so each
// denominator drops them too. Unanswered-other calls stay where the formula has them: their
// wait decides nothing. Short abandons never include an unknown wait, so the standard
// formula removes both without counting any call twice.
std::optional<double> ServiceLevel(const Counts& c, SlFormula f) {
  const auto ait = static_cast<double>(c.answered_in_threshold);
  // Answered and abandoned calls of known wait.
  const auto ans = static_cast<double>(c.answered) - static_cast<double>(c.answered_wait_unknown);
  const auto ab = static_cast<double>(c.abandoned) - static_cast<double>(c.abandoned_wait_unknown);
  switch (f) {
    case SlFormula::kStandard:
      return Ratio(ait, ans + ab + static_cast<double>(c.UnansweredTotal()) -
                            static_cast<double>(c.short_abandoned));
    case SlFormula::kAnsweredOnly:
      return Ratio(ait, ans);
    case SlFormula::kRemovedWithin:
      return Ratio(ait + static_cast<double>(c.abandoned_in_threshold), ans + ab);
    case SlFormula::kIgnoreAbandonedWithin:
      return Ratio(ait, ans + ab - static_cast<double>(c.abandoned_in_threshold));
    case SlFormula::kOverOffered:
      return Ratio(ait, static_cast<double>(c.offered) -
                            static_cast<double>(c.answered_wait_unknown) -
                            static_cast<double>(c.abandoned_wait_unknown));
  }
  return std::nullopt;
}

std::optional<double> AbandonRate(const Counts& c) {
  return Ratio(static_cast<double>(c.abandoned) - static_cast<double>(c.short_abandoned),
               static_cast<double>(c.offered) - static_cast<double>(c.short_abandoned));
}

std::optional<double> AsaSeconds(const Counts& c) {
  return Ratio(static_cast<double>(c.answered_wait_ms) / 1000.0,
               static_cast<double>(c.answered) - static_cast<double>(c.answered_wait_unknown));
}

std::optional<double> AhtSeconds(const Counts& c) {
  return Ratio(static_cast<double>(c.handle_ms) / 1000.0, static_cast<double>(c.handled));
}

std::optional<double> Occupancy(const Counts& c) {
  const auto busy = static_cast<double>(c.on_call_ms + c.acw_ms);
  return Ratio(busy, busy + static_cast<double>(c.ready_ms));
}

}  // namespace ccmon::collector
