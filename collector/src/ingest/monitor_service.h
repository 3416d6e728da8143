// gRPC Monitor adapter: status, snapshot and ledger reads for operators (ccmon-ctl).
// Thread-safe.
#pragma once

#include "ccmon/collector/options.h"
#include "ccmon/collector/statement.h"
#include "ccmon/v1/monitor.grpc.pb.h"
#include "pipeline/pipeline.h"
#include "storage/ledger_store.h"

namespace ccmon::collector {

// "+15550001234" -> "+*********34": enough to recognise a caller, not to dial them.
std::string MaskCallerId(std::string_view id);

class MonitorService final : public v1::Monitor::Service {
 public:
  MonitorService(Pipeline& pipeline, const SecurityOptions& security, const CoreConfig& core,
                 std::int64_t started_ms)
      : pipeline_(pipeline), security_(security), core_(core), started_ms_(started_ms) {}
  // The ledger store the ledger, statement and exclusion calls read; set before serving.
  void set_ledger(LedgerStore* ledger) { ledger_ = ledger; }
  grpc::Status GetStatus(grpc::ServerContext* ctx, const v1::StatusRequest* req,
                         v1::Status* out) override;
  grpc::Status GetSnapshot(grpc::ServerContext* ctx, const v1::SnapshotRequest* req,
                           v1::Snapshot* out) override;
  grpc::Status GetLedger(grpc::ServerContext* ctx, const v1::LedgerRequest* req,
                         v1::Ledger* out) override;
  grpc::Status GetRowHistory(grpc::ServerContext* ctx, const v1::RowHistoryRequest* req,
                             v1::Ledger* out) override;
  grpc::Status GetStatement(grpc::ServerContext* ctx, const v1::StatementRequest* req,
                            v1::StatementDocument* out) override;
  grpc::Status ProposeExclusion(grpc::ServerContext* ctx, const v1::ExclusionProposal* req,
                                v1::ExclusionInfo* out) override;
  grpc::Status DecideExclusion(grpc::ServerContext* ctx, const v1::ExclusionDecision* req,
                               v1::ExclusionInfo* out) override;
  grpc::Status ListExclusions(grpc::ServerContext* ctx, const v1::ExclusionsRequest* req,
                              v1::ExclusionList* out) override;
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
  // The contract terms of every queue of `client` (zones filled in), for statements.
  std::vector<QueueTerms> TermsOf(const std::string& client) const;
  const StatementTerms& ClientTerms(const std::string& client) const;
  Pipeline& pipeline_;
  LedgerStore* ledger_ = nullptr;
  const SecurityOptions& security_;
  const CoreConfig& core_;
  std::int64_t started_ms_;
};

}  // namespace ccmon::collector
