// JSON-lines source for PBXs and ACDs other than Asterisk (FreeSWITCH mod_callcenter, hosted
// platform exports, RTCP reports): each line is one ccmon.v1.Event in protobuf's JSON mapping
// (docs/jsonl.md). Bad lines are rejected with their line number and reason and counted.
// Not thread-safe.
#pragma once

#include <functional>

#include "ccmon/agent/event_sink.h"
#include "ccmon/model/event.h"
#include "sources/file_source.h"

namespace ccmon::agent {

struct JsonlStats {
  std::uint64_t lines = 0;
  std::uint64_t events = 0;
  std::uint64_t rejected = 0;
};

class JsonlSource final : public FileSource {
 public:
  // path "-" reads standard input (to its end when until_eof).
  JsonlSource(const std::string& path, EventSink sink, bool until_eof = false);
  const JsonlStats& stats() const { return stats_; }

  // Parses one line; returns "" and fills *out (views into *storage) or the reason it is bad.
  static std::string Parse(std::string_view line, void* storage, Event* out);

 protected:
  void OnLine(std::string_view line, std::uint64_t line_no) override;

 private:
  EventSink sink_;
  JsonlStats stats_;
};

}  // namespace ccmon::agent
