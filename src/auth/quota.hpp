#pragma once
// Quotas and rate limits per user typology. A profile is a set of named limits; a limit that is
// absent is unlimited, 0 forbids. Names:
//   <class>_per_minute   requests per minute of a service class, as a token bucket (capacity = the
//                        limit, refilled continuously; unused capacity does not accumulate beyond it)
//   <class>_per_month    requests per calendar month (UTC) of a service class, a persisted counter
//   pu_per_minute, pu_per_month                    processing units (token bucket, counter)
//   download_bytes_per_month, download_connections, download_bandwidth (bytes/s per connection)
//   download_degraded_connections, download_degraded_bandwidth   what remains once the month's
//                        download_bytes_per_month is spent (CDSE: one connection at 1 MB/s); absent =
//                        that limit does not tighten, 0 = no downloads until the next month
//   orders_per_month, orders_concurrent
// Service classes are free-form names chosen by the route policy (policy.hpp): catalogue,
// download, processing, openeo, s3, auth, account.
//
// Buckets live in memory per node. Monthly counters are kept in memory as "stored value + local
// delta" and flushed to the store (an atomic SQL increment) every flush interval, re-reading the
// stored totals then, so several nodes sharing PostgreSQL converge on the same counters.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/model.hpp"

namespace ds::auth {

class AuthStore;

struct QuotaProfile {
  std::map<std::string, double> limits;
  // The limit, or nullopt when unlimited.
  std::optional<double> limit(const std::string& name) const;
};

using QuotaProfiles = std::map<Typology, QuotaProfile>;

// The default profiles: Copernicus General from CDSE's published quota table, the other typologies
// scaled from it (our assumption; operators adjust them with quota.limits), admin unlimited.
QuotaProfiles default_quota_profiles();
// Applies overrides "typology.limit=value" (value a number, or "unlimited" to remove the limit).
// Throws ds::Error(invalid_parameter) naming the malformed entry.
void apply_quota_overrides(QuotaProfiles& profiles, const std::vector<std::string>& overrides);

// A token bucket: `capacity` tokens, refilled at `rate` tokens per second, starting full.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double capacity, double rate, Clock::time_point now);
  // Takes `n` tokens when available and returns 0; otherwise takes nothing and returns the seconds
  // until `n` tokens will be there.
  double take(double n, Clock::time_point now);
  // Takes `n` tokens unconditionally (the balance may go negative: a charge after the fact).
  void charge(double n, Clock::time_point now);
  double available(Clock::time_point now);
  double seconds_to_full(Clock::time_point now);
  double capacity() const { return capacity_; }

 private:
  void refill(Clock::time_point now);
  double capacity_, rate_, tokens_;
  Clock::time_point last_;
};

// Who a quota applies to: a user (persistent monthly counters) or an address (anonymous callers,
// buckets only).
struct QuotaSubject {
  std::string key;  // user id, or "addr:<ip>"
  Typology typology = Typology::anonymous;
  bool persistent = false;
};

// The outcome of an admission check, with what the X-RateLimit-* headers report.
struct QuotaDecision {
  bool allowed = true;
  std::string limit_name;  // the limit that decided (e.g. processing_per_minute); empty = none applies
  double limit = -1;       // its value; -1 when no limit applies
  double remaining = -1;
  double reset_s = 0;        // seconds until the limit is fully available again
  double retry_after_s = 0;  // when refused: seconds until a retry can succeed
};

// Usage and limits of one subject, for GET /me/quotas.
struct QuotaReport {
  std::string period;  // "YYYY-MM"
  // Downloads now: degraded once download_bytes_per_month is spent; bandwidth and connections
  // allowed per download (-1 = unlimited); connections open now.
  struct Downloads {
    bool degraded = false;
    double bandwidth = -1;
    double connections = -1;
    int open = 0;
  } downloads;
  std::map<std::string, double> usage;    // monthly counters by metric
  std::map<std::string, double> limits;   // the subject's profile
  std::map<std::string, double> buckets;  // tokens available now, by <name>_per_minute
};

class QuotaService;

