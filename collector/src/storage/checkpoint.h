// Checkpoint file of the engine state: written to a temporary file, fsynced and renamed, so a
// crash leaves either the old or the new checkpoint, never a mix. The state inside is a
// versioned protobuf message (ccmon.v1.EngineCheckpoint); checkpoints of the binary format
// before it are still read. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ccmon/collector/engine_state.h"

namespace ccmon::collector {

// The EngineCheckpoint format this build writes (and the newest it reads).
inline constexpr std::uint32_t kCheckpointFormat = 1;

enum class CheckpointPayload : std::uint8_t {
  kProtobuf,  // EncodeEngineState's bytes
  kLegacy,    // the binary format before it: Engine::LoadLegacyState
};

// Writes dir/checkpoint holding the WAL position the state includes.
bool WriteCheckpoint(const std::string& dir, std::uint64_t wal_lsn, const std::string& state,
                     std::string* error);
// Reads dir/checkpoint. No file: true with *wal_lsn = 0 and empty *state. A damaged file is an
// error naming it.
bool ReadCheckpoint(const std::string& dir, std::uint64_t* wal_lsn, std::string* state,
                    CheckpointPayload* payload, std::string* error);

// The engine state as an EngineCheckpoint message, and back. Decoding refuses bytes that do not
// parse and a format newer than kCheckpointFormat, naming it.
std::string EncodeEngineState(const EngineState& state);
bool DecodeEngineState(std::string_view bytes, EngineState* out, std::string* error);

}  // namespace ccmon::collector
