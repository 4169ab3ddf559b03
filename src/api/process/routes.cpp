#include "api/process/routes.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "api/auth/middleware.hpp"
#include "auth/quota.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "engine/encode.hpp"
#include "evalscript/script.hpp"
#include "http/multipart.hpp"

namespace ds::api::process {

namespace {

using nlohmann::json;

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::invalid_parameter, message, field);
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_at(const json& obj, const char* key, const std::string& field) {
  const json* v = member(obj, key);
  if (!v) return {};
  if (!v->is_string()) throw bad(field, field + " must be a string");
  return v->get<std::string>();
}

catalog::Time parse_time(const json& v, const std::string& field) {
  if (!v.is_string()) throw bad(field, field + " must be an RFC 3339 date-time string");
  const std::string s = v.get<std::string>();
  // Sentinel Hub requires the time part: "2022-06-01" alone is refused.
  if (s.find('T') == std::string::npos && s.find('t') == std::string::npos)
    throw bad(field, fmt::format("{} '{}' needs a time part, e.g. {}T00:00:00Z", field, s, s));
  auto t = parse_iso8601(s);
  if (!t) throw bad(field, fmt::format("{} '{}' is not an RFC 3339 date-time", field, s));
  return *t;
}

engine::Resampling parse_resampling(const json& processing, const char* key) {
  const std::string field = std::string("processing.") + key;
  const std::string v = string_at(processing, key, field);
  if (v.empty() || v == "NEAREST") return engine::Resampling::nearest;
  if (v == "BILINEAR") return engine::Resampling::bilinear;
  if (v == "BICUBIC") return engine::Resampling::bicubic;
  throw bad(field, fmt::format("{} '{}' is not one of NEAREST, BILINEAR, BICUBIC", field, v));
}

engine::DataInput bind_data(const json& d, std::size_t index, const catalog::CollectionRegistry& collections) {
  const std::string field = fmt::format("input.data[{}]", index);
  if (!d.is_object()) throw bad(field, field + " must be an object");
  engine::DataInput in;
  in.type = string_at(d, "type", field + ".type");
  if (in.type.empty()) throw Error(ErrorCode::missing_parameter, field + ".type is required", field + ".type");
  in.collection = collections.for_sentinelhub_type(in.type);
  if (!in.collection) {
    std::string known;
    for (const auto& c : collections.all())
      if (!c.sentinelhub_types.empty()) known += (known.empty() ? "" : ", ") + c.sentinelhub_types.front();
    throw bad(field + ".type", fmt::format("unknown collection type '{}'; this server offers: {}", in.type, known));
  }
  in.id = string_at(d, "id", field + ".id");
  const json empty = json::object();
  const json* filter = member(d, "dataFilter");
  if (filter && !filter->is_object()) throw bad(field + ".dataFilter", "dataFilter must be an object");
  const json& f = filter ? *filter : empty;
  if (const json* tr = member(f, "timeRange")) {
    if (!tr->is_object()) throw bad(field + ".dataFilter.timeRange", "timeRange must be an object with from and to");
    const json* from = member(*tr, "from");
    const json* to = member(*tr, "to");
    in.from = from ? parse_time(*from, field + ".dataFilter.timeRange.from") : catalog::Time{};
    in.to = to ? parse_time(*to, field + ".dataFilter.timeRange.to") : std::chrono::system_clock::now();
    if (in.from > in.to) throw bad(field + ".dataFilter.timeRange", "timeRange is empty: from is after to");
  } else {
    in.from = in.collection->start.value_or(catalog::Time{});
    in.to = std::chrono::system_clock::now();
  }
  const std::string order = string_at(f, "mosaickingOrder", field + ".dataFilter.mosaickingOrder");
  if (order.empty() || order == "mostRecent") {
    in.order = engine::MosaickingOrder::most_recent;
  } else if (order == "leastRecent") {
    in.order = engine::MosaickingOrder::least_recent;
  } else if (order == "leastCC") {
    in.order = engine::MosaickingOrder::least_cc;
  } else {
    throw bad(field + ".dataFilter.mosaickingOrder",
              fmt::format("mosaickingOrder '{}' is not one of mostRecent, leastRecent, leastCC", order));
  }
  if (const json* cc = member(f, "maxCloudCoverage")) {
    if (!cc->is_number() || cc->get<double>() < 0 || cc->get<double>() > 100)
      throw bad(field + ".dataFilter.maxCloudCoverage", "maxCloudCoverage must be a number from 0 to 100");
    in.max_cloud = cc->get<double>();
  }
  if (auto v = string_at(f, "orbitDirection", field + ".dataFilter.orbitDirection"); !v.empty()) {
    if (v != "ASCENDING" && v != "DESCENDING")
      throw bad(field + ".dataFilter.orbitDirection", "orbitDirection must be ASCENDING or DESCENDING");
    in.attributes["orbitDirection"] = v;
  }
  if (auto v = string_at(f, "acquisitionMode", field + ".dataFilter.acquisitionMode"); !v.empty()) {
    if (v != "SM" && v != "IW" && v != "EW" && v != "WV")
      throw bad(field + ".dataFilter.acquisitionMode", "acquisitionMode must be one of SM, IW, EW, WV");
    in.attributes["operationalMode"] = v;
  }
  if (auto v = string_at(f, "polarization", field + ".dataFilter.polarization"); !v.empty()) {
    static const std::map<std::string, std::string> channels = {
        {"DV", "VV, VH"}, {"DH", "HH, HV"}, {"SV", "VV"}, {"SH", "HH"}, {"VV", ""}, {"VH", ""}, {"HH", ""}, {"HV", ""}};
    auto it = channels.find(v);
    if (it == channels.end())
      throw bad(field + ".dataFilter.polarization", "polarization must be one of SH, SV, DH, DV, HH, HV, VV, VH");
    if (!it->second.empty()) in.attributes["polarisationChannels"] = it->second;
  }
  if (auto v = string_at(f, "resolution", field + ".dataFilter.resolution"); !v.empty()) {
    if (v != "HIGH" && v != "MEDIUM") throw bad(field + ".dataFilter.resolution", "resolution must be HIGH or MEDIUM");
    in.product_type_contains.push_back(v == "HIGH" ? "GRDH" : "GRDM");
  }
  const json* processing = member(d, "processing");
  if (processing && !processing->is_object()) throw bad(field + ".processing", "processing must be an object");
  const json& p = processing ? *processing : empty;
  in.upsampling = parse_resampling(p, "upsampling");
  in.downsampling = parse_resampling(p, "downsampling");
  if (const json* h = member(p, "harmonizeValues")) {
    if (!h->is_boolean()) throw bad(field + ".processing.harmonizeValues", "harmonizeValues must be true or false");
    in.harmonize = h->get<bool>();
  }
  if (const json* q = member(p, "minQa")) {
    if (!q->is_number() || q->get<double>() < 0 || q->get<double>() > 100)
      throw bad(field + ".processing.minQa", "minQa must be a number from 0 to 100");
    in.min_qa = static_cast<int>(q->get<double>());
  }
  bool orthorectify = false;
  if (const json* o = member(p, "orthorectify")) {
    if (!o->is_boolean()) throw bad(field + ".processing.orthorectify", "orthorectify must be true or false");
    orthorectify = o->get<bool>();
  }
  const std::string dem = string_at(p, "demInstance", field + ".processing.demInstance");
  if (!dem.empty() && dem != "MAPZEN" && dem != "COPERNICUS" && dem != "COPERNICUS_30" && dem != "COPERNICUS_90")
    throw bad(field + ".processing.demInstance",
              fmt::format("demInstance '{}' is not one of MAPZEN, COPERNICUS, COPERNICUS_30, COPERNICUS_90", dem));
  if (orthorectify && in.collection->mission == "SENTINEL-1") {
    // No Mapzen DEM here: MAPZEN (Sentinel Hub's default) and COPERNICUS use GLO-30.
    const std::string id = dem == "COPERNICUS_90" ? "cop-dem-glo-90" : "cop-dem-glo-30";
    in.orthorectify_dem = collections.find(id);
    if (!in.orthorectify_dem)
      throw Error(ErrorCode::unprocessable,
                  fmt::format("orthorectification needs the DEM collection {}, which this server does not offer", id),
                  field + ".processing.orthorectify");
  }
  if (auto v = string_at(p, "backCoeff", field + ".processing.backCoeff"); !v.empty()) {
    if (v != "BETA0" && v != "SIGMA0_ELLIPSOID" && v != "GAMMA0_ELLIPSOID" && v != "GAMMA0_TERRAIN")
      throw bad(field + ".processing.backCoeff",
                "backCoeff must be one of BETA0, SIGMA0_ELLIPSOID, GAMMA0_ELLIPSOID, GAMMA0_TERRAIN");
    if (v == "GAMMA0_TERRAIN")
      throw Error(ErrorCode::not_implemented, "backCoeff GAMMA0_TERRAIN is not available yet on this server",
                  field + ".processing.backCoeff");
    in.back_coeff = v;
  }
  return in;
}

}  // namespace

