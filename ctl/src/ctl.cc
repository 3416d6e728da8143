#include "ccmon/ctl/ctl.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ccmon/v1/monitor.grpc.pb.h"
#include "top.h"

namespace ccmon::ctl {

namespace {

constexpr const char* kUsage = R"(usage: ccmon-ctl [--collector HOST:PORT] [--json] COMMAND

commands:
  status                               collector health and connected sites
  snapshot [--client C] [--site S]     live figures per queue
  ledger --client C --date YYYY-MM-DD [--format csv|table]
                                       closed contract intervals for a review meeting
  alerts [--client C] [--watch]        continuity alerts firing now; --watch follows changes
  top [--client C] [--site S]          live wallboard (q quit, s sort, c client, S site)
  abandoned [--queue Q] [--since 1h]   abandoned calls to call back, newest first
flags:
  --collector HOST:PORT   collector Monitor API       [127.0.0.1:7400]
  --json                  machine-readable output
  --timeout S             RPC deadline in seconds     [5]
  --tls-ca FILE           verify the collector with this CA (enables TLS)
  --tls-cert FILE --tls-key FILE   client certificate, when the collector asks for one
  --token-file FILE       Monitor API token (first line); or set CCMON_TOKEN
  --help, --version
)";

std::string Json(const google::protobuf::Message& m) {
  std::string s;
  google::protobuf::util::JsonPrintOptions opt;
  opt.always_print_primitive_fields = true;
  opt.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &s, opt);
  return s;
}

std::string Pct(bool has, double v) {
  if (!has) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v * 100);
  return buf;
}

std::string Num(bool has, double v) {
  if (!has) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

int RpcError(std::ostream& err, const std::string& target, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    err << "ccmon-ctl: collector " << target << " unreachable: " << s.error_message() << "\n";
  } else if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
             s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    err << "ccmon-ctl: collector " << target << " refused the token: " << s.error_message() << "\n";
  } else {
    err << "ccmon-ctl: " << s.error_message() << "\n";
  }
  return 1;
}

}  // namespace

