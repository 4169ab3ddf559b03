#include "app/cli.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <openssl/opensslv.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include "api/auth/middleware.hpp"
#include "api/auth/routes.hpp"
#include "app/identity.hpp"
#include "app/routes.hpp"
#include "catalog/collection.hpp"
#include "catalog/store.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "ingest/ingest.hpp"
#include "storage/object_store.hpp"
#include "synth/generator.hpp"

namespace ds::app {
namespace {

// Options shared by the subcommands that run a server over the embedded default.
struct ServerFlags {
  std::string config_file;
  std::map<std::string, std::string> values;

  void add_to(CLI::App& cmd) {
    cmd.add_option("--config", config_file, "TOML configuration file (default: ./dataspace.toml if present)");
    add(cmd, "--data", "data", "Data root: catalogue database, object store, keys (default: var)");
    add(cmd, "--listen", "listen", "HOST:PORT to listen on (default: 127.0.0.1:8080; port 0 picks a free one)");
    add(cmd, "--threads", "threads", "HTTP worker threads (default: one per core)");
    add(cmd, "--public-url", "public_url", "Base URL written into links (default: from the Host header)");
    add(cmd, "--log-level", "log.level", "trace|debug|info|warn|error|off (default: info)");
    add(cmd, "--access-log", "log.access", "stdout|stderr|off|FILE (default: stdout)");
    add(cmd, "--catalog-url", "catalog.url", "PostgreSQL/PostGIS URL of the catalogue (default: DATA/catalogue.db)");
  }

  Config load() const {
    std::optional<std::filesystem::path> file;
    if (!config_file.empty()) file = config_file;
    return load_config(file, dataspace_environment(), values);
  }

 private:
  void add(CLI::App& cmd, const std::string& flag, const std::string& setting, const std::string& help) {
    cmd.add_option_function<std::string>(
        flag, [this, setting](const std::string& v) { values[setting] = v; }, help);
  }
};

std::optional<std::string> check_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return "data directory " + dir.string() + " is missing";
  if (::access(dir.c_str(), W_OK) != 0) return "data directory " + dir.string() + " is not writable";
  return std::nullopt;
}

// Each connection holds a descriptor: raise the soft limit to the hard one (as nginx's
// worker_rlimit_nofile does) so that the connection limit, not a default of 1024, is what binds.
void raise_file_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The catalogue named by the configuration: PostgreSQL/PostGIS when catalog.url is set, else the
// embedded SQLite file under the data root.
std::unique_ptr<catalog::CatalogStore> open_catalogue(const Config& config) {
  if (!config.catalog_url.empty()) return catalog::open_postgis_store(config.catalog_url);
  return catalog::open_sqlite_store(config.data_dir / "catalogue.db");
}

int serve(const Config& config, bool demo, const ExtraRoutes& extra_routes) {
  init_logging(config);
  raise_file_limit();
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    throw Error(ErrorCode::invalid_parameter,
                "cannot create data directory " + config.data_dir.string() + ": " + ec.message(), "data");
  }

  http::Metrics metrics;
  api::Services services{config, {}, std::chrono::system_clock::now(), nullptr, nullptr, nullptr};
  const auto collections = catalog::CollectionRegistry::load(
      config.collections_dir.empty() ? std::nullopt : std::optional<std::filesystem::path>(config.collections_dir));
  services.collections = &collections;
  services.readiness.push_back({"data_dir", [dir = config.data_dir] { return check_data_dir(dir); }});
  // The object store under <data>/objects (where `dataspace synth` writes the eodata bucket).
  const auto objects = storage::make_local_store(config.data_dir / "objects");
  services.readiness.push_back({"object_store", [store = objects.get()]() -> std::optional<std::string> {
                                  store->buckets();
                                  return std::nullopt;
                                }});
  const auto catalogue = open_catalogue(config);
  services.objects = objects.get();
  services.catalog = catalogue.get();
  services.readiness.push_back({"catalogue", [cat = catalogue.get()]() -> std::optional<std::string> {
                                  cat->ping();
                                  return std::nullopt;
                                }});
  // Identity: users in the catalogue's database, signing keys under <data>/keys, quotas, policy.
  const auto identity = open_identity(config, true);
  services.auth = identity->service.get();
  services.quotas = identity->quotas.get();
  services.policy = &identity->policy;
  api::auth::install_default_policy(identity->policy);
  // Declared after the stores so that it (and the background jobs its families own) goes first.
  http::Router router(metrics);
  register_all_routes(router, services);
  if (extra_routes) extra_routes(router, config);

