#include "auth/quota.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <limits>

#include <fmt/format.h>

#include "auth/store.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace ds::auth {

std::optional<double> QuotaProfile::limit(const std::string& name) const {
  if (auto it = limits.find(name); it != limits.end()) return it->second;
  return std::nullopt;
}

QuotaProfiles default_quota_profiles() {
  constexpr double MB = 1e6, TB = 1e12;
  QuotaProfiles p;
  // Anonymous callers are keyed by address; they only reach anonymous routes.
  p[Typology::anonymous].limits = {
      {"catalogue_per_minute", 600}, {"auth_per_minute", 120}, {"account_per_minute", 120}};
  // Copernicus General: CDSE's published quotas (Sentinel Hub 300 requests and 300 PU per minute,
  // 10 000 of each per month; S3 2000 requests per minute; downloads 4 connections of 20 MB/s and
  // 12 TB per month; one concurrent order). Catalogue and orders per month are ours.
  p[Typology::general].limits = {
      {"catalogue_per_minute", 2000},
      {"processing_per_minute", 300},
      {"processing_per_month", 10'000},
      {"pu_per_minute", 300},
      {"pu_per_month", 10'000},
      {"s3_per_minute", 2000},
      {"download_connections", 4},
      {"download_bandwidth", 20 * MB},
      {"download_bytes_per_month", 12 * TB},
      {"orders_per_month", 100},
      {"orders_concurrent", 1},
      {"auth_per_minute", 120},
      {"account_per_minute", 300},
      // Once the monthly volume is spent: one connection at 1 MB/s (1 MiB/s) until the next month.
      {"download_degraded_connections", 1},
      {"download_degraded_bandwidth", 1024 * 1024}};
  auto scaled = [&](double f) {
    QuotaProfile q = p[Typology::general];
    for (auto& [name, v] : q.limits) {
      if (name != "download_bandwidth" && name != "auth_per_minute" && name.rfind("download_degraded_", 0) != 0) v *= f;
    }
    return q;
  };
  p[Typology::services] = scaled(10);
  p[Typology::collaborative] = scaled(5);
  p[Typology::international] = scaled(5);
  p[Typology::admin] = QuotaProfile{};
  return p;
}

void apply_quota_overrides(QuotaProfiles& profiles, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    const auto dot = o.find('.');
    const auto eq = o.find('=');
    auto bad = [&](const std::string& why) {
      throw Error(ErrorCode::invalid_parameter, "quota.limits entry '" + o + "': " + why, "quota.limits");
    };
    if (dot == std::string::npos || eq == std::string::npos || eq < dot) bad("expected TYPOLOGY.LIMIT=VALUE");
    const auto typology = parse_typology(o.substr(0, dot));
    if (!typology) bad("unknown typology (anonymous, general, services, collaborative, international, admin)");
    const std::string name = o.substr(dot + 1, eq - dot - 1);
    const std::string value = o.substr(eq + 1);
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      bad("limit names are lower-case words joined by '_'");
    if (value == "unlimited") {
      profiles[*typology].limits.erase(name);
      continue;
    }
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      bad("value must be a number or 'unlimited'");
    }
    if (used != value.size() || v < 0 || !std::isfinite(v)) bad("value must be a non-negative number or 'unlimited'");
    profiles[*typology].limits[name] = v;
  }
}

// ---- token bucket ------------------------------------------------------------------------------

TokenBucket::TokenBucket(double capacity, double rate, Clock::time_point now)
    : capacity_(capacity), rate_(rate), tokens_(capacity), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double dt = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + dt * rate_);
  last_ = now;
}

double TokenBucket::take(double n, Clock::time_point now) {
  refill(now);
  if (tokens_ >= n) {
    tokens_ -= n;
    return 0;
  }
  if (rate_ <= 0 || n > capacity_) return std::numeric_limits<double>::infinity();
  return (n - tokens_) / rate_;
}

void TokenBucket::charge(double n, Clock::time_point now) {
  refill(now);
  tokens_ -= n;
}

double TokenBucket::available(Clock::time_point now) {
  refill(now);
  return tokens_;
}

double TokenBucket::seconds_to_full(Clock::time_point now) {
  refill(now);
  return rate_ > 0 ? (capacity_ - tokens_) / rate_ : 0;
}

// ---- quota service -----------------------------------------------------------------------------

