// The product metadata readers (src/ingest/) against real fixture metadata, CDSE's own extraction
// of three fixture zips, our synthetic products, and broken input.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include <cpl_minixml.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_geometry.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "ingest/reader.hpp"
#include "synth/generator.hpp"

namespace fs = std::filesystem;
using ds::catalog::Attribute;
using ds::catalog::AttributeType;
using ds::catalog::Product;

namespace {

const fs::path kFixtures = DATASPACE_FIXTURES_DIR;

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("ingest-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path / "eodata");
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::unique_ptr<ds::storage::ObjectStore> store_at(const fs::path& root) { return ds::storage::make_local_store(root); }

// Copies a fixture folder to <root>/eodata/<key>.
void copy_dir(const fs::path& from, const fs::path& root, const std::string& key) {
  fs::create_directories(root / "eodata" / key);
  fs::copy(from, root / "eodata" / key, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Copies every file of a zip into the store through GDAL's /vsizip/; returns the top folder name.
std::string unzip_to_store(const fs::path& zip, ds::storage::ObjectStore& store) {
  const std::string base = "/vsizip/" + zip.string();
  char** entries = VSIReadDirRecursive(base.c_str());
  std::string top;
  for (char** e = entries; e != nullptr && *e != nullptr; ++e) {
    std::string rel = *e;
    VSIStatBufL st;
    const std::string path = base + "/" + rel;
    if (VSIStatL(path.c_str(), &st) != 0 || VSI_ISDIR(st.st_mode)) continue;
    if (top.empty()) top = rel.substr(0, rel.find('/'));
    VSILFILE* f = VSIFOpenL(path.c_str(), "rb");
    EXPECT_NE(f, nullptr) << path;
    if (f == nullptr) continue;
    auto writer = store.put("eodata", rel);
    std::vector<char> buf(1 << 16);
    for (;;) {
      size_t n = VSIFReadL(buf.data(), 1, buf.size(), f);
      if (n == 0) break;
      writer->write(buf.data(), n);
    }
    VSIFCloseL(f);
    writer->commit();
  }
  CSLDestroy(entries);
  return top;
}

Product read_product(ds::storage::ObjectStore& store, const std::string& key) {
  static const auto readers = ds::ingest::builtin_readers();
  const std::string name = key.substr(key.rfind('/') + 1);
  const auto* reader = ds::ingest::find_reader(readers, name);
  if (reader == nullptr) throw std::runtime_error("no reader accepts " + name);
  return reader->read(store, "eodata", key);
}

void expect_sane(const Product& p) {
  EXPECT_EQ(p.id, ds::catalog::product_uuid(p.name));
  EXPECT_FALSE(p.collection.empty());
  EXPECT_FALSE(p.product_type.empty());
  EXPECT_LE(p.sensing_start, p.sensing_end);
  OGRGeometry* g = nullptr;
  ASSERT_EQ(OGRGeometryFactory::createFromWkt(p.footprint_wkt.c_str(), nullptr, &g), OGRERR_NONE) << p.footprint_wkt;
  EXPECT_TRUE(g->IsValid()) << p.name << " " << p.footprint_wkt;
  OGREnvelope env;
  g->getEnvelope(&env);
  EXPECT_GE(env.MinX, -180.0);
  EXPECT_LE(env.MaxX, 180.0);
  EXPECT_GE(env.MinY, -90.0);
  EXPECT_LE(env.MaxY, 90.0);
  OGRGeometryFactory::destroyGeometry(g);
  EXPECT_FALSE(p.attributes.empty());
  EXPECT_FALSE(p.assets.empty()) << p.name;
  std::set<std::string> keys;
  for (const auto& a : p.assets) EXPECT_TRUE(keys.insert(a.key).second) << "duplicate asset key " << a.key;
}

bool footprint_contains(const Product& p, double lon, double lat) {
  OGRGeometry* g = nullptr;
  if (OGRGeometryFactory::createFromWkt(p.footprint_wkt.c_str(), nullptr, &g) != OGRERR_NONE) return false;
  OGRPoint pt(lon, lat);
  bool inside = g->Contains(&pt);
  OGRGeometryFactory::destroyGeometry(g);
  return inside;
}

#define REQUIRE_FIXTURES() \
  if (!fs::exists(kFixtures)) GTEST_SKIP() << "fixtures not found at " << kFixtures.string()

std::vector<fs::path> dirs_matching(const fs::path& parent, const std::string& suffix) {
  std::vector<fs::path> out;
  if (!fs::exists(parent)) return out;
  for (const auto& e : fs::directory_iterator(parent)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && n.size() > suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(e.path());
    }
  }
  return out;
}

}  // namespace

TEST(IngestReaders, Registry_HasOneReaderPerFormat_WithDottedIds) {
  auto readers = ds::ingest::builtin_readers();
  std::set<std::string> ids;
  for (const auto& r : readers) ids.insert(r->id());
  EXPECT_EQ(ids, (std::set<std::string>{"reader.s2-safe", "reader.s1-safe", "reader.s3-sen3", "reader.s5p-netcdf",
                                        "reader.dem-cog", "reader.plain-cog"}));
  EXPECT_EQ(ds::ingest::find_reader(readers, "S2_CLOUDLESS_2022_T32TPS")->id(), "reader.plain-cog");
  EXPECT_EQ(ds::ingest::find_reader(readers, "my_field_survey_20220617.cog")->id(), "reader.plain-cog");
  EXPECT_EQ(ds::ingest::find_reader(readers, "notes"), nullptr);
  EXPECT_EQ(
      ds::ingest::find_reader(readers, "S2B_MSIL2A_20220612T100558_N0400_R022_T32TPS_20220612T133542_COG.SAFE")->id(),
      "reader.s2-safe");
}

TEST(IngestReaders, EveryFixtureMetadata_ParsesWithoutThrowing) {
  REQUIRE_FIXTURES();
  TempDir tmp;
  std::vector<std::string> keys;
  auto add = [&](const fs::path& dir) {
    copy_dir(dir, tmp.path, "fx/" + dir.filename().string());
    keys.push_back("fx/" + dir.filename().string());
  };
  for (const char* sub : {"sentinel-2/l1c", "sentinel-2/l2a"})
    for (auto& d : dirs_matching(kFixtures / sub, ".SAFE")) add(d);
  for (const char* sub : {"sentinel-1/grd", "sentinel-1/slc"})
    for (auto& d : dirs_matching(kFixtures / sub, ".SAFE")) add(d);
  for (auto& d : dirs_matching(kFixtures / "sentinel-3/manifests", ".SEN3")) add(d);
  for (const char* sub : {"cop-dem/glo-30", "cop-dem/glo-90"})
    for (auto& d : dirs_matching(kFixtures / sub, "_DEM")) add(d);
  for (const auto& e : fs::directory_iterator(kFixtures / "sentinel-5p/nc-header-only")) {
    const std::string stem = e.path().stem().string();
    fs::create_directories(tmp.path / "eodata" / "fx" / stem);
    fs::copy_file(e.path(), tmp.path / "eodata" / "fx" / stem / (stem + ".nc"));
    keys.push_back("fx/" + stem);
  }
  EXPECT_GE(keys.size(), 25u);
  auto store = store_at(tmp.path);
  for (const auto& key : keys) {
    SCOPED_TRACE(key);
    Product p;
    ASSERT_NO_THROW(p = read_product(*store, key));
    EXPECT_EQ(p.key, key);
    EXPECT_FALSE(p.footprint_wkt.empty());
    EXPECT_FALSE(p.attributes.empty());
  }
  // T01KAB (N0509) straddles the antimeridian: its footprint is split.
  auto p = read_product(*store, "fx/S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.SAFE");
  EXPECT_EQ(p.footprint_wkt.rfind("MULTIPOLYGON", 0), 0u) << p.footprint_wkt;
  expect_sane(p);
  EXPECT_TRUE(footprint_contains(p, 179.5, -16.8));
  EXPECT_TRUE(footprint_contains(p, -179.8, -16.8));
}

namespace {

// An extract value compared with ours; timestamps as instants, doubles with a relative tolerance.
void expect_attribute(const Product& p, const std::string& ours, const nlohmann::json& expected) {
  SCOPED_TRACE(ours);
  const Attribute* a = p.attribute(ours);
  ASSERT_NE(a, nullptr) << "attribute not produced";
  const std::string type = expected.at("Type");
  const auto& v = expected.at("Value");
  if (type == "String") {
    ASSERT_EQ(a->type(), AttributeType::string);
    EXPECT_EQ(std::get<std::string>(a->value), v.get<std::string>());
  } else if (type == "Int64" || type == "Integer") {
    ASSERT_EQ(a->type(), AttributeType::integer);
    EXPECT_EQ(std::get<std::int64_t>(a->value), v.get<std::int64_t>());
  } else if (type == "Double") {
    ASSERT_EQ(a->type(), AttributeType::double_);
    EXPECT_NEAR(std::get<double>(a->value), v.get<double>(), 1e-9 * std::max(1.0, std::abs(v.get<double>())));
  } else if (type == "Boolean") {
    ASSERT_EQ(a->type(), AttributeType::boolean);
    bool b = v.is_boolean() ? v.get<bool>() : (v.get<std::string>() == "TRUE" || v.get<std::string>() == "true");
    EXPECT_EQ(std::get<bool>(a->value), b);
  } else if (type == "DateTimeOffset") {
    ASSERT_EQ(a->type(), AttributeType::datetime);
    // Parse the expected text with the same rules as an OData client would: ISO 8601, UTC.
    std::string s = v.get<std::string>();
    Product probe;
    std::tm tm{};
    int y, mo, d, h, mi;
    double sec;
    ASSERT_EQ(std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lfZ", &y, &mo, &d, &h, &mi, &sec), 6) << s;
    using namespace std::chrono;
    auto t = sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}} + hours{h} +
             minutes{mi} + microseconds{static_cast<std::int64_t>(std::llround(sec * 1e6))};
    auto got = std::get<ds::catalog::Time>(a->value);
    EXPECT_LE(std::abs(duration_cast<microseconds>(got - t).count()), 1) << s;
    (void)tm;
    (void)probe;
  } else {
    FAIL() << "unexpected extract type " << type;
  }
}

// Footprint: same vertices as the extract's POLYGON (within 1e-6 degrees).
void expect_same_ring(const Product& p, const std::string& expected_wkt) {
  OGRGeometry *a = nullptr, *b = nullptr;
  ASSERT_EQ(OGRGeometryFactory::createFromWkt(p.footprint_wkt.c_str(), nullptr, &a), OGRERR_NONE);
  ASSERT_EQ(OGRGeometryFactory::createFromWkt(expected_wkt.c_str(), nullptr, &b), OGRERR_NONE);
  OGRGeometry* diff = a->SymDifference(b);
  ASSERT_NE(diff, nullptr);
  EXPECT_LT(OGR_G_Area(OGRGeometry::ToHandle(diff)), 1e-9) << p.footprint_wkt << " vs " << expected_wkt;
  OGRGeometryFactory::destroyGeometry(diff);
  OGRGeometryFactory::destroyGeometry(a);
  OGRGeometryFactory::destroyGeometry(b);
}

struct ZipCase {
  fs::path zip;
  fs::path extract;
  // Extract names that are eometadatatool's own vocabulary, mapped to the CDSE names we produce.
  std::map<std::string, std::string> renamed;
  // Extract attributes deliberately not produced as attributes, each for a reason:
  //   Collection, filename, filepath, identifier: eometadatatool's bookkeeping (its internal collection code,
  //     the zip's name and path); the product name is Product::name.
  //   coordinates: the footprint, compared with Product::footprint_wkt instead.
  std::set<std::string> not_produced;
};

void check_zip(const ZipCase& c) {
  TempDir tmp;
  auto store = store_at(tmp.path);
  const std::string key = unzip_to_store(c.zip, *store);
  ASSERT_FALSE(key.empty());
  const Product p = read_product(*store, key);
  expect_sane(p);
  nlohmann::json extract = nlohmann::json::parse(std::ifstream(c.extract));
  expect_same_ring(p, extract.at("coordinates").at("Value"));
  for (const auto& [name, value] : extract.items()) {
    if (c.not_produced.count(name) != 0 || name == "coordinates") continue;
    auto it = c.renamed.find(name);
    expect_attribute(p, it == c.renamed.end() ? name : it->second, value);
  }
}

const std::set<std::string> kBookkeeping = {"Collection", "filename", "filepath", "identifier"};

}  // namespace

TEST(IngestReaders, S2L1CZip_MatchesEometadatatoolExtract) {
  REQUIRE_FIXTURES();
  ZipCase c;
  c.zip = kFixtures / "sentinel-2/l1c/zip/S2A_MSIL1C_20230216T044851_N0509_R076_T46UEU_20230216T000000.SAFE.zip";
  c.extract = kFixtures /
              "sentinel-2/l1c/zip/"
              "S2A_MSIL1C_20230216T044851_N0509_R076_T46UEU_20230216T000000.SAFE.eometadatatool-extract.json";
  c.renamed = {{"eop:acquisitionDate", "beginningDateTime"},
               {"gml:beginPosition", "beginningDateTime"},
               {"gml:endPosition", "endingDateTime"},
               {"gml:timePosition", "processingDate"},
               {"eop:processingDate", "processingDate"},
               {"eop:archivingCenter", "processingCenter"},
               {"eop:instrumentShortName", "instrumentShortName"},
               {"eop:orbitDirection", "orbitDirection"},
               {"eop:orbitNumber", "orbitNumber"},
               {"eop:relativeOrbitNumber", "relativeOrbitNumber"},
               {"eop:platformSerialIdentifier", "platformSerialIdentifier"},
               {"eop:processingLevel", "processingLevel"},
               {"eop:processorVersion", "processorVersion"},
               {"eop:productType", "productType"},
               {"eop:tileId", "tileId"},
               {"opt:cloudCoverPercentage", "cloudCover"},
               {"s2msi:cloudyPixelPercentage", "cloudyPixelPercentage"},
               {"s2msi:dataTakeType", "operationalMode"},
               {"s2msi:datastripId", "datastripId"},
               {"s2msi:degradedANCdataPercentage", "degradedANCdataPercentage"},
               {"s2msi:degradedMSIdataPercentage", "degradedMSIdataPercentage"},
               {"s2msi:productGroupId", "productGroupId"},
               {"s2msi:productUri", "productUri"},
               {"s2msi:productionDEMtype", "productionDEMtype"},
               {"s2msi:qualityStatus", "qualityStatus"},
               {"s2msi:reflectanceConversion", "reflectanceConversion"},
               {"s2msi:tileId", "granuleIdentifier"}};
  c.not_produced = kBookkeeping;
  // eop:platformShortName is "Sentinel-2" in the extract; CDSE's attribute is "SENTINEL-2" (checked below).
  // productType "MSI_L1C" is eometadatatool's internal type; CDSE's productType is eop:productType (S2MSI1C).
  // Constants of the EOP vocabulary with no CDSE attribute: acquisitionType, browse (the quicklook is an
  // asset), instrumentDescription, instrumentType, nativeProductFormat, platformOrbitType, sensorResolution,
  // sensorType, status, srs.
  // s2msi:illuminationZenithAngle (162.3) is not in MTD_MSIL1C/MTD_TL (mean sun zenith there is 62.3); its
  // source in eometadatatool is unclear, so we do not invent it.
  for (const char* n :
       {"eop:platformShortName", "productType", "eop:acquisitionType", "eop:browse", "eop:instrumentDescription",
        "eop:instrumentType", "eop:nativeProductFormat", "eop:platformOrbitType", "eop:sensorResolution",
        "eop:sensorType", "eop:status", "srs", "s2msi:illuminationZenithAngle"}) {
    c.not_produced.insert(n);
  }
  check_zip(c);
  TempDir tmp;
  auto store = store_at(tmp.path);
  auto p = read_product(*store, unzip_to_store(c.zip, *store));
  EXPECT_EQ(std::get<std::string>(p.attribute("platformShortName")->value), "SENTINEL-2");
  EXPECT_EQ(p.collection, "SENTINEL-2");
  EXPECT_EQ(p.product_type, "S2MSI1C");
  EXPECT_FALSE(p.quicklook.empty());
}

TEST(IngestReaders, S1GrdZip_MatchesEometadatatoolExtract) {
  REQUIRE_FIXTURES();
  ZipCase c;
  c.zip = kFixtures / "sentinel-1/grd/zip/S1A_IW_GRDH_1SDV_20220621T075323_20220621T075348_043758_053961_0000.SAFE.zip";
  c.extract = kFixtures /
              "sentinel-1/grd/zip/"
              "S1A_IW_GRDH_1SDV_20220621T075323_20220621T075348_043758_053961_0000.SAFE.eometadatatool-extract.json";
  c.not_produced = kBookkeeping;
  check_zip(c);
}

TEST(IngestReaders, S3OlciTinyZip_MatchesEometadatatoolExtract) {
  REQUIRE_FIXTURES();
  ZipCase c;
  const std::string name =
      "S3B_OL_1_EFR____20230311T214926_20230311T214926_20230312T085631_0000_077_100_4320_PS2_O_NT_003.SEN3";
  c.zip = kFixtures / "sentinel-3/olci-efr-tiny" / (name + ".zip");
  c.extract = kFixtures / "sentinel-3/olci-efr-tiny" / (name + ".eometadatatool-extract.json");
  c.not_produced = kBookkeeping;
  check_zip(c);
}

namespace {

double mtd_cloud(const fs::path& mtd) {
  CPLXMLNode* root = CPLParseXMLFile(mtd.string().c_str());
  if (root == nullptr) return -1;
  CPLStripXMLNamespace(root, nullptr, TRUE);
  const char* v =
      CPLGetXMLValue(root, "=Level-2A_User_Product.Quality_Indicators_Info.Cloud_Coverage_Assessment", nullptr);
  if (v == nullptr)
    v = CPLGetXMLValue(root, "=Level-1C_User_Product.Quality_Indicators_Info.Cloud_Coverage_Assessment", nullptr);
  double out = v != nullptr ? std::stod(v) : -1;
  CPLDestroyXMLNode(root);
  return out;
}

}  // namespace

TEST(IngestReaders, SynthProducts_AllRead_WithSaneFootprintsAndExistingAssets) {
  TempDir tmp;
  ds::synth::SynthOptions o;
  o.data_dir = tmp.path / "data";
  o.region = ds::synth::parse_region("bolzano");
  o.from_day = ds::synth::days_from_civil(2022, 6, 12);
  o.to_day = ds::synth::days_from_civil(2022, 6, 13);
  o.missions = {"s1", "s2", "s3", "s5p", "dem"};
  o.scale = 10;
  ds::synth::run_synth(o);
  const fs::path eodata = ds::synth::eodata_root(o.data_dir);
  auto store = store_at(eodata.parent_path());
  auto readers = ds::ingest::builtin_readers();
  std::map<std::string, int> per_collection;
  for (auto it = fs::recursive_directory_iterator(eodata); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) continue;
    const std::string name = it->path().filename().string();
    const auto* reader = ds::ingest::find_reader(readers, name);
    if (reader == nullptr) continue;
    it.disable_recursion_pending();
    const std::string key = fs::relative(it->path(), eodata).generic_string();
    SCOPED_TRACE(key);
    Product p;
    ASSERT_NO_THROW(p = reader->read(*store, "eodata", key));
    expect_sane(p);
    ++per_collection[p.collection];
    std::uint64_t sum = 0;
    for (const auto& a : p.assets) {
      EXPECT_TRUE(fs::exists(it->path() / a.path)) << a.path;
      EXPECT_EQ(a.size, fs::file_size(it->path() / a.path)) << a.path;
      sum += a.size;
    }
    EXPECT_GE(p.content_length, sum);
    if (p.collection == "SENTINEL-2") {
      EXPECT_TRUE(footprint_contains(p, 11.35, 46.49)) << p.footprint_wkt;
      const std::string mtd = p.product_type == "S2MSI1C" ? "MTD_MSIL1C.xml" : "MTD_MSIL2A.xml";
      ASSERT_NE(p.attribute("cloudCover"), nullptr);
      EXPECT_DOUBLE_EQ(std::get<double>(p.attribute("cloudCover")->value), mtd_cloud(it->path() / mtd));
      EXPECT_EQ(std::get<std::string>(p.attribute("tileId")->value), "32TPS");
      bool has_b04 = false;
      for (const auto& a : p.assets) has_b04 = has_b04 || a.key == "B04_10m" || a.key == "B04";
      EXPECT_TRUE(has_b04);
    }
    if (p.collection == "SENTINEL-1") {
      bool vv = false;
      for (const auto& a : p.assets) vv = vv || a.key == "vv";
      EXPECT_TRUE(vv);
      EXPECT_EQ(p.product_type, name.find("_COG") != std::string::npos ? "IW_GRDH_1S-COG" : "IW_GRDH_1S");
    }
    if (p.collection == "SENTINEL-3") {
      bool oa01 = false;
      for (const auto& a : p.assets) oa01 = oa01 || a.key == "Oa01_radiance";
      EXPECT_TRUE(oa01);
    }
    if (p.collection == "SENTINEL-5P") {
      // The outline of the swath grid, not the 4-corner bounding box.
      EXPECT_EQ(p.footprint_wkt.rfind("POLYGON((", 0), 0u) << p.footprint_wkt;
      EXPECT_GT(std::count(p.footprint_wkt.begin(), p.footprint_wkt.end(), ','), 20) << p.footprint_wkt;
    }
    if (p.collection == "GLOBAL-MOSAICS") {
      EXPECT_EQ(p.product_type, "S2MSI_L3__MCQ");
      EXPECT_EQ(std::get<std::string>(p.attribute("tileId")->value), "32TPS");
      bool b04 = false;
      for (const auto& a : p.assets) b04 = b04 || (a.key == "B04" && a.bands == std::vector<std::string>{"B04"});
      EXPECT_TRUE(b04);
    }
    if (p.collection != "COP-DEM") {
      EXPECT_TRUE(footprint_contains(p, 11.35, 46.49) || p.collection == "SENTINEL-1") << p.name << p.footprint_wkt;
    }
  }
  for (const char* c : {"SENTINEL-1", "SENTINEL-2", "SENTINEL-3", "SENTINEL-5P", "COP-DEM"}) {
    EXPECT_GE(per_collection[c], 1) << c;
  }
  EXPECT_GE(per_collection["GLOBAL-MOSAICS"], 1);
}