int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  std::string target = "127.0.0.1:7400", command, client, site, date, format = "table", queue,
              since = "1h";
  bool json = false, watch = false;
  std::string tls_ca, tls_cert, tls_key, token_file;
  double timeout_s = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) {
        err << "ccmon-ctl: " << a << " needs a value\n";
        return false;
      }
      *v = argv[++i];
      return true;
    };
    std::string t;
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else if (a == "--version") {
      out << "ccmon-ctl " << CCMON_VERSION << "\n";
      return 0;
    } else if (a == "--collector") {
      if (!value(&target)) return 2;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--watch") {
      watch = true;
    } else if (a == "--timeout") {
      if (!value(&t)) return 2;
      timeout_s = std::atof(t.c_str());
    } else if (a == "--client") {
      if (!value(&client)) return 2;
    } else if (a == "--site") {
      if (!value(&site)) return 2;
    } else if (a == "--tls-ca") {
      if (!value(&tls_ca)) return 2;
    } else if (a == "--tls-cert") {
      if (!value(&tls_cert)) return 2;
    } else if (a == "--tls-key") {
      if (!value(&tls_key)) return 2;
    } else if (a == "--token-file") {
      if (!value(&token_file)) return 2;
    } else if (a == "--queue") {
      if (!value(&queue)) return 2;
    } else if (a == "--since") {
      if (!value(&since)) return 2;
    } else if (a == "--date") {
      if (!value(&date)) return 2;
    } else if (a == "--format") {
      if (!value(&format)) return 2;
      if (format == "json") json = true;
    } else if (command.empty() && !a.starts_with("-")) {
      command = a;
    } else {
      err << "ccmon-ctl: unknown argument " << a << " (see --help)\n";
      return 2;
    }
  }
  if (command.empty()) {
    err << kUsage;
    return 2;
  }
  auto slurp = [&](const std::string& path, std::string* out) {
    if (path.empty()) return true;
    std::ifstream in(path);
    if (!in) {
      err << "ccmon-ctl: cannot read " << path << "\n";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return true;
  };
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!tls_ca.empty()) {
    grpc::SslCredentialsOptions so;
    if (!slurp(tls_ca, &so.pem_root_certs) || !slurp(tls_cert, &so.pem_cert_chain) ||
        !slurp(tls_key, &so.pem_private_key)) {
      return 2;
    }
    creds = grpc::SslCredentials(so);
  }
  std::string token;
  if (const char* env = std::getenv("CCMON_TOKEN")) token = env;
  if (!slurp(token_file, &token)) return 2;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  auto channel = grpc::CreateChannel(target, creds);
  auto stub = v1::Monitor::NewStub(channel);
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));

  if (command == "status") {
    v1::Status st;
    if (auto s = stub->GetStatus(&ctx, v1::StatusRequest(), &st); !s.ok()) {
      return RpcError(err, target, s);
    }
    if (json) {
      out << Json(st) << "\n";
      return 0;
    }
    out << "collector " << target << " version " << st.version() << ", up "
        << (st.now_ms() - st.started_ms()) / 1000 << " s\n";
    out << "events: " << st.events_accepted() << " accepted, " << st.events_duplicate()
        << " duplicate, " << st.events_invalid()
        << " invalid; alerts firing: " << st.alerts_firing() << "\n";
    if (st.wal_enabled()) {
      out << "WAL: " << st.wal_bytes() << " bytes, "
          << (st.wal_healthy() ? "healthy" : "FAILING (acks held): " + st.wal_error())
          << ", last checkpoint "
          << (st.last_checkpoint_ms() == 0
                  ? std::string("none since start")
                  : std::to_string((st.now_ms() - st.last_checkpoint_ms()) / 1000) + " s ago")
          << "\n";
    } else {
      out << "WAL: off (no data_dir: state is lost on restart)\n";
    }
    out << std::left << std::setw(20) << "SITE" << std::setw(11) << "CONNECTED" << std::setw(14)
        << "LAST SEEN" << std::setw(10) << "BACKLOG"
        << "SKEW\n";
    for (const auto& s : st.sites()) {
      out << std::setw(20) << s.site() << std::setw(11) << (s.connected() ? "yes" : "no")
          << std::setw(14) << (std::to_string((st.now_ms() - s.last_seen_ms()) / 1000) + " s ago")
          << std::setw(10) << s.spool_backlog_events() << s.clock_skew_ms() << " ms\n";
    }
    return 0;
  }
  if (command == "snapshot") {
    v1::SnapshotRequest req;
    req.set_client(client);
    req.set_site(site);
    v1::Snapshot snap;
    if (auto s = stub->GetSnapshot(&ctx, req, &snap); !s.ok()) return RpcError(err, target, s);
    if (json) {
      out << Json(snap) << "\n";
      return 0;
    }
    out << std::left << std::setw(12) << "CLIENT" << std::setw(14) << "SITE" << std::setw(14)
        << "QUEUE" << std::setw(9) << "SL 30m" << std::setw(9) << "TARGET" << std::setw(8) << "WAIT"
        << std::setw(9) << "OLDEST" << std::setw(9) << "ABAND"
        << "ASA\n";
    for (const auto& q : snap.queues()) {
      const v1::WindowKpis* w = nullptr;
      for (const auto& x : q.windows()) {
        if (x.window() == "30m") w = &x;
      }
      out << std::setw(12) << q.client() << std::setw(14)
          << (q.site().empty() ? "(all sites)" : q.site()) << std::setw(14) << q.queue()
          << std::setw(9) << (w ? Pct(w->has_service_level(), w->service_level()) : "-")
          << std::setw(9) << Pct(true, q.sl_target()) << std::setw(8) << q.calls_waiting()
          << std::setw(9) << Num(true, q.oldest_wait_seconds()) << std::setw(9)
          << (w ? Pct(w->has_abandon_rate(), w->abandon_rate()) : "-")
          << (w ? Num(w->has_asa(), w->asa_seconds()) : "-") << "\n";
    }
    return 0;
  }
  if (command == "ledger") {
    if (client.empty() || date.empty()) {
      err << "ccmon-ctl: ledger needs --client C and --date YYYY-MM-DD\n";
      return 2;
    }
    if (!json && format != "csv" && format != "table") {
      err << "ccmon-ctl: --format must be csv, table or json\n";
      return 2;
    }
    v1::LedgerRequest req;
    req.set_client(client);
    req.set_date(date);
    v1::Ledger ledger;
    if (auto s = stub->GetLedger(&ctx, req, &ledger); !s.ok()) return RpcError(err, target, s);
    if (json) {
      out << Json(ledger) << "\n";
      return 0;
    }
    if (format == "csv") {
      out << "client,site,queue,date,start,minutes,offered,answered,answered_in_threshold,"
             "abandoned,short_abandoned,service_level,abandon_rate,asa_seconds,sl_result,"
             "abandon_result,asa_result\n";
      for (const auto& r : ledger.rows()) {
        auto opt = [](bool has, double v) {
          if (!has) return std::string();
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.4f", v);
          return std::string(buf);
        };
        out << r.client() << "," << r.site() << "," << r.queue() << "," << date << ","
            << r.local_start() << "," << r.length_minutes() << "," << r.offered() << ","
            << r.answered() << "," << r.answered_in_threshold() << "," << r.abandoned() << ","
            << r.short_abandoned() << "," << opt(r.has_service_level(), r.service_level()) << ","
            << opt(r.has_abandon_rate(), r.abandon_rate()) << ","
            << opt(r.has_asa(), r.asa_seconds()) << "," << r.sl_result() << ","
            << r.abandon_result() << "," << r.asa_result() << "\n";
      }
      return 0;
    }
    out << "SLA ledger for " << client << " on " << date << "\n";
    out << std::left << std::setw(14) << "SITE" << std::setw(14) << "QUEUE" << std::setw(7)
        << "START" << std::setw(9) << "OFFERED" << std::setw(9) << "ANSWER" << std::setw(8)
        << "ABAND" << std::setw(9) << "SL" << std::setw(9) << "SL?" << std::setw(9) << "ABAND%"
        << std::setw(9) << "ABAND?" << std::setw(8) << "ASA"
        << "ASA?\n";
    std::map<std::string, int> met, missed;
    for (const auto& r : ledger.rows()) {
      out << std::setw(14) << r.site() << std::setw(14) << r.queue() << std::setw(7)
          << r.local_start() << std::setw(9) << r.offered() << std::setw(9) << r.answered()
          << std::setw(8) << r.abandoned() << std::setw(9)
          << Pct(r.has_service_level(), r.service_level()) << std::setw(9) << r.sl_result()
          << std::setw(9) << Pct(r.has_abandon_rate(), r.abandon_rate()) << std::setw(9)
          << r.abandon_result() << std::setw(8) << Num(r.has_asa(), r.asa_seconds())
          << r.asa_result() << "\n";
      if (r.sl_result() == "met") ++met[r.site() + "/" + r.queue()];
      if (r.sl_result() == "missed") ++missed[r.site() + "/" + r.queue()];
    }
    out << ledger.rows_size() << " intervals";
    int m = 0, x = 0;
    for (auto& [k, v] : met) m += v;
    for (auto& [k, v] : missed) x += v;
    out << ", SL met in " << m << ", missed in " << x << "\n";
    return 0;
  }
  if (command == "top") {
    if (json) {
      err << "ccmon-ctl: top is interactive; use snapshot --json for scripts\n";
      return 2;
    }
    TopView view;
    view.client = client;
    view.site = site;
    return RunTop(*stub, target, view, token, err);
  }
  if (command == "abandoned") {
    // --since 90m, 2h, 45s, 1d
    char unit = since.empty() ? 'h' : since.back();
    const double n = std::atof(since.c_str());
    const double secs = unit == 'd' ? n * 86400 : unit == 'h' ? n * 3600 : unit == 'm' ? n * 60 : n;
    if (n <= 0) {
      err << "ccmon-ctl: --since wants a duration like 30m, 1h or 1d\n";
      return 2;
    }
    v1::AbandonedRequest req;
    req.set_client(client);
    req.set_queue(queue);
    req.set_since_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     static_cast<std::int64_t>(secs * 1000));
    v1::AbandonedList list;
    if (auto s = stub->ListAbandoned(&ctx, req, &list); !s.ok()) return RpcError(err, target, s);
    if (json) {
      out << Json(list) << "\n";
      return 0;
    }
    out << std::left << std::setw(22) << "ABANDONED AT (UTC)" << std::setw(12) << "CLIENT"
        << std::setw(12) << "SITE" << std::setw(12) << "QUEUE" << std::setw(8) << "WAIT"
        << "CALLER\n";
    for (const auto& c : list.calls()) {
      const std::time_t t = static_cast<std::time_t>(c.abandoned_ms() / 1000);
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
      out << std::setw(22) << when << std::setw(12) << c.client() << std::setw(12) << c.site()
          << std::setw(12) << c.queue() << std::setw(8) << Num(true, c.wait_seconds())
          << c.caller_id() << "\n";
    }
    out << list.calls_size() << " abandoned calls in the last " << since << "\n";
    return 0;
  }
  if (command == "alerts") {
    v1::AlertsRequest req;
    req.set_client(client);
    auto print = [&](const v1::AlertInfo& a, const char* state) {
      out << std::left << std::setw(9) << state << std::setw(18) << a.name() << std::setw(10)
          << a.severity() << std::setw(12) << a.client() << std::setw(12) << a.site() << a.queue()
          << a.link() << "  " << a.summary() << "\n";
    };
    if (watch) {
      grpc::ClientContext wctx;  // no deadline: follows until interrupted
      if (!token.empty()) wctx.AddMetadata("authorization", "Bearer " + token);
      auto reader = stub->WatchAlerts(&wctx, req);
      v1::AlertUpdate u;
      while (reader->Read(&u)) {
        if (json) {
          out << Json(u) << std::endl;
        } else {
          print(u.alert(), u.firing() ? "FIRING" : "RESOLVED");
          out.flush();
        }
      }
      const auto s = reader->Finish();
      return s.ok() ? 0 : RpcError(err, target, s);
    }
    v1::AlertList list;
    if (auto s = stub->ListAlerts(&ctx, req, &list); !s.ok()) return RpcError(err, target, s);
    if (json) {
      out << Json(list) << "\n";
      return 0;
    }
    if (list.alerts().empty()) {
      out << "no alerts firing\n";
      return 0;
    }
    out << std::left << std::setw(9) << "STATE" << std::setw(18) << "ALERT" << std::setw(10)
        << "SEVERITY" << std::setw(12) << "CLIENT" << std::setw(12) << "SITE"
        << "QUEUE/LINK  SUMMARY\n";
    for (const auto& a : list.alerts()) print(a, "FIRING");
    return 0;
  }
  err << "ccmon-ctl: unknown command " << command << " (see --help)\n";
  return 2;
}

}  // namespace ccmon::ctl
