#include "ccmon/collector/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <thread>

#include "engine_host.h"
#include "export/metrics.h"
#include "ingest/ingest_service.h"
#include "ingest/monitor_service.h"

namespace ccmon::collector {

namespace {

bool IsLoopback(const std::string& addr) {
  return addr.starts_with("127.") || addr.starts_with("localhost:") || addr.starts_with("[::1]:");
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const CollectorOptions& o, const Clock& clock)
      : options_(o), host_(o.core, clock), ingest_(host_), monitor_(host_, clock.NowMs()) {}

  absl::Status Init() {
    if (!options_.allow_insecure_remote && !IsLoopback(options_.listen)) {
      return absl::FailedPreconditionError(
          "listen address " + options_.listen +
          " is not loopback: plaintext ingest off-host needs allow_insecure_remote: true");
    }
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(), &grpc_port_);
    builder.RegisterService(&ingest_);
    builder.RegisterService(&monitor_);
    builder.SetMaxReceiveMessageSize(64 << 20);
    server_ = builder.BuildAndStart();
    if (!server_ || grpc_port_ == 0) {
      return absl::UnavailableError("cannot listen for gRPC on " + options_.listen);
    }
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_listen, 2);
    } catch (const std::exception& e) {
      server_->Shutdown();
      return absl::UnavailableError("cannot listen for /metrics on " + options_.metrics_listen +
                                    ": " + e.what());
    }
    metrics_ = std::make_shared<MetricsCollectable>(host_);
    exposer_->RegisterCollectable(metrics_);
    const auto ports = exposer_->GetListeningPorts();
    metrics_port_ = ports.empty() ? 0 : ports.front();
    ticker_ = std::thread([this] { TickLoop(); });
    return absl::OkStatus();
  }

  ~ServerImpl() override { Shutdown(); }

  int grpc_port() const override { return grpc_port_; }
  int metrics_port() const override { return metrics_port_; }

  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    host_.With([](Engine& e) {
      e.Tick();
      return 0;
    });
    exposer_.reset();
  }

 private:
  void TickLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
      if (stopping_) break;
      host_.With([](Engine& e) {
        e.Tick();
        return 0;
      });
    }
  }

  CollectorOptions options_;
  EngineHost host_;
  IngestService ingest_;
  MonitorService monitor_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<MetricsCollectable> metrics_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const CollectorOptions& options,
                                                      const Clock& clock) {
  auto server = std::make_unique<ServerImpl>(options, clock);
  if (auto s = server->Init(); !s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace ccmon::collector
