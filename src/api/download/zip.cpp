#include "api/download/zip.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/error.hpp"

namespace ds::api::download {
namespace {

constexpr std::uint64_t kMax32 = 0xFFFFFFFFull;
constexpr std::uint16_t kFlagUtf8 = 0x0800;
constexpr std::uint16_t kMadeByUnix = 3 << 8;

void put16(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>(v >> 8);
}
void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

struct DosTime {
  std::uint16_t time = 0;
  std::uint16_t date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
};

DosTime dos_time(catalog::Time t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  int y = static_cast<int>(ymd.year());
  DosTime d;
  if (y < 1980) return d;
  if (y > 2107) y = 2107;
  d.date = static_cast<std::uint16_t>(((y - 1980) << 9) | (static_cast<unsigned>(ymd.month()) << 5) |
                                      static_cast<unsigned>(ymd.day()));
  d.time = static_cast<std::uint16_t>((hms.hours().count() << 11) | (hms.minutes().count() << 5) |
                                      (hms.seconds().count() / 2));
  return d;
}

// A run of the archive: header bytes in memory, or a slice of one entry's object.
struct Piece {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  std::string bytes;          // memory piece when entry < 0
  std::ptrdiff_t entry = -1;  // object piece: index into entries
};

class ZipSource;

class ZipStream : public http::BodyStream {
 public:
  ZipStream(std::shared_ptr<const ZipSource> src, std::uint64_t offset, std::uint64_t length);
  std::optional<std::uint64_t> size() const override { return end_ - begin_; }
  std::size_t read(char* out, std::size_t capacity) override;

