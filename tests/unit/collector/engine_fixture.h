// The engine tests' fixture: a fresh Engine on a fake clock, and helpers that apply call,
// unanswered and agent-state events to it. One named type, shared by the engine's test files
// (one per concern, as the engine's own files are).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ccmon/collector/engine.h"

namespace ccmon::collector::engine_fixture {

// 2026-11-26 00:00:00 UTC.
constexpr std::int64_t kDay = 1795651200000;
constexpr std::int64_t kS = 1000;
constexpr std::int64_t kMin = 60 * kS;

// Counts as checkpoints stored them before the `lost` reason and the unknown-wait counters
// (the 160-byte layout of checkpoint versions 2 and 3 until then).
struct CountsV1 {
  std::uint64_t offered = 0, answered = 0, answered_in_threshold = 0, abandoned = 0,
                abandoned_in_threshold = 0, short_abandoned = 0;
  std::array<std::uint64_t, 5> unanswered{};
  std::uint64_t completed = 0, transferred = 0, handled = 0, answered_wait_ms = 0,
                abandoned_wait_ms = 0, handle_ms = 0, on_call_ms = 0, acw_ms = 0, ready_ms = 0;
};
static_assert(sizeof(CountsV1) == 160);

// `c` in the old layout (c has no lost calls and no unknown waits).
inline CountsV1 OldLayout(const Counts& c) {
  CountsV1 o;
  o.offered = c.offered;
  o.answered = c.answered;
  o.answered_in_threshold = c.answered_in_threshold;
  o.abandoned = c.abandoned;
  o.abandoned_in_threshold = c.abandoned_in_threshold;
  o.short_abandoned = c.short_abandoned;
  for (std::size_t i = 0; i < o.unanswered.size(); ++i) o.unanswered[i] = c.unanswered[i];
  o.completed = c.completed;
  o.transferred = c.transferred;
  o.handled = c.handled;
  o.answered_wait_ms = c.answered_wait_ms;
  o.abandoned_wait_ms = c.abandoned_wait_ms;
  o.handle_ms = c.handle_ms;
  o.on_call_ms = c.on_call_ms;
  o.acw_ms = c.acw_ms;
  o.ready_ms = c.ready_ms;
  return o;
}

// Counts with every field of the old layout set to its own value (base, base + 1, ...), so
// that a field read into the wrong place cannot pass.
inline Counts Distinct(std::uint64_t base) {
  Counts c;
  std::uint64_t v = base;
  for (auto* f : {&c.offered, &c.answered, &c.answered_in_threshold, &c.abandoned,
                  &c.abandoned_in_threshold, &c.short_abandoned}) {
    *f = v++;
  }
  for (std::size_t i = 0; i < 5; ++i) c.unanswered[i] = v++;
  for (auto* f : {&c.completed, &c.transferred, &c.handled, &c.answered_wait_ms,
                  &c.abandoned_wait_ms, &c.handle_ms, &c.on_call_ms, &c.acw_ms, &c.ready_ms}) {
    *f = v++;
  }
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : clock_(kDay + 10 * 3600 * kS) {}

  void Make(CoreConfig cfg = {}) { engine_ = std::make_unique<Engine>(std::move(cfg), clock_); }

  ApplyResult Call(std::int64_t t, CallKind kind, std::string_view queue, std::string_view id,
                   std::uint32_t wait_ms = 0, std::string_view site = "s1") {
    CallEvent c;
    c.kind = kind;
    c.queue = queue;
    c.call_id = id;
    c.wait_ms = wait_ms;
    return engine_->Apply(site, "i1", Event{++seq_, t, c});
  }

  ApplyResult Unanswered(std::int64_t t, std::string_view queue, UnansweredReason r,
                         std::uint32_t wait_ms) {
    CallEvent c;
    c.kind = CallKind::kUnanswered;
    c.queue = queue;
    const std::string id = "u" + std::to_string(seq_);
    c.call_id = id;
    c.reason = r;
    c.wait_ms = wait_ms;
    return engine_->Apply("s1", "i1", Event{++seq_, t, c});
  }

  ApplyResult State(std::int64_t t, std::string_view agent, AgentState s,
                    std::string_view queue = {}, std::string_view reason = {}) {
    AgentStateEvent e;
    e.agent = agent;
    e.queue = queue;
    e.state = s;
    e.reason = reason;
    return engine_->Apply("s1", "i1", Event{++seq_, t, e});
  }

  // Agent ann's state in queue "billing" at t, from the site's own agent instance ("i-SITE").
  ApplyResult AnnInBilling(std::string_view site, std::int64_t t, AgentState s) {
    AgentStateEvent e;
    e.agent = "ann";
    e.queue = "billing";
    e.state = s;
    return engine_->Apply(site, "i-" + std::string(site), Event{++seq_, t, e});
  }

  // An offered call at t with an id of its own, from the site's own agent instance ("i-SITE"),
  // so sites can move their event time apart.
  ApplyResult Offered(std::string_view site, std::string_view queue, std::int64_t t) {
    const std::string id = "offered-" + std::to_string(seq_);  // the event holds views
    CallEvent c;
    c.kind = CallKind::kOffered;
    c.queue = queue;
    c.call_id = id;
    return engine_->Apply(site, "i-" + std::string(site), Event{++seq_, t, c});
  }

  const QueueView& Queue(const Snapshot& s, std::string_view site, std::string_view queue) {
    for (const auto& q : s.queues) {
      if (q.site == site && q.queue == queue) return q;
    }
    ADD_FAILURE() << "queue " << queue << " not in snapshot";
    static QueueView none;
    return none;
  }

  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
  std::uint64_t seq_ = 0;
};

}  // namespace ccmon::collector::engine_fixture
