// The continuity rules. Each of the ten alerts turns the snapshot into observations (does the
// condition hold; is it clearly gone), and a single state machine (Step) applies `for`,
// hysteresis and resolution to all of them, so every alert behaves the same way.
#include "ccmon/collector/continuity.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <utility>

#include "ccmon/collector/kpi.h"

namespace ccmon::collector {

namespace {

// A site that has not announced its heartbeat interval is assumed to use the agent's default.
constexpr std::int64_t kDefaultHeartbeatMs = 5000;

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return {};
  return std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// Durations as a person reads them on a phone: "47 s", "3 min 20 s", "1 h 05 min".
std::string Duration(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 0);
  if (ms < 10000 && ms % 1000 != 0) return Format("%.1f s", static_cast<double>(ms) / 1000);
  const long long s = ms / 1000;
  if (s < 120) return Format("%lld s", s);
  if (s < 600) return Format("%lld min %lld s", s / 60, s % 60);
  if (s < 7200) return Format("%lld min", s / 60);
  return Format("%lld h %02lld min", s / 3600, (s / 60) % 60);
}

std::string Percent(double ratio) { return Format("%.1f%%", ratio * 100); }

std::string Lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// What a rule saw for one alert at this evaluation. `fire` uses the threshold itself; `clear`
// uses the threshold moved by the hysteresis margin, so fire implies !clear and a value between
// the two neither starts nor ends an alert.
struct Observation {
  bool fire = false;
  bool clear = false;
  // A more severe alert on the same subject is firing (LinkDown over LinkDegraded).
  bool suppressed = false;
};

Alert Base(const char* name, const char* severity, const std::string& client,
           const std::string& site) {
  Alert a;
  a.name = name;
  a.severity = severity;
  a.client = client;
  a.site = site;
  return a;
}

// Reason phrases of the final answers a trunk probe commonly gets (RFC 3261 section 21; the
// sample carries only the code).
const char* SipReason(std::uint32_t status) {
  switch (status) {
    case 403:
      return " Forbidden";
    case 404:
      return " Not Found";
    case 408:
      return " Request Timeout";
    case 480:
      return " Temporarily Unavailable";
    case 500:
      return " Server Internal Error";
    case 502:
      return " Bad Gateway";
    case 503:
      return " Service Unavailable";
    case 504:
      return " Server Time-out";
    case 600:
      return " Busy Everywhere";
    case 603:
      return " Decline";
    default:
      return "";
  }
}

const std::vector<std::string>& ClientsOf(const SiteView* site) {
  // A site that serves no known queue yet still has someone to tell: the default client.
  static const auto* const kDefault = new std::vector<std::string>{"default"};
  return site == nullptr || site->clients.empty() ? *kDefault : site->clients;
}

}  // namespace

std::string Alert::Key() const {
  // Separated by a control character, which the engine never accepts in a name or label, so
  // ("a|b", "c") and ("a", "b|c") cannot collide.
  constexpr char kSep = '\x1f';
  std::string k;
  k.reserve(name.size() + client.size() + site.size() + queue.size() + link.size() + 4);
  k.append(name).append(1, kSep).append(client).append(1, kSep).append(site);
  k.append(1, kSep).append(queue).append(1, kSep).append(link);
  return k;
}

struct ContinuityEngine::Impl {
  struct State {
    Alert alert;
    std::int64_t pending_since = -1;  // condition true continuously since
    std::int64_t clear_since = -1;    // (firing) condition clearly gone since
    bool firing = false;
    std::uint64_t generation = 0;  // last evaluation that observed the subject
  };
  struct StaffingPoint {
    std::int64_t t_ms;
    std::uint32_t agents;
  };
  struct SiteMemory {
    std::int64_t first_seen_ms = 0;
    // Change points of logged-in agents: the value at t_ms held until the next point, so a
    // steady floor costs one entry however often Evaluate runs.
    std::deque<StaffingPoint> staffing;
    std::uint64_t dropped = 0;  // the agent's dropped-events count at the last evaluation
    std::int64_t dropped_grew_ms = -1;
    std::uint64_t generation = 0;
  };

  explicit Impl(ContinuityRules r) : rules(std::move(r)) {}

