#include "ccmon/ctl/ctl.h"

#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <charconv>
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
  ledger --client C --date YYYY-MM-DD [--site S] [--all-sites] [--format csv|table]
                                       closed contract intervals for a review meeting
                                       (--all-sites adds client-level rows across sites)
  history --client C --site S --queue Q --start TIME
                                       every revision of one ledger row (the audit trail)
  statement --client C (--month YYYY-MM | --from YYYY-MM-DD --to YYYY-MM-DD)
            [--format html|csv|json] [--as-of TIME]
                                       the SLA statement: periods, results, credits;
                                       --as-of rebuilds it as the ledger stood then
  exclusion propose --client C --site S [--queue Q] --alert A --from TIME --to TIME
            --reason TEXT --by NAME    the vendor proposes a force-majeure exclusion
  exclusion accept|reject --client C --id N --by NAME [--note TEXT]
                                       the client decides on it
  exclusion list --client C            every exclusion and its state
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
  --tz ZONE               zone of TIME values without an offset   [UTC]
                          (TIME: 2026-11-03T09:00, with +08:00 or Z, or Unix ms)
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

std::string Pct(bool has, double v, int decimals = 1) {
  if (!has) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, v * 100);
  return buf;
}

std::string Num(bool has, double v) {
  if (!has) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// TIME flags: RFC 3339 with or without seconds and offset (no offset: in `zone`), or Unix ms.
bool ParseWhen(const std::string& s, const std::string& zone, std::int64_t* ms) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    *ms = std::stoll(s);
    return true;
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(zone, &tz)) return false;
  absl::Time t;
  std::string e;
  for (const char* f :
       {"%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"}) {
    if (absl::ParseTime(f, s, absl::UTCTimeZone(), &t, &e)) {
      *ms = absl::ToUnixMillis(t);
      return true;
    }
  }
  for (const char* f : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"}) {
    if (absl::ParseTime(f, s, tz, &t, &e)) {
      *ms = absl::ToUnixMillis(t);
      return true;
    }
  }
  return false;
}