DownloadSlot::~DownloadSlot() { q_.release_download(key_); }

QuotaService::QuotaService(AuthStore* store, QuotaProfiles profiles, std::chrono::milliseconds flush_interval)
    : store_(store), profiles_(std::move(profiles)), flush_interval_(flush_interval) {
  for (auto t : all_typologies()) profiles_.try_emplace(t);
  flusher_ = std::thread([this] { run_flusher(); });
}

QuotaService::~QuotaService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  flusher_.join();
  try {
    flush();
  } catch (const std::exception& e) {
    log::warn("quotas: final flush failed: {}", e.what());
  }
}

const QuotaProfile& QuotaService::profile(Typology t) const { return profiles_.at(t); }

std::string QuotaService::period_of(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  // Asked on every request: the last answer is kept per thread for the minute it was made in.
  thread_local std::time_t cached_minute = std::numeric_limits<std::time_t>::min();
  thread_local std::string cached;
  const std::time_t minute = tt >= 0 ? tt / 60 : (tt - 59) / 60;
  if (minute == cached_minute) return cached;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  cached = fmt::format("{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
  cached_minute = minute;
  return cached;
}

double QuotaService::seconds_to_next_period(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::tm next{};
  next.tm_year = tm.tm_mon == 11 ? tm.tm_year + 1 : tm.tm_year;
  next.tm_mon = (tm.tm_mon + 1) % 12;
  next.tm_mday = 1;
  const std::time_t start = timegm(&next);
  return std::chrono::duration<double>(std::chrono::system_clock::from_time_t(start) - t).count();
}

TokenBucket& QuotaService::bucket_locked(const std::string& key, const std::string& name, double per_minute) {
  const std::string k = key + "|" + name;
  auto it = buckets_.find(k);
  if (it == buckets_.end() || it->second.capacity() != per_minute)
    it = buckets_.insert_or_assign(k, TokenBucket(per_minute, per_minute / 60.0, TokenBucket::Clock::now())).first;
  return it->second;
}

QuotaService::Counter& QuotaService::counter_locked(const QuotaSubject& s, const std::string& metric,
                                                    std::unique_lock<std::mutex>& lock) {
  const std::string period = period_of(std::chrono::system_clock::now());
  const std::string k = s.key + "|" + period + "|" + metric;
  auto it = counters_.find(k);
  if (it != counters_.end() && it->second.loaded) return it->second;
  double stored = 0;
  if (s.persistent && store_) {
    // Read the stored total without holding the lock: other requests must not wait on the database.
    lock.unlock();
    try {
      const auto all = store_->usage(s.key, period);
      if (auto m = all.find(metric); m != all.end()) stored = m->second;
    } catch (const std::exception& e) {
      log::warn("quotas: cannot read the counters of {}: {}", s.key, e.what());
    }
    lock.lock();
  }
  auto& c = counters_[k];
  if (!c.loaded) {
    c.stored = stored;
    c.loaded = true;
    if (s.persistent) counter_user_[k] = s.key;
  }
  return c;
}

QuotaDecision QuotaService::check_monthly_locked(const QuotaSubject& s, const std::string& metric,
                                                 const std::string& limit_name, double amount,
                                                 std::unique_lock<std::mutex>& lock) {
  QuotaDecision d;
  const auto limit = profile(s.typology).limit(limit_name);
  if (!limit) return d;
  auto& c = counter_locked(s, metric, lock);
  const double used = c.stored + c.pending;
  d.limit_name = limit_name;
  d.limit = *limit;
  d.remaining = std::max(0.0, *limit - used);
  d.reset_s = seconds_to_next_period(std::chrono::system_clock::now());
  if (used + amount > *limit + 1e-9) {
    d.allowed = false;
    d.retry_after_s = d.reset_s;
  }
  return d;
}

QuotaDecision QuotaService::admit_request(const QuotaSubject& s, const std::string& cls) {
  const auto& prof = profile(s.typology);
  const auto now = TokenBucket::Clock::now();
  std::unique_lock lock(mutex_);
  QuotaDecision monthly = check_monthly_locked(s, "requests." + cls, cls + "_per_month", 1, lock);
  if (!monthly.allowed) return monthly;
  QuotaDecision d = monthly;
  const std::string minute_name = cls + "_per_minute";
  if (auto per_minute = prof.limit(minute_name)) {
    d = QuotaDecision{};
    d.limit_name = minute_name;
    d.limit = *per_minute;
    if (*per_minute <= 0) {
      d.allowed = false;
      d.remaining = 0;
      d.retry_after_s = 60;
      return d;
    }
    auto& b = bucket_locked(s.key, minute_name, *per_minute);
    const double wait = b.take(1, now);
    d.remaining = std::floor(std::max(0.0, b.available(now)));
    d.reset_s = b.seconds_to_full(now);
    if (wait > 0) {
      d.allowed = false;
      d.retry_after_s = wait;
      return d;
    }
  }
  if (monthly.limit >= 0 || s.persistent) counter_locked(s, "requests." + cls, lock).pending += 1;
  return d;
}

QuotaDecision QuotaService::check_pu(const QuotaSubject& s, double pu) {
  const auto now = TokenBucket::Clock::now();
  std::unique_lock lock(mutex_);
  QuotaDecision d = check_monthly_locked(s, "pu", "pu_per_month", pu, lock);
  if (!d.allowed) return d;
  if (auto per_minute = profile(s.typology).limit("pu_per_minute")) {
    auto& b = bucket_locked(s.key, "pu_per_minute", *per_minute);
    const double avail = b.available(now);
    d.limit_name = "pu_per_minute";
    d.limit = *per_minute;
    d.remaining = std::max(0.0, avail);
    d.reset_s = b.seconds_to_full(now);
    if (avail < std::min(pu, *per_minute)) {
      d.allowed = false;
      d.retry_after_s = *per_minute > 0 ? (std::min(pu, *per_minute) - avail) / (*per_minute / 60.0) : 60;
    }
  }
  return d;
}

void QuotaService::charge_pu(const QuotaSubject& s, double pu) {
  const auto now = TokenBucket::Clock::now();
  std::unique_lock lock(mutex_);
  if (auto per_minute = profile(s.typology).limit("pu_per_minute"))
    bucket_locked(s.key, "pu_per_minute", *per_minute).charge(pu, now);
  counter_locked(s, "pu", lock).pending += pu;
}

QuotaService::DownloadTerms QuotaService::download_terms_locked(const QuotaSubject& s,
                                                                std::unique_lock<std::mutex>& lock) {
  const auto& prof = profile(s.typology);
  DownloadTerms t;
  t.volume = check_monthly_locked(s, "download_bytes", "download_bytes_per_month", 0, lock);
  t.degraded = t.volume.limit >= 0 && t.volume.remaining <= 0;
  t.bandwidth = prof.limit("download_bandwidth").value_or(0);
  t.connections = prof.limit("download_connections");
  if (t.degraded) {
    if (auto b = prof.limit("download_degraded_bandwidth")) {
      if (*b <= 0) t.forbidden = true;
      t.bandwidth = t.bandwidth > 0 ? std::min(t.bandwidth, *b) : *b;
    }
    if (auto c = prof.limit("download_degraded_connections")) {
      if (*c <= 0) t.forbidden = true;
      t.connections = t.connections ? std::min(*t.connections, *c) : *c;
    }
  }
  return t;
}

std::unique_ptr<DownloadSlot> QuotaService::open_download(const QuotaSubject& s, QuotaDecision& decision) {
  std::unique_lock lock(mutex_);
  const DownloadTerms t = download_terms_locked(s, lock);
  if (t.forbidden) {
    decision = t.volume;
    decision.allowed = false;
    decision.retry_after_s = decision.reset_s;
    return nullptr;
  }
  decision = QuotaDecision{};
  if (t.connections) {
    int& open = downloads_[s.key];
    decision.limit_name = t.degraded ? "download_degraded_connections" : "download_connections";
    decision.limit = *t.connections;
    decision.remaining = std::max(0.0, *t.connections - open);
    if (open >= *t.connections) {
      decision.allowed = false;
      decision.retry_after_s = 1;
      return nullptr;
    }
    ++open;
    decision.remaining -= 1;
  } else {
    ++downloads_[s.key];
  }
  return std::unique_ptr<DownloadSlot>(
      new DownloadSlot(*this, s.key, t.bandwidth, t.connections.value_or(-1), t.degraded));
}

void QuotaService::release_download(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = downloads_.find(key); it != downloads_.end() && --it->second <= 0) downloads_.erase(it);
}

