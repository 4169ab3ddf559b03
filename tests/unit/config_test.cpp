#include <fstream>

#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace {

std::filesystem::path write_toml(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("ds_config_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Config, DefaultsWhenNothingIsGiven) {
  auto c = ds::load_config(std::nullopt, {}, {});
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir, "var");
  EXPECT_EQ(c.http.body_limit, 16u * 1024 * 1024);
}

TEST(Config, FileThenEnvironmentThenFlags_LaterWins) {
  auto file = write_toml(
      "listen = \"127.0.0.1:9000\"\ndata = \"/srv/a\"\n[http]\nbody_limit = \"2MiB\"\nidle_timeout = \"5s\"\n");
  auto c = ds::load_config(file, {{"DATASPACE_DATA", "/srv/b"}, {"DATASPACE_HTTP_IDLE_TIMEOUT", "750ms"}},
                           {{"data", "/srv/c"}});
  EXPECT_EQ(c.listen, "127.0.0.1:9000");  // file only
  EXPECT_EQ(c.data_dir, "/srv/c");        // flag beats env beats file
  EXPECT_EQ(c.http.body_limit, 2u << 20);
  EXPECT_EQ(c.http.idle_timeout, std::chrono::milliseconds(750));  // env beats file
  std::filesystem::remove(file);
}

TEST(Config, UnknownKeyInFile_IsRejectedByName) {
  auto file = write_toml("[http]\nbody_limt = 5\n");
  try {
    ds::load_config(file, {}, {});
    FAIL() << "expected an error";
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::invalid_parameter);
    EXPECT_NE(e.message().find("http.body_limt"), std::string::npos);
  }
  std::filesystem::remove(file);
}

TEST(Config, BadValue_NamesSettingAndSource) {
  try {
    ds::load_config(std::nullopt, {{"DATASPACE_HTTP_BODY_LIMIT", "lots"}}, {});
    FAIL() << "expected an error";
  } catch (const ds::Error& e) {
    EXPECT_NE(e.message().find("http.body_limit"), std::string::npos);
    EXPECT_NE(e.message().find("DATASPACE_HTTP_BODY_LIMIT"), std::string::npos);
  }
  EXPECT_THROW(ds::load_config(std::nullopt, {}, {{"listen", "nowhere"}}), ds::Error);
  EXPECT_THROW(ds::load_config(std::nullopt, {}, {{"log.level", "loud"}}), ds::Error);
}

TEST(Config, ParsesSizesAndDurations) {
  EXPECT_EQ(ds::parse_size("16MiB"), 16u << 20);
  EXPECT_EQ(ds::parse_size("512k"), 512u << 10);
  EXPECT_EQ(ds::parse_size("100"), 100u);
  EXPECT_FALSE(ds::parse_size("-1"));
  EXPECT_FALSE(ds::parse_size("1XB"));
  EXPECT_EQ(ds::parse_duration("10s"), std::chrono::milliseconds(10'000));
  EXPECT_EQ(ds::parse_duration("2m"), std::chrono::milliseconds(120'000));
  EXPECT_EQ(ds::parse_duration("30"), std::chrono::milliseconds(30'000));
  EXPECT_FALSE(ds::parse_duration("soon"));
}

TEST(Config, EnvironmentNamesFollowSettingNames) {
  EXPECT_EQ(ds::config_env_name("http.body_limit"), "DATASPACE_HTTP_BODY_LIMIT");
  EXPECT_EQ(ds::config_env_name("listen"), "DATASPACE_LISTEN");
}

TEST(Config, SplitListen_HandlesIpv6AndRejectsGarbage) {
  EXPECT_EQ(ds::split_listen("[::1]:8080"), (std::pair<std::string, unsigned short>{"::1", 8080}));
  EXPECT_EQ(ds::split_listen("0.0.0.0:0").second, 0);
  EXPECT_THROW(ds::split_listen("host:99999"), ds::Error);
  EXPECT_THROW(ds::split_listen(":80"), ds::Error);
}
