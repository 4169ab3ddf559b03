#pragma once

namespace ds::http {

// The error vocabulary of a protocol family. Routes (and unmatched paths under a prefix) declare
// theirs; the error renderer registered for it turns a ds::Error into that protocol's body.
enum class ErrorFormat {
  problem_json,  // RFC 7807, the default
  odata,         // {"error":{"code","message"}} (OData JSON)
  ogc,           // OGC ExceptionReport XML
  openeo,        // {"id","code","message","links"}
  s3,            // <Error><Code>…</Code>…</Error>
  sentinelhub,   // {"error":{"status","reason","message","code"}}
  oauth,         // {"error","error_description"} (OAuth 2.0 / Keycloak token endpoints)
  zipper,        // {"trace-id","code":"DAT-ZIP-…","message"} (CDSE download service)
};

}  // namespace ds::http