 private:
  std::shared_ptr<const ZipSource> src_;
  std::uint64_t begin_, pos_, end_;
  std::size_t piece_ = 0;
  std::unique_ptr<storage::ObjectReader> reader_;
};

class ZipSource : public http::RangedSource, public std::enable_shared_from_this<ZipSource> {
 public:
  ZipSource(const storage::ObjectStore& store, std::vector<ZipEntry> entries, catalog::Time time)
      : store_(store), entries_(std::move(entries)) {
    const DosTime dt = dos_time(time);
    std::string central;
    std::uint64_t offset = 0;
    auto add_memory = [&](std::string bytes) {
      if (bytes.empty()) return;
      const std::uint64_t n = bytes.size();
      if (!pieces_.empty() && pieces_.back().entry < 0) {
        pieces_.back().bytes += bytes;
        pieces_.back().length += n;
      } else {
        pieces_.push_back({offset, n, std::move(bytes), -1});
      }
      offset += n;
    };
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const ZipEntry& e = entries_[i];
      const bool big = e.size >= kMax32;
      const bool far = offset >= kMax32;
      const std::uint64_t local_offset = offset;
      // Local file header.
      std::string h;
      put32(h, 0x04034b50);
      put16(h, big ? 45 : 20);
      put16(h, kFlagUtf8);
      put16(h, 0);  // stored
      put16(h, dt.time);
      put16(h, dt.date);
      put32(h, e.crc32);
      put32(h, big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
      put32(h, big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
      put16(h, static_cast<std::uint16_t>(e.name.size()));
      put16(h, big ? 20 : 0);
      h += e.name;
      if (big) {
        put16(h, 0x0001);
        put16(h, 16);
        put64(h, e.size);
        put64(h, e.size);
      }
      add_memory(std::move(h));
      if (e.size > 0) {
        pieces_.push_back({offset, e.size, {}, static_cast<std::ptrdiff_t>(i)});
        offset += e.size;
      }
      // Its central directory record.
      std::string extra;
      if (big) {
        put64(extra, e.size);
        put64(extra, e.size);
      }
      if (far) put64(extra, local_offset);
      std::string zip64_extra;
      if (!extra.empty()) {
        put16(zip64_extra, 0x0001);
        put16(zip64_extra, static_cast<std::uint16_t>(extra.size()));
        zip64_extra += extra;
      }
      const std::uint16_t version = (big || far) ? 45 : 20;
      put32(central, 0x02014b50);
      put16(central, kMadeByUnix | version);
      put16(central, version);
      put16(central, kFlagUtf8);
      put16(central, 0);
      put16(central, dt.time);
      put16(central, dt.date);
      put32(central, e.crc32);
      put32(central, big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
      put32(central, big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
      put16(central, static_cast<std::uint16_t>(e.name.size()));
      put16(central, static_cast<std::uint16_t>(zip64_extra.size()));
      put16(central, 0);  // comment
      put16(central, 0);  // disk
      put16(central, 0);  // internal attributes
      put32(central, 0100644u << 16);
      put32(central, far ? 0xFFFFFFFF : static_cast<std::uint32_t>(local_offset));
      central += e.name;
      central += zip64_extra;
    }
    const std::uint64_t cd_offset = offset;
    const std::uint64_t cd_size = central.size();
    const std::uint64_t count = entries_.size();
    const bool zip64 = count >= 0xFFFF || cd_offset >= kMax32 || cd_size >= kMax32;
    std::string tail = std::move(central);
    if (zip64) {
      const std::uint64_t eocd64_offset = cd_offset + cd_size;
      put32(tail, 0x06064b50);
      put64(tail, 44);
      put16(tail, kMadeByUnix | 45);
      put16(tail, 45);
      put32(tail, 0);
      put32(tail, 0);
      put64(tail, count);
      put64(tail, count);
      put64(tail, cd_size);
      put64(tail, cd_offset);
      put32(tail, 0x07064b50);
      put32(tail, 0);
      put64(tail, eocd64_offset);
      put32(tail, 1);
    }
    put32(tail, 0x06054b50);
    put16(tail, 0);
    put16(tail, 0);
    put16(tail, zip64 ? 0xFFFF : static_cast<std::uint16_t>(count));
    put16(tail, zip64 ? 0xFFFF : static_cast<std::uint16_t>(count));
    put32(tail, zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(cd_size));
    put32(tail, zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(cd_offset));
    put16(tail, 0);
    add_memory(std::move(tail));
    size_ = offset;
  }

  std::uint64_t size() const override { return size_; }
  std::unique_ptr<http::BodyStream> open(std::uint64_t offset, std::uint64_t length) const override {
    return std::make_unique<ZipStream>(shared_from_this(), offset, length);
  }

  const storage::ObjectStore& store_;
  std::vector<ZipEntry> entries_;
  std::vector<Piece> pieces_;
  std::uint64_t size_ = 0;
};

ZipStream::ZipStream(std::shared_ptr<const ZipSource> src, std::uint64_t offset, std::uint64_t length)
    : src_(std::move(src)), begin_(offset), pos_(offset), end_(offset + length) {
  const auto& p = src_->pieces_;
  auto it = std::upper_bound(p.begin(), p.end(), offset, [](std::uint64_t o, const Piece& x) { return o < x.start; });
  piece_ = it == p.begin() ? 0 : static_cast<std::size_t>(it - p.begin() - 1);
}

std::size_t ZipStream::read(char* out, std::size_t capacity) {
  std::size_t filled = 0;
  const auto& pieces = src_->pieces_;
  while (filled < capacity && pos_ < end_) {
    while (piece_ < pieces.size() && pieces[piece_].start + pieces[piece_].length <= pos_) {
      ++piece_;
      reader_.reset();
    }
    if (piece_ >= pieces.size()) break;
    const Piece& pc = pieces[piece_];
    const std::uint64_t piece_end = std::min(pc.start + pc.length, end_);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity - filled, piece_end - pos_));
    if (pc.entry < 0) {
      std::memcpy(out + filled, pc.bytes.data() + (pos_ - pc.start), want);
      filled += want;
      pos_ += want;
      continue;
    }
    const ZipEntry& e = src_->entries_[static_cast<std::size_t>(pc.entry)];
    if (!reader_) reader_ = src_->store_.get(e.bucket, e.key, pos_ - pc.start, piece_end - pos_);
    const std::size_t n = reader_->read(out + filled, want);
    if (n == 0) throw Error(ErrorCode::internal, "object " + e.key + " is shorter than when the ZIP was laid out");
    filled += n;
    pos_ += n;
    if (pos_ >= piece_end) reader_.reset();
  }
  return filled;
}

}  // namespace

std::shared_ptr<http::RangedSource> make_zip(const storage::ObjectStore& store, std::vector<ZipEntry> entries,
                                             catalog::Time time) {
  return std::make_shared<ZipSource>(store, std::move(entries), time);
}

std::uint32_t object_crc32(const storage::ObjectStore& store, const std::string& bucket, const std::string& key) {
  auto reader = store.get(bucket, key);
  std::vector<char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  while (true) {
    const std::size_t n = reader->read(buf.data(), buf.size());
    if (n == 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n));
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace ds::api::download
