#include "ingest/reader.hpp"

#include "ingest/readers.hpp"

namespace ds::ingest {

ProductReader::~ProductReader() = default;

std::vector<std::unique_ptr<ProductReader>> builtin_readers() {
  std::vector<std::unique_ptr<ProductReader>> readers;
  readers.push_back(make_s2_safe_reader());
  readers.push_back(make_s1_safe_reader());
  readers.push_back(make_s3_sen3_reader());
  readers.push_back(make_s5p_netcdf_reader());
  readers.push_back(make_dem_cog_reader());
  readers.push_back(make_plain_cog_reader());
  return readers;
}

const ProductReader* find_reader(const std::vector<std::unique_ptr<ProductReader>>& readers,
                                 std::string_view product_name) {
  for (const auto& reader : readers) {
    if (reader->accepts(product_name)) return reader.get();
  }
  return nullptr;
}

}  // namespace ds::ingest