// One CSV field (RFC 4180 quoting).
std::string Csv(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Ledger rows as CSV with exactly the Monitor API's (and --json's) field names as columns.
void LedgerCsv(const v1::Ledger& ledger, std::ostream& out) {
  const auto* d = v1::LedgerRow::descriptor();
  const auto* refl = v1::LedgerRow::GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  fields.reserve(static_cast<std::size_t>(d->field_count()));
  for (int i = 0; i < d->field_count(); ++i) fields.push_back(d->field(i));
  for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i]->name();
  out << "\n";
  using F = google::protobuf::FieldDescriptor;
  for (const auto& r : ledger.rows()) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const F* f = fields[i];
      std::string v;
      switch (f->cpp_type()) {
        case F::CPPTYPE_STRING:
          v = refl->GetString(r, f);
          break;
        case F::CPPTYPE_INT64:
          v = std::to_string(refl->GetInt64(r, f));
          break;
        case F::CPPTYPE_UINT64:
          v = std::to_string(refl->GetUInt64(r, f));
          break;
        case F::CPPTYPE_INT32:
          v = std::to_string(refl->GetInt32(r, f));
          break;
        case F::CPPTYPE_UINT32:
          v = std::to_string(refl->GetUInt32(r, f));
          break;
        case F::CPPTYPE_BOOL:
          v = refl->GetBool(r, f) ? "true" : "false";
          break;
        case F::CPPTYPE_DOUBLE: {
          // Shortest text that reads back as the same double (0.8, not 0.80000000000000004).
          char buf[32];
          const auto res = std::to_chars(buf, buf + sizeof buf, refl->GetDouble(r, f));
          v.assign(buf, res.ptr);
          break;
        }
        default:
          break;
      }
      out << (i ? "," : "") << Csv(v);
    }
    out << "\n";
  }
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
  bool json = false, watch = false, all_sites = false;
  std::string subcommand, month, from, to, start, alert, reason, by, note, id, as_of, zone = "UTC";
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
    } else if (a == "--all-sites") {
      all_sites = true;
    } else if (a == "--month") {
      if (!value(&month)) return 2;
    } else if (a == "--from") {
      if (!value(&from)) return 2;
    } else if (a == "--to") {
      if (!value(&to)) return 2;
    } else if (a == "--start") {
      if (!value(&start)) return 2;
    } else if (a == "--alert") {
      if (!value(&alert)) return 2;
    } else if (a == "--reason") {
      if (!value(&reason)) return 2;
    } else if (a == "--by") {
      if (!value(&by)) return 2;
    } else if (a == "--note") {
      if (!value(&note)) return 2;
    } else if (a == "--id") {
      if (!value(&id)) return 2;
    } else if (a == "--as-of") {
      if (!value(&as_of)) return 2;
    } else if (a == "--tz") {
      if (!value(&zone)) return 2;
    } else if (command.empty() && !a.starts_with("-")) {
      command = a;
    } else if (command == "exclusion" && subcommand.empty() && !a.starts_with("-")) {
      subcommand = a;
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
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);  // a statement of a year of intervals is big
  auto channel = grpc::CreateCustomChannel(target, creds, args);
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
    out << std::left << std::setw(20) << "SITE" << std::setw(11) << "CONNECTED" << std::setw(15)
        << "LAST SEEN" << std::setw(10) << "BACKLOG"
        << "SKEW\n";
    for (const auto& s : st.sites()) {
      // A configured site never heard from has no last-seen time; columns stay apart however
      // wide a value is.
      const std::string seen =
          s.last_seen_ms() == 0
              ? std::string("never")
              : std::to_string((st.now_ms() - s.last_seen_ms()) / 1000) + " s ago";
      out << std::setw(20) << s.site() << std::setw(11) << (s.connected() ? "yes" : "no")
          << std::setw(14) << seen << ' ' << std::setw(9) << s.spool_backlog_events() << ' '
          << s.clock_skew_ms() << " ms\n";
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
    req.set_site(site);
    req.set_client_level(all_sites);
    v1::Ledger ledger;
    if (auto s = stub->GetLedger(&ctx, req, &ledger); !s.ok()) return RpcError(err, target, s);
    if (json) {
      out << Json(ledger) << "\n";
      return 0;
    }
    if (format == "csv") {
      LedgerCsv(ledger, out);
      return 0;
    }
    out << "SLA ledger for " << client << " on " << date << "\n";
    out << std::left << std::setw(14) << "SITE" << std::setw(14) << "QUEUE" << std::setw(7)
        << "START" << std::setw(9) << "OFFERED" << std::setw(9) << "ANSWER" << std::setw(8)
        << "ABAND" << std::setw(9) << "SL" << std::setw(9) << "SL?" << std::setw(9) << "ABAND%"
        << std::setw(9) << "ABAND?" << std::setw(8) << "ASA" << std::setw(8) << "ASA?"
        << "REV\n";
    std::map<std::string, int> met, missed;
    for (const auto& r : ledger.rows()) {
      out << std::setw(14) << (r.site().empty() ? "(all sites)" : r.site()) << std::setw(14)
          << r.queue() << std::setw(7) << r.local_start() << std::setw(9) << r.offered()
          << std::setw(9) << r.answered() << std::setw(8) << r.abandoned() << std::setw(9)
          << Pct(r.has_service_level(), r.service_level(), 2) << std::setw(9) << r.sl_result()
          << std::setw(9) << Pct(r.has_abandon_rate(), r.abandon_rate()) << std::setw(9)
          << r.abandon_result() << std::setw(8) << Num(r.has_asa(), r.asa_seconds()) << std::setw(8)
          << r.asa_result() << r.revision() << "\n";
      if (r.site().empty()) continue;  // client-level rows repeat the sites' figures
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
  if (command == "history") {
    std::int64_t start_ms = 0;
    if (client.empty() || site.empty() || queue.empty() || !ParseWhen(start, zone, &start_ms)) {
      err << "ccmon-ctl: history needs --client C --site S --queue Q --start TIME\n";
      return 2;
    }
    v1::RowHistoryRequest req;
    req.set_client(client);
    req.set_site(site);
    req.set_queue(queue);
    req.set_start_ms(start_ms);
    v1::Ledger ledger;
    if (auto s = stub->GetRowHistory(&ctx, req, &ledger); !s.ok()) {
      return RpcError(err, target, s);
    }
    if (json) {
      out << Json(ledger) << "\n";
    } else if (format == "csv") {
      LedgerCsv(ledger, out);
    } else {
      for (const auto& r : ledger.rows()) {
        const std::time_t t = static_cast<std::time_t>(r.changed_ms() / 1000);
        char when[32];
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
        out << "revision " << r.revision() << "  " << when << " UTC  " << r.change() << "  offered "
            << r.offered() << " answered " << r.answered() << " in threshold "
            << r.answered_in_threshold() << " abandoned " << r.abandoned() << " SL "
            << Pct(r.has_service_level(), r.service_level(), 2) << " (" << r.sl_result()
            << ")\n    " << r.reason() << "\n";
      }
      if (ledger.rows().empty()) out << "no such row\n";
    }
    return 0;
  }
  if (command == "statement") {
    if (client.empty() || (month.empty() == (from.empty() || to.empty()))) {
      err << "ccmon-ctl: statement needs --client C and --month YYYY-MM (or --from and --to "
             "YYYY-MM-DD)\n";
      return 2;
    }
    if (format == "table") format = "json";
    if (format != "json" && format != "csv" && format != "html") {
      err << "ccmon-ctl: --format must be html, csv or json\n";
      return 2;
    }
    v1::StatementRequest req;
    req.set_client(client);
    req.set_month(month);
    if (month.empty()) {
      req.set_from(from);
      req.set_to(to);
    }
    req.set_format(format);
    if (!as_of.empty()) {
      std::int64_t ms = 0;
      if (!ParseWhen(as_of, zone, &ms)) {
        err << "ccmon-ctl: --as-of wants a TIME like 2026-11-03T09:00+08:00 or Unix ms\n";
        return 2;
      }
      req.set_as_of_ms(ms);
    }
    v1::StatementDocument doc;
    if (auto s = stub->GetStatement(&ctx, req, &doc); !s.ok()) return RpcError(err, target, s);
    out << doc.body();
    if (!doc.body().empty() && doc.body().back() != '\n') out << "\n";
    return 0;
  }
  if (command == "exclusion") {
    auto print = [&](const v1::ExclusionInfo& e) {
      if (json) {
        out << Json(e) << "\n";
        return;
      }
      auto when = [](std::int64_t ms) {
        if (ms == 0) return std::string("-");
        const std::time_t t = static_cast<std::time_t>(ms / 1000);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%MZ", std::gmtime(&t));
        return std::string(buf);
      };
      out << "#" << e.id() << " " << e.state() << "  " << e.alert() << " "
          << (e.site().empty() ? "(all sites)" : e.site())
          << (e.queue().empty() ? "" : " queue " + e.queue()) << "  " << when(e.from_ms()) << " - "
          << when(e.to_ms()) << "  \"" << e.reason() << "\"\n    proposed by " << e.proposed_by()
          << " at " << when(e.proposed_ms());
      if (!e.decided_by().empty()) {
        out << "; " << e.state() << " by " << e.decided_by() << " at " << when(e.decided_ms());
        if (!e.decision_note().empty()) out << " (" << e.decision_note() << ")";
      }
      out << "\n";
    };
    if (client.empty()) {
      err << "ccmon-ctl: exclusion needs --client C\n";
      return 2;
    }
    if (subcommand == "list") {
      v1::ExclusionsRequest req;
      req.set_client(client);
      v1::ExclusionList list;
      if (auto s = stub->ListExclusions(&ctx, req, &list); !s.ok()) {
        return RpcError(err, target, s);
      }
      for (const auto& e : list.exclusions()) print(e);
      if (!json && list.exclusions().empty()) out << "no exclusions\n";
      return 0;
    }
    if (subcommand == "propose") {
      v1::ExclusionProposal req;
      std::int64_t f = 0, t = 0;
      if (site.empty() || alert.empty() || by.empty() || !ParseWhen(from, zone, &f) ||
          !ParseWhen(to, zone, &t)) {
        err << "ccmon-ctl: exclusion propose needs --site S --alert A --from TIME --to TIME --by "
               "NAME "
               "(TIME like 2026-11-03T09:00, 2026-11-03T09:00+08:00 or Unix ms)\n";
        return 2;
      }
      req.set_client(client);
      req.set_site(site);
      req.set_queue(queue);
      req.set_alert(alert);
      req.set_from_ms(f);
      req.set_to_ms(t);
      req.set_reason(reason);
      req.set_by(by);
      v1::ExclusionInfo e;
      if (auto s = stub->ProposeExclusion(&ctx, req, &e); !s.ok()) {
        return RpcError(err, target, s);
      }
      print(e);
      return 0;
    }
    if (subcommand == "accept" || subcommand == "reject") {
      if (id.empty() || by.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
        err << "ccmon-ctl: exclusion " << subcommand << " needs --id N and --by NAME\n";
        return 2;
      }
      v1::ExclusionDecision req;
      req.set_client(client);
      req.set_id(std::stoll(id));
      req.set_accept(subcommand == "accept");
      req.set_by(by);
      req.set_note(note);
      v1::ExclusionInfo e;
      if (auto s = stub->DecideExclusion(&ctx, req, &e); !s.ok()) {
        return RpcError(err, target, s);
      }
      print(e);
      return 0;
    }
    err << "ccmon-ctl: exclusion wants propose, accept, reject or list\n";
    return 2;
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
