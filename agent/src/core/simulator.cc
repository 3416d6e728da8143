// Discrete-event simulation behind Simulator: a min-heap of timed actions ordered by (time,
// insertion counter) and one seeded generator, so a seed always yields the same events however
// the caller slices time into Advance calls.
#include "ccmon/agent/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <numbers>
#include <queue>
#include <random>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace ccmon::agent {

namespace {

constexpr std::int64_t kMsPerHour = 3'600'000;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
constexpr double kSurgeFactor = 3.0;
constexpr double kTyphoonShare = 0.6;
// Staff leave over this span at the start of a typhoon, not all in the same second.
constexpr double kTyphoonSpreadS = 180;
constexpr double kMeanBreakIntervalS = 3600;
constexpr double kLunchProbability = 0.2;
constexpr double kCallerHangsUpProbability = 0.6;
// Lognormal shape of talk time: a right tail of long calls, as real handle times have.
constexpr double kHandleSigma = 0.5;
constexpr double kMinTalkS = 1;
// Keeps talk_ms far inside uint32 even with a pathological mean_handle_s.
constexpr double kMaxTalkS = 4 * 3600;
constexpr double kLinkRttMs = 40;
constexpr double kLinkJitterMs = 3;
constexpr std::int64_t kWithin20sMs = 20'000;
constexpr std::int64_t kShortAbandonMs = 5'000;
// Literals have static storage, so views of them outlive any sink call.
constexpr std::string_view kBreakReason = "break";
constexpr std::string_view kLunchReason = "lunch";

enum class Scenario : std::uint8_t { kNormal, kTyphoon, kWanOutage, kVoiceDegradation, kSurge };

// Unknown names run as `normal`: callers validate with KnownScenario() first.
Scenario ParseScenario(const std::string& name) {
  if (name == "typhoon") return Scenario::kTyphoon;
  if (name == "wan-outage") return Scenario::kWanOutage;
  if (name == "voice-degradation") return Scenario::kVoiceDegradation;
  if (name == "surge") return Scenario::kSurge;
  return Scenario::kNormal;
}

// Unnormalised arrival shape by hour of day: a night trough, peaks late morning and
// mid-afternoon and a smaller evening bump (the usual two-hump call-centre day). The high base
// keeps it shallow (about 0.75 to 1.4 of the mean) so that a demo run at any UTC hour stays
// near the configured rate.
double RawCurve(double hour) {
  auto bump = [hour](double centre, double width) {
    double d = std::fabs(hour - centre);
    d = std::min(d, 24 - d);
    return std::exp(-0.5 * (d / width) * (d / width));
  };
  return 1.2 + bump(11, 1.5) + 0.9 * bump(15, 1.5) + 0.4 * bump(19.5, 2);
}

double HourOfDay(std::int64_t time_ms) {
  const std::int64_t in_day = ((time_ms % kMsPerDay) + kMsPerDay) % kMsPerDay;
  return static_cast<double>(in_day) / static_cast<double>(kMsPerHour);
}

std::int64_t SecondsToMs(double s) { return std::llround(std::max(0.0, s) * 1000); }

std::uint32_t ToU32(std::int64_t ms) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, 0xffffffffLL));
}

enum class ActionKind : std::uint8_t {
  kLogin,
  kArrival,    // arg: queue index
  kQueueExit,  // arg: call number; the earlier of patience and queue timeout
  kCallEnd,    // arg: call number
  kAcwEnd,     // arg: agent index
  kBreakDue,   // arg: agent index
  kBreakEnd,   // arg: agent index
  kLinkSample,
  kTyphoonStart,
  kTyphoonLogout,  // arg: agent index
  kTyphoonForce,   // arg: agent index
  kTyphoonReturn,
};

struct Action {
  std::int64_t time_ms = 0;
  std::uint64_t order = 0;
  ActionKind kind = ActionKind::kLogin;
  std::uint64_t arg = 0;
  // Agent actions carry the agent's epoch at scheduling time; a logout bumps the epoch, which
  // turns break and after-call-work actions scheduled before it into no-ops.
  std::uint64_t epoch = 0;
};

struct LaterFirst {
  bool operator()(const Action& a, const Action& b) const {
    return std::tie(a.time_ms, a.order) > std::tie(b.time_ms, b.order);
  }
};