// A download connection slot: counts against download_connections while alive.
class DownloadSlot {
 public:
  ~DownloadSlot();
  DownloadSlot(const DownloadSlot&) = delete;
  DownloadSlot& operator=(const DownloadSlot&) = delete;
  // Bytes per second this connection may use; 0 = unlimited.
  double bandwidth() const { return bandwidth_; }
  // Concurrent downloads allowed to this subject now; -1 = unlimited.
  double connections() const { return connections_; }
  // True when the month's download volume is spent and the degraded limits apply.
  bool degraded() const { return degraded_; }

 private:
  friend class QuotaService;
  DownloadSlot(QuotaService& q, std::string key, double bandwidth, double connections, bool degraded)
      : q_(q), key_(std::move(key)), bandwidth_(bandwidth), connections_(connections), degraded_(degraded) {}
  QuotaService& q_;
  std::string key_;
  double bandwidth_;
  double connections_;
  bool degraded_;
};

class QuotaService {
 public:
  // `store` may be null (counters then live in memory only). The flush thread starts here.
  QuotaService(AuthStore* store, QuotaProfiles profiles,
               std::chrono::milliseconds flush_interval = std::chrono::milliseconds(2000));
  ~QuotaService();  // stops the flush thread and flushes
  QuotaService(const QuotaService&) = delete;
  QuotaService& operator=(const QuotaService&) = delete;

  const QuotaProfile& profile(Typology t) const;

  // Admits one request of service class `cls`: <cls>_per_minute bucket and <cls>_per_month counter.
  // An admitted request is counted; a refused one is not.
  QuotaDecision admit_request(const QuotaSubject& s, const std::string& cls);

  // Processing units: check_pu before the work (is `pu` within pu_per_minute and pu_per_month?),
  // charge_pu after it succeeded (only 2xx answers are charged).
  QuotaDecision check_pu(const QuotaSubject& s, double pu);
  void charge_pu(const QuotaSubject& s, double pu);

  // Downloads: a connection slot (refused when download_connections are in use), then the bytes
  // actually sent. Once the month's download_bytes_per_month is spent, slots are still given but
  // under download_degraded_connections / download_degraded_bandwidth (refused when one is 0).
  std::unique_ptr<DownloadSlot> open_download(const QuotaSubject& s, QuotaDecision& decision);
  void account_download_bytes(const QuotaSubject& s, std::uint64_t bytes);

  // Orders (on-demand production): counted against orders_per_month.
  QuotaDecision admit_order(const QuotaSubject& s);

  QuotaReport report(const QuotaSubject& s);
  // Writes pending counter deltas to the store and re-reads the totals. Thread-safe.
  void flush();

  // "YYYY-MM" of `t` (UTC) and seconds from `t` to the next month.
  static std::string period_of(std::chrono::system_clock::time_point t);
  static double seconds_to_next_period(std::chrono::system_clock::time_point t);

 private:
  friend class DownloadSlot;
  struct Counter {
    double stored = 0;   // total in the store when last read
    double pending = 0;  // local increments not yet flushed
    bool loaded = false;
  };
  TokenBucket& bucket_locked(const std::string& key, const std::string& name, double per_minute);
  Counter& counter_locked(const QuotaSubject& s, const std::string& metric, std::unique_lock<std::mutex>& lock);
  QuotaDecision check_monthly_locked(const QuotaSubject& s, const std::string& metric, const std::string& limit_name,
                                     double amount, std::unique_lock<std::mutex>& lock);
  // The download terms of `s` now: degraded?, bandwidth (0 = unlimited), connections (nullopt =
  // unlimited); `forbidden` when a degraded limit is 0.
  struct DownloadTerms {
    bool degraded = false;
    bool forbidden = false;
    double bandwidth = 0;
    std::optional<double> connections;
    QuotaDecision volume;
  };
  DownloadTerms download_terms_locked(const QuotaSubject& s, std::unique_lock<std::mutex>& lock);
  void release_download(const std::string& key);
  void run_flusher();

  AuthStore* store_;
  QuotaProfiles profiles_;
  std::chrono::milliseconds flush_interval_;
  std::mutex mutex_;
  std::unordered_map<std::string, TokenBucket> buckets_;       // "<key>|<limit name>"
  std::unordered_map<std::string, Counter> counters_;          // "<key>|<metric>" of period_
  std::unordered_map<std::string, std::string> counter_user_;  // counter key -> user id
  std::unordered_map<std::string, int> downloads_;             // open connections by key
  std::string period_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace ds::auth
