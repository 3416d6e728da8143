// Follows an Asterisk queue_log file: reads complete lines from a saved position, survives
// rename-and-create and copytruncate rotation (also while the agent was down: the rotated
// file is found by its inode), and feeds the queue_log state machine.
// Not thread-safe; owned by the agent's io thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "ccmon/agent/queue_log.h"

namespace ccmon::agent {

class QueueLogSource {
 public:
  QueueLogSource(std::string path, QueueLogStateMachine::Sink sink);
  ~QueueLogSource();

  // Restores from a cursor saved by Cursor(); with an empty cursor starts at the beginning
  // (from_start) or at the current end of the file.
  bool Start(const std::string& cursor, bool from_start, std::string* error);

  // Reads every complete line available now. Returns the number of lines consumed.
  std::size_t Poll();

  // Position and call state after the last consumed line, for the spool's commit record.
  std::string Cursor() const;

  const std::string& path() const { return path_; }
  const QueueLogStats& stats() const { return machine_.stats(); }

 private:
  bool OpenCurrent(std::uint64_t offset, std::string* error);
  std::size_t Drain();
  std::string FindRotated(dev_t dev, ino_t ino) const;
  // After copytruncate: the sibling copy whose bytes before offset_ end with tail_.
  std::string FindCopy() const;

  std::string path_;
  QueueLogStateMachine machine_;
  std::FILE* file_ = nullptr;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t offset_ = 0;  // of the first byte not yet consumed
  std::uint64_t line_no_ = 0;
  std::string partial_;
  std::string tail_;  // the last bytes consumed, to recognise a copytruncate copy
  std::uint64_t logged_malformed_ = 0;
};

}  // namespace ccmon::agent
