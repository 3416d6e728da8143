// The agent's named logger, created on first use (tests run components without main()).
#pragma once

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace ccmon::agent {

inline std::shared_ptr<spdlog::logger> Log() {
  if (auto l = spdlog::get("agent")) return l;
  try {
    return spdlog::stderr_color_mt("agent");
  } catch (const spdlog::spdlog_ex&) {  // created meanwhile by another thread
    return spdlog::get("agent");
  }
}

}  // namespace ccmon::agent