  const ContinuityThresholds& For(const std::string& site, const std::string& client) const {
    if (auto it = rules.sites.find(site); it != rules.sites.end()) return it->second;
    if (auto it = rules.clients.find(client); it != rules.clients.end()) return it->second;
    return rules.defaults;
  }

  bool Firing(const std::string& key) const {
    auto it = states.find(key);
    return it != states.end() && it->second.firing;
  }

  void Resolve(State& s) {
    s.firing = false;
    s.pending_since = -1;
    s.clear_since = -1;
    s.alert.ends_ms = now;
    out.push_back({s.alert, false});
  }

  // The one state machine: pending for `for_ms`, firing, then resolved after the condition has
  // been clearly gone for resolve_after_ms. `a` carries the labels; `describe(alert)` writes the
  // summary and description, and runs only when an alert fires or is firing with its condition
  // still true, so thousands of healthy queues cost no text formatting on each tick.
  template <typename Describe>
  void Step(Alert a, const Observation& o, std::int64_t for_ms, const ContinuityThresholds& th,
            const Describe& describe) {
    State& s = states[a.Key()];
    s.generation = generation;
    if (o.suppressed) {
      if (s.firing) Resolve(s);
      s.pending_since = -1;
      return;
    }
    if (!s.firing) {
      if (!o.fire) {
        s.pending_since = -1;
        return;
      }
      if (s.pending_since < 0) s.pending_since = now;
      if (now - s.pending_since < for_ms) return;
      describe(a);
      a.runbook_url = rules.runbook_base_url + Lower(a.name) + ".md";
      a.starts_ms = now;
      a.ends_ms = 0;
      s.alert = std::move(a);
      s.firing = true;
      s.clear_since = -1;
      out.push_back({s.alert, true});
      return;
    }
    // Keep the text current while the problem lasts ("dark for 3 min" rather than "for 15 s");
    // once it eases, the last bad figures are the ones worth reading.
    if (o.fire) describe(s.alert);
    if (!o.clear) {
      s.clear_since = -1;
      return;
    }
    if (s.clear_since < 0) s.clear_since = now;
    if (now - s.clear_since >= th.resolve_after_ms) Resolve(s);
  }

  void SiteDark(const SiteView& sv, const SiteMemory& m);
  void Links(const Snapshot& snap, const std::map<std::string, const SiteView*>& by_site);
  void Staffing(const SiteView& sv, SiteMemory& m);
  void Skew(const SiteView& sv);
  void Spool(const SiteView& sv, SiteMemory& m);
  void Voice(const QueueView& q);
  void Surge(const QueueView& q);
  void Sla(const QueueView& q);

  ContinuityRules rules;
  std::map<std::string, State> states;  // by Alert::Key(), so Active() comes out sorted
  std::map<std::string, SiteMemory> sites;
  std::uint64_t generation = 0;
  std::int64_t now = 0;
  std::int64_t blind_until_ms = 0;
  std::vector<AlertTransition> out;
};

void ContinuityEngine::Impl::SiteDark(const SiteView& sv, const SiteMemory& m) {
  // Silence is counted from when this engine first saw the site at the earliest: a site never
  // heard from, or last heard from before a collector restart (a checkpoint keeps last-seen
  // times), is not blamed for the time the collector itself was down.
  // Nor for the time the collector could not listen (blind_until_ms): a site whose
  // agent could not get through was not dark, so it fires only on silence after that. Clearing
  // needs the site itself to be heard again: a dead site's alert stays through the stall.
  const bool never = sv.last_seen_ms < m.first_seen_ms;
  const std::int64_t silent =
      std::max<std::int64_t>(0, now - std::max(sv.last_seen_ms, m.first_seen_ms));
  const std::int64_t silent_since_blind =
      std::max<std::int64_t>(0, now - std::max({sv.last_seen_ms, m.first_seen_ms, blind_until_ms}));
  const std::int64_t hb =
      sv.heartbeat_interval_ms > 0 ? sv.heartbeat_interval_ms : kDefaultHeartbeatMs;
  for (const std::string& client : ClientsOf(&sv)) {
    const ContinuityThresholds& th = For(sv.site, client);
    const auto limit = std::max<std::int64_t>(
        th.site_dark_min_ms,
        static_cast<std::int64_t>(std::llround(th.site_dark_heartbeats * static_cast<double>(hb))));
    Observation o;
    o.fire = silent_since_blind > limit;
    o.clear = static_cast<double>(silent) <= static_cast<double>(limit) * (1 - th.hysteresis);
    Step(Base("SiteDark", "critical", client, sv.site), o, 0, th, [&](Alert& a) {
      if (never) {
        a.summary = Format("Site %s has not reported since monitoring started %s ago",
                           sv.site.c_str(), Duration(silent).c_str());
      } else {
        a.summary =
            Format("Site %s has sent nothing for %s", sv.site.c_str(), Duration(silent).c_str());
      }
      a.description = Format(
          "No call event or heartbeat has reached the collector from site %s for %s (alert after "
          "%s, %g missed heartbeats of %s). %s's queues at this site are not being monitored and "
          "callers routed there may not be answered: the site may have lost its WAN link or "
          "power.",
          sv.site.c_str(), Duration(silent).c_str(), Duration(limit).c_str(),
          th.site_dark_heartbeats, Duration(hb).c_str(), client.c_str());
    });
  }
}