  http::PipelineOptions options;
  options.cors_origins = config.cors_origins;
  options.public_url = config.public_url;
  http::Pipeline pipeline(router, options);
  pipeline.use(api::auth::make_auth_middleware(*identity->service, identity->policy, *identity->quotas));
  http::Server server(config, pipeline, metrics);
  const auto port = server.listen();
  const auto host = split_listen(config.listen).first;
  // Scripts (and the test harness) read the bound port from this line.
  log::info("listening on http://{}:{}/ (data: {})", host.find(':') != std::string::npos ? "[" + host + "]" : host,
            port, config.data_dir.string());
  if (demo) {
    log::info("demo: landing page http://{}:{}/ — health /health, metrics /metrics; Ctrl-C stops", host, port);
  }
  server.run();
  log::info("stopped");
  shutdown_logging();
  return 0;
}

std::int64_t parse_date(const std::string& text, const char* what) {
  int y = 0;
  unsigned m = 0, d = 0;
  char dash1 = 0, dash2 = 0;
  std::istringstream in(text);
  in >> y >> dash1 >> m >> dash2 >> d;
  if (!in || dash1 != '-' || dash2 != '-' || m < 1 || m > 12 || d < 1 || d > 31 || y < 2014 || y > 2100 || !in.eof()) {
    throw Error(ErrorCode::invalid_parameter,
                std::string(what) + " must be a date YYYY-MM-DD from 2014 on (got '" + text + "')", what);
  }
  return synth::days_from_civil(y, m, d);
}

struct SynthFlags {
  std::string data = "var";
  std::string region = "bolzano";
  std::string from = "2022-06-01";
  std::string to = "2022-07-31";
  std::string missions = "s1,s2,s3,s5p,dem";
  int scale = 10;
  std::uint64_t seed = 42;
  unsigned threads = 0;

  void add_to(CLI::App& cmd) {
    cmd.add_option("--data", data, "Data root; products go to DIR/objects/eodata/<key>")->capture_default_str();
    cmd.add_option("--region", region, "A named region (bolzano) or W,S,E,N in degrees")->capture_default_str();
    cmd.add_option("--from", from, "First date, YYYY-MM-DD (inclusive)")->capture_default_str();
    cmd.add_option("--to", to, "Last date, YYYY-MM-DD (inclusive)")->capture_default_str();
    cmd.add_option("--missions", missions, "Comma-separated: s1, s2, s3, s5p, dem")->capture_default_str();
    cmd.add_option("--scale", scale, "Pixel size multiplier: 1 (full resolution), 2, 5 or 10")->capture_default_str();
    cmd.add_option("--seed", seed, "Seed: the same seed gives byte-identical products")->capture_default_str();
    cmd.add_option("--threads", threads, "Worker threads (default: one per core)");
  }

  synth::SynthOptions options() const {
    synth::SynthOptions o;
    o.data_dir = data;
    o.region = synth::parse_region(region);
    o.from_day = parse_date(from, "from");
    o.to_day = parse_date(to, "to");
    std::stringstream ss(missions);
    std::string m;
    while (std::getline(ss, m, ',')) {
      if (!m.empty()) o.missions.insert(m);
    }
    o.scale = scale;
    o.seed = seed;
    o.threads = threads;
    return o;
  }
};

int synth_command(const synth::SynthOptions& o) {
  const auto report = synth::run_synth(o, [](const std::string& key) { std::cerr << "  " << key << "\n"; });
  std::cout << "synth: " << report.generated << " product(s) generated, " << report.cached << " already present, "
            << "in " << std::fixed << std::setprecision(1) << report.seconds << " s" << std::endl;
  return 0;
}

