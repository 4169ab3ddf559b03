#include "api/s3/routes.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "api/auth/metering.hpp"
#include "api/common/catalog.hpp"
#include "api/s3/sigv4.hpp"
#include "auth/crypto.hpp"
#include "auth/quota.hpp"
#include "auth/service.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "http/body.hpp"
#include "http/range.hpp"

namespace ds::api::s3 {
namespace {

using http::Request;
using http::Response;
namespace st = ds::storage;

constexpr std::string_view kPrefix = "/s3";
constexpr std::string_view kPublicBucket = "eodata";
// Ownership records, object metadata and multipart parts live here (never listed to clients).
const std::string kSystemBucket = "s3-system";
const std::set<std::string, std::less<>> kReserved = {"eodata", "quicklooks", "archive",
                                                      "orders", "zipcache",   "s3-system"};
constexpr std::uint64_t kMinPartSize = 5ull * 1024 * 1024;
constexpr int kMaxParts = 10000;
constexpr std::size_t kMaxBucketsPerUser = 100;
constexpr std::int64_t kMaxSkewSeconds = 15 * 60;
constexpr std::int64_t kMaxPresignSeconds = 7 * 24 * 3600;
constexpr std::string_view kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// ---- S3 error vocabulary ------------------------------------------------------------------------

struct S3Code {
  std::string_view code;
  int status;
  ErrorCode base;
};

const S3Code& s3_code(std::string_view code) {
  static const S3Code table[] = {
      {"AccessDenied", 403, ErrorCode::forbidden},
      {"AuthorizationHeaderMalformed", 400, ErrorCode::bad_request},
      {"AuthorizationQueryParametersError", 400, ErrorCode::bad_request},
      {"BadDigest", 400, ErrorCode::bad_request},
      {"BucketAlreadyExists", 409, ErrorCode::conflict},
      {"BucketAlreadyOwnedByYou", 409, ErrorCode::conflict},
      {"BucketNotEmpty", 409, ErrorCode::conflict},
      {"EntityTooLarge", 400, ErrorCode::payload_too_large},
      {"EntityTooSmall", 400, ErrorCode::bad_request},
      {"IncompleteBody", 400, ErrorCode::bad_request},
      {"InternalError", 500, ErrorCode::internal},
      {"InvalidAccessKeyId", 403, ErrorCode::unauthorized},
      {"InvalidArgument", 400, ErrorCode::invalid_parameter},
      {"InvalidBucketName", 400, ErrorCode::invalid_parameter},
      {"InvalidDigest", 400, ErrorCode::bad_request},
      {"InvalidPart", 400, ErrorCode::bad_request},
      {"InvalidPartOrder", 400, ErrorCode::bad_request},
      {"InvalidRange", 416, ErrorCode::range_not_satisfiable},
      {"InvalidRequest", 400, ErrorCode::bad_request},
      {"KeyTooLongError", 400, ErrorCode::invalid_parameter},
      {"MalformedXML", 400, ErrorCode::bad_request},
      {"MethodNotAllowed", 405, ErrorCode::method_not_allowed},
      {"NoSuchBucket", 404, ErrorCode::not_found},
      {"NoSuchKey", 404, ErrorCode::not_found},
      {"NoSuchUpload", 404, ErrorCode::not_found},
      {"NotImplemented", 501, ErrorCode::not_implemented},
      {"PreconditionFailed", 412, ErrorCode::unprocessable},
      {"RequestHeaderSectionTooLarge", 400, ErrorCode::header_too_large},
      {"RequestTimeout", 400, ErrorCode::request_timeout},
      {"RequestTimeTooSkewed", 403, ErrorCode::forbidden},
      {"ServiceUnavailable", 503, ErrorCode::service_unavailable},
      {"SignatureDoesNotMatch", 403, ErrorCode::forbidden},
      {"SlowDown", 503, ErrorCode::too_many_requests},
      {"TooManyBuckets", 400, ErrorCode::bad_request},
      {"XAmzContentSHA256Mismatch", 400, ErrorCode::bad_request},
  };
  for (const auto& c : table) {
    if (c.code == code) return c;
  }
  return table[10];  // InternalError
}

Error s3_error(std::string_view code, std::string message) {
  const auto& c = s3_code(code);
  Error e(c.base, std::move(message));
  e.with_detail("s3_code", std::string(c.code));
  e.with_detail("s3_status", c.status);
  return e;
}

[[noreturn]] void fail(std::string_view code, std::string message) { throw s3_error(code, std::move(message)); }

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i);
    if (semi == std::string_view::npos) fail("MalformedXML", "unterminated entity in XML");
    const auto ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      unsigned code = 0;
      const bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      const auto digits = ent.substr(hex ? 2 : 1);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
      if (ec != std::errc() || p != digits.data() + digits.size() || code > 0x10FFFF)
        fail("MalformedXML", "bad character reference in XML");
      if (code < 0x80) {
        out += static_cast<char>(code);
      } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      }
    } else {
      fail("MalformedXML", "unknown entity in XML");
    }
    i = semi;
  }
  return out;
}

// The contents of every <tag>…</tag> (or <tag attr…>…</tag>) element in `xml`, in order. Enough
// for the small request documents S3 clients send (Delete, CompleteMultipartUpload).
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const std::size_t after = pos + open.size();
    if (after >= xml.size()) break;
    const char c = xml[after];
    if (c != '>' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '/') {
      pos = after;
      continue;
    }
    const auto gt = xml.find('>', after);
    if (gt == std::string_view::npos) fail("MalformedXML", "unterminated element <" + std::string(tag) + ">");
    if (xml[gt - 1] == '/') {  // <tag/>
      out.emplace_back();
      pos = gt + 1;
      continue;
    }
    const auto end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) fail("MalformedXML", "element <" + std::string(tag) + "> is not closed");
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> xml_value(std::string_view xml, std::string_view tag) {
  auto v = xml_elements(xml, tag);
  if (v.empty()) return std::nullopt;
  return xml_unescape(v.front());
}

std::string xml_doc(std::string_view body) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += body;
  return out;
}

Response xml_response(std::string body, int status = 200) {
  return Response::text(xml_doc(body), "application/xml", status);
}

Response render_error(const Error& e, const Request& req) {
  std::string code;
  int status = 0;
  const auto& d = e.details();
  if (d.contains("s3_code")) {
    code = d["s3_code"].get<std::string>();
    status = d["s3_status"].get<int>();
  } else {
    switch (e.code()) {
      case ErrorCode::not_found:
        code = e.parameter() == "bucket" ? "NoSuchBucket" : "NoSuchKey";
        break;
      case ErrorCode::unauthorized:
      case ErrorCode::forbidden:
        code = "AccessDenied";
        break;
      case ErrorCode::invalid_parameter:
      case ErrorCode::missing_parameter:
        code = e.parameter() == "bucket"                              ? "InvalidBucketName"
               : e.message().find("longer than") != std::string::npos ? "KeyTooLongError"
                                                                      : "InvalidArgument";
        break;
      case ErrorCode::bad_request:
        code = "InvalidRequest";
        break;
      case ErrorCode::payload_too_large:
        code = "EntityTooLarge";
        break;
      case ErrorCode::range_not_satisfiable:
        code = "InvalidRange";
        break;
      case ErrorCode::too_many_requests:
        code = "SlowDown";
        break;
      case ErrorCode::request_timeout:
        code = "RequestTimeout";
        break;
      case ErrorCode::header_too_large:
        code = "RequestHeaderSectionTooLarge";
        break;
      case ErrorCode::method_not_allowed:
        code = "MethodNotAllowed";
        break;
      case ErrorCode::not_implemented:
        code = "NotImplemented";
        break;
      case ErrorCode::service_unavailable:
        code = "ServiceUnavailable";
        break;
      default:
        code = "InternalError";
    }
    status = s3_code(code).status;
  }
  std::string body = "<Error><Code>" + xml_escape(code) + "</Code><Message>" + xml_escape(e.message()) +
                     "</Message><Resource>" + xml_escape(http::url_decode(req.path)) + "</Resource><RequestId>" +
                     xml_escape(req.ctx.request_id) + "</RequestId></Error>";
  Response res = xml_response(std::move(body), status);
  res.headers.set("x-amz-request-id", req.ctx.request_id);
  return res;
}

// ---- small helpers --------------------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_any(const Request& req, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (req.query.has(n)) return true;
  }
  return false;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// 20130524T000000Z → time point.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  auto num = [&](std::size_t pos, std::size_t n, int& out) {
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
    return ec == std::errc() && p == s.data() + pos + n;
  };
  if (!num(0, 4, tm.tm_year) || !num(4, 2, tm.tm_mon) || !num(6, 2, tm.tm_mday) || !num(9, 2, tm.tm_hour) ||
      !num(11, 2, tm.tm_min) || !num(13, 2, tm.tm_sec))
    return std::nullopt;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// An incremental digest (OpenSSL EVP): MD5 for ETags, SHA-256 for payload hashes.