void ContinuityEngine::Impl::Links(const Snapshot& snap,
                                   const std::map<std::string, const SiteView*>& by_site) {
  for (const LinkView& lv : snap.links) {
    auto site_it = by_site.find(lv.site);
    const SiteView* sv = site_it == by_site.end() ? nullptr : site_it->second;
    for (const std::string& client : ClientsOf(sv)) {
      const ContinuityThresholds& th = For(lv.site, client);
      const double h = th.hysteresis;
      // A trunk is judged twice: is anything answering (the network: LinkDown, LinkDegraded)
      // and does the answer say it would route calls (TrunkDown), the more specific alert.
      const bool trunk = lv.kind == LinkKind::kSipTrunk;
      const bool reachable = trunk ? lv.sip_status != 0 : lv.up;
      bool trunk_down = false;
      if (trunk) {
        const std::uint32_t st = lv.sip_status;
        Observation o;
        o.fire = !SipTrunkUp(st);
        o.clear = SipTrunkUp(st);
        Alert t = Base("TrunkDown", "critical", client, lv.site);
        t.link = lv.link;
        const std::string trunk_key = t.Key();
        Step(std::move(t), o, th.trunk_down_for_ms, th, [&](Alert& x) {
          if (st == 0) {
            x.summary = Format("SIP trunk %s at site %s is down: no answer to OPTIONS (%s loss)",
                               lv.link.c_str(), lv.site.c_str(), Percent(lv.loss_ratio).c_str());
          } else {
            x.summary =
                Format("SIP trunk %s at site %s is down: it answers %u%s (round trip %.0f ms)",
                       lv.link.c_str(), lv.site.c_str(), st, SipReason(st), lv.rtt_ms);
          }
          const std::string last =
              st == 0
                  ? Format(
                        "no final answer within the probe's deadline (last SIP status none, "
                        "last answer's round trip %.0f ms, %s loss)",
                        lv.rtt_ms, Percent(lv.loss_ratio).c_str())
                  : Format("SIP status %u%s (round trip %.0f ms)", st, SipReason(st), lv.rtt_ms);
          x.description = Format(
              "The agent's SIP OPTIONS probes to trunk %s at site %s have got %s for at least %s. "
              "%s Calls over this trunk fail (callers hear a fast busy or a recorded message) "
              "unless the PBX or SBC routes them over another trunk.",
              lv.link.c_str(), lv.site.c_str(), last.c_str(),
              Duration(th.trunk_down_for_ms).c_str(),
              st == 0 ? "Nothing answers: the path to the carrier or SBC, a firewall, or the SBC "
                        "itself is down."
                      : "The far end answers but refuses service: a carrier outage or overload, "
                        "or the trunk's registration or authorisation has lapsed.");
        });
        trunk_down = Firing(trunk_key);
      }

      Observation down;
      down.fire = !reachable || lv.loss_ratio >= 1;
      down.clear = reachable && lv.loss_ratio < 1 - h;
      // TrunkDown already says the trunk is unusable, whatever the reason.
      down.suppressed = trunk_down;
      Alert a = Base("LinkDown", "critical", client, lv.site);
      a.link = lv.link;
      const std::string down_key = a.Key();
      Step(std::move(a), down, th.link_down_for_ms, th, [&](Alert& x) {
        x.summary = Format("Link %s at site %s is down", lv.link.c_str(), lv.site.c_str());
        x.description = Format(
            "The probe on link %s at site %s gets no answer (%s loss%s). Calls and agent "
            "desktops that use this link are cut off unless the site has failed over to its "
            "backup link.",
            lv.link.c_str(), lv.site.c_str(), Percent(lv.loss_ratio).c_str(),
            lv.up ? "" : ", link reported down");
      });

      Observation degraded;
      degraded.fire = !reachable || lv.loss_ratio > th.link_loss_ratio ||
                      lv.rtt_ms > th.link_rtt_ms || lv.jitter_ms > th.link_jitter_ms;
      degraded.clear = reachable && lv.loss_ratio <= th.link_loss_ratio * (1 - h) &&
                       lv.rtt_ms <= th.link_rtt_ms * (1 - h) &&
                       lv.jitter_ms <= th.link_jitter_ms * (1 - h);
      // A dead link is also "degraded"; telling people twice about one fault is noise.
      degraded.suppressed = trunk_down || Firing(down_key);
      Alert g = Base("LinkDegraded", "warning", client, lv.site);
      g.link = lv.link;
      Step(std::move(g), degraded, th.link_degraded_for_ms, th, [&](Alert& x) {
        x.summary =
            Format("Link %s at site %s is degraded: loss %s, round trip %.0f ms, jitter %.0f ms",
                   lv.link.c_str(), lv.site.c_str(), Percent(lv.loss_ratio).c_str(), lv.rtt_ms,
                   lv.jitter_ms);
        x.description = Format(
            "Link %s at site %s is past its limits (loss over %s, round trip over %.0f ms or "
            "jitter over %.0f ms). Callers may hear choppy or delayed audio and agents may talk "
            "over them; expect longer handle times and repeat calls.",
            lv.link.c_str(), lv.site.c_str(), Percent(th.link_loss_ratio).c_str(), th.link_rtt_ms,
            th.link_jitter_ms);
      });
    }
  }
}

