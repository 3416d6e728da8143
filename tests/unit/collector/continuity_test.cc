#include "ccmon/collector/continuity.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ccmon::collector {
namespace {

constexpr std::int64_t kS = 1000;
constexpr std::int64_t kMin = 60 * kS;
constexpr std::int64_t kT0 = 1'795'651'200'000;  // 2026-11-26 00:00:00 UTC

using Transitions = std::vector<AlertTransition>;

// Drives the engine the way the collector's 1 s tick does, over a hand-built snapshot that the
// test edits between evaluations. No sleeps: time is the snapshot's.
class ContinuityTest : public ::testing::Test {
 protected:
  ContinuityTest() { Make(ContinuityRules{}); }

  void Make(ContinuityRules rules) {
    engine_ = std::make_unique<ContinuityEngine>(std::move(rules));
  }

  // Evaluates at the current time.
  Transitions Eval() {
    snap_.now_ms = now_;
    return engine_->Evaluate(snap_);
  }

  // Moves the clock forward by `d` in steps of `step`, calling `tick` (where a test changes its
  // values over time) before each evaluation; returns every transition on the way.
  Transitions Advance(std::int64_t d, const std::function<void(std::int64_t)>& tick = {},
                      std::int64_t step = kS) {
    Transitions all;
    const std::int64_t end = now_ + d;
    while (now_ < end) {
      now_ = std::min(now_ + step, end);
      if (sites_report_) {
        for (SiteView& s : snap_.sites) s.last_seen_ms = now_;
      }
      if (tick) tick(now_);
      Transitions t = Eval();
      all.insert(all.end(), t.begin(), t.end());
    }
    return all;
  }

  SiteView& AddSite(const std::string& id, std::vector<std::string> clients = {"acme"}) {
    SiteView s;
    s.site = id;
    s.connected = true;
    s.last_seen_ms = now_;
    s.heartbeat_interval_ms = 5000;
    s.clients = std::move(clients);
    snap_.sites.push_back(std::move(s));
    return snap_.sites.back();
  }

  QueueView& AddQueue(const std::string& client, const std::string& site,
                      const std::string& queue) {
    QueueView q;
    q.client = client;
    q.site = site;
    q.queue = queue;
    snap_.queues.push_back(std::move(q));
    return snap_.queues.back();
  }

  LinkView& AddLink(const std::string& site, const std::string& link) {
    LinkView l;
    l.site = site;
    l.link = link;
    l.rtt_ms = 40;
    l.jitter_ms = 3;
    snap_.links.push_back(std::move(l));
    return snap_.links.back();
  }

  // A SIP trunk whose last probe got `status` (0: no final answer), as the agent reports it.
  LinkView& AddTrunk(const std::string& site, const std::string& link, std::uint32_t status) {
    LinkView& l = AddLink(site, link);
    l.kind = LinkKind::kSipTrunk;
    l.rtt_ms = 18;
    SetStatus(l, status);
    return l;
  }
  static void SetStatus(LinkView& l, std::uint32_t status) {
    l.sip_status = status;
    l.up = status >= 200 && status < 500;
  }

  SiteView& Site(std::size_t i = 0) { return snap_.sites.at(i); }
  QueueView& Queue(std::size_t i = 0) { return snap_.queues.at(i); }
  LinkView& Link(std::size_t i = 0) { return snap_.links.at(i); }

  static Transitions Named(const Transitions& ts, const std::string& name, bool firing) {
    Transitions out;
    for (const auto& t : ts) {
      if (t.alert.name == name && t.firing == firing) out.push_back(t);
    }
    return out;
  }

  bool IsActive(const std::string& name) const {
    for (const Alert& a : engine_->Active()) {
      if (a.name == name) return true;
    }
    return false;
  }

  // The common life of an alert whose condition was just made true: silent until `for_ms`
  // has passed, then exactly one firing transition.
  const Alert FiresAfter(std::int64_t for_ms, const std::string& name) {
    Transitions t = Eval();
    if (for_ms > 0) {
      EXPECT_TRUE(t.empty()) << name << " fired without waiting";
      t = Advance(for_ms - kS);
      EXPECT_TRUE(Named(t, name, true).empty()) << name << " fired before its `for`";
      t = Advance(kS);
    }
    auto fired = Named(t, name, true);
    EXPECT_EQ(fired.size(), 1u) << name << " did not fire after its `for`";
    if (fired.empty()) return Alert{};
    EXPECT_EQ(fired[0].alert.starts_ms, now_);
    EXPECT_EQ(fired[0].alert.ends_ms, 0);
    EXPECT_TRUE(IsActive(name));
    return fired[0].alert;
  }

  // The condition was just made clearly false: resolves resolve_after_ms (30 s) later, with
  // ends_ms set, and not a tick earlier.
  void ResolvesAfter30s(const std::string& name) {
    Transitions t = Eval();
    t = Advance(30 * kS - kS);
    EXPECT_TRUE(Named(t, name, false).empty()) << name << " resolved early";
    t = Advance(kS);
    auto resolved = Named(t, name, false);
    ASSERT_EQ(resolved.size(), 1u) << name << " did not resolve";
    EXPECT_EQ(resolved[0].alert.ends_ms, now_);
    EXPECT_GT(resolved[0].alert.starts_ms, 0);
    EXPECT_FALSE(IsActive(name));
  }

