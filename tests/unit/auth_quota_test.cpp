// Quotas: token bucket arithmetic, profile defaults and overrides, per-minute and monthly limits,
// PU charging, download slots, and monthly counters persisted through the store.

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth/quota.hpp"
#include "auth/store.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;
using namespace ds::auth;
using namespace std::chrono_literals;

TEST(TokenBucket, RefillsContinuouslyAndReportsTheWait) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(3, 1.0, t0);  // 3 tokens, one per second
  EXPECT_EQ(b.take(1, t0), 0);
  EXPECT_EQ(b.take(1, t0), 0);
  EXPECT_EQ(b.take(1, t0), 0);
  EXPECT_NEAR(b.take(1, t0), 1.0, 1e-9);
  EXPECT_NEAR(b.take(1, t0 + 500ms), 0.5, 1e-9);
  EXPECT_EQ(b.take(1, t0 + 1s), 0);
  EXPECT_NEAR(b.seconds_to_full(t0 + 1s), 3.0, 1e-9);
  EXPECT_NEAR(b.available(t0 + 100s), 3.0, 1e-9);  // unused capacity does not accumulate
  b.charge(5, t0 + 100s);                          // a charge after the fact may go into debt
  EXPECT_NEAR(b.available(t0 + 100s), -2.0, 1e-9);
  EXPECT_EQ(b.take(4, t0 + 100s), std::numeric_limits<double>::infinity());  // never fits
}

TEST(QuotaProfiles, DefaultsFollowTheSeedTableForGeneralUsers) {
  const auto p = default_quota_profiles();
  const auto& g = p.at(Typology::general);
  EXPECT_EQ(g.limit("processing_per_minute"), 300);
  EXPECT_EQ(g.limit("pu_per_month"), 10'000);
  EXPECT_EQ(g.limit("s3_per_minute"), 2000);
  EXPECT_EQ(g.limit("download_connections"), 4);
  EXPECT_EQ(g.limit("download_bytes_per_month"), 12e12);
  EXPECT_GT(*p.at(Typology::services).limit("pu_per_month"), *g.limit("pu_per_month"));
  EXPECT_TRUE(p.at(Typology::admin).limits.empty());
}

TEST(QuotaProfiles, OverridesSetAndRemoveLimitsAndRejectGarbage) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.processing_per_minute=5", "copernicus-services.pu_per_month=unlimited",
                            "admin.catalogue_per_minute=1e3"});
  EXPECT_EQ(p.at(Typology::general).limit("processing_per_minute"), 5);
  EXPECT_FALSE(p.at(Typology::services).limit("pu_per_month"));
  EXPECT_EQ(p.at(Typology::admin).limit("catalogue_per_minute"), 1000);
  for (const char* bad : {"general", "nobody.x=1", "general.x=abc", "general.x=-1", "general.Bad=1", "general.x="})
    EXPECT_THROW(apply_quota_overrides(p, {bad}), ds::Error) << bad;
}

TEST(QuotaService, PerMinuteLimitRefusesWithRetryAfterAndHeaders) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.processing_per_minute=2"});
  QuotaService q(nullptr, p);
  const QuotaSubject s{"u1", Typology::general, true};
  auto d = q.admit_request(s, "processing");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 2);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_TRUE(q.admit_request(s, "processing").allowed);
  d = q.admit_request(s, "processing");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit_name, "processing_per_minute");
  EXPECT_GT(d.retry_after_s, 25);  // 2/min: one token every 30 s
  EXPECT_LE(d.retry_after_s, 30);
  // Another user has their own bucket; classes without a limit are always admitted.
  EXPECT_TRUE(q.admit_request({"u2", Typology::general, true}, "processing").allowed);
  EXPECT_TRUE(q.admit_request(s, "unlimited-class").allowed);
  // Admins have no limits.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(q.admit_request({"root", Typology::admin, true}, "processing").allowed);
}

TEST(QuotaService, ZeroLimitForbidsAndMonthlyLimitRetriesNextMonth) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.orders_per_month=1", "general.s3_per_minute=0"});
  QuotaService q(nullptr, p);
  const QuotaSubject s{"u1", Typology::general, true};
  EXPECT_FALSE(q.admit_request(s, "s3").allowed);
  EXPECT_TRUE(q.admit_order(s).allowed);
  const auto d = q.admit_order(s);
  EXPECT_FALSE(d.allowed);
  EXPECT_NEAR(d.retry_after_s, QuotaService::seconds_to_next_period(std::chrono::system_clock::now()), 2);
}