engine::RenderRequest bind_request(const json& body, const catalog::CollectionRegistry& collections) {
  if (!body.is_object()) throw bad("request", "the request body must be a JSON object");
  engine::RenderRequest req;
  const json* input = member(body, "input");
  if (!input || !input->is_object()) throw Error(ErrorCode::missing_parameter, "input is required", "input");
  const json* bounds = member(*input, "bounds");
  if (!bounds || !bounds->is_object())
    throw Error(ErrorCode::missing_parameter, "input.bounds is required", "input.bounds");
  std::string crs_text = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
  if (const json* props = member(*bounds, "properties")) {
    if (auto c = string_at(*props, "crs", "input.bounds.properties.crs"); !c.empty()) crs_text = c;
  }
  const engine::Crs crs = engine::parse_crs(crs_text, "input.bounds.properties.crs");
  std::optional<std::array<double, 4>> bbox;
  if (const json* b = member(*bounds, "bbox")) {
    if (!b->is_array() || b->size() != 4 ||
        !std::all_of(b->begin(), b->end(), [](const json& v) { return v.is_number(); }))
      throw bad("input.bounds.bbox", "bbox must be an array of four numbers [minX, minY, maxX, maxY]");
    bbox = std::array<double, 4>{(*b)[0].get<double>(), (*b)[1].get<double>(), (*b)[2].get<double>(),
                                 (*b)[3].get<double>()};
  }
  std::optional<json> geometry;
  if (const json* g = member(*bounds, "geometry")) geometry = *g;

  const json* data = member(*input, "data");
  if (!data || !data->is_array() || data->empty())
    throw Error(ErrorCode::missing_parameter, "input.data must list at least one data collection", "input.data");
  for (std::size_t i = 0; i < data->size(); ++i) req.inputs.push_back(bind_data((*data)[i], i, collections));
  if (req.inputs.size() > 1) {
    for (std::size_t i = 0; i < req.inputs.size(); ++i)
      for (std::size_t j = i + 1; j < req.inputs.size(); ++j)
        if (req.inputs[i].id == req.inputs[j].id)
          throw bad("input.data", "with several data collections each needs its own id (data fusion)");
  }

  engine::GridSize size;
  const json* output = member(body, "output");
  if (output && !output->is_object()) throw bad("output", "output must be an object");
  const json empty = json::object();
  const json& out = output ? *output : empty;
  auto int_at = [&](const char* key) -> std::optional<int> {
    const json* v = member(out, key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() && !(v->is_number() && std::floor(v->get<double>()) == v->get<double>()))
      throw bad(std::string("output.") + key, std::string("output.") + key + " must be an integer");
    const double d = v->get<double>();
    if (d < 1 || d > engine::kMaxGridSide)
      throw bad(std::string("output.") + key,
                fmt::format("output.{} is {}: it must be between 1 and {}", key, d, engine::kMaxGridSide));
    return static_cast<int>(d);
  };
  auto num_at = [&](const char* key) -> std::optional<double> {
    const json* v = member(out, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) throw bad(std::string("output.") + key, std::string("output.") + key + " must be a number");
    return v->get<double>();
  };
  size.width = int_at("width");
  size.height = int_at("height");
  size.resx = num_at("resx");
  size.resy = num_at("resy");
  req.grid = engine::make_grid(crs, bbox, geometry, size);

  if (const json* responses = member(out, "responses")) {
    if (!responses->is_array()) throw bad("output.responses", "output.responses must be an array");
    for (std::size_t i = 0; i < responses->size(); ++i) {
      const json& r = (*responses)[i];
      const std::string field = fmt::format("output.responses[{}]", i);
      if (!r.is_object()) throw bad(field, field + " must be an object");
      engine::ResponseRequest rr;
      if (auto id = string_at(r, "identifier", field + ".identifier"); !id.empty()) rr.identifier = id;
      if (const json* fmtj = member(r, "format")) {
        if (!fmtj->is_object()) throw bad(field + ".format", "format must be an object with a type");
        if (auto t = string_at(*fmtj, "type", field + ".format.type"); !t.empty())
          rr.format = engine::parse_output_format(t, field + ".format.type");
        if (const json* q = member(*fmtj, "quality")) {
          if (!q->is_number_integer() || q->get<int>() < 0 || q->get<int>() > 100)
            throw bad(field + ".format.quality", "quality must be an integer from 0 to 100");
          rr.quality = q->get<int>();
        }
      }
      for (const auto& other : req.responses)
        if (other.identifier == rr.identifier) throw bad(field, "two responses with identifier " + rr.identifier);
      req.responses.push_back(rr);
    }
  }
  if (const json* script = member(body, "evalscript")) {
    if (!script->is_string()) throw bad("evalscript", "evalscript must be a string");
    req.evalscript = script->get<std::string>();
  }
  if (req.evalscript.empty()) throw Error(ErrorCode::missing_parameter, "evalscript is required", "evalscript");
  return req;
}