  std::unique_ptr<ContinuityEngine> engine_;
  Snapshot snap_;
  // Every site sends something at every tick, unless a test goes dark on purpose.
  bool sites_report_ = true;
  std::int64_t now_ = kT0;
};

// --- SiteDark ----------------------------------------------------------------------------------

TEST_F(ContinuityTest, SiteDarkFiresAfterThreeHeartbeatsForEveryClientOfTheSite) {
  sites_report_ = false;
  AddSite("pune-1", {"acme", "globex"});
  EXPECT_TRUE(Eval().empty());
  // Silent for exactly 3 heartbeats (15 s) is not yet dark.
  EXPECT_TRUE(Advance(15 * kS).empty());
  Transitions t = Advance(kS);
  auto fired = Named(t, "SiteDark", true);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].alert.client, "acme");
  EXPECT_EQ(fired[1].alert.client, "globex");
  for (const auto& f : fired) {
    EXPECT_EQ(f.alert.site, "pune-1");
    EXPECT_EQ(f.alert.severity, "critical");
    EXPECT_EQ(f.alert.summary, "Site pune-1 has sent nothing for 16 s");
    EXPECT_NE(f.alert.description.find(f.alert.client + "'s queues"), std::string::npos);
    EXPECT_EQ(f.alert.runbook_url,
              "https://github.com/ccmon/ccmon/blob/main/docs/runbooks/sitedark.md");
    EXPECT_EQ(f.alert.starts_ms, kT0 + 16 * kS);
  }
  // The text follows the outage while it lasts.
  Advance(60 * kS);
  EXPECT_EQ(engine_->Active()[0].summary, "Site pune-1 has sent nothing for 76 s");
}

TEST_F(ContinuityTest, SiteDarkUsesTheAnnouncedHeartbeatInterval) {
  sites_report_ = false;
  AddSite("pune-1").heartbeat_interval_ms = 10'000;
  Eval();
  EXPECT_TRUE(Advance(30 * kS).empty());
  EXPECT_EQ(Named(Advance(kS), "SiteDark", true).size(), 1u);
}

// A sub-second heartbeat is described as such, not as "heartbeats of 0 s".
TEST_F(ContinuityTest, SiteDarkDescribesASubSecondHeartbeat) {
  sites_report_ = false;
  AddSite("pune-1").heartbeat_interval_ms = 500;
  Eval();
  auto fired = Named(Advance(16 * kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_NE(fired[0].alert.description.find("3 missed heartbeats of 0.5 s"), std::string::npos)
      << fired[0].alert.description;
}

TEST_F(ContinuityTest, SiteDarkForANeverSeenSiteCountsFromTheFirstEvaluation) {
  sites_report_ = false;
  SiteView& s = AddSite("cebu-1", {});
  s.last_seen_ms = 0;
  s.heartbeat_interval_ms = 0;
  s.connected = false;
  EXPECT_TRUE(Eval().empty());
  EXPECT_TRUE(Advance(15 * kS).empty());
  auto fired = Named(Advance(kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 1u);
  // A site that serves no queue yet still reaches someone.
  EXPECT_EQ(fired[0].alert.client, "default");
  EXPECT_EQ(fired[0].alert.summary,
            "Site cebu-1 has not reported since monitoring started 16 s ago");
}

TEST_F(ContinuityTest, SiteDarkDoesNotBlameASiteForTheCollectorsOwnDowntime) {
  sites_report_ = false;
  // Last heard from two hours ago, before the collector restarted from its checkpoint.
  AddSite("pune-1").last_seen_ms = kT0 - 2 * 60 * kMin;
  EXPECT_TRUE(Eval().empty());
  EXPECT_TRUE(Advance(15 * kS).empty());
  auto fired = Named(Advance(kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].alert.summary,
            "Site pune-1 has not reported since monitoring started 16 s ago");
}

TEST_F(ContinuityTest, SiteDarkDoesNotFlapAroundTheThreshold) {
  sites_report_ = false;
  AddSite("pune-1");
  Eval();
  // A heartbeat exactly every 15 s keeps the silence at the limit, never past it.
  EXPECT_TRUE(Advance(5 * kMin, [this](std::int64_t t) {
                if ((t - kT0) % (15 * kS) == 0) Site().last_seen_ms = t;
              }).empty());
  EXPECT_FALSE(IsActive("SiteDark"));
  const std::int64_t dark_from = now_;
  EXPECT_EQ(Named(Advance(16 * kS), "SiteDark", true).size(), 1u);
  // Now a heartbeat every 16 s: the site is never quiet for less than 13.5 s (15 s minus the
  // 10% margin) for 30 s running, so it stays dark rather than resolving and re-firing.
  EXPECT_TRUE(Advance(5 * kMin, [this, dark_from](std::int64_t t) {
                if ((t - dark_from) % (16 * kS) == 0) Site().last_seen_ms = t;
              }).empty());
  EXPECT_TRUE(IsActive("SiteDark"));
}

TEST_F(ContinuityTest, SiteDarkResolvesOnceTheSiteIsBackFor30s) {
  sites_report_ = false;
  AddSite("pune-1");
  Eval();
  ASSERT_EQ(Named(Advance(16 * kS), "SiteDark", true).size(), 1u);
  sites_report_ = true;
  Site().last_seen_ms = now_;
  ResolvesAfter30s("SiteDark");
}

// --- LinkDown ----------------------------------------------------------------------------------

TEST_F(ContinuityTest, LinkDownFiresAfter30sOfTotalLossForEachClient) {
  AddSite("pune-1", {"acme", "globex"});
  AddLink("pune-1", "wan-primary").loss_ratio = 1;
  Eval();
  EXPECT_TRUE(Named(Advance(29 * kS), "LinkDown", true).empty());
  auto fired = Named(Advance(kS), "LinkDown", true);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].alert.client, "acme");
  EXPECT_EQ(fired[1].alert.client, "globex");
  EXPECT_EQ(fired[0].alert.link, "wan-primary");
  EXPECT_EQ(fired[0].alert.severity, "critical");
  EXPECT_EQ(fired[0].alert.summary, "Link wan-primary at site pune-1 is down");
  EXPECT_EQ(fired[0].alert.runbook_url,
            "https://github.com/ccmon/ccmon/blob/main/docs/runbooks/linkdown.md");
}

TEST_F(ContinuityTest, LinkDownCountsUpFalseAsDownAndNeedsContinuousLoss) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary").up = false;
  Eval();
  // Down 20 s, up 10 s, repeatedly: never 30 s in a row.
  const std::int64_t from = now_;
  EXPECT_TRUE(Advance(5 * kMin, [this, from](std::int64_t t) {
                Link().up = (t - from) % (30 * kS) >= 20 * kS;
              }).empty());
  // Then down for good.
  Link().up = false;
  EXPECT_EQ(Named(Advance(30 * kS), "LinkDown", true).size(), 1u);
}

