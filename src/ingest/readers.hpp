#pragma once
// Internal: factories of the built-in readers (one .cpp each).

#include <memory>

#include "ingest/reader.hpp"

namespace ds::ingest {

std::unique_ptr<ProductReader> make_s2_safe_reader();
std::unique_ptr<ProductReader> make_s1_safe_reader();
std::unique_ptr<ProductReader> make_s3_sen3_reader();
std::unique_ptr<ProductReader> make_s5p_netcdf_reader();
std::unique_ptr<ProductReader> make_dem_cog_reader();
std::unique_ptr<ProductReader> make_plain_cog_reader();

}  // namespace ds::ingest
