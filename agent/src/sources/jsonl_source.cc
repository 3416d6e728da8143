#include "sources/jsonl_source.h"

#include "ccmon/v1/events.pb.h"
#include "ccmon/wire/codec.h"
#include "log.h"

namespace ccmon::agent {

JsonlSource::JsonlSource(const std::string& path, EventSink sink, bool until_eof)
    : FileSource(path == "-" ? "/dev/stdin" : path), sink_(std::move(sink)) {
  if (path == "-") set_stream(until_eof);
}

std::string JsonlSource::Parse(std::string_view line, void* storage, Event* out) {
  return wire::FromJsonLine(line, static_cast<v1::Event*>(storage), out);
}

void JsonlSource::OnLine(std::string_view line, std::uint64_t line_no) {
  ++stats_.lines;
  // Text followed by zeros is a line torn by a power cut (its unwritten end); what follows the
  // zeros is a line of its own.
  if (const std::size_t zero = line.rfind('\0'); zero != std::string_view::npos) {
    if (line.find_first_not_of('\0') < zero) {
      ++stats_.rejected;
      if (stats_.rejected <= 20 || stats_.rejected % 1000 == 0) {
        Log()->warn("{}:{}: a line cut short by zero bytes (a write lost to a power cut) skipped",
                    path(), line_no);
      }
    }
    line.remove_prefix(zero + 1);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return;
  v1::Event pe;
  Event e;
  const std::string err = Parse(line, &pe, &e);
  if (!err.empty()) {
    ++stats_.rejected;
    if (stats_.rejected <= 20 || stats_.rejected % 1000 == 0) {
      Log()->warn("{}:{}: line rejected: {}", path(), line_no, err);
    }
    return;
  }
  ++stats_.events;
  sink_(e);
}

}  // namespace ccmon::agent