TEST_F(ContinuityTest, LinkDownDoesNotFlapAndResolves) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary").loss_ratio = 1;
  FiresAfter(30 * kS, "LinkDown");
  // Back and forth between total loss and 95% loss (still under the 90% clear line): firing.
  EXPECT_TRUE(Advance(5 * kMin, [this](std::int64_t t) {
                Link().loss_ratio = (t / kS) % 20 < 10 ? 1.0 : 0.95;
              }).empty());
  // Up for 20 s between outages is not 30 s of clear: still firing.
  EXPECT_TRUE(Advance(5 * kMin, [this](std::int64_t t) {
                Link().loss_ratio = (t / kS) % 40 < 20 ? 1.0 : 0.0;
              }).empty());
  EXPECT_TRUE(IsActive("LinkDown"));
  Link().loss_ratio = 1;
  Eval();
  Link().loss_ratio = 0;
  ResolvesAfter30s("LinkDown");
}

// --- LinkDegraded ------------------------------------------------------------------------------

TEST_F(ContinuityTest, LinkDegradedFiresAfterTwoMinutes) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary").rtt_ms = 350;
  // Within the 2 minutes a dip under the threshold restarts the wait.
  Eval();
  Advance(60 * kS);
  Link().rtt_ms = 250;
  EXPECT_TRUE(Advance(kS).empty());
  Link().rtt_ms = 350;
  const Alert a = FiresAfter(120 * kS, "LinkDegraded");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.link, "wan-primary");
  EXPECT_EQ(a.summary,
            "Link wan-primary at site pune-1 is degraded: loss 0.0%, round trip 350 ms, "
            "jitter 3 ms");
}

TEST_F(ContinuityTest, LinkDegradedFiresOnLossOrJitterToo) {
  AddSite("pune-1");
  AddLink("pune-1", "a").loss_ratio = 0.02;
  AddLink("pune-1", "b").jitter_ms = 45;
  Eval();
  auto fired = Named(Advance(120 * kS), "LinkDegraded", true);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].alert.link, "a");
  EXPECT_EQ(fired[1].alert.link, "b");
}

TEST_F(ContinuityTest, LinkDegradedDoesNotFlapAndResolves) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary");
  Eval();
  // Hovering at 290/310 ms never holds for 2 minutes.
  auto hover = [this](double low) {
    return [this, low](std::int64_t t) { Link().rtt_ms = (t / kS) % 20 < 10 ? 310 : low; };
  };
  EXPECT_TRUE(Advance(10 * kMin, hover(290)).empty());
  Link().rtt_ms = 290;
  Eval();
  Link().rtt_ms = 320;
  FiresAfter(120 * kS, "LinkDegraded");
  // Once firing, 280 ms is not better by the 10% margin (270 ms): no resolve, no re-fire.
  EXPECT_TRUE(Advance(10 * kMin, hover(280)).empty());
  EXPECT_TRUE(IsActive("LinkDegraded"));
  Link().rtt_ms = 120;
  ResolvesAfter30s("LinkDegraded");
}

TEST_F(ContinuityTest, LinkDegradedIsSuppressedWhileLinkDownFires) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary").rtt_ms = 400;
  FiresAfter(120 * kS, "LinkDegraded");
  // The link then dies: LinkDown replaces LinkDegraded in the same evaluation.
  Link().loss_ratio = 1;
  EXPECT_TRUE(Eval().empty());
  EXPECT_TRUE(Advance(29 * kS).empty());
  Transitions t = Advance(kS);
  ASSERT_EQ(Named(t, "LinkDown", true).size(), 1u);
  auto resolved = Named(t, "LinkDegraded", false);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.ends_ms, now_);
  // However long the outage lasts, no LinkDegraded alongside it.
  EXPECT_TRUE(Advance(10 * kMin).empty());
  EXPECT_FALSE(IsActive("LinkDegraded"));
  // Back up but still slow: LinkDown resolves, and LinkDegraded takes its 2 minutes afresh.
  Link().loss_ratio = 0;
  ResolvesAfter30s("LinkDown");
  EXPECT_FALSE(IsActive("LinkDegraded"));
  EXPECT_TRUE(Named(Advance(119 * kS), "LinkDegraded", true).empty());
  EXPECT_EQ(Named(Advance(kS), "LinkDegraded", true).size(), 1u);
}

