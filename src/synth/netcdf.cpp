#include "synth/netcdf.hpp"

#include <cpl_error.h>

namespace ds::synth {

void nc_fail(const std::string& what) {
  throw Error(ErrorCode::internal, "netCDF: " + what + ": " + CPLGetLastErrorMsg());
}

void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, const std::string& value) {
  auto a = obj->CreateAttribute(name, {}, GDALExtendedDataType::CreateString());
  if (!a || !a->Write(value.c_str())) nc_fail("attribute " + name);
}

void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, double value, GDALDataType type) {
  auto a = obj->CreateAttribute(name, {}, GDALExtendedDataType::Create(type));
  if (!a || !a->Write(value)) nc_fail("attribute " + name);
}

void attr(const std::shared_ptr<GDALIHasAttribute>& obj, const std::string& name, const std::vector<double>& values,
          GDALDataType type) {
  auto a = obj->CreateAttribute(name, {values.size()}, GDALExtendedDataType::Create(type));
  if (!a || !a->Write(values.data(), values.size())) nc_fail("attribute " + name);
}

ArrayPtr nc_array(const GroupPtr& g, const std::string& name, const std::vector<DimPtr>& dims, GDALDataType type) {
  const char* opts[] = {"COMPRESS=DEFLATE", "ZLEVEL=4", nullptr};
  auto a = g->CreateMDArray(name, dims, GDALExtendedDataType::Create(type), const_cast<char**>(opts));
  if (!a) nc_fail("array " + name);
  return a;
}

}  // namespace ds::synth
