// gRPC Monitor adapter: status, snapshot and ledger reads for operators (ccmon-ctl).
// Thread-safe.
#pragma once

#include "ccmon/collector/options.h"
#include "ccmon/v1/monitor.grpc.pb.h"
#include "engine_host.h"

namespace ccmon::collector {

// "+15550001234" -> "+*********34": enough to recognise a caller, not to dial them.
std::string MaskCallerId(std::string_view id);

class MonitorService final : public v1::Monitor::Service {
 public:
  MonitorService(EngineHost& host, const SecurityOptions& security, std::int64_t started_ms)
      : host_(host), security_(security), started_ms_(started_ms) {}
  grpc::Status GetStatus(grpc::ServerContext* ctx, const v1::StatusRequest* req,
                         v1::Status* out) override;
  grpc::Status GetSnapshot(grpc::ServerContext* ctx, const v1::SnapshotRequest* req,
                           v1::Snapshot* out) override;
  grpc::Status GetLedger(grpc::ServerContext* ctx, const v1::LedgerRequest* req,
                         v1::Ledger* out) override;
  grpc::Status WatchSnapshots(grpc::ServerContext* ctx, const v1::SnapshotRequest* req,
                              grpc::ServerWriter<v1::Snapshot>* out) override;
  grpc::Status ListAbandoned(grpc::ServerContext* ctx, const v1::AbandonedRequest* req,
                             v1::AbandonedList* out) override;
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const v1::AlertsRequest* req,
                          v1::AlertList* out) override;
  grpc::Status WatchAlerts(grpc::ServerContext* ctx, const v1::AlertsRequest* req,
                           grpc::ServerWriter<v1::AlertUpdate>* out) override;

 private:
  void BuildSnapshot(const v1::SnapshotRequest& req, v1::Snapshot* out);
  template <typename Request>
  grpc::Status Scoped(const Request& in, const grpc::ServerContext& ctx, Request* out) const;
  EngineHost& host_;
  const SecurityOptions& security_;
  std::int64_t started_ms_;
};

}  // namespace ccmon::collector
