#pragma once
// Small text helpers shared by every layer.

#include <string>
#include <string_view>

namespace ds {

// Escapes the five XML special characters (& < > " '), for element text and attribute values in
// XML and HTML alike.
std::string xml_escape(std::string_view in);

}  // namespace ds
