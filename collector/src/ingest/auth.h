// Who is calling: the site an ingest stream may speak for (mTLS certificate or bearer token),
// and the client scope of a Monitor token. Thread-safe (stateless over the options).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "ccmon/collector/options.h"

namespace ccmon::collector {

// OK when the stream may report as `site`; otherwise UNAUTHENTICATED (no credentials) or
// PERMISSION_DENIED (credentials of another site), with a message naming both.
grpc::Status AuthorizeSite(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                           const std::string& site);

// Resolves the caller's scope for a Monitor call. *client is the client asked for (empty:
// all); on return it is the client the caller may see (a liaison token pins it). *pii says
// whether caller ids may be shown.
grpc::Status AuthorizeMonitor(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                              std::string* client, bool* pii);

// Who a Monitor caller is, for calls that record it (exclusion decisions): no tokens
// configured (open), a client's token, or a token for every client (the vendor's).
struct CallerScope {
  bool open = false;
  std::string client;  // the token's client; empty for open and vendor tokens
  std::string label;   // "open API", "client acme token", "vendor token"
};
grpc::Status AuthorizeCaller(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                             CallerScope* scope);

}  // namespace ccmon::collector
