#include "core/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <spdlog/sinks/stdout_sinks.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace ds {
namespace {

// The access log is written in batches: a request appends its line to a shared buffer under a
// short lock (no wake-up of another thread, which costs more than the request on a VM), and the
// buffer goes to the file descriptor when it passes 64 KiB or once a second from a flusher thread.
class AccessLog {
 public:
  explicit AccessLog(int fd, bool owns) : fd_(fd), owns_(owns), flusher_([this] { flush_loop(); }) {}
  ~AccessLog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    flusher_.join();
    flush();
    if (owns_) ::close(fd_);
  }

  void write(std::string_view line) {
    std::string full;
    {
      std::lock_guard lock(mutex_);
      buffer_.append(line);
      buffer_.push_back('\n');
      if (buffer_.size() < kBatch) return;
      full.swap(buffer_);
    }
    write_all(full);
  }

  void flush() {
    std::string pending;
    {
      std::lock_guard lock(mutex_);
      pending.swap(buffer_);
    }
    write_all(pending);
  }

 private:
  static constexpr std::size_t kBatch = 64 * 1024;

  void write_all(const std::string& bytes) {
    std::lock_guard lock(write_mutex_);  // keeps batches whole and in order
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk must not take the server down; lines are dropped
      done += static_cast<std::size_t>(n);
    }
  }

  void flush_loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      if (buffer_.empty()) continue;
      std::string pending;
      pending.swap(buffer_);
      lock.unlock();
      write_all(pending);
      lock.lock();
    }
  }

  int fd_;
  bool owns_;
  std::mutex mutex_;
  std::mutex write_mutex_;
  std::condition_variable wake_;
  std::string buffer_;
  bool stop_ = false;
  std::thread flusher_;
};

// Created once at start-up, before any request thread exists, and destroyed after they are gone.
std::unique_ptr<AccessLog> g_access;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

}  // namespace

void init_logging(const Config& config) {
  auto app = spdlog::stderr_logger_mt("dataspace");
  app->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  app->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(app);

  g_access.reset();
  if (config.access_log == "off") return;
  if (config.access_log == "stdout") {
    g_access = std::make_unique<AccessLog>(STDOUT_FILENO, false);
  } else if (config.access_log == "stderr") {
    g_access = std::make_unique<AccessLog>(STDERR_FILENO, false);
  } else {
    const int fd = ::open(config.access_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      throw Error(ErrorCode::invalid_parameter,
                  "cannot open access log " + config.access_log + ": " + std::strerror(errno), "log.access");
    }
    g_access = std::make_unique<AccessLog>(fd, true);
  }
}

void shutdown_logging() {
  g_access.reset();
  spdlog::default_logger()->flush();
}

void write_access_log(std::string_view line) {
  if (g_access) g_access->write(line);
}

bool access_log_enabled() { return g_access != nullptr; }

}  // namespace ds
