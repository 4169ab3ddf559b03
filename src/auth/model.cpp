#include "auth/model.hpp"

#include <algorithm>
#include <cctype>

namespace ds::auth {

std::string_view typology_name(Typology t) {
  switch (t) {
    case Typology::anonymous:
      return "anonymous";
    case Typology::general:
      return "general";
    case Typology::services:
      return "services";
    case Typology::collaborative:
      return "collaborative";
    case Typology::international:
      return "international";
    case Typology::admin:
      return "admin";
  }
  return "anonymous";
}

std::optional<Typology> parse_typology(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return c == '-' ? '_' : std::tolower(c); });
  if (t.rfind("copernicus_", 0) == 0) t = t.substr(11);
  if (t == "anonymous") return Typology::anonymous;
  if (t == "general") return Typology::general;
  if (t == "services") return Typology::services;
  if (t == "collaborative" || t == "collaborative_ground_segment") return Typology::collaborative;
  if (t == "international" || t == "international_partners") return Typology::international;
  if (t == "admin" || t == "operator") return Typology::admin;
  return std::nullopt;
}

std::string typology_role(Typology t) { return "copernicus-" + std::string(typology_name(t)); }

const std::vector<Typology>& all_typologies() {
  static const std::vector<Typology> all = {Typology::anonymous,     Typology::general,       Typology::services,
                                            Typology::collaborative, Typology::international, Typology::admin};
  return all;
}

std::string_view org_role_name(OrgRole r) { return r == OrgRole::admin ? "admin" : "member"; }

std::optional<OrgRole> parse_org_role(std::string_view text) {
  if (text == "member") return OrgRole::member;
  if (text == "admin") return OrgRole::admin;
  return std::nullopt;
}

}  // namespace ds::auth
