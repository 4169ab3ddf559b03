#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "api/download/zip.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace ds::api::download;

namespace {

std::uint64_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s.at(at + i));
  return v;
}

std::string read_all(const ds::http::RangedSource& src, std::uint64_t offset, std::uint64_t length,
                     std::size_t piece = 7) {
  auto stream = src.open(offset, length);
  std::string out;
  std::vector<char> buf(piece);
  while (auto n = stream->read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

class ZipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ds-zip-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = ds::storage::make_local_store(root_);
    store_->create_bucket("eodata");
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& key, const std::string& body) {
    auto w = store_->put("eodata", key);
    w->write(body.data(), body.size());
    w->commit();
  }
  fs::path root_;
  std::unique_ptr<ds::storage::ObjectStore> store_;
};

TEST_F(ZipTest, LayoutCrcAndAnyRangeMatchesTheWhole) {
  put("P/a.txt", "hello");
  put("P/d/b.bin", std::string(1000, 'x'));
  const auto crc_a = object_crc32(*store_, "eodata", "P/a.txt");
  EXPECT_EQ(crc_a, crc32(0, reinterpret_cast<const Bytef*>("hello"), 5));
  std::vector<ZipEntry> entries = {
      {"P/a.txt", "eodata", "P/a.txt", 5, crc_a},
      {"P/d/b.bin", "eodata", "P/d/b.bin", 1000, object_crc32(*store_, "eodata", "P/d/b.bin")}};
  auto zip = make_zip(*store_, entries, std::chrono::sys_days{std::chrono::year{2022} / 6 / 17});
  const std::string all = read_all(*zip, 0, zip->size(), 64 * 1024);
  ASSERT_EQ(all.size(), zip->size());
  // First local header: signature, stored, CRC, sizes, name, then the bytes.
  EXPECT_EQ(le(all, 0, 4), 0x04034b50u);
  EXPECT_EQ(le(all, 8, 2), 0u);
  EXPECT_EQ(le(all, 14, 4), crc_a);
  EXPECT_EQ(le(all, 18, 4), 5u);
  EXPECT_EQ(all.substr(30, 7), "P/a.txt");
  EXPECT_EQ(all.substr(37, 5), "hello");
  EXPECT_EQ(le(all, 12, 2), ((2022 - 1980) << 9) | (6 << 5) | 17);  // DOS date
  // End of central directory: two entries, no ZIP64.
  const std::size_t eocd = all.size() - 22;
  EXPECT_EQ(le(all, eocd, 4), 0x06054b50u);
  EXPECT_EQ(le(all, eocd + 10, 2), 2u);
  EXPECT_EQ(all.find(std::string("\x50\x4b\x06\x06", 4)), std::string::npos);
  // Every slice equals the same bytes of the whole archive.
  for (std::uint64_t off : std::vector<std::uint64_t>{0, 1, 36, 37, 41, 42, 500, zip->size() - 23, zip->size() - 1}) {
    for (std::uint64_t len : std::vector<std::uint64_t>{1, 5, 100, 2000}) {
      const std::uint64_t n = std::min(len, zip->size() - off);
      EXPECT_EQ(read_all(*zip, off, n), all.substr(off, n)) << off << "+" << n;
    }
  }
  // Deterministic.
  EXPECT_EQ(read_all(*make_zip(*store_, entries, std::chrono::sys_days{std::chrono::year{2022} / 6 / 17}), 0,
                     zip->size(), 4096),
            all);
}

TEST_F(ZipTest, Zip64ForManyEntries) {
  put("P/x", "abc");
  const auto crc = object_crc32(*store_, "eodata", "P/x");
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 70000; ++i) entries.push_back({"P/" + std::to_string(100000 + i), "eodata", "P/x", 3, crc});
  auto zip = make_zip(*store_, entries, {});
  const std::uint64_t tail = 22 + 20 + 56;
  const std::string end = read_all(*zip, zip->size() - tail, tail, 4096);
  EXPECT_EQ(le(end, 0, 4), 0x06064b50u);   // ZIP64 end of central directory record
  EXPECT_EQ(le(end, 24, 8), 70000u);       // entries on this disk
  EXPECT_EQ(le(end, 32, 8), 70000u);       // entries in total
  EXPECT_EQ(le(end, 56, 4), 0x07064b50u);  // locator
  EXPECT_EQ(le(end, 56 + 8, 8), zip->size() - tail);
  EXPECT_EQ(le(end, 76, 4), 0x06054b50u);  // classic record, counts saturated
  EXPECT_EQ(le(end, 76 + 10, 2), 0xFFFFu);
}

TEST_F(ZipTest, Zip64ForAFileOver4GiB) {
  // A sparse 4.5 GiB object: only the archive's headers are read here.
  const std::uint64_t big = 4'500'000'000ull;
  fs::create_directories(root_ / "eodata" / "P");
  { std::ofstream(root_ / "eodata" / "P" / "big"); }
  fs::resize_file(root_ / "eodata" / "P" / "big", big);
  put("P/small", "z");
  std::vector<ZipEntry> entries = {{"P/big", "eodata", "P/big", big, 0x12345678},
                                   {"P/small", "eodata", "P/small", 1, object_crc32(*store_, "eodata", "P/small")}};
  auto zip = make_zip(*store_, entries, {});
  // Local header of the big file: sizes saturated, ZIP64 extra with the real sizes.
  const std::string head = read_all(*zip, 0, 30 + 5 + 20, 4096);
  EXPECT_EQ(le(head, 18, 4), 0xFFFFFFFFu);
  EXPECT_EQ(le(head, 22, 4), 0xFFFFFFFFu);
  EXPECT_EQ(le(head, 28, 2), 20u);
  EXPECT_EQ(le(head, 35, 2), 1u);
  EXPECT_EQ(le(head, 39, 8), big);
  // The small file's local header sits beyond 4 GiB: its central record carries a ZIP64 offset.
  const std::uint64_t small_at = 30 + 5 + 20 + big;
  const std::string small = read_all(*zip, small_at, 30 + 7 + 1, 4096);
  EXPECT_EQ(le(small, 0, 4), 0x04034b50u);
  EXPECT_EQ(small.substr(30, 7), "P/small");
  EXPECT_EQ(small.substr(37, 1), "z");
  const std::uint64_t tail = 22 + 20 + 56;
  const std::string end = read_all(*zip, zip->size() - tail, tail, 4096);
  EXPECT_EQ(le(end, 0, 4), 0x06064b50u);
  EXPECT_EQ(le(end, 32, 8), 2u);
  const std::uint64_t cd_offset = le(end, 48, 8);
  EXPECT_EQ(cd_offset, small_at + 30 + 7 + 1);
  const std::string cd = read_all(*zip, cd_offset, le(end, 40, 8), 4096);
  // Second central record: offset field saturated, ZIP64 extra holds the real offset.
  const std::size_t second = 46 + 5 + 4 + 16;
  EXPECT_EQ(le(cd, second, 4), 0x02014b50u);
  EXPECT_EQ(le(cd, second + 42, 4), 0xFFFFFFFFu);
  EXPECT_EQ(le(cd, second + 46 + 7 + 4, 8), small_at);
}

}  // namespace
