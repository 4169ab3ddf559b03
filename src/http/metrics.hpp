#pragma once
// Request metrics in Prometheus text format. Each route owns a RouteStats slot created when the
// route is registered, so the hot path only touches atomics (no lock, no map lookup).

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace ds::http {

inline constexpr std::array<double, 13> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1.0,   2.5,  10.0};

struct RouteStats {
  RouteStats(std::string m, std::string r) : method(std::move(m)), route(std::move(r)) {}
  const std::string method;
  const std::string route;
  std::array<std::atomic<std::uint64_t>, 500> by_status{};                       // index = status - 100
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last = +Inf
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> duration_us{0};
  std::atomic<std::uint64_t> bytes_out{0};

  // Records one finished request. Thread-safe, lock-free.
  void observe(int status, double seconds, std::uint64_t bytes);
};

class Metrics {
 public:
  // Slot for a route; the pointer stays valid for the lifetime of Metrics. Thread-safe.
  RouteStats* route(const std::string& method, const std::string& route_template);
  RouteStats* unmatched() { return route("*", "unmatched"); }

  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> connections_rejected{0};

  // The whole exposition, text format 0.0.4.
  std::string prometheus() const;

 private:
  mutable std::mutex mutex_;
  std::deque<RouteStats> routes_;
};

}  // namespace ds::http
