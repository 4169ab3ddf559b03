#include "core/log.hpp"

#include <atomic>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace ds {
namespace {
// The access logger is created once at start-up and read on every request; an atomic shared_ptr
// copy would cost more than the write, so the pointer is published once and never replaced while
// the server runs.
std::shared_ptr<spdlog::logger> g_access;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
}  // namespace

void init_logging(const Config& config) {
  auto app = spdlog::stderr_logger_mt("dataspace");
  app->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  app->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(app);

  if (config.access_log == "off") return;
  // The access log is written by a background thread so request threads never block on the
  // terminal or the disk; when the queue is full, the writer blocks rather than dropping lines.
  spdlog::init_thread_pool(16384, 1);
  spdlog::sink_ptr sink;
  if (config.access_log == "stdout") {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else if (config.access_log == "stderr") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.access_log, false);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::invalid_parameter, "cannot open access log " + config.access_log + ": " + e.what(),
                  "log.access");
    }
  }
  auto access = std::make_shared<spdlog::async_logger>("access", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::block);
  access->set_pattern("%v");
  access->set_level(spdlog::level::info);
  spdlog::drop("access");
  spdlog::register_logger(access);  // flush_every() only reaches registered loggers
  g_access = access;
  // Lines reach the file or terminal within a second even when traffic is light.
  spdlog::flush_every(std::chrono::seconds(1));
}

void shutdown_logging() {
  if (g_access) g_access->flush();
  spdlog::default_logger()->flush();
}

void write_access_log(const nlohmann::json& record) {
  if (!g_access) return;
  g_access->info(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace ds
