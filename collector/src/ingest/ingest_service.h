// gRPC Ingest adapter: decodes batches, applies them to the engine, answers with acks.
// Thread-safe: gRPC runs each stream on its own thread, which reads and applies batches while
// a second thread per stream writes the acks once the WAL has made them durable; the engine
// host serialises access to the engine.
//
// It serves ccmon.v1.Ingest/Stream on raw bytes (a sync bidi handler over grpc::ByteBuffer,
// registered like the generated service registers its typed one): a batch is decoded in place
// by wire::DecodeBatch straight into domain events and written to the WAL as received, instead
// of being parsed into protobuf messages and serialised again; it serialises its own replies.
// The wire protocol is exactly that of ingest.proto.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include "ccmon/collector/options.h"
#include "ccmon/v1/ingest.pb.h"
#include "engine_host.h"

namespace ccmon::collector {

class IngestService final : public grpc::Service {
 public:
  IngestService(EngineHost& host, const SecurityOptions& security);

  using RawStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
  grpc::Status Stream(grpc::ServerContext* ctx, RawStream* stream);

 private:
  EngineHost& host_;
  const SecurityOptions& security_;
};

}  // namespace ccmon::collector
