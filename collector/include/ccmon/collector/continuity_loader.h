// Reads rules/continuity.yaml into ContinuityRules. The file format is documented in
// docs/alerts.md; durations are in seconds (`for_s`), ratios are fractions (0.01 is 1%).
#pragma once

#include <absl/status/statusor.h>

#include <string>

#include "ccmon/collector/continuity.h"

namespace ccmon::collector {

// Reads a rules file. Every error names the file, line, column and field path at fault;
// unknown keys are errors (a typo must not silently leave a threshold at its default).
// Overrides under `clients:` and `sites:` are partial: each starts from `defaults:`.
absl::StatusOr<ContinuityRules> LoadContinuityRules(const std::string& path);
// Same, from text (for tests and fuzzing); `name` is used in messages.
absl::StatusOr<ContinuityRules> ParseContinuityRules(const std::string& text,
                                                     const std::string& name);

}  // namespace ccmon::collector
