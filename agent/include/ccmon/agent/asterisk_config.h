// Asterisk's queue configuration as the agent needs it: each queue's wrap-up time, service
// level and ring timeout, and its static members (interface and member name). Read from
// queues.conf (with its #include files, templates and [general] section) as app_queue.c reads
// it, or from a members file for realtime (database) members. Pure: no I/O but the include
// reader the caller passes in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ccmon::agent {

struct StaticMember {
  std::string interface;  // "PJSIP/1000": what ADDMEMBER/REMOVEMEMBER may name
  std::string name;       // member name: what CONNECT, COMPLETE and PAUSE name (the interface
                          // when queues.conf gives none)
  std::optional<std::uint32_t> wrapup_s;  // the member's own wrapuptime, overriding the queue's
  bool paused = false;
  bool realtime = false;  // from a members file: logs ADDMEMBER like a dynamic member
};

struct QueueConf {
  std::uint32_t wrapup_s = 0;         // wrapuptime: the member is not offered calls after one
  std::uint32_t service_level_s = 0;  // servicelevel (0: not set)
  std::uint32_t ring_timeout_s = 15;  // timeout: how long a member rings (app_queue default 15)
  std::vector<StaticMember> members;
  std::string origin;  // "file:line" of the section, for messages
};

struct AsteriskConfig {
  // Keyed by the queue name as configured; Asterisk matches queue names without regard to
  // case (a dialplan's Queue(Support) logs "Support" on ENTERQUEUE, [support] on CONNECT).
  std::map<std::string, QueueConf, std::less<>> queues;
  // [general]
  bool log_membername_as_agent =
      false;                       // ADDMEMBER/REMOVEMEMBER name the member, not the interface
  bool persistent_members = true;  // dynamic members survive a restart (astdb)
  // Interface -> member name over every queue (static and mapped members).
  std::map<std::string, std::string, std::less<>> member_of_interface;
  std::vector<std::string> warnings;  // "file:line: ..." for things Asterisk accepts but we skip
};

// Returns the text of an #include'd file (path as written, relative to the config directory),
// or nullopt when it cannot be read.
using IncludeReader = std::function<std::optional<std::string>(const std::string& path)>;

// Parses queues.conf text named `file` into `out` (sections accumulate across includes) the
// way main/config.c and app_queue.c read it: ';' comments and ";-- --;" blocks, "\;", a BOM,
// case-insensitive keys and section names, templates "(!)" and inheritance "(a,b)" applied in
// order, "(+)" appending, the first of two same-named queues kept, member fields split as
// AST_STANDARD_APP_ARGS does (quotes, parentheses). What Asterisk only warns about is a
// warning here too. Returns false with "file:line: message" in *error for what Asterisk
// refuses: an include that cannot be read (not #tryinclude), includes nested deeper than 10,
// an unknown template, an unterminated section header.
bool ParseQueuesConf(std::string_view text, const std::string& file, const IncludeReader& include,
                     AsteriskConfig* out, std::string* error);

// A members file for realtime members: one "queue,interface,member name[,wrapuptime]" per
// line; '#' starts a comment. Adds the members to `out` (creating queues as needed).
bool ParseMembersFile(std::string_view text, const std::string& file, AsteriskConfig* out,
                      std::string* error);

// Reads DIR/queues.conf (includes resolved under DIR) and, when members_file is not empty, a
// members file. Errors name the file and line.
bool LoadAsteriskConfig(const std::string& dir, const std::string& members_file,
                        AsteriskConfig* out, std::string* error);

}  // namespace ccmon::agent