class Digest {
 public:
  explicit Digest(const EVP_MD* md) : md_(md), ctx_(EVP_MD_CTX_new()) { reset(); }
  ~Digest() { EVP_MD_CTX_free(ctx_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void reset() {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, md_, nullptr) != 1) throw Error(ErrorCode::internal, "digest init failed");
  }
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  // The digest of everything updated since the last reset (then reset again).
  std::string raw() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, out, &n);
    reset();
    return std::string(reinterpret_cast<const char*>(out), n);
  }

 private:
  const EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

struct Md5 : Digest {
  Md5() : Digest(EVP_md5()) {}
};

std::string quote_etag(std::string_view hex) { return "\"" + std::string(hex) + "\""; }

std::string unquote_etag(std::string_view e) {
  std::string s = xml_unescape(e);
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.pop_back();
  return s;
}

std::string guess_content_type(std::string_view key) {
  static const std::pair<std::string_view, std::string_view> types[] = {
      {".xml", "application/xml"},  {".json", "application/json"},   {".jp2", "image/jp2"},  {".tif", "image/tiff"},
      {".tiff", "image/tiff"},      {".png", "image/png"},           {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
      {".zip", "application/zip"},  {".nc", "application/x-netcdf"}, {".html", "text/html"}, {".txt", "text/plain"},
      {".safe", "application/xml"},
  };
  const auto dot = key.rfind('.');
  if (dot != std::string_view::npos && key.find('/', dot) == std::string_view::npos) {
    const auto ext = lower(key.substr(dot));
    for (const auto& [e, t] : types) {
      if (e == ext) return std::string(t);
    }
  }
  return "application/octet-stream";
}

// ---- the service --------------------------------------------------------------------------------

struct Caller {
  ds::auth::S3Credential cred;
  std::string signing_key;
  std::string amz_date;
  std::string scope;
  std::string signature;     // seed of chunk signatures
  std::string payload_hash;  // x-amz-content-sha256 as declared
};

struct ObjectMeta {
  std::string etag;  // quoted
  std::string content_type;
  std::map<std::string, std::string> user;  // x-amz-meta-* headers (lower-case names)
};

// Decodes a request payload the way x-amz-content-sha256 declares it, as it streams in: a hex
// SHA-256 (verified at the end: XAmzContentSHA256Mismatch), UNSIGNED-PAYLOAD, or aws-chunked
// (STREAMING-…: chunk framing removed, every chunk's signature verified when the payload is signed,
// trailers ignored; x-amz-decoded-content-length checked). Decoded bytes go to `out`; their MD5
// (ETag) is kept and checked against Content-MD5 when sent.
class PayloadDecoder {
 public:
  using Output = std::function<void(const char*, std::size_t)>;

  PayloadDecoder(const Caller& c, const Request& req, Output out)
      : out_(std::move(out)),
        sha_(EVP_sha256()),
        signing_key_(c.signing_key),
        amz_date_(c.amz_date),
        scope_(c.scope),
        previous_(c.signature) {
    const std::string& mode = c.payload_hash;
    if (mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" || mode == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
      mode_ = Mode::chunked_signed;
    } else if (mode == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
      mode_ = Mode::chunked_unsigned;
    } else if (mode == "UNSIGNED-PAYLOAD") {
      mode_ = Mode::plain;
    } else if (mode.size() == 64 && is_hex(mode)) {
      mode_ = Mode::sha256;
      expected_sha256_ = lower(mode);
    } else {
      fail("InvalidArgument",
           "x-amz-content-sha256 must be a SHA-256 hex digest, UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD "
           "or STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    }
    if (chunked()) {
      if (auto d = req.header("x-amz-decoded-content-length")) declared_decoded_ = std::string(*d);
    }
    if (auto md5 = req.header("Content-MD5")) {
      std::string b64(*md5), raw;
      for (auto& ch : b64) {
        if (ch == '+') ch = '-';
        if (ch == '/') ch = '_';
      }
      if (!ds::auth::base64url_decode(b64, raw) || raw.size() != 16)
        fail("InvalidDigest", "Content-MD5 is not valid base64 MD5");
      content_md5_ = std::move(raw);
    }
  }

  void feed(const char* data, std::size_t n) {
    if (!chunked()) {
      if (mode_ == Mode::sha256) sha_.update(data, n);
      emit(data, n);
      return;
    }
    while (n > 0) {
      switch (state_) {
        case State::header: {
          const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
          const std::size_t take = nl ? static_cast<std::size_t>(nl - data) + 1 : n;
          line_.append(data, take);
          data += take;
          n -= take;
          if (line_.size() > 4096) fail("InvalidArgument", "malformed aws-chunked chunk header");
          if (nl) start_chunk();
          break;
        }
        case State::data: {
          const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
          if (mode_ == Mode::chunked_signed) sha_.update(data, take);
          emit(data, take);
          data += take;
          n -= take;
          remaining_ -= take;
          if (remaining_ == 0) {
            verify_chunk();
            state_ = State::crlf;
          }
          break;
        }
        case State::crlf: {
          crlf_ += *data++;
          --n;
          if (crlf_.size() == 2) {
            if (crlf_ != "\r\n") fail("InvalidArgument", "an aws-chunked chunk is not followed by CRLF");
            crlf_.clear();
            state_ = State::header;
          }
          break;
        }
        case State::trailer:  // trailing headers (checksums we do not use)
          trailer_ += n;
          if (trailer_ > 65536) fail("InvalidArgument", "the aws-chunked trailer is too long");
          n = 0;
          break;
      }
    }
  }

  // After the last piece: verifies that the payload is complete and matches its declared digests.
  void finish() {
    if (chunked() && state_ != State::trailer) fail("IncompleteBody", "the aws-chunked body ends inside a chunk");
    if (mode_ == Mode::sha256 && hex_encode(sha_.raw()) != expected_sha256_) {
      fail("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    if (declared_decoded_ && *declared_decoded_ != std::to_string(decoded_)) {
      fail("IncompleteBody", "the decoded body does not have x-amz-decoded-content-length bytes");
    }
    md5_raw_ = md5_.raw();
    if (content_md5_ && *content_md5_ != md5_raw_)
      fail("BadDigest", "The Content-MD5 you specified did not match what we received.");
  }

  std::uint64_t decoded_size() const { return decoded_; }
  const std::string& md5_raw() const { return md5_raw_; }  // after finish()

 private:
  enum class Mode { plain, sha256, chunked_signed, chunked_unsigned };
  enum class State { header, data, crlf, trailer };
  bool chunked() const { return mode_ == Mode::chunked_signed || mode_ == Mode::chunked_unsigned; }

  void emit(const char* data, std::size_t n) {
    if (n == 0) return;
    md5_.update(data, n);
    decoded_ += n;
    out_(data, n);
  }

  // "<hex size>[;chunk-signature=<sig>]\r\n" is in line_.
  void start_chunk() {
    std::string_view line(line_);
    if (line.size() < 2 || line[line.size() - 2] != '\r') fail("InvalidArgument", "malformed aws-chunked chunk header");
    line.remove_suffix(2);
    const auto semi = line.find(';');
    const std::string_view size_text = line.substr(0, semi);
    std::uint64_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || p != size_text.data() + size_text.size() || size_text.empty()) {
      fail("InvalidArgument", "malformed aws-chunked chunk header");
    }
    signature_.clear();
    if (semi != std::string_view::npos) {
      const auto ext = line.substr(semi + 1);
      if (ext.rfind("chunk-signature=", 0) == 0) signature_ = lower(ext.substr(16));
    }
    line_.clear();
    remaining_ = size;
    if (size == 0) {
      verify_chunk();
      state_ = State::trailer;
    } else {
      state_ = State::data;
    }
  }

  void verify_chunk() {
    if (mode_ != Mode::chunked_signed) return;
    const auto expected = chunk_signature_of_hash(signing_key_, amz_date_, scope_, previous_, hex_encode(sha_.raw()));
    if (!ds::auth::constant_time_equal(expected, signature_)) {
      fail("SignatureDoesNotMatch", "the signature of a chunk of the aws-chunked body does not match");
    }
    previous_ = expected;
  }

  Output out_;
  Mode mode_ = Mode::plain;
  State state_ = State::header;
  Digest sha_;  // the whole payload (sha256 mode) or the current chunk (chunked_signed)
  Md5 md5_;
  std::string signing_key_, amz_date_, scope_, previous_;
  std::string expected_sha256_;
  std::optional<std::string> declared_decoded_, content_md5_;
  std::string line_, crlf_, signature_, md5_raw_;
  std::uint64_t remaining_ = 0;
  std::uint64_t decoded_ = 0;
  std::uint64_t trailer_ = 0;
};

// The body of a PutObject or UploadPart, decoded into an object store writer as it arrives (the
// server streams it here: http::Router::stream_bodies). Nothing is visible until the handler
// commits the writer; a sink dropped before that leaves nothing.
class UploadSink final : public http::BodySink {
 public:
  UploadSink(const Caller& c, const Request& req, std::unique_ptr<st::ObjectWriter> writer, std::uint64_t max_bytes)
      : writer_(std::move(writer)), max_bytes_(max_bytes), decoder_(c, req, [this](const char* p, std::size_t n) {
          if (decoder_.decoded_size() > max_bytes_)
            fail("EntityTooLarge", fmt::format("Your proposed upload exceeds the maximum allowed object size ({} "
                                               "bytes): upload it in parts",
                                               max_bytes_));
          writer_->write(p, n);
        }) {}
  void write(const char* data, std::size_t size) override { decoder_.feed(data, size); }
  // Verifies the payload (digests, completeness); returns its MD5. The writer is then ready to commit.
  std::string finish() {
    decoder_.finish();
    return decoder_.md5_raw();
  }
  std::uint64_t size() const { return decoder_.decoded_size(); }
  st::ObjectWriter& writer() { return *writer_; }

 private:
  std::unique_ptr<st::ObjectWriter> writer_;
  std::uint64_t max_bytes_;
  PayloadDecoder decoder_;
};

class S3Service {
 public:
  explicit S3Service(const Services& services)
      : services_(services),
        store_(*services.objects),
        region_(services.config.s3_region.empty() ? "default" : services.config.s3_region) {
    if (services.config.s3_multipart_expiry.count() > 0) reaper_ = std::thread([this] { run_reaper(); });
  }
  ~S3Service() {
    {
      std::lock_guard lock(reaper_mutex_);
      stopping_ = true;
    }
    reaper_cv_.notify_all();
    if (reaper_.joinable()) reaper_.join();
  }
  S3Service(const S3Service&) = delete;
  S3Service& operator=(const S3Service&) = delete;

  Response handle(Request& req);
  // The streamed-body factory (http::Router::stream_bodies): PutObject and UploadPart bodies go
  // straight into the object store; other requests are buffered as usual.
  std::shared_ptr<http::BodySink> open_upload(Request& req);
  // Aborts multipart uploads idle for longer than s3.multipart_expiry. Returns how many.
  std::size_t reap_uploads();

 private:
  // -- authentication
  Caller authenticate(Request& req) const;
  void decode_body(Request& req, const Caller& c) const;
  // Counts one request against the caller's s3 quota; SlowDown when over it.
  void admit(const Caller& c) const;
  // The upload sink of a PutObject/UploadPart: the one the server streamed the body into, or one
  // fed with the buffered body.
  std::shared_ptr<UploadSink> make_upload(const Request& req, const std::string& bucket, const std::string& key,
                                          const Caller& c);
  std::shared_ptr<UploadSink> upload_of(const Request& req, const std::string& bucket, const std::string& key,
                                        const Caller& c);
  void run_reaper();

  // -- buckets
  std::optional<nlohmann::json> bucket_record(const std::string& bucket) const;
  void check_bucket(const std::string& bucket, const Caller& c, bool write) const;
  Response list_buckets(const Request& req, const Caller& c) const;
  Response create_bucket(const Request& req, const std::string& bucket, const Caller& c);
  Response delete_bucket(const std::string& bucket, const Caller& c);
  Response list_objects(const Request& req, const std::string& bucket, const Caller& c) const;
  Response delete_objects(const Request& req, const std::string& bucket, const Caller& c);

  // -- objects
  Response get_object(const Request& req, const std::string& bucket, const std::string& key, const Caller& c) const;
  Response put_object(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  Response copy_object(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  void delete_object(const std::string& bucket, const std::string& key);

  // -- multipart
  nlohmann::json load_upload(const std::string& id, const std::string& bucket, const std::string& key,
                             const Caller& c) const;
  std::vector<std::pair<int, nlohmann::json>> upload_parts(const std::string& id) const;
  void drop_upload(const std::string& id);
  Response create_upload(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  Response upload_part(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  Response list_parts(const Request& req, const std::string& bucket, const std::string& key, const Caller& c) const;
  Response complete_upload(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  Response abort_upload(const Request& req, const std::string& bucket, const std::string& key, const Caller& c);
  Response list_uploads(const Request& req, const std::string& bucket, const Caller& c) const;

  // -- system objects (small JSON documents in the system bucket)
  std::optional<std::string> read_system(const std::string& key) const;
  void write_system(const std::string& key, std::string_view bytes);
  void remove_system(const std::string& key);
  static std::string meta_key(const std::string& bucket, const std::string& key) {
    return "meta/" + bucket + "/" + key + ".json";
  }
  ObjectMeta object_meta(const std::string& bucket, const st::ObjectInfo& info) const;
  void save_meta(const std::string& bucket, const st::ObjectInfo& info, const ObjectMeta& meta);

  const Services& services_;
  st::ObjectStore& store_;
  std::string region_;
  std::mutex buckets_mutex_;
  std::mutex reaper_mutex_;
  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  std::thread reaper_;
};

// ---- authentication -------------------------------------------------------------------------------

std::map<std::string, std::string> parse_auth_fields(std::string_view s) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  return out;
}

Caller S3Service::authenticate(Request& req) const {
  const auto authz = req.header("Authorization");
  const bool presigned = !authz && req.query.has("X-Amz-Signature");
  if (!authz && !presigned) {
    fail("AccessDenied", "Anonymous access is not allowed: sign requests with an S3 access key (AWS Signature V4)");
  }
  std::string credential, signed_headers, provided, amz_date, payload;
  if (authz) {
    const std::string_view a = *authz;
    if (a.rfind("AWS ", 0) == 0)
      fail("InvalidRequest", "AWS Signature Version 2 is not supported: use AWS4-HMAC-SHA256");
    if (a.rfind("AWS4-HMAC-SHA256 ", 0) != 0) {
      fail("AuthorizationHeaderMalformed", "the Authorization header must use the AWS4-HMAC-SHA256 algorithm");
    }
    auto fields = parse_auth_fields(a.substr(17));
    credential = fields["Credential"];
    signed_headers = fields["SignedHeaders"];
    provided = fields["Signature"];
    if (credential.empty() || signed_headers.empty() || provided.empty()) {
      fail("AuthorizationHeaderMalformed", "the Authorization header needs Credential, SignedHeaders and Signature");
    }
    amz_date = std::string(req.header("x-amz-date").value_or(""));
    if (amz_date.empty()) fail("AccessDenied", "AWS authentication requires a valid X-Amz-Date header");
    payload = std::string(req.header("x-amz-content-sha256").value_or(""));
    if (payload.empty()) payload = sha256_hex(req.body);
  } else {
    if (req.query.get("X-Amz-Algorithm").value_or("") != "AWS4-HMAC-SHA256") {
      fail("AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
    }
    credential = req.query.get("X-Amz-Credential").value_or("");
    signed_headers = req.query.get("X-Amz-SignedHeaders").value_or("");
    provided = req.query.get("X-Amz-Signature").value_or("");
    amz_date = req.query.get("X-Amz-Date").value_or("");
    if (credential.empty() || signed_headers.empty() || provided.empty() || amz_date.empty() ||
        !req.query.has("X-Amz-Expires")) {
      fail("AuthorizationQueryParametersError",
           "presigned URLs need X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature");
    }
    payload = req.query.get("X-Amz-Content-Sha256").value_or("UNSIGNED-PAYLOAD");
  }

  // Credential=AKID/20130524/region/s3/aws4_request
  std::vector<std::string> parts;
  {
    std::string_view c = credential;
    while (true) {
      const auto slash = c.find('/');
      parts.emplace_back(c.substr(0, slash));
      if (slash == std::string_view::npos) break;
      c.remove_prefix(slash + 1);
    }
  }
  const std::string_view malformed = authz ? "AuthorizationHeaderMalformed" : "AuthorizationQueryParametersError";
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || parts[2].empty() || parts[4] != "aws4_request") {
    fail(malformed, "the credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request");
  }
  if (parts[3] != "s3") fail(malformed, "the credential scope must name the service 's3'");
  const auto when = parse_amz_date(amz_date);
  if (!when) fail("AccessDenied", "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'");
  if (amz_date.substr(0, 8) != parts[1]) fail(malformed, "the credential date does not match X-Amz-Date");
  const auto now = std::chrono::system_clock::now();
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(*when - now).count();
  if (authz) {
    if (std::abs(skew) > kMaxSkewSeconds) {
      fail("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large");
    }
  } else {
    std::int64_t expires = -1;
    const auto text = req.query.get("X-Amz-Expires").value_or("");
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), expires);
    if (ec != std::errc() || p != text.data() + text.size() || expires < 1 || expires > kMaxPresignSeconds) {
      fail("AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800 (7 days)");
    }
    if (skew > kMaxSkewSeconds) fail("AccessDenied", "Request is not valid yet");
    if (-skew > expires) fail("AccessDenied", "Request has expired");
  }

  auto cred = services_.auth ? services_.auth->lookup_s3_secret(parts[0]) : std::nullopt;
  if (!cred) fail("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");

  std::string headers;
  if (!canonical_headers(HeaderList(req.headers.begin(), req.headers.end()), signed_headers, headers)) {
    fail("SignatureDoesNotMatch", "a header named in SignedHeaders is missing from the request");
  }
  const std::string query = canonical_query(req.query_string, presigned ? "X-Amz-Signature" : "");
  Caller caller;
  caller.scope = parts[1] + "/" + parts[2] + "/s3/aws4_request";
  caller.signing_key = signing_key(cred->secret, parts[1], parts[2], "s3");
  caller.amz_date = amz_date;
  caller.payload_hash = payload;
  // Clients sign the path as they sent it; the canonical form re-encodes it, and the raw form is
  // kept as a fallback for clients that encode differently from AWS's rules.
  // Clients sign the path as they sent it (canonical form first, the raw form as a fallback for
  // clients that encode differently from AWS's rules). Clients that take the endpoint for a bare
  // host (GDAL, s3cmd with host_base=HOST:PORT/s3) sign the path without the /s3 mount point and
  // "HOST:PORT/s3" as the host: that form is accepted too (it covers the same request).
  std::vector<std::pair<std::string, std::string>> candidates = {{canonical_uri(req.path), headers}};
  if (candidates.front().first != req.path && !req.path.empty()) candidates.emplace_back(req.path, headers);
  if (req.path.rfind(kPrefix, 0) == 0) {
    const std::string_view inner = std::string_view(req.path).substr(kPrefix.size());
    const std::string inner_uri = canonical_uri(inner.empty() ? "/" : inner);
    candidates.emplace_back(inner_uri, headers);
    HeaderList mounted(req.headers.begin(), req.headers.end());
    for (auto& [n, v] : mounted) {
      if (http::iequals(n, "host")) v += kPrefix;
    }
    std::string mounted_headers;
    if (canonical_headers(mounted, signed_headers, mounted_headers) && mounted_headers != headers) {
      candidates.emplace_back(inner_uri, mounted_headers);
    }
  }
  bool ok = false;
  for (const auto& [uri, hdrs] : candidates) {
    const auto creq = canonical_request(req.method_text, uri, query, hdrs, signed_headers, payload);
    const auto sig = signature(caller.signing_key, string_to_sign(amz_date, caller.scope, creq));
    if (ds::auth::constant_time_equal(sig, lower(provided))) {
      ok = true;
      break;
    }
  }
  if (!ok) {
    fail("SignatureDoesNotMatch",
         "The request signature we calculated does not match the signature you provided. Check your key and "
         "signing method.");
  }
  caller.signature = lower(provided);
  caller.cred = std::move(*cred);
  return caller;
}

void S3Service::decode_body(Request& req, const Caller& c) const {
  std::string out;
  PayloadDecoder decoder(c, req, [&out](const char* p, std::size_t n) { out.append(p, n); });
  decoder.feed(req.body.data(), req.body.size());
  decoder.finish();
  req.body = std::move(out);
}

// ---- system objects -------------------------------------------------------------------------------

std::optional<std::string> S3Service::read_system(const std::string& key) const {
  if (!store_.bucket_exists(kSystemBucket)) return std::nullopt;
  auto info = store_.head(kSystemBucket, key);
  if (!info) return std::nullopt;
  try {
    auto reader = store_.get(kSystemBucket, key);
    std::string out(reader->size(), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
      const auto n = reader->read(out.data() + got, out.size() - got);
      if (n == 0) break;
      got += n;
    }
    out.resize(got);
    return out;
  } catch (const Error&) {
    return std::nullopt;
  }
}

void S3Service::write_system(const std::string& key, std::string_view bytes) {
  if (!store_.bucket_exists(kSystemBucket)) store_.create_bucket(kSystemBucket);
  auto w = store_.put(kSystemBucket, key);
  w->write(bytes.data(), bytes.size());
  w->commit();
}

void S3Service::remove_system(const std::string& key) {
  try {
    store_.remove(kSystemBucket, key);
  } catch (const Error&) {
  }
}

ObjectMeta S3Service::object_meta(const std::string& bucket, const st::ObjectInfo& info) const {
  ObjectMeta m;
  m.etag = info.etag;
  m.content_type = guess_content_type(info.key);
  if (bucket == kPublicBucket) return m;
  try {
    if (auto text = read_system(meta_key(bucket, info.key))) {
      const auto j = nlohmann::json::parse(*text);
      // Only while the object is the one the metadata was written for.
      if (j.value("store_etag", "") == info.etag && j.value("size", std::uint64_t{0}) == info.size) {
        m.etag = j.value("etag", info.etag);
        m.content_type = j.value("content_type", m.content_type);
        if (j.contains("user")) m.user = j["user"].get<std::map<std::string, std::string>>();
      }
    }
  } catch (const std::exception&) {
  }
  return m;
}

void S3Service::save_meta(const std::string& bucket, const st::ObjectInfo& info, const ObjectMeta& meta) {
  nlohmann::json j = {{"etag", meta.etag},
                      {"content_type", meta.content_type},
                      {"user", meta.user},
                      {"store_etag", info.etag},
                      {"size", info.size}};
  try {
    write_system(meta_key(bucket, info.key), j.dump());
  } catch (const Error&) {
    // Without metadata the object is still served, with the store's ETag.
  }
}

// ---- buckets --------------------------------------------------------------------------------------

std::optional<nlohmann::json> S3Service::bucket_record(const std::string& bucket) const {
  auto text = read_system("buckets/" + bucket + ".json");
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.value("deleted", false)) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void S3Service::check_bucket(const std::string& bucket, const Caller& c, bool write) const {
  try {
    st::validate_bucket(bucket);
  } catch (const Error& e) {
    fail("InvalidBucketName", e.message());
  }
  if (bucket == kPublicBucket) {
    if (!store_.bucket_exists(bucket)) fail("NoSuchBucket", "The specified bucket does not exist");
    if (write) fail("AccessDenied", "Access Denied: bucket eodata is read-only");
    return;
  }
  const auto rec = bucket_record(bucket);
  if (!rec) {
    // A store bucket that no user owns (and never did) is a system bucket.
    if (store_.bucket_exists(bucket) && !read_system("buckets/" + bucket + ".json")) {
      fail("AccessDenied", "Access Denied");
    }
    fail("NoSuchBucket", "The specified bucket does not exist");
  }
  if (rec->value("owner", "") != c.cred.user_id) fail("AccessDenied", "Access Denied");
  if (!store_.bucket_exists(bucket)) fail("NoSuchBucket", "The specified bucket does not exist");
}

Response S3Service::list_buckets(const Request&, const Caller& c) const {
  std::string body = fmt::format(
      "<ListAllMyBucketsResult xmlns=\"{}\"><Owner><ID>{}</ID><DisplayName>{}</DisplayName>"
      "</Owner><Buckets>",
      kXmlns, xml_escape(c.cred.user_id), xml_escape(c.cred.email));
  for (const auto& name : store_.buckets()) {
    std::string created = format_iso8601(services_.started);
    if (name != kPublicBucket) {
      if (kReserved.count(name)) continue;
      const auto rec = bucket_record(name);
      if (!rec || rec->value("owner", "") != c.cred.user_id) continue;
      created = rec->value("created", created);
    }
    body += "<Bucket><Name>" + xml_escape(name) + "</Name><CreationDate>" + created + "</CreationDate></Bucket>";
  }
  body += "</Buckets></ListAllMyBucketsResult>";
  return xml_response(std::move(body));
}

Response S3Service::create_bucket(const Request& req, const std::string& bucket, const Caller& c) {
  try {
    st::validate_bucket(bucket);
  } catch (const Error& e) {
    fail("InvalidBucketName", e.message());
  }
  std::lock_guard lock(buckets_mutex_);
  if (kReserved.count(bucket)) fail("BucketAlreadyExists", "The requested bucket name is not available");
  const auto record_text = read_system("buckets/" + bucket + ".json");
  const auto rec = bucket_record(bucket);
  if (rec) {
    if (rec->value("owner", "") == c.cred.user_id) {
      fail("BucketAlreadyOwnedByYou",
           "Your previous request to create the named bucket succeeded and you already own it.");
    }
    fail("BucketAlreadyExists", "The requested bucket name is not available");
  }
  if (store_.bucket_exists(bucket)) {
    // A folder of the store nobody owns is a system bucket; a deleted user bucket can be reused
    // once it is empty.
    if (!record_text) fail("BucketAlreadyExists", "The requested bucket name is not available");
    st::ListRequest lr;
    lr.max_keys = 1;
    if (!store_.list(bucket, lr).objects.empty())
      fail("BucketAlreadyExists", "The requested bucket name is not available");
  }
  std::size_t owned = 0;
  for (const auto& name : store_.buckets()) {
    if (kReserved.count(name)) continue;
    const auto r = bucket_record(name);
    if (r && r->value("owner", "") == c.cred.user_id) ++owned;
  }
  if (owned >= kMaxBucketsPerUser) {
    fail("TooManyBuckets",
         fmt::format("You have attempted to create more buckets than allowed ({})", kMaxBucketsPerUser));
  }
  store_.create_bucket(bucket);
  nlohmann::json j = {{"owner", c.cred.user_id},
                      {"email", c.cred.email},
                      {"created", format_iso8601(std::chrono::system_clock::now())}};
  write_system("buckets/" + bucket + ".json", j.dump());
  (void)req;
  Response res = Response::empty(200);
  res.headers.set("Location", "/" + bucket);
  return res;
}

Response S3Service::delete_bucket(const std::string& bucket, const Caller& c) {
  check_bucket(bucket, c, true);
  std::lock_guard lock(buckets_mutex_);
  st::ListRequest lr;
  lr.max_keys = 1;
  if (!store_.list(bucket, lr).objects.empty()) fail("BucketNotEmpty", "The bucket you tried to delete is not empty");
  // The store cannot drop folders: the record is marked deleted and the empty folder can be
  // claimed again by anyone.
  nlohmann::json j = {{"owner", c.cred.user_id}, {"deleted", true}};
  write_system("buckets/" + bucket + ".json", j.dump());
  return Response::empty(204);
}

Response S3Service::list_objects(const Request& req, const std::string& bucket, const Caller& c) const {
  check_bucket(bucket, c, false);
  const bool v2 = req.query.get("list-type").value_or("") == "2";
  const auto encoding = req.query.get("encoding-type");
  if (encoding && *encoding != "url") fail("InvalidArgument", "Invalid Encoding Method specified in Request");
  const bool url = encoding.has_value();
  auto enc = [&](const std::string& s) { return xml_escape(url ? aws_uri_encode(s, false) : s); };

  st::ListRequest lr;
  lr.prefix = req.query.get("prefix").value_or("");
  lr.delimiter = req.query.get("delimiter").value_or("");
  std::int64_t max_keys = 1000;
  if (auto mk = req.query.get("max-keys")) {
    auto [p, ec] = std::from_chars(mk->data(), mk->data() + mk->size(), max_keys);
    if (ec != std::errc() || p != mk->data() + mk->size() || max_keys < 0) {
      fail("InvalidArgument", "max-keys must be a non-negative integer");
    }
  }
  lr.max_keys = static_cast<std::size_t>(std::min<std::int64_t>(max_keys, 1000));
  const std::string token = req.query.get("continuation-token").value_or("");
  const std::string start_after = req.query.get("start-after").value_or("");
  const std::string marker = req.query.get("marker").value_or("");
  if (v2) {
    lr.continuation = token;
    lr.start_after = start_after;
  } else {
    lr.start_after = marker;
  }
  st::ListResult result;
  if (lr.max_keys > 0) {
    try {
      result = store_.list(bucket, lr);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::invalid_parameter)
        fail("InvalidArgument", "The continuation token provided is incorrect");
      throw;
    }
  }
  const bool owner = !v2 || req.query.get("fetch-owner").value_or("") == "true";
  std::string owner_xml;
  if (owner) {
    if (bucket == kPublicBucket) {
      owner_xml = "<Owner><ID>eodata</ID><DisplayName>eodata</DisplayName></Owner>";
    } else {
      owner_xml = "<Owner><ID>" + xml_escape(c.cred.user_id) + "</ID><DisplayName>" + xml_escape(c.cred.email) +
                  "</DisplayName></Owner>";
    }
  }
  std::string body = fmt::format("<ListBucketResult xmlns=\"{}\"><Name>{}</Name><Prefix>{}</Prefix>", kXmlns,
                                 xml_escape(bucket), enc(lr.prefix));
  if (v2) {
    body += fmt::format("<KeyCount>{}</KeyCount>", result.objects.size() + result.common_prefixes.size());
    if (!token.empty()) body += "<ContinuationToken>" + xml_escape(token) + "</ContinuationToken>";
    if (!start_after.empty()) body += "<StartAfter>" + enc(start_after) + "</StartAfter>";
  } else {
    body += "<Marker>" + enc(marker) + "</Marker>";
  }
  body += fmt::format("<MaxKeys>{}</MaxKeys>", max_keys > 1000 ? 1000 : max_keys);
  if (!lr.delimiter.empty()) body += "<Delimiter>" + enc(lr.delimiter) + "</Delimiter>";
  if (url) body += "<EncodingType>url</EncodingType>";
  body += fmt::format("<IsTruncated>{}</IsTruncated>", result.truncated ? "true" : "false");
  if (result.truncated) {
    if (v2) {
      body += "<NextContinuationToken>" + xml_escape(result.next_continuation) + "</NextContinuationToken>";
    } else {
      std::string last;
      if (!result.objects.empty()) last = result.objects.back().key;
      if (!result.common_prefixes.empty()) last = std::max(last, result.common_prefixes.back());
      body += "<NextMarker>" + enc(last) + "</NextMarker>";
    }
  }
  for (const auto& o : result.objects) {
    const auto meta = object_meta(bucket, o);
    body += "<Contents><Key>" + enc(o.key) + "</Key><LastModified>" + format_iso8601(o.modified) +
            "</LastModified><ETag>" + xml_escape(meta.etag) + "</ETag><Size>" + std::to_string(o.size) + "</Size>" +
            owner_xml + "<StorageClass>STANDARD</StorageClass></Contents>";
  }
  for (const auto& p : result.common_prefixes)
    body += "<CommonPrefixes><Prefix>" + enc(p) + "</Prefix></CommonPrefixes>";
  body += "</ListBucketResult>";
  return xml_response(std::move(body));
}

Response S3Service::delete_objects(const Request& req, const std::string& bucket, const Caller& c) {
  check_bucket(bucket, c, true);
  if (xml_elements(req.body, "Delete").empty()) fail("MalformedXML", "the request body must be a <Delete> document");
  const auto objects = xml_elements(req.body, "Object");
  if (objects.empty() || objects.size() > 1000) fail("MalformedXML", "a <Delete> document names 1 to 1000 objects");
  const bool quiet = xml_value(req.body, "Quiet").value_or("false") == "true";
  std::string body = fmt::format("<DeleteResult xmlns=\"{}\">", kXmlns);
  for (const auto& o : objects) {
    const auto key = xml_value(o, "Key");
    if (!key) fail("MalformedXML", "every <Object> needs a <Key>");
    try {
      st::validate_key(*key);
      delete_object(bucket, *key);
      if (!quiet) body += "<Deleted><Key>" + xml_escape(*key) + "</Key></Deleted>";
    } catch (const Error& e) {
      body += "<Error><Key>" + xml_escape(*key) + "</Key><Code>" +
              (e.code() == ErrorCode::invalid_parameter ? "InvalidArgument" : "InternalError") + "</Code><Message>" +
              xml_escape(e.message()) + "</Message></Error>";
    }
  }
  body += "</DeleteResult>";
  return xml_response(std::move(body));
}

// ---- objects --------------------------------------------------------------------------------------

void check_key(const std::string& key) {
  try {
    st::validate_key(key);
  } catch (const Error& e) {
    if (key.size() > 1024) fail("KeyTooLongError", "Your key is too long");
    fail("InvalidArgument", e.message());
  }
}

Response S3Service::get_object(const Request& req, const std::string& bucket, const std::string& key,
                               const Caller& c) const {
  check_bucket(bucket, c, false);
  check_key(key);
  auto object = store_.open(bucket, key);
  if (!object) fail("NoSuchKey", "The specified key does not exist.");
  const storage::ObjectInfo* info = &object->info();
  const auto meta = object_meta(bucket, *info);
  if (auto im = req.header("If-Match"); im && !http::etag_matches(*im, meta.etag, false)) {
    fail("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  if (auto ius = req.header("If-Unmodified-Since")) {
    if (auto t = parse_http_date(*ius); t && std::chrono::floor<std::chrono::seconds>(info->modified) > *t) {
      fail("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    }
  }
  http::Representation rep;
  rep.content_type = meta.content_type;
  rep.etag = meta.etag;
  rep.last_modified = info->modified;
  Response res = http::ranged_response(req, common::object_source(object), rep);
  if (res.status == 416) {
    Error e = s3_error("InvalidRange", "The requested range is not satisfiable");
    e.with_header("Content-Range", "bytes */" + std::to_string(info->size));
    throw e;
  }
  if (res.stream && req.method != http::Method::head && services_.quotas) {
    // The download limits of the zipper apply (one slot per body, bandwidth, monthly volume);
    // SlowDown is what S3 clients retry with back-off.
    const ds::auth::QuotaSubject subject{c.cred.user_id, c.cred.typology, true};
    ds::auth::QuotaDecision decision;
    auto slot = services_.quotas->open_download(subject, decision);
    if (!slot) {
      std::string message =
          decision.limit_name.ends_with("_connections")
              ? fmt::format("Please reduce your request rate: max session number exceeded ({} concurrent downloads{})",
                            static_cast<long long>(decision.limit),
                            decision.limit_name == "download_degraded_connections"
                                ? "; your monthly download volume is spent"
                                : "")
              : "Please reduce your request rate: monthly download volume exhausted (" + decision.limit_name + ")";
      Error e = s3_error("SlowDown", std::move(message));
      e.with_header("Retry-After",
                    std::to_string(std::max<long long>(
                        1, static_cast<long long>(std::ceil(std::min(decision.retry_after_s, 86400.0))))));
      throw e;
    }
    api::auth::meter_download(res, std::move(slot), *services_.quotas, subject, decision, bucket + "/" + key);
  }
  for (const auto& [name, value] : meta.user) res.headers.set(name, value);
  static const std::pair<std::string_view, std::string_view> overrides[] = {
      {"response-content-type", "Content-Type"},         {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"}, {"response-content-language", "Content-Language"},
      {"response-cache-control", "Cache-Control"},       {"response-expires", "Expires"},
  };
  for (const auto& [param, header] : overrides) {
    if (auto v = req.query.get(param)) res.headers.set(header, *v);
  }
  return res;
}

ObjectMeta meta_from_request(const Request& req) {
  ObjectMeta m;
  m.content_type = std::string(req.header("Content-Type").value_or("binary/octet-stream"));
  for (const auto& [name, value] : req.headers) {
    if (name.size() > 11 && lower(name.substr(0, 11)) == "x-amz-meta-") m.user[lower(name)] = value;
  }
  return m;
}

Response S3Service::put_object(const Request& req, const std::string& bucket, const std::string& key, const Caller& c) {
  auto upload = upload_of(req, bucket, key, c);
  const std::string md5 = upload->finish();
  st::ObjectInfo info;
  try {
    info = upload->writer().commit();
  } catch (const Error& e) {
    fail("InvalidArgument", "cannot store the object under this key: " + std::string(e.message()));
  }
  ObjectMeta meta = meta_from_request(req);
  meta.etag = quote_etag(hex_encode(md5));
  save_meta(bucket, info, meta);
  Response res = Response::empty(200);
  res.headers.set("ETag", meta.etag);
  return res;
}

std::pair<std::string, std::string> parse_copy_source(std::string_view header) {
  std::string src = http::url_decode(header.substr(0, header.find('?')));
  if (!src.empty() && src.front() == '/') src.erase(0, 1);
  const auto slash = src.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == src.size()) {
    fail("InvalidArgument", "x-amz-copy-source must be BUCKET/KEY");
  }
  return {src.substr(0, slash), src.substr(slash + 1)};
}

Response S3Service::copy_object(const Request& req, const std::string& bucket, const std::string& key,
                                const Caller& c) {
  const auto [sb, sk] = parse_copy_source(*req.header("x-amz-copy-source"));
  check_bucket(sb, c, false);
  check_key(sk);
  check_bucket(bucket, c, true);
  check_key(key);
  const auto src = store_.head(sb, sk);
  if (!src) fail("NoSuchKey", "The specified key does not exist.");
  const auto src_meta = object_meta(sb, *src);
  auto reader = store_.get(sb, sk);
  auto writer = store_.put(bucket, key);
  Md5 md5;
  std::vector<char> buf(1 << 20);
  while (true) {
    const auto n = reader->read(buf.data(), buf.size());
    if (n == 0) break;
    md5.update(buf.data(), n);
    writer->write(buf.data(), n);
  }
  st::ObjectInfo info;
  try {
    info = writer->commit();
  } catch (const Error& e) {
    fail("InvalidArgument", "cannot store the object under this key: " + std::string(e.message()));
  }
  ObjectMeta meta =
      req.header("x-amz-metadata-directive").value_or("COPY") == "REPLACE" ? meta_from_request(req) : src_meta;
  meta.etag = quote_etag(hex_encode(md5.raw()));
  save_meta(bucket, info, meta);
  return xml_response(
      fmt::format("<CopyObjectResult xmlns=\"{}\"><LastModified>{}</LastModified><ETag>{}</ETag>"
                  "</CopyObjectResult>",
                  kXmlns, format_iso8601(info.modified), xml_escape(meta.etag)));
}

void S3Service::delete_object(const std::string& bucket, const std::string& key) {
  store_.remove(bucket, key);
  remove_system(meta_key(bucket, key));
}

// ---- multipart uploads ----------------------------------------------------------------------------

std::string upload_dir(const std::string& id) { return "uploads/" + id + "/"; }
std::string part_key(const std::string& id, int n) { return upload_dir(id) + fmt::format("part-{:05}", n); }

nlohmann::json S3Service::load_upload(const std::string& id, const std::string& bucket, const std::string& key,
                                      const Caller& c) const {
  if (id.size() != 32 || !is_hex(id)) fail("NoSuchUpload", "The specified upload does not exist.");
  const auto text = read_system(upload_dir(id) + "upload.json");
  if (!text) fail("NoSuchUpload", "The specified upload does not exist.");
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || j.value("bucket", "") != bucket || j.value("key", "") != key) {
    fail("NoSuchUpload", "The specified upload does not exist.");
  }
  if (j.value("owner", "") != c.cred.user_id) fail("AccessDenied", "Access Denied");
  return j;
}

std::vector<std::pair<int, nlohmann::json>> S3Service::upload_parts(const std::string& id) const {
  std::vector<std::pair<int, nlohmann::json>> out;
  st::ListRequest lr;
  lr.prefix = upload_dir(id) + "part-";
  while (true) {
    const auto page = store_.list(kSystemBucket, lr);
    for (const auto& o : page.objects) {
      if (o.key.size() < 5 || o.key.compare(o.key.size() - 5, 5, ".json") != 0) continue;
      const auto text = read_system(o.key);
      if (!text) continue;
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_discarded()) continue;
      out.emplace_back(j.value("part", 0), std::move(j));
    }
    if (!page.truncated) break;
    lr.continuation = page.next_continuation;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void S3Service::drop_upload(const std::string& id) {
  st::ListRequest lr;
  lr.prefix = upload_dir(id);
  while (true) {
    const auto page = store_.list(kSystemBucket, lr);
    for (const auto& o : page.objects) remove_system(o.key);
    if (!page.truncated) break;
    lr.continuation = page.next_continuation;
  }
}

Response S3Service::create_upload(const Request& req, const std::string& bucket, const std::string& key,
                                  const Caller& c) {
  check_bucket(bucket, c, true);
  check_key(key);
  const std::string id = hex_encode(ds::auth::random_bytes(16));
  const ObjectMeta m = meta_from_request(req);
  nlohmann::json j = {{"bucket", bucket},
                      {"key", key},
                      {"owner", c.cred.user_id},
                      {"initiated", format_iso8601(std::chrono::system_clock::now())},
                      {"content_type", m.content_type},
                      {"user", m.user}};
  write_system(upload_dir(id) + "upload.json", j.dump());
  return xml_response(
      fmt::format("<InitiateMultipartUploadResult xmlns=\"{}\"><Bucket>{}</Bucket><Key>{}</Key>"
                  "<UploadId>{}</UploadId></InitiateMultipartUploadResult>",
                  kXmlns, xml_escape(bucket), xml_escape(key), id));
}

int part_number(const Request& req) {
  const auto text = req.query.get("partNumber").value_or("");
  int n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 1 || n > kMaxParts) {
    fail("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  return n;
}

Response S3Service::upload_part(const Request& req, const std::string& bucket, const std::string& key,
                                const Caller& c) {
  auto upload = upload_of(req, bucket, key, c);
  const int n = part_number(req);
  const std::string id = *req.query.get("uploadId");
  const std::string etag = quote_etag(hex_encode(upload->finish()));
  upload->writer().commit();
  nlohmann::json j = {{"part", n},
                      {"etag", etag},
                      {"size", upload->size()},
                      {"modified", format_iso8601(std::chrono::system_clock::now())}};
  write_system(part_key(id, n) + ".json", j.dump());
  Response res = Response::empty(200);
  res.headers.set("ETag", etag);
  return res;
}

// What the server may stream: a PutObject or UploadPart (not a copy, not a sub-resource).
bool is_object_upload(const Request& req, const std::string& key) {
  return req.method == http::Method::put && !key.empty() && !req.header("x-amz-copy-source") &&
         !has_any(req, {"acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select"});
}

std::shared_ptr<UploadSink> S3Service::make_upload(const Request& req, const std::string& bucket,
                                                   const std::string& key, const Caller& c) {
  check_bucket(bucket, c, true);
  std::unique_ptr<st::ObjectWriter> writer;
  if (req.query.has("uploadId")) {
    const int n = part_number(req);
    const std::string id = *req.query.get("uploadId");
    load_upload(id, bucket, key, c);
    if (req.header("x-amz-copy-source")) fail("NotImplemented", "UploadPartCopy is not supported");
    writer = store_.put(kSystemBucket, part_key(id, n));
  } else {
    check_key(key);
    writer = store_.put(bucket, key);
  }
  return std::make_shared<UploadSink>(c, req, std::move(writer), services_.config.s3_max_object_size);
}

std::shared_ptr<UploadSink> S3Service::upload_of(const Request& req, const std::string& bucket, const std::string& key,
                                                 const Caller& c) {
  if (auto streamed = std::dynamic_pointer_cast<UploadSink>(req.body_sink)) return streamed;
  auto upload = make_upload(req, bucket, key, c);
  upload->write(req.body.data(), req.body.size());
  return upload;
}

std::pair<std::string, std::string> bucket_and_key(const Request& req) {
  std::string_view rest = req.path;
  rest.remove_prefix(std::min(rest.size(), kPrefix.size()));
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const auto slash = rest.find('/');
  std::string bucket = http::url_decode(rest.substr(0, slash));
  std::string key = slash == std::string_view::npos ? std::string() : http::url_decode(rest.substr(slash + 1));
  return {std::move(bucket), std::move(key)};
}

std::shared_ptr<http::BodySink> S3Service::open_upload(Request& req) {
  const auto [bucket, key] = bucket_and_key(req);
  if (bucket.empty() || !is_object_upload(req, key)) return nullptr;
  // Without x-amz-content-sha256 the signature covers a hash of the whole body: buffer it.
  if (req.header("Authorization") && !req.header("x-amz-content-sha256")) return nullptr;
  const Caller c = authenticate(req);
  admit(c);
  return make_upload(req, bucket, key, c);
}

void S3Service::admit(const Caller& c) const {
  if (!services_.quotas) return;
  const ds::auth::QuotaSubject subject{c.cred.user_id, c.cred.typology, true};
  const auto d = services_.quotas->admit_request(subject, "s3");
  if (!d.allowed) {
    Error e = s3_error("SlowDown", fmt::format("Please reduce your request rate ({} exceeded).", d.limit_name));
    e.with_header("Retry-After", std::to_string(static_cast<long long>(std::ceil(d.retry_after_s))));
    throw e;
  }
}

// ---- abandoned multipart uploads ------------------------------------------------------------------

std::size_t S3Service::reap_uploads() {
  if (!store_.bucket_exists(kSystemBucket)) return 0;
  const auto now = std::chrono::system_clock::now();
  const auto expiry = services_.config.s3_multipart_expiry;
  std::vector<std::string> idle;
  st::ListRequest lr;
  lr.prefix = "uploads/";
  lr.delimiter = "/";
  while (true) {
    const auto page = store_.list(kSystemBucket, lr);
    for (const auto& folder : page.common_prefixes) {
      const std::string id = folder.substr(8, folder.size() - 9);
      // The last activity: the upload's start or its latest part, whichever is later. A folder
      // without upload.json is what an interrupted abort left: gone too.
      std::optional<std::chrono::system_clock::time_point> last;
      if (const auto text = read_system(folder + "upload.json")) {
        const auto j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded()) last = ds::parse_iso8601(j.value("initiated", ""));
        if (!last) last = now;  // unreadable: leave it to a later pass rather than guess
      }
      if (last) {
        for (const auto& [n, part] : upload_parts(id)) {
          if (auto t = ds::parse_iso8601(part.value("modified", "")); t && *t > *last) last = *t;
        }
      }
      if (!last || now - *last > expiry) idle.push_back(id);
    }
    if (!page.truncated) break;
    lr.continuation = page.next_continuation;
  }
  for (const auto& id : idle) {
    drop_upload(id);
    log::info("s3: aborted multipart upload {}: no part uploaded for longer than s3.multipart_expiry", id);
  }
  return idle.size();
}

void S3Service::run_reaper() {
  // A few passes per expiry period, at least one a second and at most ten minutes apart.
  const auto interval = std::clamp<std::chrono::milliseconds>(services_.config.s3_multipart_expiry / 4,
                                                              std::chrono::seconds(1), std::chrono::minutes(10));
  std::unique_lock lock(reaper_mutex_);
  while (!stopping_) {
    reaper_cv_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      reap_uploads();
    } catch (const std::exception& e) {
      log::warn("s3: reaping abandoned multipart uploads failed: {}", e.what());
    }
    lock.lock();
  }
}

Response S3Service::list_parts(const Request& req, const std::string& bucket, const std::string& key,
                               const Caller& c) const {
  check_bucket(bucket, c, false);
  const std::string id = *req.query.get("uploadId");
  load_upload(id, bucket, key, c);
  int max_parts = 1000, marker = 0;
  if (auto v = req.query.get("max-parts")) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), max_parts);
    if (ec != std::errc() || max_parts < 0) fail("InvalidArgument", "max-parts must be a non-negative integer");
    max_parts = std::min(max_parts, 1000);
  }
  if (auto v = req.query.get("part-number-marker")) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), marker);
    if (ec != std::errc() || marker < 0) fail("InvalidArgument", "part-number-marker must be a non-negative integer");
  }
  std::string parts;
  int count = 0, last = marker;
  bool truncated = false;
  for (const auto& [n, j] : upload_parts(id)) {
    if (n <= marker) continue;
    if (count == max_parts) {
      truncated = true;
      break;
    }
    parts += fmt::format(
        "<Part><PartNumber>{}</PartNumber><LastModified>{}</LastModified><ETag>{}</ETag>"
        "<Size>{}</Size></Part>",
        n, j.value("modified", ""), xml_escape(j.value("etag", "")), j.value("size", 0));
    last = n;
    ++count;
  }
  return xml_response(fmt::format(
      "<ListPartsResult xmlns=\"{}\"><Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId>"
      "<Initiator><ID>{}</ID><DisplayName>{}</DisplayName></Initiator><Owner><ID>{}</ID><DisplayName>{}</DisplayName>"
      "</Owner><StorageClass>STANDARD</StorageClass><PartNumberMarker>{}</PartNumberMarker>"
      "<NextPartNumberMarker>{}</NextPartNumberMarker><MaxParts>{}</MaxParts><IsTruncated>{}</IsTruncated>{}"
      "</ListPartsResult>",
      kXmlns, xml_escape(bucket), xml_escape(key), id, xml_escape(c.cred.user_id), xml_escape(c.cred.email),
      xml_escape(c.cred.user_id), xml_escape(c.cred.email), marker, last, max_parts, truncated ? "true" : "false",
      parts));
}

