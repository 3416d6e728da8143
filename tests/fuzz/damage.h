// Damages a log file's bytes as the fuzz input says: (offset hi, offset lo, byte) triples, at
// most eight; a zero byte zeroes a run of 16 bytes, any other is XORed into one byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

inline void ApplyDamage(std::string_view damage, std::string* file) {
  if (file->empty()) return;
  for (std::size_t i = 0; i + 2 < damage.size() && i < 24; i += 3) {
    const std::size_t at =
        ((static_cast<unsigned char>(damage[i]) << 8) | static_cast<unsigned char>(damage[i + 1])) %
        file->size();
    if (damage[i + 2] == 0) {
      for (std::size_t k = at; k < file->size() && k < at + 16; ++k) (*file)[k] = 0;
    } else {
      (*file)[at] = static_cast<char>((*file)[at] ^ damage[i + 2]);
    }
  }
}
