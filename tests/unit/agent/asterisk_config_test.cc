// queues.conf as app_queue.c reads it: sections, templates, includes, comments, member lines
// with member names and wrapuptime, and the errors that name the file and line.
#include "ccmon/agent/asterisk_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ccmon::agent {
namespace {

IncludeReader Files(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AsteriskConfigTest, ReadsTemplatesIncludesAndMembers) {
  AsteriskConfig c;
  std::string err;
  ASSERT_TRUE(
      ParseQueuesConf("[general]\npersistentmembers=yes\n\n"
                      "[tpl](!)   ; a template\nwrapuptime = 15\ntimeout=20\n"
                      "[support](tpl)\nservicelevel=30 ; contract says 30\n"
                      "member => PJSIP/7009,0,Agent 1,PJSIP/7009\n"
                      "member => SIP/1000\n"
                      "#include extra.conf\n"
                      "#tryinclude missing.conf\n",
                      "queues.conf",
                      Files({{"extra.conf",
                              "[sales](tpl)\nwrapuptime=5\nmember => PJSIP/7010,0,Ana,,no,3,1\n"
                              "[support](+)\nmember => PJSIP/7011,5,Bo\\;b\n"}}),
                      &c, &err))
      << err;
  ASSERT_EQ(c.queues.size(), 2u);  // neither the template nor [general]
  const QueueConf& s = c.queues.at("support");
  EXPECT_EQ(s.wrapup_s, 15u);
  EXPECT_EQ(s.ring_timeout_s, 20u);
  EXPECT_EQ(s.service_level_s, 30u);
  ASSERT_EQ(s.members.size(), 3u);
  EXPECT_EQ(s.members[0].name, "Agent 1");
  EXPECT_EQ(s.members[1].name, "SIP/1000");  // no member name: the interface is the name
  EXPECT_EQ(s.members[2].name, "Bo;b");      // "\;" is a literal semicolon
  const QueueConf& sales = c.queues.at("sales");
  EXPECT_EQ(sales.wrapup_s, 5u);
  ASSERT_EQ(sales.members.size(), 1u);
  EXPECT_EQ(sales.members[0].wrapup_s, 3u);
  EXPECT_TRUE(sales.members[0].paused);
  EXPECT_EQ(c.member_of_interface.at("PJSIP/7009"), "Agent 1");
  EXPECT_EQ(c.member_of_interface.at("PJSIP/7010"), "Ana");
}

// The lines after an #include go back to the including file's section, whatever sections the
// included file opened; an included file starts in the last section defined anywhere (an
// earlier include's), as main/config.c has it.
TEST(AsteriskConfigTest, LinesAfterAnIncludeBelongToTheIncludersSection) {
  AsteriskConfig c;
  std::string err;
  ASSERT_TRUE(
      ParseQueuesConf("[general]\n#include queues_additional.conf\n"
                      "#include more_members.conf\n"
                      "log_membername_as_agent=yes\n"
                      "[support]\n#include support_members.conf\ntimeout=20\n",
                      "queues.conf",
                      Files({{"queues_additional.conf", "[400]\nmember => SIP/400\n"},
                             {"more_members.conf", "member => SIP/500\n"},
                             {"support_members.conf", "member => SIP/1000\n[sales]\n"}}),
                      &c, &err))
      << err;
  EXPECT_TRUE(c.log_membername_as_agent);
  ASSERT_EQ(c.queues.at("400").members.size(), 2u);  // SIP/500 joins [400], the last defined
  EXPECT_EQ(c.queues.at("400").members[1].name, "SIP/500");
  // support_members.conf starts in [support], the last defined when it is included.
  const QueueConf& support = c.queues.at("support");
  EXPECT_EQ(support.ring_timeout_s, 20u);
  ASSERT_EQ(support.members.size(), 1u);
  EXPECT_EQ(support.members[0].name, "SIP/1000");
  EXPECT_EQ(c.queues.at("sales").ring_timeout_s, 15u);  // the default
}

// What main/config.c and app_queue.c do with the less common forms.
TEST(AsteriskConfigTest, ReadsWhatAsteriskReadsTheWayItReadsIt) {
  AsteriskConfig c;
  std::string err;
  ASSERT_TRUE(
      ParseQueuesConf("\xEF\xBB\xBF[General]\nLog_MemberName_As_Agent = Yes\n"
                      "[a](!)\nwrapuptime=10\nmember => SIP/1,0,One\n"
                      "[b](!)\nservicelevel=25\nmember => SIP/2,0,Two\n"
                      "[Q](a,b)\nWrapUpTime=12\n"
                      ";-- a block comment\nmember => SIP/9,0,Ghost\n--;\n"
                      "member => PJSIP/7,0,\"Smith, Ann\",PJSIP/7,no,0,on\n"
                      "timeout=-1\n"
                      "[q]\nwrapuptime=99\n"      // the same queue again: Asterisk keeps the first
                      "[r] (a)\nwrapuptime 5\n",  // options after a space are ignored; no '=' warns
                      "queues.conf", Files({}), &c, &err))
      << err;
  EXPECT_TRUE(c.log_membername_as_agent);
  ASSERT_EQ(c.queues.count("Q"), 1u);
  const QueueConf& q = c.queues.at("Q");
  EXPECT_EQ(q.wrapup_s, 12u);  // a's 10, then the section's own 12
  EXPECT_EQ(q.service_level_s, 25u);
  EXPECT_EQ(q.ring_timeout_s, 15u);  // a negative timeout is app_queue's default
  ASSERT_EQ(q.members.size(), 3u);   // One and Two from the templates, Smith; not Ghost
  EXPECT_EQ(q.members[0].name, "One");
  EXPECT_EQ(q.members[1].name, "Two");
  EXPECT_EQ(q.members[2].name, "Smith, Ann");
  EXPECT_TRUE(q.members[2].paused);
  EXPECT_EQ(q.members[2].wrapup_s, 0u);
  EXPECT_EQ(c.queues.count("q"), 0u);
  ASSERT_EQ(c.queues.count("r"), 1u);
  EXPECT_EQ(c.queues.at("r").wrapup_s, 0u);
  EXPECT_EQ(c.warnings.size(), 2u) << testing::PrintToString(c.warnings);  // 2nd [q], no "="
}

TEST(AsteriskConfigTest, ErrorsNameTheFileAndLine) {
  AsteriskConfig c;
  std::string err;
  EXPECT_FALSE(ParseQueuesConf("[q]\n[broken\n", "queues.conf", Files({}), &c, &err));
  EXPECT_EQ(err.rfind("queues.conf:2: ", 0), 0u) << err;
  EXPECT_FALSE(ParseQueuesConf("[q]\n#include nope.conf\n", "queues.conf", Files({}), &c, &err));
  EXPECT_EQ(err, "queues.conf:2: cannot read included file 'nope.conf'");
  EXPECT_FALSE(ParseQueuesConf("[q](missing)\n", "queues.conf", Files({}), &c, &err));
  EXPECT_NE(err.find("template 'missing'"), std::string::npos) << err;
  EXPECT_FALSE(ParseQueuesConf("#include self.conf\n", "queues.conf",
                               Files({{"self.conf", "#include self.conf\n"}}), &c, &err));
  EXPECT_NE(err.find("nested deeper"), std::string::npos) << err;
  // What Asterisk accepts with atoi is read as Asterisk reads it, with a warning.
  AsteriskConfig w;
  ASSERT_TRUE(ParseQueuesConf("[q]\nwrapuptime=abc\n", "queues.conf", Files({}), &w, &err));
  EXPECT_EQ(w.queues.at("q").wrapup_s, 0u);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_EQ(w.warnings[0].rfind("queues.conf:2: wrapuptime", 0), 0u) << w.warnings[0];
}

TEST(AsteriskConfigTest, MembersFileForRealtimeMembers) {
  AsteriskConfig c;
  std::string err;
  ASSERT_TRUE(
      ParseMembersFile("# queue,interface,member name[,wrapuptime]\n"
                       "support,PJSIP/7009,Agent 1\nsales,PJSIP/7010,Ana,20\n",
                       "members.csv", &c, &err))
      << err;
  EXPECT_EQ(c.member_of_interface.at("PJSIP/7010"), "Ana");
  EXPECT_TRUE(c.queues.at("support").members[0].realtime);
  EXPECT_EQ(c.queues.at("sales").members[0].wrapup_s, 20u);
  // As in the queue_members table, the name may be empty (the interface then) and so may
  // wrapuptime.
  ASSERT_TRUE(ParseMembersFile("support,PJSIP/7011,,\n", "members.csv", &c, &err)) << err;
  EXPECT_EQ(c.member_of_interface.at("PJSIP/7011"), "PJSIP/7011");
  EXPECT_FALSE(ParseMembersFile("support\n", "members.csv", &c, &err));
  EXPECT_EQ(err, "members.csv:1: expected 'queue,interface[,member name[,wrapuptime]]'");
}

}  // namespace
}  // namespace ccmon::agent