void ContinuityEngine::Impl::Staffing(const SiteView& sv, SiteMemory& m) {
  const std::uint32_t current = sv.agents_logged_in;
  if (m.staffing.empty() || m.staffing.back().agents != current) {
    m.staffing.push_back({now, current});
  }
  std::int64_t keep_ms = 0;
  for (const std::string& client : ClientsOf(&sv)) {
    const ContinuityThresholds& th = For(sv.site, client);
    keep_ms = std::max({keep_ms, th.staffing_high_window_ms, th.staffing_drop_within_ms});
  }
  // A point is needed while its successor starts inside the window: its value held then.
  while (m.staffing.size() >= 2 && m.staffing[1].t_ms <= now - keep_ms) m.staffing.pop_front();
  // Highest head count held at any time in [since, now].
  auto max_since = [&m](std::int64_t since) {
    std::uint32_t high = 0;
    for (auto it = m.staffing.rbegin(); it != m.staffing.rend(); ++it) {
      high = std::max(high, it->agents);
      if (it->t_ms <= since) break;
    }
    return high;
  };

  for (const std::string& client : ClientsOf(&sv)) {
    const ContinuityThresholds& th = For(sv.site, client);
    // Fires on a fall of drop_ratio within drop_within_ms (a collapse, not a shift winding
    // down); holds while the floor stays well below its high of the last high_window_ms, and
    // ends when people come back or that high ages out and the smaller floor is the new normal.
    const std::uint32_t recent_high = max_since(now - th.staffing_drop_within_ms);
    const std::uint32_t high = max_since(now - th.staffing_high_window_ms);
    const double r = th.staffing_drop_ratio;
    Observation o;
    o.fire =
        recent_high >= th.staffing_min_high && recent_high > 0 && current <= (1 - r) * recent_high;
    o.clear = high < th.staffing_min_high ||
              current > (1 - r * (1 - th.hysteresis)) * static_cast<double>(high);
    Step(Base("StaffingCollapse", "critical", client, sv.site), o, 0, th, [&](Alert& a) {
      const double lost = 1.0 - static_cast<double>(current) / recent_high;
      a.summary = Format("Site %s lost %.0f%% of its logged-in agents (%u, down from %u)",
                         sv.site.c_str(), lost * 100, current, recent_high);
      a.description = Format(
          "Logged-in agents at site %s fell from %u to %u within %s (alert at a %.0f%% fall). "
          "This is what a typhoon, flood, power cut or transport shutdown looks like from the "
          "floor; %s's queues served by this site will wait longer unless calls are rerouted or "
          "work-from-home agents log in.",
          sv.site.c_str(), recent_high, current, Duration(th.staffing_drop_within_ms).c_str(),
          r * 100, client.c_str());
    });
  }
}

