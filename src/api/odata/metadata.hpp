#pragma once
// The CSDL document of /odata/v1/$metadata: the entity types and sets this service exposes.

#include <string>

namespace ds::api::odata {

const std::string& metadata_xml();

}  // namespace ds::api::odata
