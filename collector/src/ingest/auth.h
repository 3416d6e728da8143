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

}  // namespace ccmon::collector