void ContinuityEngine::Impl::Skew(const SiteView& sv) {
  // Two measures: the agent's clock at heartbeats (ahead or behind), and the PBX's own event
  // stamps running ahead of the collector (a PBX clock that is not the agent's). A PBX clock
  // behind cannot be told from a replayed backlog, so events judge only "ahead".
  const bool by_pbx = sv.pbx_clock_ahead_ms > std::llabs(sv.clock_skew_ms);
  if (sv.heartbeat_interval_ms == 0 && !by_pbx) return;
  const auto skew_ms = by_pbx ? sv.pbx_clock_ahead_ms : sv.clock_skew_ms;
  const double skew = static_cast<double>(std::llabs(skew_ms));
  for (const std::string& client : ClientsOf(&sv)) {
    const ContinuityThresholds& th = For(sv.site, client);
    const auto limit = static_cast<double>(th.clock_skew_ms);
    Observation o;
    o.fire = skew > limit;
    o.clear = skew <= limit * (1 - th.hysteresis);
    Step(Base("ClockSkew", "warning", client, sv.site), o, th.clock_skew_for_ms, th, [&](Alert& a) {
      const char* way = skew_ms > 0 ? "ahead of" : "behind";
      const char* whose = by_pbx ? "PBX clock (its call events' times)" : "agent clock";
      a.summary = Format("Site %s's %s is %.1f s %s the collector's", sv.site.c_str(),
                         by_pbx ? "PBX clock" : "agent clock", skew / 1000, way);
      a.description = Format(
          "The %s at site %s is %.1f s %s the collector's (limit %.1f s). Calls are counted "
          "by their event time, so until the site's NTP is fixed they land in the SLA "
          "intervals their stamps name, not the ones they happened in, and live figures "
          "for the site lag or lead the wallboard's clock.",
          whose, sv.site.c_str(), skew / 1000, way, limit / 1000);
    });
  }
}

void ContinuityEngine::Impl::Spool(const SiteView& sv, SiteMemory& m) {
  // The dropped count is cumulative per agent instance: what matters is new losses. A smaller
  // non-zero count means the agent restarted and has already dropped again.
  const std::uint64_t dropped = sv.spool_dropped_events;
  if (dropped != m.dropped) {
    if (dropped > m.dropped || dropped > 0) m.dropped_grew_ms = now;
    m.dropped = dropped;
  }
  const auto backlog = static_cast<double>(sv.spool_backlog_events);
  for (const std::string& client : ClientsOf(&sv)) {
    const ContinuityThresholds& th = For(sv.site, client);
    const bool dropping =
        m.dropped_grew_ms >= 0 && now - m.dropped_grew_ms <= th.spool_dropped_window_ms;
    const auto limit = static_cast<double>(th.spool_backlog_events);
    Observation o;
    o.fire = backlog > limit || dropping || sv.spool_paused;
    o.clear = backlog <= limit * (1 - th.hysteresis) && !dropping && !sv.spool_paused;
    Step(Base("SpoolBacklog", "warning", client, sv.site), o, th.spool_for_ms, th, [&](Alert& a) {
      const auto held = static_cast<unsigned long long>(sv.spool_backlog_events);
      const auto lost = static_cast<unsigned long long>(dropped);
      if (dropping) {
        a.summary = Format("Site %s's agent is discarding events (%llu dropped so far)",
                           sv.site.c_str(), lost);
      } else if (sv.spool_paused) {
        a.summary = Format(
            "Site %s's agent has stopped reading its sources: its spool is full or its disk "
            "refuses writes (%llu events held)",
            sv.site.c_str(), held);
      } else {
        a.summary = Format("Site %s's agent holds %llu undelivered events", sv.site.c_str(), held);
      }
      a.description = Format(
          "The ccmon agent at site %s has %llu events spooled and not yet delivered (limit "
          "%llu) and has dropped %llu in total. Figures for %s at this site lag behind "
          "reality; dropped events are lost for good and the SLA ledger for the affected "
          "intervals is incomplete.",
          sv.site.c_str(), held, static_cast<unsigned long long>(th.spool_backlog_events), lost,
          client.c_str());
    });
  }
}

