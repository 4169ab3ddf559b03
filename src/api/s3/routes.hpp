#pragma once
// The S3-compatible API at /s3 (path style): AWS SigV4 (header, presigned, chunked payloads),
// ListBuckets, ListObjects(V2), Head/Get/Put/Copy/DeleteObject(s), multipart uploads, per-user
// buckets beside the read-only `eodata`, S3 XML errors. See README.md beside this file.

#include "api/services.hpp"
#include "http/router.hpp"

namespace ds::api::s3 {

void register_routes(http::Router& router, const Services& services);

}  // namespace ds::api::s3
