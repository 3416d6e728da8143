// Agent options: probe specs as --probe and the config's `probes:` list give them.
#include "ccmon/agent/agent.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace ccmon::agent {
namespace {

TEST(ProbeSpecTest, NetworkProbesKeepTheirSyntax) {
  auto t = ParseProbeSpec("wan=collector.example.net:7400");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "wan");
  EXPECT_EQ(t->host, "collector.example.net");
  EXPECT_EQ(t->port, "7400");
  EXPECT_EQ(t->kind, LinkKind::kNetwork);
  t = ParseProbeSpec("v6=[2001:db8::1]:443");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "2001:db8::1");
  EXPECT_EQ(t->port, "443");
}

TEST(ProbeSpecTest, SipProbesDefaultToUdpOn5060) {
  auto t = ParseProbeSpec("sip:carrier-a=sbc.carrier.example");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "carrier-a");
  EXPECT_EQ(t->host, "sbc.carrier.example");
  EXPECT_EQ(t->port, "5060");
  EXPECT_EQ(t->kind, LinkKind::kSipTrunk);
  EXPECT_EQ(t->transport, SipTransport::kUdp);
  t = ParseProbeSpec("sip:sbc=10.0.0.5:5061;transport=tcp");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "10.0.0.5");
  EXPECT_EQ(t->port, "5061");
  EXPECT_EQ(t->transport, SipTransport::kTcp);
  t = ParseProbeSpec("sip:v6=[::1]:5080;transport=udp");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "5080");
  EXPECT_EQ(t->transport, SipTransport::kUdp);
}

TEST(ProbeSpecTest, BadSpecsSayWhatIsWrongAndEchoTheSpec) {
  const std::pair<const char*, const char*> cases[] = {
      {"sip:carrier=sbc:99999", "PORT must be a number within 1-65535"},
      {"sip:carrier=sbc:sip", "PORT must be a number within 1-65535"},
      {"sip:carrier=sbc:0", "PORT must be a number within 1-65535"},
      {"sip:carrier=sbc:5060;transport=sctp", "unknown transport 'sctp' (udp or tcp)"},
      {"sip:carrier=sbc;user=phone", "unknown parameter 'user=phone'"},
      {"sip:sbc.example:5060", "expected sip:NAME=HOST[:PORT][;transport=udp|tcp]: no '='"},
      {"sip:=sbc:5060", "empty NAME"},
      {"sip:carrier=:5060", "empty HOST"},
      {"sip:carrier=sbc:", "empty PORT"},
      {"sip:carrier=[::1", "unterminated '['"},
      {"sip:carrier=[::1]5060", "junk after ']'"},
      {"sip:a b=sbc", "NAME must be 1-64 characters"},
      {"wan=host", "expected NAME=HOST:PORT: no PORT"},
      {"wan", "expected NAME=HOST:PORT: no '='"},
  };
  for (const auto& [spec, why] : cases) {
    auto t = ParseProbeSpec(spec);
    ASSERT_FALSE(t.ok()) << spec;
    const std::string msg(t.status().message());
    EXPECT_EQ(msg.rfind(std::string("probe '") + spec + "': ", 0), 0u) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << spec << ": " << msg;
  }
}

TEST(ProbeSpecTest, ConfigFileProbesAreParsedAndBadOnesNameTheLine) {
  const std::string path = ::testing::TempDir() + "/agent_probes.yaml";
  {
    std::ofstream out(path);
    out << "site: mnl-1\nprobes:\n  - wan=10.0.0.1:443\n  - sip:carrier=10.0.0.2;transport=tcp\n";
  }
  auto o = LoadAgentOptions(path);
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->probes.size(), 2u);
  EXPECT_EQ(o->probes[1].kind, LinkKind::kSipTrunk);
  EXPECT_EQ(o->probes[1].transport, SipTransport::kTcp);
  EXPECT_TRUE(ValidateAgentOptions(*o).ok());
  {
    std::ofstream out(path);
    out << "site: mnl-1\nprobes:\n  - wan=10.0.0.1:443\n  - sip:carrier=10.0.0.2:70000\n";
  }
  o = LoadAgentOptions(path);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(std::string(o.status().message()),
            path +
                ":4: field 'probes': probe 'sip:carrier=10.0.0.2:70000': PORT must be a number "
                "within 1-65535");
  std::remove(path.c_str());
}

// A key given twice is refused with its line: yaml-cpp would keep both and the agent read
// one of them without a word.
TEST(AgentConfigTest, DuplicateKeyIsNamedWithItsLine) {
  const std::string path = ::testing::TempDir() + "/agent_dup.yaml";
  {
    std::ofstream out(path);
    out << "site: mnl-1\ncollector: a:1\nsite: pune-1\n";
  }
  const auto o = LoadAgentOptions(path);
  ASSERT_FALSE(o.ok());
  const std::string msg(o.status().message());
  EXPECT_EQ(msg.rfind(path + ":3:", 0), 0u) << msg;
  EXPECT_NE(msg.find("field 'site': duplicate key"), std::string::npos) << msg;
  std::remove(path.c_str());
}

// Collector replicas: `collectors:` is the list form of `collector: A,B`; each replica is
// HOST:PORT and named once.
TEST(AgentConfigTest, CollectorReplicasAsAListAndBadOnesRefused) {
  const std::string path = ::testing::TempDir() + "/agent_replicas.yaml";
  {
    std::ofstream out(path);
    out << "site: mnl-1\ncollectors: [c1.example:7400, c2.example:7400]\nsimulate: true\n";
  }
  const auto o = LoadAgentOptions(path);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->collector, "c1.example:7400,c2.example:7400");
  EXPECT_TRUE(ValidateAgentOptions(*o).ok());
  std::remove(path.c_str());
  AgentOptions bad = *o;
  bad.collector = "c1.example:7400,c1.example:7400";
  EXPECT_EQ(std::string(ValidateAgentOptions(bad).message()),
            "collector 'c1.example:7400,c1.example:7400' names c1.example:7400 twice");
  for (const char* c : {"c1.example:7400,", "c1.example:7400, c2.example:7400", "c1.example"}) {
    bad.collector = c;
    EXPECT_NE(std::string(ValidateAgentOptions(bad).message())
                  .find("each replica must be HOST:PORT, comma-separated"),
              std::string::npos)
        << c;
  }
}

TEST(ProbeSpecTest, TwoProbesUnderOneNameAreRefused) {
  AgentOptions o;
  o.site = "mnl-1";
  o.probes = {*ParseProbeSpec("carrier=10.0.0.1:443"), *ParseProbeSpec("sip:carrier=10.0.0.2")};
  const absl::Status s = ValidateAgentOptions(o);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()), "probe name 'carrier' is used twice");
}

}  // namespace
}  // namespace ccmon::agent
