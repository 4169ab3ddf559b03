#pragma once
// multipart/form-data bodies (RFC 7578), as Sentinel Hub clients send a Process request with its
// evalscript in a separate part.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::http {

struct FormPart {
  std::string name;  // from Content-Disposition: form-data; name="..."
  std::string filename;
  std::string content_type;
  std::string body;
};

// The boundary parameter of a multipart Content-Type, if any.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Splits `body` into its parts. Throws ds::Error(bad_request) for a malformed body.
std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace ds::http
