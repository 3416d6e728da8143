// Checkpoint file of the engine state: written to a temporary file, fsynced and renamed, so a
// crash leaves either the old or the new checkpoint, never a mix. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

namespace ccmon::collector {

// Writes dir/checkpoint holding the WAL position the state includes.
bool WriteCheckpoint(const std::string& dir, std::uint64_t wal_lsn, const std::string& state,
                     std::string* error);
// Reads dir/checkpoint. No file: true with *wal_lsn = 0 and empty *state. A damaged file is an
// error naming it.
bool ReadCheckpoint(const std::string& dir, std::uint64_t* wal_lsn, std::string* state,
                    std::string* error);

}  // namespace ccmon::collector