Response S3Service::complete_upload(const Request& req, const std::string& bucket, const std::string& key,
                                    const Caller& c) {
  check_bucket(bucket, c, true);
  const std::string id = *req.query.get("uploadId");
  const auto upload = load_upload(id, bucket, key, c);
  if (xml_elements(req.body, "CompleteMultipartUpload").empty()) {
    fail("MalformedXML", "the request body must be a <CompleteMultipartUpload> document");
  }
  const auto wanted = xml_elements(req.body, "Part");
  if (wanted.empty() || wanted.size() > static_cast<std::size_t>(kMaxParts)) {
    fail("MalformedXML", "a <CompleteMultipartUpload> document lists 1 to 10000 parts");
  }
  std::map<int, nlohmann::json> have;
  for (auto& [n, j] : upload_parts(id)) have[n] = std::move(j);
  std::vector<int> numbers;
  int previous = 0;
  for (const auto& p : wanted) {
    const auto num_text = xml_value(p, "PartNumber");
    const auto etag = xml_value(p, "ETag");
    if (!num_text || !etag) fail("MalformedXML", "every <Part> needs a <PartNumber> and an <ETag>");
    int n = 0;
    auto [q, ec] = std::from_chars(num_text->data(), num_text->data() + num_text->size(), n);
    if (ec != std::errc() || n < 1 || n > kMaxParts) fail("MalformedXML", "bad <PartNumber>");
    if (n <= previous) fail("InvalidPartOrder", "The list of parts was not in ascending order.");
    previous = n;
    const auto it = have.find(n);
    if (it == have.end() || unquote_etag(it->second.value("etag", "")) != unquote_etag(*etag)) {
      fail("InvalidPart", fmt::format("One or more of the specified parts could not be found (part {}).", n));
    }
    numbers.push_back(n);
  }
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) {
    if (have[numbers[i]].value("size", std::uint64_t{0}) < kMinPartSize) {
      fail("EntityTooSmall",
           "Your proposed upload is smaller than the minimum allowed size (parts but the last "
           "must be at least 5 MiB)");
    }
  }
  // Assembled by streaming the parts into one atomic write: nothing is visible before commit().
  auto writer = store_.put(bucket, key);
  std::string md5s;
  std::vector<char> buf(1 << 20);
  for (int n : numbers) {
    auto reader = store_.get(kSystemBucket, part_key(id, n));
    Md5 md5;
    while (true) {
      const auto got = reader->read(buf.data(), buf.size());
      if (got == 0) break;
      md5.update(buf.data(), got);
      writer->write(buf.data(), got);
    }
    md5s += md5.raw();
  }
  st::ObjectInfo info;
  try {
    info = writer->commit();
  } catch (const Error& e) {
    fail("InvalidArgument", "cannot store the object under this key: " + std::string(e.message()));
  }
  ObjectMeta meta;
  meta.etag = quote_etag(hex_encode(md5_raw(md5s)) + "-" + std::to_string(numbers.size()));
  meta.content_type = upload.value("content_type", "binary/octet-stream");
  if (upload.contains("user")) meta.user = upload["user"].get<std::map<std::string, std::string>>();
  save_meta(bucket, info, meta);
  drop_upload(id);
  const std::string location =
      req.base_url + std::string(kPrefix) + "/" + aws_uri_encode(bucket, true) + "/" + aws_uri_encode(key, false);
  return xml_response(
      fmt::format("<CompleteMultipartUploadResult xmlns=\"{}\"><Location>{}</Location>"
                  "<Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                  kXmlns, xml_escape(location), xml_escape(bucket), xml_escape(key), xml_escape(meta.etag)));
}

Response S3Service::abort_upload(const Request& req, const std::string& bucket, const std::string& key,
                                 const Caller& c) {
  check_bucket(bucket, c, true);
  const std::string id = *req.query.get("uploadId");
  load_upload(id, bucket, key, c);
  drop_upload(id);
  return Response::empty(204);
}

Response S3Service::list_uploads(const Request& req, const std::string& bucket, const Caller& c) const {
  check_bucket(bucket, c, false);
  const std::string prefix = req.query.get("prefix").value_or("");
  const std::string key_marker = req.query.get("key-marker").value_or("");
  const std::string id_marker = req.query.get("upload-id-marker").value_or("");
  int max_uploads = 1000;
  if (auto v = req.query.get("max-uploads")) {
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), max_uploads);
    if (ec != std::errc() || p != v->data() + v->size() || max_uploads < 0) {
      fail("InvalidArgument", "max-uploads must be a non-negative integer");
    }
    max_uploads = std::min(max_uploads, 1000);
  }
  // (key, upload id, initiated) of this owner's uploads into this bucket, in S3's order.
  std::vector<std::tuple<std::string, std::string, std::string>> uploads;
  if (store_.bucket_exists(kSystemBucket)) {
    st::ListRequest lr;
    lr.prefix = "uploads/";
    lr.delimiter = "/";
    while (true) {
      const auto page = store_.list(kSystemBucket, lr);
      for (const auto& folder : page.common_prefixes) {
        const auto text = read_system(folder + "upload.json");
        if (!text) continue;
        const auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_discarded() || j.value("bucket", "") != bucket || j.value("owner", "") != c.cred.user_id) continue;
        const std::string key = j.value("key", "");
        if (key.rfind(prefix, 0) != 0) continue;
        const std::string id = folder.substr(8, folder.size() - 9);
        uploads.emplace_back(key, id, j.value("initiated", ""));
      }
      if (!page.truncated) break;
      lr.continuation = page.next_continuation;
    }
  }
  std::sort(uploads.begin(), uploads.end());
  std::string body;
  int count = 0;
  bool truncated = false;
  std::string next_key, next_id;
  for (const auto& [key, id, initiated] : uploads) {
    if (!key_marker.empty() && (key < key_marker || (key == key_marker && (id_marker.empty() || id <= id_marker)))) {
      continue;
    }
    if (count == max_uploads) {
      truncated = true;
      break;
    }
    body += fmt::format(
        "<Upload><Key>{}</Key><UploadId>{}</UploadId><Initiator><ID>{}</ID></Initiator><Owner><ID>{}"
        "</ID></Owner><StorageClass>STANDARD</StorageClass><Initiated>{}</Initiated></Upload>",
        xml_escape(key), id, xml_escape(c.cred.user_id), xml_escape(c.cred.user_id), initiated);
    next_key = key;
    next_id = id;
    ++count;
  }
  return xml_response(fmt::format(
      "<ListMultipartUploadsResult xmlns=\"{}\"><Bucket>{}</Bucket><KeyMarker>{}</KeyMarker>"
      "<UploadIdMarker>{}</UploadIdMarker><NextKeyMarker>{}</NextKeyMarker><NextUploadIdMarker>{}</NextUploadIdMarker>"
      "<Prefix>{}</Prefix><MaxUploads>{}</MaxUploads><IsTruncated>{}</IsTruncated>{}</ListMultipartUploadsResult>",
      kXmlns, xml_escape(bucket), xml_escape(key_marker), xml_escape(id_marker), xml_escape(truncated ? next_key : ""),
      truncated ? next_id : "", xml_escape(prefix), max_uploads, truncated ? "true" : "false", body));
}

