#include "http/metrics.hpp"

#include <fmt/format.h>

namespace ds::http {

void RouteStats::observe(int status, double seconds, std::uint64_t bytes) {
  if (status >= 100 && status < 600)
    by_status[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  buckets[b].fetch_add(1, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  duration_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  bytes_out.fetch_add(bytes, std::memory_order_relaxed);
}

RouteStats* Metrics::route(const std::string& method, const std::string& route_template) {
  std::lock_guard lock(mutex_);
  for (auto& r : routes_) {
    if (r.method == method && r.route == route_template) return &r;
  }
  return &routes_.emplace_back(method, route_template);
}

namespace {
// Label values escape backslash, double quote and newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

std::string Metrics::prometheus() const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mutex_);
  out += "# HELP dataspace_http_requests_total HTTP requests answered, by route template and status.\n";
  out += "# TYPE dataspace_http_requests_total counter\n";
  for (const auto& r : routes_) {
    for (std::size_t i = 0; i < r.by_status.size(); ++i) {
      const auto n = r.by_status[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += fmt::format("dataspace_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                         label(r.method), label(r.route), i + 100, n);
    }
  }
  out += "# HELP dataspace_http_request_duration_seconds Time from request head to last byte sent.\n";
  out += "# TYPE dataspace_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    const auto count = r.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    const auto labels = fmt::format("method=\"{}\",route=\"{}\"", label(r.method), label(r.route));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      out += fmt::format("dataspace_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kLatencyBuckets[b], cumulative);
    }
    cumulative += r.buckets.back().load(std::memory_order_relaxed);
    out += fmt::format("dataspace_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, cumulative);
    out += fmt::format("dataspace_http_request_duration_seconds_sum{{{}}} {:.6f}\n", labels,
                       static_cast<double>(r.duration_us.load(std::memory_order_relaxed)) / 1e6);
    out += fmt::format("dataspace_http_request_duration_seconds_count{{{}}} {}\n", labels, cumulative);
  }
  out += "# HELP dataspace_http_response_bytes_total Body bytes sent, by route template.\n";
  out += "# TYPE dataspace_http_response_bytes_total counter\n";
  for (const auto& r : routes_) {
    if (r.count.load(std::memory_order_relaxed) == 0) continue;
    out += fmt::format("dataspace_http_response_bytes_total{{method=\"{}\",route=\"{}\"}} {}\n", label(r.method),
                       label(r.route), r.bytes_out.load(std::memory_order_relaxed));
  }
  out += "# HELP dataspace_http_requests_in_flight Requests being handled or sent right now.\n";
  out += "# TYPE dataspace_http_requests_in_flight gauge\n";
  out += fmt::format("dataspace_http_requests_in_flight {}\n", in_flight.load());
  out += "# HELP dataspace_http_connections_open Client connections open right now.\n";
  out += "# TYPE dataspace_http_connections_open gauge\n";
  out += fmt::format("dataspace_http_connections_open {}\n", connections_open.load());
  out += "# HELP dataspace_http_connections_total Client connections accepted.\n";
  out += "# TYPE dataspace_http_connections_total counter\n";
  out += fmt::format("dataspace_http_connections_total {}\n", connections_total.load());
  out += "# HELP dataspace_http_connections_rejected_total Connections refused at the connection limit.\n";
  out += "# TYPE dataspace_http_connections_rejected_total counter\n";
  out += fmt::format("dataspace_http_connections_rejected_total {}\n", connections_rejected.load());
  return out;
}

}  // namespace ds::http