TEST_F(ContinuityTest, LinkDegradedNeverFiresAlongsideALinkThatStartsDown) {
  AddSite("pune-1");
  AddLink("pune-1", "wan-primary").up = false;
  Eval();
  Transitions t = Advance(15 * kMin);
  EXPECT_EQ(Named(t, "LinkDown", true).size(), 1u);
  EXPECT_TRUE(Named(t, "LinkDegraded", true).empty());
}

// --- TrunkDown ---------------------------------------------------------------------------------

TEST_F(ContinuityTest, TrunkDownFiresAfter30sWithoutAnAnswerAndHoldsBackTheLinkAlerts) {
  AddSite("pune-1", {"acme", "globex"});
  AddTrunk("pune-1", "carrier-a", 200);
  EXPECT_TRUE(Advance(5 * kMin).empty());
  SetStatus(Link(), 0);
  Link().loss_ratio = 0.25;
  Eval();
  EXPECT_TRUE(Advance(29 * kS).empty()) << "fired before trunk_down.for_s";
  const Transitions t = Advance(kS);
  auto fired = Named(t, "TrunkDown", true);
  ASSERT_EQ(fired.size(), 2u);  // one per client of the site
  EXPECT_EQ(fired[0].alert.client, "acme");
  EXPECT_EQ(fired[1].alert.client, "globex");
  const Alert& a = fired[0].alert;
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.site, "pune-1");
  EXPECT_EQ(a.link, "carrier-a");
  EXPECT_EQ(a.starts_ms, now_);
  EXPECT_EQ(a.summary,
            "SIP trunk carrier-a at site pune-1 is down: no answer to OPTIONS (25.0% loss)");
  EXPECT_NE(a.description.find("last SIP status none, last answer's round trip 18 ms"),
            std::string::npos)
      << a.description;
  EXPECT_NE(a.description.find("for at least 30 s"), std::string::npos) << a.description;
  EXPECT_EQ(a.runbook_url, "https://github.com/ccmon/ccmon/blob/main/docs/runbooks/trunkdown.md");
  // Nothing answers, which is LinkDown's and LinkDegraded's condition too: one fault, one alert.
  EXPECT_TRUE(Named(t, "LinkDown", true).empty());
  EXPECT_TRUE(Advance(10 * kMin).empty());
  EXPECT_FALSE(IsActive("LinkDown"));
  EXPECT_FALSE(IsActive("LinkDegraded"));
  EXPECT_TRUE(IsActive("TrunkDown"));
}

TEST_F(ContinuityTest, TrunkDownCounts503AsDownAnd404AsUp) {
  AddSite("pune-1");
  AddTrunk("pune-1", "carrier-a", 404);  // refuses OPTIONS, but answers: up
  EXPECT_TRUE(Advance(10 * kMin).empty());
  SetStatus(Link(), 503);
  const Alert a = FiresAfter(30 * kS, "TrunkDown");
  EXPECT_EQ(a.summary,
            "SIP trunk carrier-a at site pune-1 is down: it answers 503 Service Unavailable "
            "(round trip 18 ms)");
  EXPECT_NE(a.description.find("SIP status 503 Service Unavailable (round trip 18 ms)"),
            std::string::npos)
      << a.description;
  EXPECT_NE(a.description.find("refuses service"), std::string::npos) << a.description;
  // 603 is down as well; 404 clears.
  SetStatus(Link(), 603);
  EXPECT_TRUE(Advance(5 * kMin).empty());
  SetStatus(Link(), 404);
  ResolvesAfter30s("TrunkDown");
  // 403: the carrier refuses our address, and with it the site's calls.
  SetStatus(Link(), 403);
  const Alert f = FiresAfter(30 * kS, "TrunkDown");
  EXPECT_EQ(f.summary,
            "SIP trunk carrier-a at site pune-1 is down: it answers 403 Forbidden "
            "(round trip 18 ms)");
  // 401 (a challenge, as the PBX's calls get) is up.
  SetStatus(Link(), 401);
  ResolvesAfter30s("TrunkDown");
}

TEST_F(ContinuityTest, A5xxTrunkIsReachableSoTheNetworkAlertsStaySilent) {
  ContinuityRules rules;
  rules.defaults.trunk_down_for_ms = 10 * kMin;
  Make(rules);
  AddSite("pune-1");
  AddTrunk("pune-1", "carrier-a", 503);
  Eval();
  // Longer than link_down.for_s and link_degraded.for_s: the network answers, the trunk does not.
  EXPECT_TRUE(Advance(5 * kMin).empty());
  EXPECT_EQ(Named(Advance(5 * kMin), "TrunkDown", true).size(), 1u);
  EXPECT_FALSE(IsActive("LinkDown"));
  EXPECT_FALSE(IsActive("LinkDegraded"));
}

TEST_F(ContinuityTest, TrunkDownNeedsContinuousFailureAndResolvesOnlyAfter30sUp) {
  AddSite("pune-1");
  AddTrunk("pune-1", "carrier-a", 200);
  Eval();
  // 503 for 20 s, 200 for 10 s, repeatedly: never 30 s in a row.
  const std::int64_t from = now_;
  EXPECT_TRUE(Advance(5 * kMin, [this, from](std::int64_t t) {
                SetStatus(Link(), (t - from) % (30 * kS) < 20 * kS ? 503 : 200);
              }).empty());
  SetStatus(Link(), 0);
  FiresAfter(30 * kS, "TrunkDown");
  // Answers for 20 s between failures are not 30 s of up: still firing, no second alert.
  EXPECT_TRUE(Advance(5 * kMin, [this](std::int64_t t) {
                SetStatus(Link(), (t / kS) % 40 < 20 ? 0 : 200);
              }).empty());
  EXPECT_TRUE(IsActive("TrunkDown"));
  SetStatus(Link(), 0);
  Eval();
  SetStatus(Link(), 200);
  ResolvesAfter30s("TrunkDown");
  EXPECT_TRUE(Advance(10 * kMin).empty());
}