// ---- dispatch -------------------------------------------------------------------------------------

Response S3Service::handle(Request& req) {
  const auto [bucket, key] = bucket_and_key(req);

  Caller c = authenticate(req);
  req.ctx.auth.user_id = c.cred.user_id;
  req.ctx.auth.email = c.cred.email;
  req.ctx.auth.typology = std::string(ds::auth::typology_name(c.cred.typology));
  req.ctx.principal = c.cred.user_id;
  if (!req.body_sink) admit(c);  // a streamed upload was admitted before its body was accepted
  // Uploads are decoded by their UploadSink (streamed in by the server, or fed the buffered body).
  if (!is_object_upload(req, key)) decode_body(req, c);

  const auto m = req.method;
  const bool get = m == http::Method::get || m == http::Method::head;
  Response res;
  if (bucket.empty()) {
    if (!get) fail("MethodNotAllowed", "The specified method is not allowed against this resource.");
    res = list_buckets(req, c);
  } else if (key.empty()) {
    static const std::initializer_list<std::string_view> unsupported = {
        "acl",     "policy",       "versioning", "tagging",     "lifecycle", "cors",       "website",
        "logging", "notification", "encryption", "object-lock", "versions",  "replication"};
    if (get && req.query.has("location")) {
      check_bucket(bucket, c, false);
      res = xml_response(
          fmt::format("<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>", kXmlns, xml_escape(region_)));
    } else if (get && req.query.has("uploads")) {
      res = list_uploads(req, bucket, c);
    } else if (m == http::Method::post && req.query.has("delete")) {
      res = delete_objects(req, bucket, c);
    } else if (has_any(req, unsupported)) {
      fail("NotImplemented", "This bucket sub-resource is not supported by this server");
    } else if (m == http::Method::head) {
      check_bucket(bucket, c, false);
      res = Response::empty(200);
      res.headers.set("x-amz-bucket-region", region_);
    } else if (get) {
      res = list_objects(req, bucket, c);
    } else if (m == http::Method::put) {
      res = create_bucket(req, bucket, c);
    } else if (m == http::Method::delete_) {
      res = delete_bucket(bucket, c);
    } else {
      fail("MethodNotAllowed", "The specified method is not allowed against this resource.");
    }
  } else {
    const bool upload = req.query.has("uploadId");
    if (get && upload) {
      res = list_parts(req, bucket, key, c);
    } else if (has_any(req, {"acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select"})) {
      fail("NotImplemented", "This object sub-resource is not supported by this server");
    } else if (get) {
      res = get_object(req, bucket, key, c);
    } else if (m == http::Method::put && upload) {
      res = upload_part(req, bucket, key, c);
    } else if (m == http::Method::put && req.header("x-amz-copy-source")) {
      res = copy_object(req, bucket, key, c);
    } else if (m == http::Method::put) {
      res = put_object(req, bucket, key, c);
    } else if (m == http::Method::post && req.query.has("uploads")) {
      res = create_upload(req, bucket, key, c);
    } else if (m == http::Method::post && upload) {
      res = complete_upload(req, bucket, key, c);
    } else if (m == http::Method::delete_ && upload) {
      res = abort_upload(req, bucket, key, c);
    } else if (m == http::Method::delete_) {
      check_bucket(bucket, c, true);
      check_key(key);
      delete_object(bucket, key);
      res = Response::empty(204);
    } else {
      fail("MethodNotAllowed", "The specified method is not allowed against this resource.");
    }
  }
  res.headers.set("x-amz-request-id", req.ctx.request_id);
  return res;
}

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  router.error_renderers().set(http::ErrorFormat::s3, render_error);
  router.set_prefix_error_format(std::string(kPrefix), http::ErrorFormat::s3);
  if (!services.objects) return;
  auto s3 = std::make_shared<S3Service>(services);
  http::Handler handler = [s3](Request& req) { return s3->handle(req); };
  router.stream_bodies(std::string(kPrefix) + "/", services.config.s3_max_object_size,
                       [s3](Request& req) { return s3->open_upload(req); });
  for (const char* path : {"/s3", "/s3/{bucket}", "/s3/{bucket}/{key:path}"}) {
    for (auto m :
         {http::Method::get, http::Method::head, http::Method::put, http::Method::post, http::Method::delete_}) {
      router.add(m, path, handler, http::ErrorFormat::s3);
    }
  }
  // No landing-page link: the landing page lists what answers an anonymous GET, and /s3 needs a
  // signature.
}

}  // namespace ds::api::s3
