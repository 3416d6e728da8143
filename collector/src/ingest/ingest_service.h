// gRPC Ingest adapter: decodes batches, applies them to the engine, answers with acks.
// Thread-safe: gRPC runs each stream on its own thread, which reads and decodes batches and
// hands them to the pipeline's apply thread, while a second thread per stream writes the acks
// once the journal has made them durable.
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
#include "pipeline/pipeline.h"

namespace ccmon::collector {

class IngestService final : public grpc::Service {
 public:
  IngestService(Pipeline& pipeline, const SecurityOptions& security);

  using RawStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
  grpc::Status Stream(grpc::ServerContext* ctx, RawStream* stream);

 private:
  Pipeline& pipeline_;
  const SecurityOptions& security_;
};

}  // namespace ccmon::collector