namespace {

// Sentinel Hub's error body: {"error":{"status","reason","message","code"}}.
http::Response render_sentinelhub(const Error& e, const http::Request&) {
  const int status = http_status(e.code());
  std::string code = "COMMON_BAD_PAYLOAD";
  switch (e.code()) {
    case ErrorCode::unauthorized:
      code = "COMMON_UNAUTHORIZED";
      break;
    case ErrorCode::forbidden:
      code = "COMMON_INSUFFICIENT_PERMISSIONS";
      break;
    case ErrorCode::not_found:
      code = "COMMON_NOT_FOUND";
      break;
    case ErrorCode::too_many_requests:
      code = "RATE_LIMIT_EXCEEDED";
      break;
    case ErrorCode::method_not_allowed:
      code = "COMMON_METHOD_NOT_ALLOWED";
      break;
    case ErrorCode::not_acceptable:
    case ErrorCode::unsupported_media_type:
      code = "COMMON_UNSUPPORTED_MEDIA_TYPE";
      break;
    default:
      if (status >= 500) code = "COMMON_EXCEPTION";
  }
  if (e.details().contains("sentinelhub_code")) code = e.details()["sentinelhub_code"].get<std::string>();
  json err = {{"status", status},
              {"reason", std::string(error_info(e.code()).title)},
              {"message", e.message()},
              {"code", code}};
  if (!e.parameter().empty()) err["parameter"] = e.parameter();
  return http::Response::json({{"error", err}}, status);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The request JSON (+ evalscript part) from a JSON or multipart/form-data body.
json read_body(const http::Request& req) {
  const std::string type = std::string(req.header("Content-Type").value_or("application/json"));
  if (auto boundary = http::multipart_boundary(type)) {
    json body;
    std::string script;
    for (auto& part : http::parse_multipart(req.body, *boundary)) {
      if (part.name == "request") {
        body = json::parse(part.body, nullptr, false);
        if (body.is_discarded()) throw Error(ErrorCode::bad_request, "the request part is not valid JSON", "request");
      } else if (part.name == "evalscript") {
        script = std::move(part.body);
      }
    }
    if (body.is_null())
      throw Error(ErrorCode::missing_parameter, "the multipart body has no 'request' part", "request");
    if (!script.empty()) body["evalscript"] = script;
    return body;
  }
  if (lower(type).find("json") == std::string::npos)
    throw Error(ErrorCode::unsupported_media_type,
                "send the request as application/json or multipart/form-data, not " + type);
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) throw Error(ErrorCode::bad_request, "the request body is not valid JSON", "request");
  return body;
}

Error script_error(const evalscript::ScriptError& e) {
  Error err(ErrorCode::invalid_parameter, std::string("Failed to evaluate script!\n") + e.what(), "evalscript");
  err.with_detail("sentinelhub_code", "RENDERER_EXCEPTION");
  if (e.line > 0) err.with_detail("line", e.line).with_detail("column", e.column);
  return err;
}

http::Response process(http::Request& req, const Services& s) {
  const auto started = std::chrono::steady_clock::now();
  json body = read_body(req);
  engine::RenderRequest rr = bind_request(body, *s.collections);

  // Accept overrides format.type of a single response.
  const std::string accept = lower(std::string(req.header("Accept").value_or("")));
  const bool want_tar =
      accept.find("application/tar") != std::string::npos || accept.find("application/x-tar") != std::string::npos;
  if (!want_tar && rr.responses.size() <= 1 && !accept.empty() && accept.find("*/*") == std::string::npos) {
    for (const char* t : {"image/png", "image/jpeg", "image/tiff", "application/json"}) {
      if (accept.find(t) != std::string::npos) {
        if (rr.responses.empty()) rr.responses.push_back({});
        rr.responses[0].format = engine::parse_output_format(t, "Accept");
        break;
      }
    }
  }

  const auto subject = auth::quota_subject(req);
  if (s.quotas) {
    const auto d = s.quotas->check_pu(subject, 0.005);
    if (!d.allowed) throw auth::quota_error(req, d);
  }
  rr.owner = subject.key;
  engine::RenderContext ctx{*s.catalog, *s.objects};
  ctx.script_timeout = s.config.process.script_timeout;
  ctx.script_heap_bytes = s.config.process.script_heap;
  ctx.max_input_bytes = s.config.process.max_input;
  engine::RenderResult result;
  try {
    result = engine::render(ctx, rr);
  } catch (const evalscript::ScriptError& e) {
    throw script_error(e);
  }
  if (s.quotas) s.quotas->charge_pu(subject, result.processing_units);

  http::Response res;
  if (result.outputs.size() == 1 && !want_tar) {
    res.body = std::move(result.outputs[0].bytes);
    res.headers.set("Content-Type", engine::media_type(result.outputs[0].format));
  } else {
    std::vector<std::pair<std::string, std::string>> members;
    for (auto& o : result.outputs)
      members.emplace_back(o.identifier + "." + engine::file_extension(o.format), std::move(o.bytes));
    res.body = engine::encode_tar(members);
    res.headers.set("Content-Type", "application/x-tar");
  }
  res.headers.set("X-ProcessingUnits-Spent", fmt::format("{:.4f}", result.processing_units));
  res.headers.set("X-Dataspace-Scenes", std::to_string(result.scenes));
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string timing = fmt::format("render;dur={:.1f}", ms);
  for (const auto& [stage, dur] : result.timings) timing += fmt::format(", {};dur={:.1f}", stage, dur);
  res.headers.set("Server-Timing", timing);
  return res;
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  engine::set_block_cache(services.config.process.block_cache);
  const auto f = http::ErrorFormat::sentinelhub;
  router.set_prefix_error_format("/api/v1", f);
  router.error_renderers().set(f, render_sentinelhub);
  const Services* s = &services;
  router.post(
      "/api/v1/process", [s](http::Request& r) { return process(r, *s); }, f);
}

}  // namespace ds::api::process
