#include "ingest/auth.h"

#include <openssl/crypto.h>

namespace ccmon::collector {

namespace {

bool SameSecret(const std::string& a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view BearerToken(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return {};
  std::string_view v(it->second.data(), it->second.size());
  if (!v.starts_with("Bearer ")) return {};
  return v.substr(7);
}

}  // namespace

grpc::Status AuthorizeSite(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                           const std::string& site) {
  if (!sec.client_ca.empty()) {
    const auto auth = ctx.auth_context();
    std::vector<std::string> ids;
    if (auth) {
      for (const char* prop : {"x509_subject_alternative_name", "x509_common_name"}) {
        for (const auto& v : auth->FindPropertyValues(prop)) ids.emplace_back(v.data(), v.size());
      }
    }
    if (ids.empty()) {
      return {grpc::StatusCode::UNAUTHENTICATED, "no client certificate identity"};
    }
    if (std::find(ids.begin(), ids.end(), site) == ids.end()) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "client certificate is for '" + ids.front() + "', stream claims site '" + site + "'"};
    }
  }
  if (!sec.site_tokens.empty()) {
    const std::string_view token = BearerToken(ctx);
    if (token.empty()) return {grpc::StatusCode::UNAUTHENTICATED, "bearer token required"};
    auto it = sec.site_tokens.find(site);
    if (it == sec.site_tokens.end() || !SameSecret(it->second, token)) {
      for (const auto& [other, t] : sec.site_tokens) {
        if (SameSecret(t, token)) {
          return {grpc::StatusCode::PERMISSION_DENIED,
                  "token belongs to site '" + other + "', stream claims site '" + site + "'"};
        }
      }
      return {grpc::StatusCode::UNAUTHENTICATED, "unknown token for site '" + site + "'"};
    }
  }
  return grpc::Status::OK;
}

grpc::Status AuthorizeMonitor(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                              std::string* client, bool* pii) {
  *pii = false;
  if (sec.monitor_tokens.empty()) return grpc::Status::OK;  // open (loopback default)
  const std::string_view token = BearerToken(ctx);
  if (token.empty()) return {grpc::StatusCode::UNAUTHENTICATED, "Monitor API token required"};
  for (const auto& t : sec.monitor_tokens) {
    if (!SameSecret(t.token, token)) continue;
    *pii = t.pii;
    if (t.client.empty()) return grpc::Status::OK;
    if (!client->empty() && *client != t.client) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "this token may read client '" + t.client + "' only, not '" + *client + "'"};
    }
    *client = t.client;
    return grpc::Status::OK;
  }
  return {grpc::StatusCode::UNAUTHENTICATED, "unknown Monitor API token"};
}

grpc::Status AuthorizeCaller(const SecurityOptions& sec, const grpc::ServerContext& ctx,
                             CallerScope* scope) {
  scope->open = sec.monitor_tokens.empty();
  std::string client;
  bool pii = false;
  if (auto st = AuthorizeMonitor(sec, ctx, &client, &pii); !st.ok()) return st;
  scope->client = client;
  scope->label = scope->open             ? "open API"
                 : scope->client.empty() ? "vendor token"
                                         : "client " + scope->client + " token";
  return grpc::Status::OK;
}

}  // namespace ccmon::collector