void QuotaService::account_download_bytes(const QuotaSubject& s, std::uint64_t bytes) {
  std::unique_lock lock(mutex_);
  counter_locked(s, "download_bytes", lock).pending += static_cast<double>(bytes);
}

QuotaDecision QuotaService::admit_order(const QuotaSubject& s) {
  std::unique_lock lock(mutex_);
  QuotaDecision d = check_monthly_locked(s, "orders", "orders_per_month", 1, lock);
  if (d.allowed) counter_locked(s, "orders", lock).pending += 1;
  return d;
}

QuotaReport QuotaService::report(const QuotaSubject& s) {
  QuotaReport r;
  const auto now = TokenBucket::Clock::now();
  r.period = period_of(std::chrono::system_clock::now());
  const auto& prof = profile(s.typology);
  r.limits = prof.limits;
  std::map<std::string, double> stored;
  if (s.persistent && store_) stored = store_->usage(s.key, r.period);
  std::unique_lock lock(mutex_);
  {
    const DownloadTerms t = download_terms_locked(s, lock);
    r.downloads.degraded = t.degraded;
    r.downloads.bandwidth = t.forbidden ? 0 : t.bandwidth > 0 ? t.bandwidth : -1;
    r.downloads.connections = t.forbidden ? 0 : t.connections.value_or(-1);
    if (auto it = downloads_.find(s.key); it != downloads_.end()) r.downloads.open = it->second;
  }
  const std::string prefix = s.key + "|" + r.period + "|";
  for (const auto& [k, c] : counters_) {
    if (k.rfind(prefix, 0) == 0)
      stored[k.substr(prefix.size())] = std::max(stored[k.substr(prefix.size())], c.stored) + c.pending;
  }
  r.usage = std::move(stored);
  for (const auto& [name, v] : prof.limits) {
    if (name.size() > 11 && name.ends_with("_per_minute")) {
      auto it = buckets_.find(s.key + "|" + name);
      r.buckets[name] = it == buckets_.end() ? v : std::max(0.0, it->second.available(now));
    }
  }
  return r;
}

