// Fuzzes the forecast CSV parser: any text gives forecast entries or an error naming its line,
// and every entry it accepts is on its queue's interval boundary with a count >= 0.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/forecast.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ccmon::collector::ClientConfig client = [] {
    ccmon::collector::ClientConfig c;
    c.name = "acme";
    c.terms.timezone = "America/New_York";
    c.queues.push_back({"billing", {}, {}});
    ccmon::collector::QueueConfig support{"support", {}, {}};
    support.contract.interval_minutes = 15;
    c.queues.push_back(support);
    return c;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (bool shared : {false, true}) {
    auto f = ccmon::collector::ParseForecast(text, "fuzz.csv", client, shared);
    if (!f.ok()) {
      if (f.status().message().find("fuzz.csv:") != 0) __builtin_trap();  // names file:line
      continue;
    }
    for (const auto& e : *f) {
      if (!(e.offered >= 0) || e.start_ms % (15 * 60'000) != 0) __builtin_trap();
    }
  }
  return 0;
}
