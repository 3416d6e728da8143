// gRPC Ingest adapter: decodes batches, applies them to the engine, answers with acks.
// Thread-safe: gRPC runs each stream on its own thread; the engine host serialises access.
#pragma once

#include "ccmon/collector/options.h"
#include "ccmon/v1/ingest.grpc.pb.h"
#include "engine_host.h"

namespace ccmon::collector {

class IngestService final : public v1::Ingest::Service {
 public:
  IngestService(EngineHost& host, const SecurityOptions& security)
      : host_(host), security_(security) {}
  grpc::Status Stream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::CollectorMessage, v1::AgentMessage>* stream) override;

 private:
  EngineHost& host_;
  const SecurityOptions& security_;
};

}  // namespace ccmon::collector