namespace {

void expect_unprocessable_naming(const std::function<void()>& f, const std::string& file) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::unprocessable);
    EXPECT_NE(e.message().find(file), std::string::npos) << e.message();
  }
}

}  // namespace

TEST(IngestReaders, TruncatedMtd_ThrowsUnprocessable_NamingTheFile) {
  REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string name = "S2B_MSIL2A_20220413T150759_N0400_R025_T33XWJ_20220414T082126.SAFE";
  copy_dir(kFixtures / "sentinel-2/l2a" / name, tmp.path, name);
  const fs::path mtd = tmp.path / "eodata" / name / "MTD_MSIL2A.xml";
  fs::resize_file(mtd, fs::file_size(mtd) / 2);
  auto store = store_at(tmp.path);
  expect_unprocessable_naming([&] { read_product(*store, name); }, name + "/MTD_MSIL2A.xml");
  // Cut inside the header: still an error, never a crash.
  fs::resize_file(mtd, 100);
  expect_unprocessable_naming([&] { read_product(*store, name); }, "MTD_MSIL2A.xml");
}

TEST(IngestReaders, SafeFolderWithoutManifest_ThrowsUnprocessable_NamingTheFile) {
  REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string s1 = "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.SAFE";
  copy_dir(kFixtures / "sentinel-1/slc" / s1, tmp.path, s1);
  fs::remove(tmp.path / "eodata" / s1 / "manifest.safe");
  const std::string s2 = "S2A_MSIL1C_20210908T042701_N0301_R133_T46RER_20210908T070248.SAFE";
  fs::create_directories(tmp.path / "eodata" / s2 / "GRANULE");
  std::ofstream(tmp.path / "eodata" / s2 / "GRANULE" / "readme.txt") << "x";
  const std::string s3 =
      "S3A_OL_1_EFR____20211021T073827_20211021T074112_20211021T091357_0164_077_334_4320_LN1_O_NR_002.SEN3";
  fs::create_directories(tmp.path / "eodata" / s3);
  std::ofstream(tmp.path / "eodata" / s3 / "Oa01_radiance.nc") << "x";
  auto store = store_at(tmp.path);
  expect_unprocessable_naming([&] { read_product(*store, s1); }, s1 + "/manifest.safe");
  expect_unprocessable_naming([&] { read_product(*store, s2); }, s2);
  expect_unprocessable_naming([&] { read_product(*store, s3); }, s3 + "/xfdumanifest.xml");
}

TEST(IngestReaders, NetcdfWithoutMetadataGroup_ThrowsUnprocessable_NamingTheFile) {
  TempDir tmp;
  const std::string name = "S5P_OFFL_L2__NO2____20220612T115855_20220612T134027_24163_02_020301_20220614T021624";
  const fs::path dir = tmp.path / "eodata" / name;
  fs::create_directories(dir);
  {
    GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("netCDF");
    ASSERT_NE(drv, nullptr);
    GDALDataset* ds = drv->CreateMultiDimensional((dir / (name + ".nc")).string().c_str(), nullptr, nullptr);
    ASSERT_NE(ds, nullptr);
    auto root = ds->GetRootGroup();
    auto attr = root->CreateAttribute("time_coverage_start", {}, GDALExtendedDataType::CreateString());
    attr->Write("2022-06-12T11:58:55Z");
    root->CreateGroup("PRODUCT");
    GDALClose(GDALDataset::ToHandle(ds));
  }
  auto store = store_at(tmp.path);
  expect_unprocessable_naming([&] { read_product(*store, name); }, name + "/" + name + ".nc");
  fs::remove(dir / (name + ".nc"));
  expect_unprocessable_naming([&] { read_product(*store, name); }, name + ".nc");
}