TEST(QuotaService, ProcessingUnitsAreCheckedBeforeAndChargedAfter) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.pu_per_minute=10", "general.pu_per_month=15"});
  QuotaService q(nullptr, p);
  const QuotaSubject s{"u1", Typology::general, true};
  EXPECT_TRUE(q.check_pu(s, 4).allowed);
  q.charge_pu(s, 9.5);
  EXPECT_FALSE(q.check_pu(s, 4).allowed);  // per-minute bucket nearly empty
  q.charge_pu(s, 5);                       // 14.5 this month
  const auto d = q.check_pu(s, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit_name, "pu_per_month");
  EXPECT_DOUBLE_EQ(q.report(s).usage.at("pu"), 14.5);
}

TEST(QuotaService, DownloadSlotsCountConnectionsAndCarryBandwidth) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.download_connections=2", "general.download_bytes_per_month=1000"});
  QuotaService q(nullptr, p);
  const QuotaSubject s{"u1", Typology::general, true};
  QuotaDecision d;
  auto a = q.open_download(s, d);
  auto b = q.open_download(s, d);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->bandwidth(), 20e6);
  EXPECT_FALSE(q.open_download(s, d));
  EXPECT_EQ(d.limit_name, "download_connections");
  a.reset();
  auto c = q.open_download(s, d);
  EXPECT_TRUE(c);
  EXPECT_FALSE(c->degraded());
  q.account_download_bytes(s, 1000);
  c.reset();
  b.reset();
  // The month's volume is spent: one connection at 1 MiB/s.
  auto slow = q.open_download(s, d);
  ASSERT_TRUE(slow);
  EXPECT_TRUE(slow->degraded());
  EXPECT_EQ(slow->bandwidth(), 1024 * 1024);
  EXPECT_EQ(slow->connections(), 1);
  EXPECT_FALSE(q.open_download(s, d));
  EXPECT_EQ(d.limit_name, "download_degraded_connections");
  const auto r = q.report(s);
  EXPECT_TRUE(r.downloads.degraded);
  EXPECT_EQ(r.downloads.open, 1);
  EXPECT_EQ(r.downloads.bandwidth, 1024 * 1024);
}

TEST(QuotaService, SpentVolumeWithZeroDegradedLimitRefusesDownloads) {
  auto p = default_quota_profiles();
  apply_quota_overrides(p, {"general.download_bytes_per_month=1000", "general.download_degraded_connections=0"});
  QuotaService q(nullptr, p);
  const QuotaSubject s{"u1", Typology::general, true};
  QuotaDecision d;
  q.account_download_bytes(s, 1000);
  EXPECT_FALSE(q.open_download(s, d));
  EXPECT_EQ(d.limit_name, "download_bytes_per_month");
  EXPECT_GT(d.retry_after_s, 0);
}

TEST(QuotaService, MonthlyCountersPersistInTheStoreAcrossRestarts) {
  const auto dir = fs::temp_directory_path() / ("ds-quota-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = open_sqlite_auth_store(dir / "catalogue.db");
    auto p = default_quota_profiles();
    apply_quota_overrides(p, {"general.processing_per_month=3"});
    const QuotaSubject s{"u1", Typology::general, true};
    {
      QuotaService q(store.get(), p, 50ms);
      EXPECT_TRUE(q.admit_request(s, "processing").allowed);
      EXPECT_TRUE(q.admit_request(s, "processing").allowed);
      q.charge_pu(s, 2.5);
    }  // destruction flushes
    const auto period = QuotaService::period_of(std::chrono::system_clock::now());
    EXPECT_DOUBLE_EQ(store->usage("u1", period).at("requests.processing"), 2);
    EXPECT_DOUBLE_EQ(store->usage("u1", period).at("pu"), 2.5);
    // A second node (or a restart) sees the stored counters.
    QuotaService q2(store.get(), p, 50ms);
    EXPECT_TRUE(q2.admit_request(s, "processing").allowed);
    EXPECT_FALSE(q2.admit_request(s, "processing").allowed);
    // Another node's increments arrive through the store at the next flush.
    store->add_usage("u1", period, "pu", 10);
    q2.charge_pu(s, 0.5);
    q2.flush();
    EXPECT_DOUBLE_EQ(q2.report(s).usage.at("pu"), 13);
  }
  fs::remove_all(dir);
}