void ContinuityEngine::Impl::Voice(const QueueView& q) {
  const ContinuityThresholds& th = For(q.site, q.client);
  Observation o;
  // Firing needs enough calls to be a pattern; clearing is judged on whatever calls there are,
  // so a queue whose traffic hovers at the sample minimum does not flap.
  o.fire = q.mos_5m && q.mos_samples_5m >= th.mos_min_samples && *q.mos_5m < th.mos_min;
  o.clear = !q.mos_5m || *q.mos_5m >= th.mos_min * (1 + th.hysteresis);
  Alert a = Base("VoiceQualityLow", "warning", q.client, q.site);
  a.queue = q.queue;
  Step(std::move(a), o, th.voice_for_ms, th, [&](Alert& x) {
    const double mos = q.mos_5m.value_or(0);
    x.summary = Format("Voice quality on queue %s at site %s is poor (MOS %.2f)", q.queue.c_str(),
                       q.site.c_str(), mos);
    x.description = Format(
        "The mean opinion score of the last 5 minutes on queue %s at site %s is %.2f over %llu "
        "calls (alert below %.2f). Callers are likely hearing choppy, robotic or delayed audio; "
        "expect repeat calls and complaints.",
        q.queue.c_str(), q.site.c_str(), mos, static_cast<unsigned long long>(q.mos_samples_5m),
        th.mos_min);
  });
}

void ContinuityEngine::Impl::Surge(const QueueView& q) {
  const ContinuityThresholds& th = For(q.site, q.client);
  const double h = th.hysteresis;
  const double wait_limit = th.surge_wait_factor * q.contract.sl_threshold_s;
  const std::uint32_t count_limit = q.contract.calls_waiting_limit;
  Observation o;
  o.fire = q.oldest_wait_s > wait_limit || (count_limit > 0 && q.calls_waiting > count_limit);
  o.clear = q.oldest_wait_s <= wait_limit * (1 - h) &&
            (count_limit == 0 || q.calls_waiting <= count_limit * (1 - h));
  Alert a = Base("QueueSurge", "warning", q.client, q.site);
  a.queue = q.queue;
  Step(std::move(a), o, th.surge_for_ms, th, [&](Alert& x) {
    x.summary = Format("Queue %s at site %s is backing up: %u waiting, oldest for %.0f s",
                       q.queue.c_str(), q.site.c_str(), q.calls_waiting, q.oldest_wait_s);
    const std::string count_part =
        count_limit > 0 ? Format(" or more than %u calls waiting", count_limit) : std::string();
    x.description = Format(
        "Queue %s at site %s has %u calls waiting and the oldest has waited %.0f s (alert above "
        "%.0f s, %g x the %.0f s service-level threshold%s). Callers arriving now will not be "
        "answered within the threshold and abandons will follow.",
        q.queue.c_str(), q.site.c_str(), q.calls_waiting, q.oldest_wait_s, wait_limit,
        th.surge_wait_factor, q.contract.sl_threshold_s, count_part.c_str());
  });
}