void QuotaService::flush() {
  if (!store_) return;
  struct Delta {
    std::string key, user, period, metric;
    double amount;
  };
  std::vector<Delta> deltas;
  {
    std::lock_guard lock(mutex_);
    for (auto& [k, c] : counters_) {
      if (c.pending == 0) continue;
      auto u = counter_user_.find(k);
      if (u == counter_user_.end()) continue;  // not persistent
      const auto p1 = k.find('|', u->second.size());
      const auto p2 = k.find('|', p1 + 1);
      deltas.push_back({k, u->second, k.substr(p1 + 1, p2 - p1 - 1), k.substr(p2 + 1), c.pending});
      c.stored += c.pending;
      c.pending = 0;
    }
  }
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> totals;
  for (const auto& d : deltas) {
    try {
      store_->add_usage(d.user, d.period, d.metric, d.amount);
      totals[{d.user, d.period}];
    } catch (const std::exception& e) {
      log::warn("quotas: cannot store counters of {}: {}", d.user, e.what());
      std::lock_guard lock(mutex_);
      auto& c = counters_[d.key];
      c.stored -= d.amount;
      c.pending += d.amount;
    }
  }
  // Re-read what every node has written, so shared counters converge.
  for (auto& [who, t] : totals) {
    try {
      t = store_->usage(who.first, who.second);
    } catch (const std::exception&) {
      continue;
    }
    std::lock_guard lock(mutex_);
    for (const auto& [metric, amount] : t) {
      auto it = counters_.find(who.first + "|" + who.second + "|" + metric);
      if (it != counters_.end()) it->second.stored = amount;
    }
  }
}

void QuotaService::run_flusher() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, flush_interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      flush();
    } catch (const std::exception& e) {
      log::warn("quotas: flush failed: {}", e.what());
    }
    lock.lock();
    // Forget full, idle buckets and counters of past periods so memory follows active users.
    const auto now = TokenBucket::Clock::now();
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      if (it->second.seconds_to_full(now) <= 0)
        it = buckets_.erase(it);
      else
        ++it;
    }
    const std::string period = period_of(std::chrono::system_clock::now());
    for (auto it = counters_.begin(); it != counters_.end();) {
      if (it->second.pending == 0 && it->first.find("|" + period + "|") == std::string::npos) {
        counter_user_.erase(it->first);
        it = counters_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace ds::auth
