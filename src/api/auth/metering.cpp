#include "api/auth/metering.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/log.hpp"
#include "http/body.hpp"

namespace ds::api::auth {
namespace {

namespace da = ds::auth;

class MeteredStream final : public http::BodyStream {
 public:
  MeteredStream(std::shared_ptr<http::BodyStream> inner, std::shared_ptr<da::DownloadSlot> slot,
                da::QuotaService& quotas, da::QuotaSubject subject, std::string what)
      : inner_(std::move(inner)),
        slot_(std::move(slot)),
        quotas_(quotas),
        subject_(std::move(subject)),
        what_(std::move(what)),
        bandwidth_(slot_ ? slot_->bandwidth() : 0) {}
  ~MeteredStream() override {
    try {
      flush();
      log::info("download {} by {}: {} bytes", what_, subject_.key, sent_);
    } catch (const std::exception&) {
      // accounting must never break a response
    }
  }
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  std::size_t read(char* out, std::size_t capacity) override {
    if (bandwidth_ > 0) {
      // Pieces of about 1/20 s of transfer keep the pacing smooth.
      const auto piece = static_cast<std::size_t>(std::max(16'384.0, bandwidth_ / 20));
      capacity = std::min(capacity, piece);
    }
    if (sent_ == 0) started_ = std::chrono::steady_clock::now();
    const std::size_t n = inner_->read(out, capacity);
    sent_ += n;
    unaccounted_ += n;
    const auto total = inner_->size();
    done_ = n == 0 || (total && sent_ >= *total);
    if (unaccounted_ >= (4u << 20) || done_) flush();
    if (done_) slot_.reset();  // the connection slot is free as soon as the last byte is out
    return n;
  }
  std::chrono::steady_clock::duration pause() override {
    if (bandwidth_ <= 0 || sent_ == 0 || done_) return {};
    const auto due = started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(static_cast<double>(sent_) / bandwidth_));
    const auto now = std::chrono::steady_clock::now();
    return due > now ? due - now : std::chrono::steady_clock::duration::zero();
  }

 private:
  void flush() {
    if (unaccounted_ > 0) quotas_.account_download_bytes(subject_, unaccounted_);
    unaccounted_ = 0;
  }
  std::shared_ptr<http::BodyStream> inner_;
  std::shared_ptr<da::DownloadSlot> slot_;
  da::QuotaService& quotas_;
  da::QuotaSubject subject_;
  std::string what_;
  double bandwidth_;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t sent_ = 0;
  std::uint64_t unaccounted_ = 0;
  bool done_ = false;
};

std::string whole(double v) { return fmt::format("{}", static_cast<long long>(v)); }

}  // namespace

void meter_download(http::Response& res, std::unique_ptr<da::DownloadSlot> slot, da::QuotaService& quotas,
                    const da::QuotaSubject& subject, const da::QuotaDecision& decision, std::string what) {
  if (slot) {
    if (slot->bandwidth() > 0) res.headers.set("X-Download-Bandwidth", whole(slot->bandwidth()));
    if (slot->connections() >= 0) {
      res.headers.set("X-Download-Connections-Limit", whole(slot->connections()));
      if (decision.limit_name.ends_with("_connections"))
        res.headers.set("X-Download-Connections-Remaining", whole(std::max(0.0, decision.remaining)));
    }
    if (slot->degraded()) res.headers.set("X-Download-Degraded", "monthly volume spent");
  }
  if (auto v = quotas.profile(subject.typology).limit("download_bytes_per_month"))
    res.headers.set("X-Download-Volume-Limit", whole(*v));
  if (!res.stream) return;
  res.stream = std::make_shared<MeteredStream>(
      std::move(res.stream), std::shared_ptr<da::DownloadSlot>(std::move(slot)), quotas, subject, std::move(what));
}

}  // namespace ds::api::auth
