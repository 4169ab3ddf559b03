#pragma once
// GDAL multidimensional (netCDF-4) helpers shared by the generators that write NetCDF products
// (Sentinel-3 OLCI, Sentinel-5P). Failures become ds::Error naming the object.

#include <gdal_priv.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace ds::synth {

using GroupPtr = std::shared_ptr<GDALGroup>;
using ArrayPtr = std::shared_ptr<GDALMDArray>;
using DimPtr = std::shared_ptr<GDALDimension>;

[[noreturn]] void nc_fail(const std::string& what);
void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, const std::string& value);
void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, double value, GDALDataType type);
void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, const std::vector<double>& values,
          GDALDataType type);
// A DEFLATE-compressed variable.
ArrayPtr nc_array(const GroupPtr& g, const std::string& name, const std::vector<DimPtr>& dims, GDALDataType type);

// Writes a whole variable; `values` must hold exactly the product of its dimension sizes.
template <class T>
void nc_write(const ArrayPtr& a, const std::vector<T>& values, GDALDataType type) {
  const auto dims = a->GetDimensions();
  std::vector<GUInt64> start(dims.size(), 0);
  std::vector<size_t> count(dims.size());
  std::size_t total = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) total *= (count[i] = static_cast<size_t>(dims[i]->GetSize()));
  if (total != values.size()) throw Error(ErrorCode::internal, "netCDF: size mismatch writing " + a->GetName());
  if (!a->Write(start.data(), count.data(), nullptr, nullptr, GDALExtendedDataType::Create(type), values.data())) {
    nc_fail("write " + a->GetName());
  }
}

}  // namespace ds::synth
