#include "api/service/routes.hpp"

#include "core/time.hpp"

namespace ds::api::service {
namespace {

nlohmann::json link_json(const std::string& base, const http::Link& l) {
  return {{"rel", l.rel}, {"href", base + l.href}, {"type", l.type}, {"title", l.title}};
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  router.add_link({"service-status", "/health", "Liveness"});
  router.add_link({"service-status", "/health/ready", "Readiness of the stores"});
  router.add_link({"metrics", "/metrics", "Prometheus metrics", "text/plain; version=0.0.4"});

  // The landing page lists every API family that registered a link, so it never advertises
  // something that is not served.
  router.get("/", [&router, &services](http::Request& req) {
    nlohmann::json links = nlohmann::json::array();
    links.push_back(
        {{"rel", "self"}, {"href", req.base_url + "/"}, {"type", "application/json"}, {"title", "This document"}});
    for (const auto& l : router.links()) links.push_back(link_json(req.base_url, l));
    nlohmann::json body = {
        {"id", "dataspace"},
        {"title", "Dataspace"},
        {"description",
         "Self-hosted Earth-observation data space: catalogue, downloads, processing and OGC/openEO services."},
        {"version", DATASPACE_VERSION},
        {"started", format_iso8601(services.started)},
        {"links", links},
    };
    return http::Response::json(body);
  });

  router.get("/health", [](http::Request&) {
    http::Response res = http::Response::text(R"({"status":"ok"})", "application/json");
    res.headers.set("Cache-Control", "no-store");
    return res;
  });

  router.get("/health/ready", [&services](http::Request&) {
    nlohmann::json checks = nlohmann::json::object();
    bool ready = true;
    for (const auto& c : services.readiness) {
      std::optional<std::string> problem;
      try {
        problem = c.check();
      } catch (const std::exception& e) {
        problem = e.what();
      }
      if (problem) {
        ready = false;
        checks[c.name] = {{"status", "failing"}, {"detail", *problem}};
      } else {
        checks[c.name] = {{"status", "ok"}};
      }
    }
    auto res = http::Response::json({{"status", ready ? "ready" : "not ready"}, {"checks", checks}}, ready ? 200 : 503);
    res.headers.set("Cache-Control", "no-store");
    return res;
  });

  router.get("/metrics", [&router](http::Request&) {
    auto res = http::Response::text(router.metrics().prometheus(), "text/plain; version=0.0.4; charset=utf-8");
    res.headers.set("Cache-Control", "no-store");
    return res;
  });
}

}  // namespace ds::api::service