struct SimAgent {
  std::size_t index = 0;
  std::string name;
  AgentState state = AgentState::kLoggedOut;
  std::int64_t ready_since_ms = 0;
  std::uint64_t call = 0;  // 0: none
  std::uint64_t epoch = 0;
  bool break_pending = false;   // break came due mid-call; taken when after-call work ends
  bool typhoon_victim = false;  // leaves during this typhoon, back at its end
  bool logout_pending = false;  // leaves when the current call ends
};

struct SimQueue {
  std::string name;
  std::deque<std::uint64_t> waiting;  // FIFO of call numbers
  SimTruth* truth = nullptr;          // a node of Impl::truth; map nodes never move
};

// Pointers into Impl's queue and agent vectors, which are sized once in the constructor.
struct SimCall {
  std::string id;
  std::string caller;
  SimQueue* queue = nullptr;
  std::int64_t arrival_ms = 0;
  std::int64_t answered_ms = 0;
  SimAgent* agent = nullptr;
  bool waiting = true;
  bool abandons = true;  // what the queue-exit action means: patience ran out, or timeout
};

}  // namespace

struct Simulator::Impl {
  Impl(SimulatorOptions o, std::int64_t start);

  void Advance(std::int64_t now_ms, const EventSink& sink);
  bool InDisaster(std::int64_t t) const { return t >= disaster_begin_ms && t < disaster_end_ms; }

  void Schedule(std::int64_t t, ActionKind kind, std::uint64_t arg = 0, std::uint64_t epoch = 0);
  void Process(const Action& a);
  void Emit(std::int64_t t, const EventBody& body) const { (*sink)(Event{0, t, body}); }
  void EmitAgent(std::int64_t t, const SimAgent& agent, AgentState state,
                 std::string_view queue = {}, std::string_view reason = {}) const;

  // Random draws; inverse-transform and Box-Muller on raw 64-bit output, because the standard
  // distributions' algorithms are implementation-defined and would break reproducibility.
  double Uniform() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]: keeps log finite
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double LognormalWithMean(double mean) {
    const double mu = std::log(mean) - 0.5 * kHandleSigma * kHandleSigma;
    return std::exp(mu + kHandleSigma * Normal());
  }

  // Arrivals per minute for one queue at t.
  double Rate(std::int64_t t) const;

  using CallMap = std::unordered_map<std::uint64_t, SimCall>;

  void LogIn(SimAgent& ag, std::int64_t t);
  void LogOut(SimAgent& ag, std::int64_t t);
  void BecomeReady(SimAgent& ag, std::int64_t t);
  void StartBreak(SimAgent& ag, std::int64_t t);
  void StartAfterCallWork(SimAgent& ag, std::int64_t t);
  void Arrive(SimQueue& queue, std::int64_t t);
  void ExitQueue(CallMap::iterator it, std::int64_t t);
  void Dispatch(std::int64_t t);
  void Answer(SimQueue& queue, SimAgent& ag, std::int64_t t);
  // Ends the call (COMPLETED and its voice quality) and frees its agent; the caller decides
  // what the agent does next.
  void FinishCall(CallMap::iterator it, std::int64_t t, Party hung_up_by);
  void EmitVoiceQuality(std::int64_t t, const SimCall& call);

  SimulatorOptions options;
  Scenario scenario;
  std::int64_t start_ms;
  std::int64_t disaster_begin_ms;
  std::int64_t disaster_end_ms;
  std::mt19937_64 rng;
  double curve_norm = 1;  // divides RawCurve so that its daily mean is 1
  double max_rate = 0;    // per queue per minute; the bound for thinning arrivals
  std::map<std::string, SimTruth> truth;
  std::vector<SimQueue> queues;  // also the storage behind queue views
  std::vector<SimAgent> agents;
  CallMap calls;  // waiting or talking; nodes never move, so their ids can be viewed
  std::priority_queue<Action, std::vector<Action>, LaterFirst> actions;
  std::uint64_t next_order = 0;
  std::uint64_t calls_created = 0;
  const EventSink* sink = nullptr;  // set only inside Advance
};

