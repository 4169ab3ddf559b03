#pragma once
// One error type for the whole server. Every failure that can reach a client carries an ErrorCode;
// the table in error.cpp maps each code to its HTTP status and a stable identifier that protocol
// renderers (RFC 7807, OData, OGC, openEO, S3, Sentinel Hub) translate into their own vocabulary.

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ds {

enum class ErrorCode {
  bad_request,        // malformed request (syntax)
  invalid_parameter,  // a parameter has a value we cannot accept
  missing_parameter,  // a required parameter is absent
  unauthorized,       // no or invalid credentials
  forbidden,          // credentials valid, access denied
  not_found,
  method_not_allowed,
  not_acceptable,
  request_timeout,
  conflict,
  gone,
  payload_too_large,
  unsupported_media_type,
  range_not_satisfiable,
  unprocessable,  // well-formed but semantically impossible (e.g. $skip beyond the cap)
  too_many_requests,
  header_too_large,
  internal,
  not_implemented,  // a protocol feature we deliberately do not offer (answers 501)
  service_unavailable,
  gateway_timeout,
};

struct ErrorInfo {
  ErrorCode code;
  int http_status;
  std::string_view id;     // stable PascalCase identifier, e.g. "InvalidParameter"
  std::string_view title;  // short human summary, e.g. "Invalid parameter"
};

// The static description of a code; never fails.
const ErrorInfo& error_info(ErrorCode code);
inline int http_status(ErrorCode code) { return error_info(code).http_status; }
// Reverse lookup used by renderers that receive a bare status (e.g. Beast parser failures).
ErrorCode error_code_for_status(int http_status);

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message, std::string parameter = {});

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Name of the offending request parameter, when there is one.
  const std::string& parameter() const { return parameter_; }
  // Extra machine-readable context (position in a filter, allowed values...).
  const nlohmann::json& details() const { return details_; }
  Error& with_detail(const std::string& key, nlohmann::json value);
  // Response headers that belong to this error (Allow for 405, Retry-After for 429...).
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  Error& with_header(std::string name, std::string value);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  std::string message_;
  std::string parameter_;
  nlohmann::json details_ = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> headers_;
};

}  // namespace ds