void ContinuityEngine::Impl::Sla(const QueueView& q) {
  const ContinuityThresholds& th = For(q.site, q.client);
  const double h = th.hysteresis;
  const Contract& c = q.contract;
  const std::optional<double> sl = ServiceLevel(q.interval, c.sl_formula);
  const std::optional<double> ar = AbandonRate(q.interval);
  const bool judged = q.interval.offered >= th.sla_min_calls;
  const bool sl_bad = sl && *sl < c.sl_target;
  const bool ar_bad = ar && *ar > c.abandon_target;
  // SL is bounded by 100%, so its margin narrows the gap to 100% rather than scaling the
  // target (a 95% target cannot be cleared at 104.5%).
  const bool sl_ok = !sl || *sl >= c.sl_target + h * (1 - c.sl_target);
  const bool ar_ok = !ar || *ar <= c.abandon_target * (1 - h);
  Observation o;
  o.fire = judged && (sl_bad || ar_bad);
  // Counts only grow within an interval, so too few calls means a new interval has begun: the
  // one at risk has closed and the ledger has recorded it.
  o.clear = !judged || (sl_ok && ar_ok);
  Alert a = Base("SlaAtRisk", "warning", q.client, q.site);
  a.queue = q.queue;
  Step(std::move(a), o, th.sla_for_ms, th, [&](Alert& x) {
    std::string figures;
    if (sl) {
      figures = Format("service level %s in %.0f s (target %s)", Percent(*sl).c_str(),
                       c.sl_threshold_s, Percent(c.sl_target).c_str());
    }
    if (ar) {
      figures += Format("%sabandon rate %s (target %s)", figures.empty() ? "" : ", ",
                        Percent(*ar).c_str(), Percent(c.abandon_target).c_str());
    }
    x.summary = Format("Queue %s at site %s is missing its %s target this interval: %s",
                       q.queue.c_str(), q.site.c_str(),
                       sl_bad && ar_bad ? "service-level and abandon"
                       : ar_bad         ? "abandon"
                                        : "service-level",
                       figures.c_str());
    x.description = Format(
        "In the current %d-minute contract interval, queue %s at site %s has %s over %llu "
        "offered calls (%s formula). Unless staffing or routing changes now, the interval will "
        "be recorded as missed in %s's SLA ledger.",
        c.interval_minutes, q.queue.c_str(), q.site.c_str(), figures.c_str(),
        static_cast<unsigned long long>(q.interval.offered),
        std::string(ToString(c.sl_formula)).c_str(), q.client.c_str());
  });
}

ContinuityEngine::ContinuityEngine(ContinuityRules rules)
    : impl_(std::make_unique<Impl>(std::move(rules))) {}

ContinuityEngine::~ContinuityEngine() = default;

std::vector<AlertTransition> ContinuityEngine::Evaluate(const Snapshot& snapshot) {
  Impl& m = *impl_;
  // Time never runs backwards for the state machine, whatever the caller's clock does.
  m.now = std::max(m.now, snapshot.now_ms);
  m.blind_until_ms = std::max(m.blind_until_ms, snapshot.collector_blind_until_ms);
  ++m.generation;
  m.out.clear();

  std::map<std::string, const SiteView*> by_site;
  for (const SiteView& sv : snapshot.sites) {
    by_site[sv.site] = &sv;
    auto [it, inserted] = m.sites.try_emplace(sv.site);
    Impl::SiteMemory& mem = it->second;
    if (inserted) {
      mem.first_seen_ms = m.now;
      // Drops a site already reports at the first evaluation happened before this collector
      // started (its checkpoint carries the count); they were news then, not now. A site that
      // first appears later brings drops nobody has been told about.
      if (m.generation == 1) mem.dropped = sv.spool_dropped_events;
    }
    mem.generation = m.generation;
    m.SiteDark(sv, mem);
    m.Staffing(sv, mem);
    m.Skew(sv);
    m.Spool(sv, mem);
  }
  m.Links(snapshot, by_site);
  for (const QueueView& q : snapshot.queues) {
    m.Voice(q);
    m.Surge(q);
    m.Sla(q);
  }

  // Subjects gone from the snapshot (a site removed, a queue or link no longer reported, a site
  // now serving other clients) resolve: nothing is left to watch.
  for (auto it = m.states.begin(); it != m.states.end();) {
    Impl::State& s = it->second;
    const bool seen = s.generation == m.generation;
    if (!seen && s.firing) m.Resolve(s);
    if (!s.firing && (!seen || s.pending_since < 0)) {
      it = m.states.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(m.sites, [&m](const auto& kv) { return kv.second.generation != m.generation; });

  std::vector<AlertTransition> out = std::move(m.out);
  m.out.clear();
  std::stable_sort(out.begin(), out.end(), [](const AlertTransition& a, const AlertTransition& b) {
    return a.alert.Key() < b.alert.Key();
  });
  return out;
}

std::vector<Alert> ContinuityEngine::Active() const {
  std::vector<Alert> active;
  for (const auto& [key, s] : impl_->states) {
    if (s.firing) active.push_back(s.alert);
  }
  return active;
}

}  // namespace ccmon::collector