Simulator::Impl::Impl(SimulatorOptions o, std::int64_t start)
    : options(std::move(o)),
      scenario(ParseScenario(options.scenario)),
      start_ms(start),
      disaster_begin_ms(start + SecondsToMs(options.disaster_at_s)),
      disaster_end_ms(disaster_begin_ms + SecondsToMs(options.disaster_for_s)),
      rng(options.seed) {
  if (scenario == Scenario::kNormal) disaster_end_ms = disaster_begin_ms;

  double sum = 0;
  double peak = 0;
  constexpr int kSamples = 24 * 60;
  for (int m = 0; m < kSamples; ++m) {
    const double v = RawCurve(m / 60.0);
    sum += v;
    peak = std::max(peak, v);
  }
  curve_norm = sum / kSamples;
  // A little headroom over the sampled peak (minute samples can miss the true maximum).
  max_rate = std::max(0.0, options.calls_per_minute) * peak / curve_norm * 1.01 *
             (scenario == Scenario::kSurge ? kSurgeFactor : 1.0);

  for (const auto& name : options.queues) {
    if (truth.count(name) != 0) continue;  // a repeated name is the same queue
    queues.push_back(SimQueue{name, {}, &truth[name]});
  }

  const int agent_count = std::max(0, options.agents);
  agents.resize(static_cast<std::size_t>(agent_count));
  for (std::size_t i = 0; i < agents.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "agent-%02zu", i + 1);
    agents[i].index = i;
    agents[i].name = name;
  }

  // Logins first, so that anything else at start_ms already sees a staffed floor.
  Schedule(start_ms, ActionKind::kLogin);
  if (max_rate > 0) {
    for (std::size_t q = 0; q < queues.size(); ++q) Schedule(start_ms, ActionKind::kArrival, q);
  }
  if (!options.link.empty() && options.link_sample_every_s > 0) {
    Schedule(start_ms, ActionKind::kLinkSample);
  }
  if (scenario == Scenario::kTyphoon && disaster_end_ms > disaster_begin_ms) {
    Schedule(disaster_begin_ms, ActionKind::kTyphoonStart);
  }
}

void Simulator::Impl::Schedule(std::int64_t t, ActionKind kind, std::uint64_t arg,
                               std::uint64_t epoch) {
  actions.push(Action{t, next_order++, kind, arg, epoch});
}

void Simulator::Impl::Advance(std::int64_t now_ms, const EventSink& s) {
  sink = &s;
  while (!actions.empty() && actions.top().time_ms <= now_ms) {
    const Action a = actions.top();
    actions.pop();
    Process(a);
  }
  sink = nullptr;
}

double Simulator::Impl::Rate(std::int64_t t) const {
  double rate = options.calls_per_minute * RawCurve(HourOfDay(t)) / curve_norm;
  if (scenario == Scenario::kSurge && InDisaster(t)) rate *= kSurgeFactor;
  return rate;
}

void Simulator::Impl::EmitAgent(std::int64_t t, const SimAgent& agent, AgentState state,
                                std::string_view queue, std::string_view reason) const {
  AgentStateEvent e;
  e.agent = agent.name;
  e.queue = queue;
  e.state = state;
  e.reason = reason;
  Emit(t, e);
}