struct IngestFlags {
  std::string config_file;
  std::map<std::string, std::string> values;
  std::string bucket = "eodata";
  std::string prefix;
  bool watch = false;
  unsigned interval = 10;

  void add_to(CLI::App& cmd) {
    cmd.add_option("--config", config_file, "TOML configuration file (default: ./dataspace.toml if present)");
    cmd.add_option_function<std::string>(
        "--data", [this](const std::string& v) { values["data"] = v; },
        "Data root: objects under DIR/objects, catalogue in DIR/catalogue.db (default: var)");
    cmd.add_option_function<std::string>(
        "--catalog-url", [this](const std::string& v) { values["catalog.url"] = v; },
        "PostgreSQL/PostGIS URL of the catalogue (default: DATA/catalogue.db)");
    cmd.add_option("--bucket", bucket, "Bucket to scan")->capture_default_str();
    cmd.add_option("prefix", prefix, "Only products under this key prefix (or this one product folder)");
    cmd.add_flag("--watch", watch, "Keep scanning for new products until interrupted");
    cmd.add_option("--interval", interval, "Seconds between scans with --watch")->capture_default_str();
  }

  Config load() const {
    std::optional<std::filesystem::path> file;
    if (!config_file.empty()) file = config_file;
    return load_config(file, dataspace_environment(), values);
  }
};

// Scans and catalogues; exit code 0, or 3 when some products were skipped (each is reported).
int ingest_command(const Config& config, const std::string& bucket, const std::string& prefix, bool watch,
                   unsigned interval) {
  const auto objects = storage::make_local_store(config.data_dir / "objects");
  if (!objects->bucket_exists(bucket)) objects->create_bucket(bucket);
  const auto catalogue = open_catalogue(config);
  ingest::IngestOptions options;
  options.bucket = bucket;
  options.prefix = prefix;
  int rc = 0;
  while (true) {
    const auto report = ingest::run_ingest(*objects, *catalogue, options);
    std::cout << "ingest: " << report.found << " product(s) found, " << report.ingested << " ingested, "
              << report.unchanged << " unchanged, " << report.failures.size() << " skipped in " << std::fixed
              << std::setprecision(1) << report.seconds << " s" << std::endl;
    for (const auto& f : report.failures) std::cout << "  skipped " << f.key << ": " << f.reason << "\n";
    rc = report.failures.empty() ? 0 : 3;
    if (!watch) break;
    std::this_thread::sleep_for(std::chrono::seconds(std::max(1u, interval)));
  }
  return rc;
}

// Marks a product offline as an operator would when moving it to the long-term archive: its objects
// move to the archive bucket (download.archive_bucket, same keys) and the catalogue says Online=false.
// An order (POST /odata/v1/Products(<id>)/OData.CSC.Order) brings it back.
int offline_command(const Config& config, const std::string& name) {
  const auto objects = storage::make_local_store(config.data_dir / "objects");
  const auto catalogue = open_catalogue(config);
  auto p = catalogue->get_by_name(name);
  if (!p) throw Error(ErrorCode::not_found, "no product named " + name + " in the catalogue", "name");
  const std::string archive = config.download.archive_bucket;
  objects->create_bucket(archive);
  std::vector<std::string> keys;
  if (objects->head(p->bucket, p->key)) keys.push_back(p->key);  // packed (.zip) product
  storage::ListRequest lr;
  lr.prefix = p->key + "/";
  while (true) {
    auto page = objects->list(p->bucket, lr);
    for (const auto& o : page.objects) keys.push_back(o.key);
    if (!page.truncated) break;
    lr.continuation = page.next_continuation;
  }
  std::vector<char> buf(1 << 20);
  for (const auto& key : keys) {
    auto reader = objects->get(p->bucket, key);
    auto writer = objects->put(archive, key);
    while (const std::size_t n = reader->read(buf.data(), buf.size())) writer->write(buf.data(), n);
    writer->commit();
  }
  p->online = false;
  catalogue->upsert({*p});
  for (const auto& key : keys) objects->remove(p->bucket, key);
  std::cout << "offline: " << p->name << " (" << keys.size() << " object(s) moved to bucket " << archive << ")\n";
  return 0;
}

