#pragma once
// Logging: application messages through spdlog (text on stderr), and the access log as one JSON
// object per line on its own sink. Both are configured once at start-up by init_logging(); until
// then, messages go to stderr at info level.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace spdlog {
class logger;
}

namespace ds {

struct Config;

// Sets the application log level and opens the access log named by config.access_log
// (stdout, stderr, off, or a file path appended to). Throws ds::Error if the file cannot be opened.
void init_logging(const Config& config);
// Flushes and closes the sinks (call before exit).
void shutdown_logging();

// Writes one access-log record (one line, no newline in it); no-op when the access log is off.
// Thread-safe; lines reach the destination in batches, within a second.
void write_access_log(std::string_view line);
bool access_log_enabled();

namespace log {
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::info(f, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::warn(f, std::forward<Args>(args)...);
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::error(f, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  spdlog::debug(f, std::forward<Args>(args)...);
}
}  // namespace log

}  // namespace ds