void Simulator::Impl::Process(const Action& a) {
  const std::int64_t t = a.time_ms;
  const auto i = static_cast<std::size_t>(a.arg);
  switch (a.kind) {
    case ActionKind::kLogin:
      for (auto& ag : agents) LogIn(ag, t);
      break;
    case ActionKind::kArrival: {
      // Thinning (Lewis-Shedler): candidates at the peak rate, each kept with probability
      // rate(t)/peak, gives an exact non-homogeneous Poisson process.
      if (Uniform() * max_rate < Rate(t)) Arrive(queues[i], t);
      const std::int64_t gap = SecondsToMs(Exponential(60.0 / max_rate));
      Schedule(t + std::max<std::int64_t>(gap, 1), ActionKind::kArrival, a.arg);
      break;
    }
    case ActionKind::kQueueExit: {
      const auto it = calls.find(a.arg);
      // Answered calls are still in the map, and must stay with their agent.
      if (it != calls.end() && it->second.waiting) ExitQueue(it, t);
      break;
    }
    case ActionKind::kCallEnd: {
      const auto it = calls.find(a.arg);
      if (it == calls.end()) break;  // cut short by a typhoon logout
      SimAgent& ag = *it->second.agent;
      FinishCall(it, t, Uniform() < kCallerHangsUpProbability ? Party::kCaller : Party::kAgent);
      if (ag.logout_pending) {
        LogOut(ag, t);
      } else {
        StartAfterCallWork(ag, t);
      }
      break;
    }
    case ActionKind::kAcwEnd: {
      SimAgent& ag = agents[i];
      if (ag.epoch != a.epoch || ag.state != AgentState::kAfterCallWork) break;
      if (ag.break_pending) {
        StartBreak(ag, t);
      } else {
        BecomeReady(ag, t);
        Dispatch(t);
      }
      break;
    }
    case ActionKind::kBreakDue: {
      SimAgent& ag = agents[i];
      if (ag.epoch != a.epoch) break;
      if (ag.state == AgentState::kReady) {
        StartBreak(ag, t);
      } else if (ag.state == AgentState::kOnCall || ag.state == AgentState::kAfterCallWork) {
        ag.break_pending = true;
      }
      break;
    }
    case ActionKind::kBreakEnd: {
      SimAgent& ag = agents[i];
      if (ag.epoch != a.epoch || ag.state != AgentState::kNotReady) break;
      BecomeReady(ag, t);
      Schedule(t + SecondsToMs(Exponential(kMeanBreakIntervalS)), ActionKind::kBreakDue, i,
               ag.epoch);
      Dispatch(t);
      break;
    }
    case ActionKind::kLinkSample: {
      LinkSample s;
      s.link = options.link;
      if (scenario == Scenario::kWanOutage && InDisaster(t)) {
        s.up = false;
        s.loss_ratio = 1;
      } else {
        s.rtt_ms = std::max(1.0, kLinkRttMs + 4 * Normal());
        s.jitter_ms = std::max(0.1, kLinkJitterMs + 0.8 * Normal());
      }
      Emit(t, s);
      Schedule(t + std::max<std::int64_t>(SecondsToMs(options.link_sample_every_s), 1),
               ActionKind::kLinkSample);
      break;
    }
    case ActionKind::kTyphoonStart: {
      // Victims drawn by a partial Fisher-Yates shuffle; they leave evenly over the spread.
      // Capping the spread at half the window keeps the floor at its lowest for at least the
      // other half, long enough for a StaffingCollapse alert's `for` to elapse.
      const auto victims =
          static_cast<std::size_t>(std::lround(kTyphoonShare * static_cast<double>(agents.size())));
      std::vector<std::size_t> order(agents.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
      const std::int64_t spread_ms =
          std::min(SecondsToMs(kTyphoonSpreadS), (disaster_end_ms - disaster_begin_ms) / 2);
      for (std::size_t k = 0; k < victims; ++k) {
        const std::size_t pick = k + static_cast<std::size_t>(rng() % (order.size() - k));
        std::swap(order[k], order[pick]);
        const std::int64_t at =
            t + spread_ms * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(victims);
        Schedule(at, ActionKind::kTyphoonLogout, order[k]);
        Schedule(t + spread_ms, ActionKind::kTyphoonForce, order[k]);
      }
      Schedule(disaster_end_ms, ActionKind::kTyphoonReturn);
      break;
    }
    case ActionKind::kTyphoonLogout: {
      SimAgent& ag = agents[i];
      ag.typhoon_victim = true;
      if (ag.state == AgentState::kOnCall) {
        ag.logout_pending = true;
      } else if (ag.state != AgentState::kLoggedOut) {
        LogOut(ag, t);
      }
      break;
    }
    case ActionKind::kTyphoonForce: {
      // Power went at the site: a victim still talking loses the call.
      SimAgent& ag = agents[i];
      if (ag.logout_pending && ag.state == AgentState::kOnCall) {
        FinishCall(calls.find(ag.call), t, Party::kAgent);
        LogOut(ag, t);
      }
      break;
    }
    case ActionKind::kTyphoonReturn:
      for (auto& ag : agents) {
        if (!ag.typhoon_victim) continue;
        ag.typhoon_victim = false;
        if (ag.state == AgentState::kLoggedOut) LogIn(ag, t);
      }
      Dispatch(t);
      break;
  }
}

void Simulator::Impl::LogIn(SimAgent& ag, std::int64_t t) {
  ag.state = AgentState::kReady;
  ag.ready_since_ms = t;
  ag.call = 0;
  ag.break_pending = false;
  ag.logout_pending = false;
  ++ag.epoch;
  EmitAgent(t, ag, AgentState::kReady);
  // The collector learns queue membership from queue-scoped state events.
  for (const auto& q : queues) EmitAgent(t, ag, AgentState::kReady, q.name);
  Schedule(t + SecondsToMs(Exponential(kMeanBreakIntervalS)), ActionKind::kBreakDue, ag.index,
           ag.epoch);
}

void Simulator::Impl::LogOut(SimAgent& ag, std::int64_t t) {
  ag.state = AgentState::kLoggedOut;
  ag.call = 0;
  ag.break_pending = false;
  ag.logout_pending = false;
  ++ag.epoch;
  EmitAgent(t, ag, AgentState::kLoggedOut);
}

void Simulator::Impl::BecomeReady(SimAgent& ag, std::int64_t t) {
  ag.state = AgentState::kReady;
  ag.ready_since_ms = t;
  EmitAgent(t, ag, AgentState::kReady);
}

void Simulator::Impl::StartBreak(SimAgent& ag, std::int64_t t) {
  ag.break_pending = false;
  ag.state = AgentState::kNotReady;
  const bool lunch = Uniform() < kLunchProbability;
  const double length_s = lunch ? Uniform(600, 1200) : Uniform(180, 360);
  EmitAgent(t, ag, AgentState::kNotReady, {}, lunch ? kLunchReason : kBreakReason);
  Schedule(t + SecondsToMs(length_s), ActionKind::kBreakEnd, ag.index, ag.epoch);
}

void Simulator::Impl::StartAfterCallWork(SimAgent& ag, std::int64_t t) {
  ag.state = AgentState::kAfterCallWork;
  EmitAgent(t, ag, AgentState::kAfterCallWork);
  Schedule(t + SecondsToMs(Exponential(options.mean_acw_s)), ActionKind::kAcwEnd, ag.index,
           ag.epoch);
}

void Simulator::Impl::Arrive(SimQueue& queue, std::int64_t t) {
  const std::uint64_t n = ++calls_created;
  SimCall& call = calls[n];
  call.id = "sim-" + std::to_string(options.seed) + "-" + std::to_string(n);
  char caller[32];
  std::snprintf(caller, sizeof caller, "+1555000%04u", static_cast<unsigned>(rng() % 10000));
  call.caller = caller;
  call.queue = &queue;
  call.arrival_ms = t;
  queue.waiting.push_back(n);
  ++queue.truth->offered;

  CallEvent e;
  e.kind = CallKind::kOffered;
  e.queue = queue.name;
  e.call_id = call.id;
  e.caller_id = call.caller;
  e.position = static_cast<std::uint32_t>(queue.waiting.size());
  Emit(t, e);

  const std::int64_t patience_ms = SecondsToMs(Exponential(options.mean_patience_s));
  std::int64_t exit_ms = patience_ms;
  if (options.queue_timeout_s > 0) {
    const std::int64_t timeout_ms = SecondsToMs(options.queue_timeout_s);
    // A tie goes to the caller: hanging up is what the caller experiences.
    call.abandons = patience_ms <= timeout_ms;
    exit_ms = std::min(patience_ms, timeout_ms);
  }
  Schedule(t + exit_ms, ActionKind::kQueueExit, n);
  Dispatch(t);
}

void Simulator::Impl::ExitQueue(CallMap::iterator it, std::int64_t t) {
  const SimCall& call = it->second;
  SimQueue& queue = *call.queue;
  queue.waiting.erase(std::find(queue.waiting.begin(), queue.waiting.end(), it->first));

  const std::int64_t wait_ms = t - call.arrival_ms;
  CallEvent e;
  e.queue = queue.name;
  e.call_id = call.id;
  e.caller_id = call.caller;
  e.wait_ms = ToU32(wait_ms);
  if (call.abandons) {
    e.kind = CallKind::kAbandoned;
    e.hung_up_by = Party::kCaller;
    ++queue.truth->abandoned;
    if (wait_ms < kShortAbandonMs) ++queue.truth->short_abandoned_5s;
  } else {
    e.kind = CallKind::kUnanswered;
    e.reason = UnansweredReason::kTimeout;
    ++queue.truth->timed_out;
  }
  Emit(t, e);
  calls.erase(it);  // only after the sink returned: e viewed the call's strings
}

void Simulator::Impl::Dispatch(std::int64_t t) {
  for (;;) {
    // Longest-idle agent first, the usual ACD policy; index breaks ties deterministically.
    SimAgent* agent = nullptr;
    for (auto& ag : agents) {
      if (ag.state != AgentState::kReady) continue;
      if (agent == nullptr || ag.ready_since_ms < agent->ready_since_ms) agent = &ag;
    }
    if (agent == nullptr) return;
    // Agents serve every queue, so the oldest call at any queue's head goes first.
    SimQueue* queue = nullptr;
    std::tuple<std::int64_t, std::uint64_t> oldest{};
    for (auto& q : queues) {
      if (q.waiting.empty()) continue;
      const std::uint64_t n = q.waiting.front();
      const std::tuple<std::int64_t, std::uint64_t> key{calls.at(n).arrival_ms, n};
      if (queue == nullptr || key < oldest) {
        queue = &q;
        oldest = key;
      }
    }
    if (queue == nullptr) return;
    Answer(*queue, *agent, t);
  }
}

void Simulator::Impl::Answer(SimQueue& queue, SimAgent& ag, std::int64_t t) {
  const std::uint64_t n = queue.waiting.front();
  queue.waiting.pop_front();
  SimCall& call = calls.at(n);
  call.waiting = false;
  call.agent = &ag;
  call.answered_ms = t;
  ag.state = AgentState::kOnCall;
  ag.call = n;

  const std::int64_t wait_ms = t - call.arrival_ms;
  ++queue.truth->answered;
  if (wait_ms <= kWithin20sMs) ++queue.truth->answered_within_20s;

  CallEvent e;
  e.kind = CallKind::kAnswered;
  e.queue = queue.name;
  e.call_id = call.id;
  e.caller_id = call.caller;
  e.agent = ag.name;
  e.wait_ms = ToU32(wait_ms);
  Emit(t, e);
  EmitAgent(t, ag, AgentState::kOnCall);

  const double talk_s = std::clamp(LognormalWithMean(std::max(options.mean_handle_s, kMinTalkS)),
                                   kMinTalkS, kMaxTalkS);
  Schedule(t + SecondsToMs(talk_s), ActionKind::kCallEnd, n);
}

void Simulator::Impl::FinishCall(CallMap::iterator it, std::int64_t t, Party hung_up_by) {
  const SimCall& call = it->second;
  ++call.queue->truth->completed;

  CallEvent e;
  e.kind = CallKind::kCompleted;
  e.queue = call.queue->name;
  e.call_id = call.id;
  e.caller_id = call.caller;
  e.agent = call.agent->name;
  e.wait_ms = ToU32(call.answered_ms - call.arrival_ms);
  e.talk_ms = ToU32(t - call.answered_ms);
  e.hung_up_by = hung_up_by;
  Emit(t, e);
  EmitVoiceQuality(t, call);
  call.agent->call = 0;
  calls.erase(it);
}

void Simulator::Impl::EmitVoiceQuality(std::int64_t t, const SimCall& call) {
  VoiceQuality v;
  v.call_id = call.id;
  v.queue = call.queue->name;
  v.agent = call.agent->name;
  if (scenario == Scenario::kVoiceDegradation && InDisaster(t)) {
    v.mos = Uniform(2.5, 3.2);
    v.jitter_ms = Uniform(40, 90);
    v.loss_ratio = Uniform(0.03, 0.08);
    v.rtt_ms = Uniform(150, 250);
  } else {
    v.mos = Uniform(4.1, 4.4);
    v.jitter_ms = Uniform(2, 8);
    v.loss_ratio = Uniform(0, 0.005);
    v.rtt_ms = std::max(1.0, kLinkRttMs + 4 * Normal());
  }
  Emit(t, v);
}

Simulator::Simulator(SimulatorOptions options, std::int64_t start_ms)
    : impl_(std::make_unique<Impl>(std::move(options), start_ms)) {}

Simulator::~Simulator() = default;

void Simulator::Advance(std::int64_t now_ms, const EventSink& sink) {
  impl_->Advance(now_ms, sink);
}

bool Simulator::WanDown(std::int64_t now_ms) const {
  return impl_->scenario == Scenario::kWanOutage && impl_->InDisaster(now_ms);
}

const std::map<std::string, SimTruth>& Simulator::truth() const { return impl_->truth; }

std::string Simulator::TruthText() const {
  std::string out;
  for (const auto& [queue, t] : impl_->truth) {
    out += queue;
    for (const std::uint64_t v : {t.offered, t.answered, t.answered_within_20s, t.abandoned,
                                  t.short_abandoned_5s, t.timed_out, t.completed}) {
      out += ' ';
      out += std::to_string(v);
    }
    out += '\n';
  }
  return out;
}

bool Simulator::KnownScenario(const std::string& name) {
  return name == "normal" || name == "typhoon" || name == "wan-outage" ||
         name == "voice-degradation" || name == "surge";
}

}  // namespace ccmon::agent