TEST_F(ContinuityTest, TrunkDownUsesItsOwnForAndOnlyJudgesTrunks) {
  ContinuityRules rules;
  rules.defaults.trunk_down_for_ms = 10 * kS;
  Make(rules);
  AddSite("pune-1");
  AddLink("pune-1", "wan").up = false;  // a network link never raises TrunkDown
  AddTrunk("pune-1", "carrier-a", 500);
  Eval();
  Transitions t = Advance(10 * kS);
  auto trunk = Named(t, "TrunkDown", true);
  ASSERT_EQ(trunk.size(), 1u);
  EXPECT_EQ(trunk[0].alert.link, "carrier-a");
  t = Advance(20 * kS);
  auto down = Named(t, "LinkDown", true);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].alert.link, "wan");
  EXPECT_TRUE(Named(Advance(10 * kMin), "TrunkDown", true).empty());
}

TEST_F(ContinuityTest, LinkDegradedAppliesToTrunksUntilTrunkDownReplacesIt) {
  AddSite("pune-1");
  AddTrunk("pune-1", "carrier-a", 200).rtt_ms = 400;
  FiresAfter(120 * kS, "LinkDegraded");
  // The trunk then stops answering: LinkDown and TrunkDown are both due at 30 s; TrunkDown
  // fires, LinkDegraded resolves in the same evaluation and LinkDown never fires.
  SetStatus(Link(), 0);
  Link().loss_ratio = 1;
  EXPECT_TRUE(Eval().empty());
  EXPECT_TRUE(Advance(29 * kS).empty());
  const Transitions t = Advance(kS);
  EXPECT_EQ(Named(t, "TrunkDown", true).size(), 1u);
  EXPECT_EQ(Named(t, "LinkDegraded", false).size(), 1u);
  EXPECT_TRUE(Named(t, "LinkDown", true).empty());
  // Answering again and fast: TrunkDown resolves after 30 s and nothing else fires.
  SetStatus(Link(), 200);
  Link().loss_ratio = 0;
  Link().rtt_ms = 20;
  ResolvesAfter30s("TrunkDown");
  EXPECT_TRUE(Advance(10 * kMin).empty());
}

// --- VoiceQualityLow ---------------------------------------------------------------------------

TEST_F(ContinuityTest, VoiceQualityLowNeedsEnoughCalls) {
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.mos_5m = 3.2;
  q.mos_samples_5m = 9;
  EXPECT_TRUE(Eval().empty());
  EXPECT_TRUE(Advance(2 * kMin).empty());
  Queue().mos_samples_5m = 10;
  // The 5-minute mean is already a duration: no extra `for` by default.
  const Alert a = FiresAfter(0, "VoiceQualityLow");
  EXPECT_EQ(a.queue, "billing");
  EXPECT_EQ(a.client, "acme");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.summary, "Voice quality on queue billing at site pune-1 is poor (MOS 3.20)");
}

TEST_F(ContinuityTest, VoiceQualityLowWaitsForItsForWhenConfigured) {
  ContinuityRules rules;
  rules.defaults.voice_for_ms = 60 * kS;
  Make(rules);
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.mos_5m = 3.4;
  q.mos_samples_5m = 30;
  FiresAfter(60 * kS, "VoiceQualityLow");
}

TEST_F(ContinuityTest, VoiceQualityLowDoesNotFlapAndResolves) {
  ContinuityRules rules;
  rules.defaults.voice_for_ms = 60 * kS;
  Make(rules);
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.mos_samples_5m = 20;
  Eval();
  // 3.49 / 3.51 every 10 s: never a minute below.
  EXPECT_TRUE(Advance(10 * kMin, [this](std::int64_t t) {
                Queue().mos_5m = (t / kS) % 20 < 10 ? 3.49 : 3.51;
              }).empty());
  Queue().mos_5m = 3.51;
  Eval();
  Queue().mos_5m = 3.3;
  FiresAfter(60 * kS, "VoiceQualityLow");
  // Firing: 3.6 is above the threshold but not above 3.85, and the sample count dipping under
  // the minimum is no evidence of recovery either.
  EXPECT_TRUE(Advance(10 * kMin, [this](std::int64_t t) {
                const bool odd = (t / kS) % 20 < 10;
                Queue().mos_5m = odd ? 3.3 : 3.6;
                Queue().mos_samples_5m = odd ? 9 : 10;
              }).empty());
  EXPECT_TRUE(IsActive("VoiceQualityLow"));
  Queue().mos_5m = 4.1;
  ResolvesAfter30s("VoiceQualityLow");
}

// --- StaffingCollapse --------------------------------------------------------------------------

TEST_F(ContinuityTest, StaffingCollapseFiresWhenHalfTheFloorGoesWithinTenMinutes) {
  AddSite("manila-1", {"acme", "globex"}).agents_logged_in = 40;
  Eval();
  EXPECT_TRUE(Advance(20 * kMin).empty());
  Site().agents_logged_in = 21;
  EXPECT_TRUE(Advance(kS).empty());
  Site().agents_logged_in = 20;
  auto fired = Named(Advance(kS), "StaffingCollapse", true);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].alert.client, "acme");
  EXPECT_EQ(fired[1].alert.client, "globex");
  EXPECT_EQ(fired[0].alert.severity, "critical");
  EXPECT_EQ(fired[0].alert.summary,
            "Site manila-1 lost 50% of its logged-in agents (20, down from 40)");
}

