#pragma once
// A deterministic ZIP of a product folder, laid out before a byte is sent: STORED entries (the
// files are already compressed), names sorted, one fixed timestamp, ZIP64 records only where the
// classic fields overflow (a file or offset >= 4 GiB, more than 65535 entries). Since the layout is
// fixed by the entries alone, the archive is a RangedSource: any byte range maps to header bytes
// held in memory and slices of the stored objects, so ranges, multipart ranges and resumption work
// exactly as for a plain file.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "http/body.hpp"
#include "storage/object_store.hpp"

namespace ds::api::download {

struct ZipEntry {
  std::string name;    // entry name in the archive ("<Product>.SAFE/GRANULE/.../B04.jp2")
  std::string bucket;  // where its bytes are
  std::string key;
  std::uint64_t size = 0;
  std::uint32_t crc32 = 0;
};

// The archive over `entries` (taken in the given order; callers sort them). `time` is written as the
// DOS date/time of every entry (UTC; clamped to 1980..2107).
std::shared_ptr<http::RangedSource> make_zip(const storage::ObjectStore& store, std::vector<ZipEntry> entries,
                                             catalog::Time time);

// CRC-32 of one object, read sequentially.
std::uint32_t object_crc32(const storage::ObjectStore& store, const std::string& bucket, const std::string& key);

}  // namespace ds::api::download
