#include "core/error.hpp"

#include <array>

namespace ds {
namespace {

constexpr std::array kErrors = {
    ErrorInfo{ErrorCode::bad_request, 400, "BadRequest", "Bad request"},
    ErrorInfo{ErrorCode::invalid_parameter, 400, "InvalidParameter", "Invalid parameter"},
    ErrorInfo{ErrorCode::missing_parameter, 400, "MissingParameter", "Missing parameter"},
    ErrorInfo{ErrorCode::unauthorized, 401, "Unauthorized", "Authentication required"},
    ErrorInfo{ErrorCode::forbidden, 403, "Forbidden", "Access denied"},
    ErrorInfo{ErrorCode::not_found, 404, "NotFound", "Not found"},
    ErrorInfo{ErrorCode::method_not_allowed, 405, "MethodNotAllowed", "Method not allowed"},
    ErrorInfo{ErrorCode::not_acceptable, 406, "NotAcceptable", "Not acceptable"},
    ErrorInfo{ErrorCode::request_timeout, 408, "RequestTimeout", "Request timeout"},
    ErrorInfo{ErrorCode::conflict, 409, "Conflict", "Conflict"},
    ErrorInfo{ErrorCode::gone, 410, "Gone", "Gone"},
    ErrorInfo{ErrorCode::payload_too_large, 413, "PayloadTooLarge", "Payload too large"},
    ErrorInfo{ErrorCode::unsupported_media_type, 415, "UnsupportedMediaType", "Unsupported media type"},
    ErrorInfo{ErrorCode::range_not_satisfiable, 416, "RangeNotSatisfiable", "Range not satisfiable"},
    ErrorInfo{ErrorCode::unprocessable, 422, "Unprocessable", "Unprocessable request"},
    ErrorInfo{ErrorCode::too_many_requests, 429, "TooManyRequests", "Too many requests"},
    ErrorInfo{ErrorCode::header_too_large, 431, "HeaderTooLarge", "Request header fields too large"},
    ErrorInfo{ErrorCode::internal, 500, "Internal", "Internal server error"},
    ErrorInfo{ErrorCode::not_implemented, 501, "NotImplemented", "Not implemented"},
    ErrorInfo{ErrorCode::service_unavailable, 503, "ServiceUnavailable", "Service unavailable"},
    ErrorInfo{ErrorCode::gateway_timeout, 504, "GatewayTimeout", "Gateway timeout"},
};

// The table is indexed by the enum value; this catches a reordering at compile time.
constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < kErrors.size(); ++i) {
    if (static_cast<std::size_t>(kErrors[i].code) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kErrors must list every ErrorCode in declaration order");
static_assert(kErrors.size() == static_cast<std::size_t>(ErrorCode::gateway_timeout) + 1);

}  // namespace

const ErrorInfo& error_info(ErrorCode code) { return kErrors[static_cast<std::size_t>(code)]; }

ErrorCode error_code_for_status(int status) {
  for (const auto& e : kErrors) {
    if (e.http_status == status) return e.code;
  }
  if (status >= 500) return ErrorCode::internal;
  return ErrorCode::bad_request;
}

Error::Error(ErrorCode code, std::string message, std::string parameter)
    : code_(code), message_(std::move(message)), parameter_(std::move(parameter)) {}

Error& Error::with_detail(const std::string& key, nlohmann::json value) {
  details_[key] = std::move(value);
  return *this;
}

Error& Error::with_header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
  return *this;
}

}  // namespace ds
