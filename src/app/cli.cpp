#include "app/cli.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <openssl/opensslv.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include "app/routes.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "http/server.hpp"

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

int serve(const Config& config, bool demo, const ExtraRoutes& extra_routes) {
  init_logging(config);
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    throw Error(ErrorCode::invalid_parameter,
                "cannot create data directory " + config.data_dir.string() + ": " + ec.message(), "data");
  }

  http::Metrics metrics;
  http::Router router(metrics);
  api::Services services{config, {}, std::chrono::system_clock::now()};
  services.readiness.push_back({"data_dir", [dir = config.data_dir] { return check_data_dir(dir); }});
  register_all_routes(router, services);
  if (extra_routes) extra_routes(router, config);

  http::PipelineOptions options;
  options.cors_origins = config.cors_origins;
  options.public_url = config.public_url;
  http::Pipeline pipeline(router, options);
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*serve_cmd) return serve(serve_flags.load(), false, extra_routes);
    if (*demo_cmd) return serve(demo_flags.load(), true, extra_routes);
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