TEST_F(ContinuityTest, StaffingCollapseIgnoresASlowDeclineAndSmallFloors) {
  AddSite("manila-1").agents_logged_in = 40;
  AddSite("tiny-1").agents_logged_in = 3;
  Eval();
  // A shift winding down: one agent a minute for 24 minutes (40 -> 16) is a 60% fall from the
  // 30-minute high, but never half the floor within 10 minutes.
  EXPECT_TRUE(Advance(24 * kMin, [this](std::int64_t t) {
                Site(0).agents_logged_in = static_cast<std::uint32_t>(40 - (t - kT0) / kMin);
                if (t - kT0 > 10 * kMin) Site(1).agents_logged_in = 1;
              }).empty());
  EXPECT_EQ(Site(0).agents_logged_in, 16u);
}

TEST_F(ContinuityTest, StaffingCollapseDoesNotFlapAndResolvesOnRecovery) {
  AddSite("manila-1").agents_logged_in = 40;
  Eval();
  Advance(5 * kMin);
  Site().agents_logged_in = 18;
  FiresAfter(0, "StaffingCollapse");
  // People trickle back and drop off again around the 55% line (22 of 40): still one alert.
  EXPECT_TRUE(Advance(10 * kMin, [this](std::int64_t t) {
                Site().agents_logged_in = (t / kS) % 20 < 10 ? 20 : 22;
              }).empty());
  EXPECT_TRUE(IsActive("StaffingCollapse"));
  Site().agents_logged_in = 30;  // work-from-home agents logged in
  ResolvesAfter30s("StaffingCollapse");
}

TEST_F(ContinuityTest, StaffingCollapseResolvesWhenTheHighAgesOut) {
  AddSite("manila-1").agents_logged_in = 40;
  Eval();
  Advance(5 * kMin, {}, 10 * kS);
  Site().agents_logged_in = 15;
  FiresAfter(0, "StaffingCollapse");
  // After 30 minutes the 40 is history and 15 is the floor the liaison already knows about.
  EXPECT_TRUE(Advance(30 * kMin + 29 * kS).empty());
  auto resolved = Named(Advance(kS), "StaffingCollapse", false);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.ends_ms, now_);
}

// --- QueueSurge --------------------------------------------------------------------------------

TEST_F(ContinuityTest, QueueSurgeFiresOnOldestWaitAfter30s) {
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.oldest_wait_s = 41;  // > 2 x 20 s
  q.calls_waiting = 7;
  const Alert a = FiresAfter(30 * kS, "QueueSurge");
  EXPECT_EQ(a.queue, "billing");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.summary, "Queue billing at site pune-1 is backing up: 7 waiting, oldest for 41 s");
}

TEST_F(ContinuityTest, QueueSurgeFiresOnCallsWaitingOverTheContractLimit) {
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.contract.calls_waiting_limit = 20;
  q.calls_waiting = 20;
  EXPECT_TRUE(Advance(2 * kMin).empty());
  Queue().calls_waiting = 21;
  FiresAfter(30 * kS, "QueueSurge");
}

TEST_F(ContinuityTest, QueueSurgeDoesNotFlapAndResolves) {
  AddSite("pune-1");
  AddQueue("acme", "pune-1", "billing");
  auto hover = [this](double low) {
    return [this, low](std::int64_t t) { Queue().oldest_wait_s = (t / kS) % 20 < 10 ? 41 : low; };
  };
  EXPECT_TRUE(Advance(10 * kMin, hover(39)).empty());
  Queue().oldest_wait_s = 39;
  Eval();
  Queue().oldest_wait_s = 50;
  FiresAfter(30 * kS, "QueueSurge");
  EXPECT_TRUE(Advance(10 * kMin, hover(37)).empty());  // clear line: 36 s
  EXPECT_TRUE(IsActive("QueueSurge"));
  Queue().oldest_wait_s = 5;
  ResolvesAfter30s("QueueSurge");
}

// --- SlaAtRisk ---------------------------------------------------------------------------------

Counts Interval(std::uint64_t offered, std::uint64_t in_threshold, std::uint64_t abandoned = 0) {
  Counts c;
  c.offered = offered;
  c.answered = offered - abandoned;
  c.answered_in_threshold = in_threshold;
  c.abandoned = abandoned;
  return c;
}

TEST_F(ContinuityTest, SlaAtRiskFiresAfterAMinuteBelowTarget) {
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.interval = Interval(9, 4);  // 44% but too few calls to judge
  EXPECT_TRUE(Advance(5 * kMin).empty());
  Queue().interval = Interval(20, 15);  // 75% < 80%
  const Alert a = FiresAfter(60 * kS, "SlaAtRisk");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.summary,
            "Queue billing at site pune-1 is missing its service-level target this interval: "
            "service level 75.0% in 20 s (target 80.0%), abandon rate 0.0% (target 5.0%)");
}

TEST_F(ContinuityTest, SlaAtRiskFiresOnAbandonRate) {
  AddSite("pune-1");
  QueueView& q = AddQueue("acme", "pune-1", "billing");
  q.contract.sl_formula = SlFormula::kAnsweredOnly;
  q.interval = Interval(40, 37, 3);  // SL 100% of answered, abandon 7.5%
  const Alert a = FiresAfter(60 * kS, "SlaAtRisk");
  EXPECT_NE(a.summary.find("missing its abandon target"), std::string::npos) << a.summary;
}