// The demo archive: the Alps around Bolzano, June-July 2022 plus a date in each season, every
// mission, at scale 10. Generated once under --data (products already there are kept).
synth::SynthOptions demo_archive(const Config& config) {
  synth::SynthOptions o;
  o.data_dir = config.data_dir;
  o.region = synth::parse_region("bolzano");
  o.from_day = synth::days_from_civil(2022, 6, 1);
  o.to_day = synth::days_from_civil(2022, 7, 31);
  o.extra_days = {synth::days_from_civil(2022, 1, 20), synth::days_from_civil(2022, 4, 15),
                  synth::days_from_civil(2022, 9, 15), synth::days_from_civil(2022, 11, 15)};
  for (const auto& g : synth::builtin_generators()) o.missions.insert(g->id());
  o.scale = 10;
  o.seed = 42;
  return o;
}

}  // namespace

int run_cli(int argc, char** argv, const ExtraRoutes& extra_routes) {
  CLI::App app{"Dataspace: a self-hostable Earth-observation data space"};
  app.require_subcommand(1);

  ServerFlags serve_flags;
  auto* serve_cmd = app.add_subcommand("serve", "Serve the catalogue, downloads and processing APIs over HTTP");
  serve_flags.add_to(*serve_cmd);

  ServerFlags demo_flags;
  auto* demo_cmd = app.add_subcommand("demo", "Prepare the demo archive under --data and serve it");
  demo_flags.add_to(*demo_cmd);

  auto* version_cmd = app.add_subcommand("version", "Print the version and the versions of key libraries");

  IngestFlags ingest_flags;
  auto* ingest_cmd = app.add_subcommand("ingest", "Catalogue the products found in the object store");
  ingest_flags.add_to(*ingest_cmd);

  SynthFlags synth_flags;
  auto* synth_cmd = app.add_subcommand("synth", "Generate realistic synthetic Sentinel products into the object store");
  synth_flags.add_to(*synth_cmd);

  IngestFlags offline_flags;
  std::string offline_name;
  auto* offline_cmd = app.add_subcommand(
      "offline", "Move a product to the archive bucket and mark it Online=false (orders restore it)");
  offline_cmd->add_option("--config", offline_flags.config_file, "TOML configuration file");
  offline_cmd->add_option_function<std::string>(
      "--data", [&offline_flags](const std::string& v) { offline_flags.values["data"] = v; }, "Data root");
  offline_cmd->add_option_function<std::string>(
      "--catalog-url", [&offline_flags](const std::string& v) { offline_flags.values["catalog.url"] = v; },
      "PostgreSQL/PostGIS URL of the catalogue");
  offline_cmd->add_option("name", offline_name, "Product name (Name in OData)")->required();

  UserCommands user_commands;
  user_commands.add_to(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*serve_cmd) return serve(serve_flags.load(), false, extra_routes);
    if (*synth_cmd) return synth_command(synth_flags.options());
    if (auto rc = user_commands.run()) return *rc;
    if (*offline_cmd) return offline_command(offline_flags.load(), offline_name);
    if (*ingest_cmd) {
      return ingest_command(ingest_flags.load(), ingest_flags.bucket, ingest_flags.prefix, ingest_flags.watch,
                            ingest_flags.interval);
    }
    if (*demo_cmd) {
      const Config config = demo_flags.load();
      const auto o = demo_archive(config);
      std::cerr << "demo: preparing the demo archive under " << config.data_dir.string() << " (first run only)\n";
      synth_command(o);
      std::cerr << "demo: cataloguing the demo archive\n";
      ingest_command(config, "eodata", "", false, 0);
      return serve(config, true, extra_routes);
    }
    if (*version_cmd) {
      std::cout << "dataspace " << DATASPACE_VERSION << "\n"
                << "boost " << BOOST_LIB_VERSION << "\n"
                << "openssl " << OPENSSL_VERSION_STR << "\n";
      return 0;
    }
  } catch (const Error& e) {
    std::cerr << "dataspace: " << e.message() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dataspace: unexpected error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace ds::app
