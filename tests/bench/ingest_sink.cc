// Bare gRPC sink for the ingest benchmark: implements ccmon.v1.Ingest from the same proto as
// the collector and only parses and acks (Welcome, then one Ack per batch carrying its last
// seq). The ceiling the collector's ingest is compared with. Benchmark tool, not shipped.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "ccmon/v1/ingest.grpc.pb.h"

namespace {

class SinkService final : public ccmon::v1::Ingest::Service {
 public:
  grpc::Status Stream(grpc::ServerContext* /*ctx*/,
                      grpc::ServerReaderWriter<ccmon::v1::CollectorMessage,
                                               ccmon::v1::AgentMessage>* stream) override {
    ccmon::v1::AgentMessage msg;
    if (!stream->Read(&msg) || msg.msg_case() != ccmon::v1::AgentMessage::kHello) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "first message must be hello"};
    }
    ccmon::v1::CollectorMessage out;
    out.mutable_welcome()->set_last_applied_seq(0);
    out.mutable_welcome()->set_max_batch_events(4096);
    if (!stream->Write(out)) return grpc::Status::OK;
    out.Clear();
    auto* ack = out.mutable_ack();
    while (stream->Read(&msg)) {
      const auto& events = msg.batch().events();
      if (events.empty()) continue;
      ack->set_acked_seq(events[events.size() - 1].seq());
      if (!stream->Write(out)) break;
    }
    return grpc::Status::OK;
  }
};

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  const std::string listen = argc > 1 ? argv[1] : "127.0.0.1:0";
  SinkService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "ingest_sink: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("serving gRPC on port %d\n", port);
  std::fflush(stdout);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  while (!g_stop) usleep(50 * 1000);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
