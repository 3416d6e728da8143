// The bytes of one received gRPC message, without a copy when gRPC holds it in one slice (the
// usual case for an agent's batch), else copied together from its slices. Buffers are reused
// from one message to the next. Not thread-safe (one per stream).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>
#include <vector>

namespace ccmon::collector {

class RawMessage {
 public:
  // Reads the next message of a stream; false at its end.
  template <typename Stream>
  bool Read(Stream* stream) {
    return stream->Read(&buffer_) && Load();
  }
  // Takes a message received by other means (tests); the slices are shared, not copied.
  bool Assign(const grpc::ByteBuffer& buffer) {
    buffer_ = buffer;
    return Load();
  }
  // The message's bytes; valid until the next Read or Assign.
  std::string_view bytes() const { return bytes_; }
  // Whether the last message had to be copied (it came in several slices).
  bool copied() const { return copied_; }
  // Lets go of the message: gRPC's buffer is unpinned, and a copy buffer grown past
  // keep_bytes by a large message is freed. bytes() is empty until the next Read.
  void Release(std::size_t keep_bytes) {
    bytes_ = {};
    single_ = grpc::Slice();
    buffer_.Clear();
    if (copy_.capacity() > keep_bytes) std::string().swap(copy_);
  }

 private:
  bool Load() {
    copied_ = false;
    if (buffer_.TrySingleSlice(&single_).ok()) {
      bytes_ = {reinterpret_cast<const char*>(single_.begin()), single_.size()};
      return true;
    }
    single_ = grpc::Slice();
    if (!buffer_.Dump(&slices_).ok()) return false;
    copy_.clear();
    for (const grpc::Slice& slice : slices_) {
      copy_.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    slices_.clear();  // the copy holds the bytes; do not pin the slices until the next read
    bytes_ = copy_;
    copied_ = true;
    return true;
  }

  grpc::ByteBuffer buffer_;
  grpc::Slice single_;
  std::vector<grpc::Slice> slices_;
  std::string copy_;
  std::string_view bytes_;
  bool copied_ = false;
};

}  // namespace ccmon::collector