TEST_F(ContinuityTest, SlaAtRiskDoesNotFlapAndResolves) {
  AddSite("pune-1");
  AddQueue("acme", "pune-1", "billing");
  auto hover = [this](std::uint64_t low_in_threshold) {
    return [this, low_in_threshold](std::int64_t t) {
      Queue().interval = Interval(100, (t / kS) % 20 < 10 ? 79 : low_in_threshold);
    };
  };
  EXPECT_TRUE(Advance(10 * kMin, hover(81)).empty());
  Queue().interval = Interval(100, 81);
  Eval();
  Queue().interval = Interval(100, 70);
  FiresAfter(60 * kS, "SlaAtRisk");
  // 81% is on target but not past the margin (82%): still at risk.
  EXPECT_TRUE(Advance(10 * kMin, hover(81)).empty());
  EXPECT_TRUE(IsActive("SlaAtRisk"));
  Queue().interval = Interval(100, 90);
  ResolvesAfter30s("SlaAtRisk");
}

TEST_F(ContinuityTest, SlaAtRiskResolvesWhenANewIntervalStarts) {
  AddSite("pune-1");
  AddQueue("acme", "pune-1", "billing").interval = Interval(30, 12);
  FiresAfter(60 * kS, "SlaAtRisk");
  Queue().interval = Interval(2, 1);  // the next interval, two calls in
  ResolvesAfter30s("SlaAtRisk");
}

// The collector's own blindness (stalled, or holding acks on a failed WAL) is not a site's
// silence: a site last heard before it is judged from its end.
TEST_F(ContinuityTest, SiteDarkIsNotBlamedForTheCollectorsOwnStall) {
  sites_report_ = false;
  AddSite("pune-1");
  Eval();
  EXPECT_TRUE(Advance(10 * kS).empty());
  snap_.collector_blind_until_ms = now_ + 60 * kS;  // stands still for the next minute
  EXPECT_TRUE(Named(Advance(60 * kS), "SiteDark", true).empty());
  // From the end of the stall the usual limit applies (3 heartbeats of 5 s).
  EXPECT_TRUE(Named(Advance(15 * kS), "SiteDark", true).empty());
  EXPECT_EQ(Named(Advance(kS), "SiteDark", true).size(), 1u);
  // A site already dark stays dark through the next stall: only hearing from it clears.
  snap_.collector_blind_until_ms = now_ + 120 * kS;
  EXPECT_TRUE(Named(Advance(120 * kS), "SiteDark", false).empty());
  EXPECT_TRUE(IsActive("SiteDark"));
}

// --- ClockSkew ---------------------------------------------------------------------------------

TEST_F(ContinuityTest, ClockSkewFiresAfter30sEitherWay) {
  AddSite("pune-1").clock_skew_ms = -6500;
  const Alert a = FiresAfter(30 * kS, "ClockSkew");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.summary, "Site pune-1's agent clock is 6.5 s behind the collector's");
}

TEST_F(ContinuityTest, ClockSkewWaitsForAHeartbeat) {
  SiteView& s = AddSite("pune-1");
  s.heartbeat_interval_ms = 0;
  s.clock_skew_ms = 60'000;
  Eval();
  EXPECT_TRUE(Advance(2 * kMin).empty());
}

// A PBX on its own machine with a fast clock: the agent's heartbeats are on time, but the
// call events' stamps run ahead of the collector, which no correct clock can do.
TEST_F(ContinuityTest, ClockSkewFiresOnPbxEventsAheadWithoutHeartbeats) {
  SiteView& s = AddSite("pune-1");
  s.heartbeat_interval_ms = 0;
  s.clock_skew_ms = 0;
  s.pbx_clock_ahead_ms = 3 * 3600 * kS;
  const Alert a = FiresAfter(30 * kS, "ClockSkew");
  EXPECT_EQ(a.summary, "Site pune-1's PBX clock is 10800.0 s ahead of the collector's");
  Site().pbx_clock_ahead_ms = 200;
  ResolvesAfter30s("ClockSkew");
}

TEST_F(ContinuityTest, ClockSkewDoesNotFlapAndResolves) {
  AddSite("pune-1");
  auto hover = [this](std::int64_t low) {
    return [this, low](std::int64_t t) { Site().clock_skew_ms = (t / kS) % 20 < 10 ? 5100 : low; };
  };
  EXPECT_TRUE(Advance(10 * kMin, hover(4900)).empty());
  Site().clock_skew_ms = 4900;
  Eval();
  Site().clock_skew_ms = 7000;
  FiresAfter(30 * kS, "ClockSkew");
  EXPECT_TRUE(Advance(10 * kMin, hover(4600)).empty());  // clear line: 4.5 s
  EXPECT_TRUE(IsActive("ClockSkew"));
  Site().clock_skew_ms = 120;
  ResolvesAfter30s("ClockSkew");
}

// --- SpoolBacklog ------------------------------------------------------------------------------

TEST_F(ContinuityTest, SpoolBacklogFiresAfterAMinuteOverTheLimit) {
  AddSite("pune-1").spool_backlog_events = 10'001;
  const Alert a = FiresAfter(60 * kS, "SpoolBacklog");
  EXPECT_EQ(a.severity, "warning");
  EXPECT_EQ(a.summary, "Site pune-1's agent holds 10001 undelivered events");
}

TEST_F(ContinuityTest, SpoolBacklogFiresOnNewDropsAndResolvesFiveMinutesAfterTheLast) {
  AddSite("pune-1");
  Eval();
  Advance(kMin);
  Site().spool_dropped_events = 120;
  const Alert a = FiresAfter(60 * kS, "SpoolBacklog");
  EXPECT_EQ(a.summary, "Site pune-1's agent is discarding events (120 dropped so far)");
  // The count stays at 120: no new losses. Clear 5 min after the drop, resolved 30 s later.
  const std::int64_t dropped_at = now_ - 60 * kS;
  EXPECT_TRUE(Advance(dropped_at + 5 * kMin + 30 * kS - now_).empty());
  auto resolved = Named(Advance(kS), "SpoolBacklog", false);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.ends_ms, dropped_at + 5 * kMin + 31 * kS);
}

TEST_F(ContinuityTest, SpoolBacklogIgnoresDropsFromBeforeTheCollectorStarted) {
  AddSite("pune-1").spool_dropped_events = 500;  // restored from the checkpoint
  Eval();
  EXPECT_TRUE(Advance(10 * kMin).empty());
  Site().spool_dropped_events = 510;
  FiresAfter(60 * kS, "SpoolBacklog");
}

TEST_F(ContinuityTest, SpoolBacklogDoesNotFlapAndResolves) {
  AddSite("pune-1");
  auto hover = [this](std::uint64_t low) {
    return [this, low](std::int64_t t) {
      Site().spool_backlog_events = (t / kS) % 40 < 20 ? 10'500 : low;
    };
  };
  EXPECT_TRUE(Advance(10 * kMin, hover(9'500)).empty());
  Site().spool_backlog_events = 9'500;
  Eval();
  Site().spool_backlog_events = 25'000;
  FiresAfter(60 * kS, "SpoolBacklog");
  EXPECT_TRUE(Advance(10 * kMin, hover(9'500)).empty());  // clear line: 9000
  EXPECT_TRUE(IsActive("SpoolBacklog"));
  Site().spool_backlog_events = 200;
  ResolvesAfter30s("SpoolBacklog");
}

// --- Shared mechanics --------------------------------------------------------------------------

TEST_F(ContinuityTest, SiteOverrideBeatsClientOverrideBeatsDefaults) {
  ContinuityRules rules;
  rules.clients["acme"].site_dark_min_ms = 30 * kS;
  rules.sites["pune-1"].site_dark_min_ms = 60 * kS;
  Make(rules);
  sites_report_ = false;
  AddSite("pune-1", {"acme", "globex"});
  AddSite("manila-1", {"acme", "globex"});
  Eval();
  auto fired = Named(Advance(16 * kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 1u);  // defaults: globex at manila-1
  EXPECT_EQ(fired[0].alert.client, "globex");
  EXPECT_EQ(fired[0].alert.site, "manila-1");
  fired = Named(Advance(15 * kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 1u);  // acme's override: acme at manila-1
  EXPECT_EQ(fired[0].alert.client, "acme");
  EXPECT_EQ(fired[0].alert.site, "manila-1");
  fired = Named(Advance(30 * kS), "SiteDark", true);
  ASSERT_EQ(fired.size(), 2u);  // pune-1's override, for both of its clients
  EXPECT_EQ(fired[0].alert.site, "pune-1");
  EXPECT_EQ(fired[1].alert.site, "pune-1");
}

TEST_F(ContinuityTest, AlertsWhoseSubjectDisappearsResolve) {
  AddSite("pune-1");
  AddQueue("acme", "pune-1", "billing").oldest_wait_s = 300;
  FiresAfter(30 * kS, "QueueSurge");
  snap_.queues.clear();
  Transitions t = Eval();
  auto resolved = Named(t, "QueueSurge", false);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.ends_ms, now_);
  EXPECT_TRUE(engine_->Active().empty());
}

TEST_F(ContinuityTest, ActiveIsSortedByKey) {
  sites_report_ = false;
  AddSite("pune-1", {"globex", "acme"});
  AddQueue("acme", "pune-1", "billing").oldest_wait_s = 300;
  Eval();
  Advance(kMin);
  std::vector<Alert> active = engine_->Active();
  ASSERT_EQ(active.size(), 3u);
  EXPECT_EQ(active[0].name, "QueueSurge");
  EXPECT_EQ(active[1].name, "SiteDark");
  EXPECT_EQ(active[1].client, "acme");
  EXPECT_EQ(active[2].name, "SiteDark");
  EXPECT_EQ(active[2].client, "globex");
  for (std::size_t i = 1; i < active.size(); ++i) {
    EXPECT_LT(active[i - 1].Key(), active[i].Key());
  }
}

TEST_F(ContinuityTest, KeyNamesEveryLabelAndCannotCollide) {
  Alert a;
  a.name = "LinkDown";
  a.client = "acme";
  a.site = "pune-1";
  a.link = "wan";
  Alert b = a;
  b.queue = "billing";
  EXPECT_NE(a.Key(), b.Key());
  // Separators inside names (any printable character is a valid name) do not shift fields.
  Alert c = a;
  c.client = "acme|pune-1";
  c.site = "";
  Alert d = a;
  d.client = "acme";
  d.site = "pune-1|";  // with '|' as the separator, both would read acme|pune-1|||wan
  EXPECT_NE(c.Key(), d.Key());
  EXPECT_EQ(a.Key(), Alert(a).Key());
}

TEST_F(ContinuityTest, CustomRunbookBase) {
  ContinuityRules rules;
  rules.runbook_base_url = "https://wiki.example/runbooks/";
  Make(rules);
  AddSite("pune-1").clock_skew_ms = 9000;
  EXPECT_EQ(FiresAfter(30 * kS, "ClockSkew").runbook_url,
            "https://wiki.example/runbooks/clockskew.md");
}

}  // namespace
}  // namespace ccmon::collector
