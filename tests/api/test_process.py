#!/usr/bin/python3
"""Process API (POST /api/v1/process) through python-requests, against the shared test archive.

    harness.py --server dataspace --archive DIR -- test_process.py DATASPACE_BIN [unittest args]

The evalscripts in evalscripts/ are ours (true colour, NDVI ramp, SCL cloud mask, ORBIT max NDVI,
S1 false colour in dB, S5P NO2, DEM elevation, S1+S2 fusion). Images are decoded with GDAL and
checked for size, bands, type, georeferencing and plausible content; process_golden.json pins each
script's pixel checksum (the same request on the same archive is byte-identical); regenerate it
with PROCESS_GOLDEN_REWRITE=1 after a deliberate change and review the diff.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import unittest
import uuid

import requests
from osgeo import gdal

gdal.UseExceptions()

BIN = sys.argv.pop(1)
URL = os.environ["DATASPACE_URL"]
DATA = os.environ.get("DATASPACE_ARCHIVE") or os.path.join(os.environ["DATASPACE_DATA"], "var")
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "evalscripts")
GOLDEN = os.path.join(HERE, "process_golden.json")
REWRITE = os.environ.get("PROCESS_GOLDEN_REWRITE") == "1"
PROCESS = URL + "/api/v1/process"
TOKEN = None
BOLZANO = [11.25, 46.40, 11.45, 46.55]
JUNE = {"from": "2022-06-10T00:00:00Z", "to": "2022-06-20T23:59:59Z"}


def setUpModule():
    global TOKEN
    email = f"process-{uuid.uuid4().hex[:8]}@example.org"
    subprocess.run([BIN, "user", "add", "--data", DATA, "--email", email, "--password", "process-pass-1"],
                   check=True, capture_output=True)
    r = requests.post(URL + "/auth/realms/CDSE/protocol/openid-connect/token",
                      data={"grant_type": "password", "client_id": "cdse-public", "username": email,
                            "password": "process-pass-1"})
    r.raise_for_status()
    TOKEN = r.json()["access_token"]


def script(name):
    with open(os.path.join(SCRIPTS, name)) as f:
        return f.read()


def request(evalscript, data=None, bbox=None, width=128, height=128, crs=None, responses=None, geometry=None):
    bounds = {"bbox": bbox or BOLZANO}
    if crs:
        bounds["properties"] = {"crs": crs}
    if geometry:
        bounds["geometry"] = geometry
    body = {"input": {"bounds": bounds,
                      "data": data or [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": JUNE}}]},
            "output": {"width": width, "height": height},
            "evalscript": evalscript}
    if responses:
        body["output"]["responses"] = responses
    return body


def post(body, accept=None, token=True, **kw):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + TOKEN
    if accept:
        headers["Accept"] = accept
    return requests.post(PROCESS, json=body, headers=headers, timeout=120, **kw)


def decode(content):
    """(dataset, pixel arrays as bytes per band) of an image in memory."""
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, content)
    ds = gdal.Open(name)
    return ds, name


def pixels_digest(content):
    ds, name = decode(content)
    h = hashlib.sha256()
    h.update(f"{ds.RasterXSize}x{ds.RasterYSize}x{ds.RasterCount}".encode())
    for b in range(1, ds.RasterCount + 1):
        h.update(ds.GetRasterBand(b).ReadRaster())
    ds = None
    gdal.Unlink(name)
    return h.hexdigest()


def band_stats(content, band):
    ds, name = decode(content)
    s = ds.GetRasterBand(band).ComputeStatistics(False)
    ds = None
    gdal.Unlink(name)
    return s  # min, max, mean, stddev


def error_of(r):
    body = r.json()
    assert "error" in body, body
    return body["error"]


class Golden(unittest.TestCase):
    """Each script of evalscripts/ through the Process API, checked and pinned."""

    golden = {}
    seen = {}

    @classmethod
    def setUpClass(cls):
        if os.path.exists(GOLDEN):
            with open(GOLDEN) as f:
                cls.golden = json.load(f)

    @classmethod
    def tearDownClass(cls):
        if REWRITE:
            with open(GOLDEN, "w") as f:
                json.dump(dict(sorted(cls.seen.items())), f, indent=2)
                f.write("\n")

    def check(self, name, r, content_type="image/png", bands=None):
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertEqual(r.headers["Content-Type"], content_type)
        self.assertGreater(float(r.headers["X-ProcessingUnits-Spent"]), 0)
        ds, mem = decode(r.content)
        if bands:
            self.assertEqual(ds.RasterCount, bands)
        ds = None
        gdal.Unlink(mem)
        digest = pixels_digest(r.content)
        self.seen[name] = digest
        if not REWRITE and name in self.golden:
            self.assertEqual(digest, self.golden[name], f"{name}: pixels changed (PROCESS_GOLDEN_REWRITE=1 to accept)")

    def test_true_colour_png_with_alpha(self):
        r = post(request(script("true_color.js")))
        self.check("true_color", r, bands=4)
        red = band_stats(r.content, 1)
        self.assertGreater(red[3], 1, "a true-colour image of a valley has contrast")
        self.assertEqual(band_stats(r.content, 4)[0], 255, "the tile is inside the product: opaque everywhere")

    def test_ndvi_colour_ramp(self):
        self.check("ndvi_ramp", post(request(script("ndvi_ramp.js"))), bands=4)

    def test_scl_cloud_mask(self):
        self.check("scl_cloud_mask", post(request(script("scl_cloud_mask.js"))), bands=4)

    def test_max_ndvi_orbit_float32_tiff_and_userdata(self):
        body = request(script("max_ndvi_orbit.js"),
                       responses=[{"identifier": "default", "format": {"type": "image/tiff"}},
                                  {"identifier": "userdata", "format": {"type": "application/json"}}])
        r = post(body, accept="application/x-tar")
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertEqual(r.headers["Content-Type"], "application/x-tar")
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
            self.assertEqual(sorted(tar.getnames()), ["default.tif", "userdata.json"])
            tif = tar.extractfile("default.tif").read()
            userdata = json.loads(tar.extractfile("userdata.json").read())
        self.assertEqual(len(userdata["dates"]), 2, "two Sentinel-2 days in the archive's June")
        ds, mem = decode(tif)
        self.assertEqual(ds.GetRasterBand(1).DataType, gdal.GDT_Float32)
        self.assertIn("4326", ds.GetSpatialRef().GetAuthorityCode(None) or "")
        gt = ds.GetGeoTransform()
        self.assertAlmostEqual(gt[0], BOLZANO[0])
        self.assertAlmostEqual(gt[3], BOLZANO[3])
        stats = ds.GetRasterBand(1).ComputeStatistics(False)
        ds = None
        gdal.Unlink(mem)
        self.assertGreaterEqual(stats[0], -1)
        self.assertLessEqual(stats[1], 1)
        self.assertGreater(stats[2], 0.1, "the valley is green in June")
        self.seen["max_ndvi_orbit"] = pixels_digest(tif)
        if not REWRITE and "max_ndvi_orbit" in self.golden:
            self.assertEqual(self.seen["max_ndvi_orbit"], self.golden["max_ndvi_orbit"])

    def test_s1_false_colour_db(self):
        data = [{"type": "sentinel-1-grd", "dataFilter": {"timeRange": JUNE}}]
        self.check("s1_false_color_db", post(request(script("s1_false_color_db.js"), data=data)), bands=4)

    def test_s5p_no2(self):
        data = [{"type": "sentinel-5p-l2", "dataFilter": {"timeRange": JUNE}}]
        self.check("s5p_no2", post(request(script("s5p_no2.js"), data=data, bbox=[10.5, 46.0, 12.0, 47.0])),
                   bands=4)

    def test_dem_elevation_uint8(self):
        data = [{"type": "dem"}]
        r = post(request(script("dem_elevation.js"), data=data))
        self.check("dem_elevation", r, bands=2)
        self.assertGreater(band_stats(r.content, 1)[1], 50, "the Alps rise above the valley")

    def test_fusion_s1_s2(self):
        data = [{"type": "sentinel-1-grd", "id": "s1", "dataFilter": {"timeRange": JUNE}},
                {"type": "sentinel-2-l2a", "id": "l2a", "dataFilter": {"timeRange": JUNE}}]
        r = post(request(script("fusion_s1_s2.js"), data=data))
        self.check("fusion_s1_s2", r, bands=3)


class Formats(unittest.TestCase):
    def test_geotiff_in_utm_with_resolution(self):
        body = request(script("true_color.js"), bbox=[680000, 5140000, 690000, 5150000],
                       crs="http://www.opengis.net/def/crs/EPSG/0/32632")
        del body["output"]["width"], body["output"]["height"]
        body["output"]["resx"] = body["output"]["resy"] = 100
        r = post(body, accept="image/tiff")
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertEqual(r.headers["Content-Type"], "image/tiff")
        ds, mem = decode(r.content)
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (100, 100))
        self.assertEqual(ds.GetSpatialRef().GetAuthorityCode(None), "32632")
        self.assertEqual(ds.GetGeoTransform(), (680000, 100, 0, 5150000, 0, -100))
        ds = None
        gdal.Unlink(mem)

    def test_jpeg_with_quality_and_web_mercator(self):
        es = "//VERSION=3\nfunction setup(){return{input:['B02','B03','B04'],output:{bands:3}}}\n" \
             "function evaluatePixel(s){return [2.5*s.B04,2.5*s.B03,2.5*s.B02]}"
        body = request(es, bbox=[1252000, 5850000, 1262000, 5860000],
                       crs="http://www.opengis.net/def/crs/EPSG/0/3857",
                       responses=[{"identifier": "default", "format": {"type": "image/jpeg", "quality": 80}}])
        r = post(body)
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertEqual(r.headers["Content-Type"], "image/jpeg")
        self.assertEqual(r.content[:2], b"\xff\xd8")

    def test_uint16_png(self):
        es = "//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:1,sampleType:'UINT16'}}}\n" \
             "function evaluatePixel(s){return [s.B04*10000]}"
        r = post(request(es))
        self.assertEqual(r.status_code, 200, r.text[:300])
        ds, mem = decode(r.content)
        self.assertEqual(ds.GetRasterBand(1).DataType, gdal.GDT_UInt16)
        self.assertGreater(ds.GetRasterBand(1).ComputeStatistics(False)[1], 255)
        ds = None
        gdal.Unlink(mem)

    def test_dn_units_are_digital_numbers(self):
        es = "//VERSION=3\nfunction setup(){return{input:[{bands:['B04'],units:'DN'}]," \
             "output:{bands:1,sampleType:'FLOAT32'}}}\nfunction evaluatePixel(s){return [s.B04]}"
        r = post(request(es), accept="image/tiff")
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertGreater(band_stats(r.content, 1)[2], 50, "DN, not reflectance")

    def test_multipart_form_request(self):
        body = request(script("true_color.js"))
        es = body.pop("evalscript")
        files = {"request": (None, json.dumps(body), "application/json"), "evalscript": (None, es, "text/plain")}
        r = requests.post(PROCESS, files=files, headers={"Authorization": "Bearer " + TOKEN}, timeout=60)
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertEqual(r.headers["Content-Type"], "image/png")

    def test_same_request_same_bytes(self):
        body = request(script("ndvi_ramp.js"))
        self.assertEqual(post(body).content, post(body).content)

    def test_geometry_limits_the_data_mask(self):
        poly = {"type": "Polygon", "coordinates": [[[11.25, 46.40], [11.45, 46.40], [11.25, 46.55], [11.25, 46.40]]]}
        r = post(request(script("true_color.js"), geometry=poly))
        self.assertEqual(r.status_code, 200, r.text[:300])
        alpha = band_stats(r.content, 4)
        self.assertEqual(alpha[0], 0)
        self.assertEqual(alpha[1], 255)


def float_raster(content):
    mem = f"/vsimem/{uuid.uuid4().hex}.tif"
    gdal.FileFromMemBuffer(mem, content)
    try:
        return gdal.Open(mem).ReadAsArray()
    finally:
        gdal.Unlink(mem)


class Orthorectification(unittest.TestCase):
    """The synthetic Sentinel-1 images are radar geometry: a mountain leans towards the sensor by
    height / tan(incidence), and the product's GCPs only know the heights at their grid points.
    Terrain facing the radar is bright; orthorectified with the DEM, the image follows the DEM's
    slopes better than the GCP warp alone does."""

    S1_LINEAR = ("//VERSION=3\nfunction setup(){return{input:['VV','dataMask'],output:{bands:2,sampleType:'FLOAT32'}}}"
                 "\nfunction evaluatePixel(s){return [s.VV, s.dataMask]}")

    def s1(self, processing, day="2022-06-13"):
        data = [{"type": "sentinel-1-grd", "processing": processing,
                 "dataFilter": {"timeRange": {"from": day + "T00:00:00Z", "to": day + "T23:59:59Z"}}}]
        r = post(request(self.S1_LINEAR, data=data, width=300, height=300), accept="image/tiff")
        self.assertEqual(r.status_code, 200, r.text[:300])
        return float_raster(r.content)

    def slope_fit(self, img, dem):
        """Best correlation of the smoothed log backscatter with the DEM's slope in any look direction."""
        import numpy as np
        m = img[1] > 0
        log = np.log10(np.maximum(img[0], 1e-5))
        smooth = sum(np.roll(np.roll(log, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
        gy, gx = np.gradient(dem)
        best = -1
        for az in range(0, 360, 10):
            a = np.radians(az)
            best = max(best, np.corrcoef(smooth[m], (gx * np.sin(a) + gy * np.cos(a))[m])[0, 1])
        return best

    def test_orthorectified_image_follows_the_terrain(self):
        es = "//VERSION=3\nfunction setup(){return{input:['DEM'],output:{bands:1,sampleType:'FLOAT32'}}}" \
             "\nfunction evaluatePixel(s){return [s.DEM]}"
        r = post(request(es, data=[{"type": "dem"}], width=300, height=300), accept="image/tiff")
        self.assertEqual(r.status_code, 200, r.text[:300])
        dem = float_raster(r.content)
        plain = self.s1({})
        ortho = self.s1({"orthorectify": True, "demInstance": "COPERNICUS_30"})
        self.assertEqual(self.s1({"orthorectify": True}).tobytes(), ortho.tobytes(), "GLO-30 is the default DEM")
        self.assertGreater((ortho[1] > 0).mean(), 0.9)
        fit_plain, fit_ortho = self.slope_fit(plain, dem), self.slope_fit(ortho, dem)
        self.assertGreater(fit_ortho, fit_plain + 0.02, (fit_plain, fit_ortho))

    def test_orthorectify_is_a_boolean_and_dem_instances_are_named(self):
        data = [{"type": "sentinel-1-grd", "processing": {"orthorectify": "yes"}, "dataFilter": {"timeRange": JUNE}}]
        r = post(request(self.S1_LINEAR, data=data))
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertIn("orthorectify", error_of(r)["message"])
        data[0]["processing"] = {"orthorectify": True, "demInstance": "SRTM"}
        r = post(request(self.S1_LINEAR, data=data))
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertIn("COPERNICUS_90", error_of(r)["message"])


class BadInput(unittest.TestCase):
    def assertError(self, r, status, *words):
        self.assertEqual(r.status_code, status, r.text[:500])
        err = error_of(r)
        self.assertEqual(err["status"], status)
        for w in words:
            self.assertIn(w.lower(), err["message"].lower())
        return err

    def test_without_token_401_in_sentinel_hub_format(self):
        r = post(request(script("true_color.js")), token=False)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(error_of(r)["code"], "COMMON_UNAUTHORIZED")

    def test_syntax_error_names_line(self):
        r = post(request("//VERSION=3\nfunction setup() {\n  return {input: [\"B04\"], output: {bands: 1}\n}}}\n"))
        err = self.assertError(r, 400, "SyntaxError")
        self.assertIn(":4", err["message"])

    def test_runtime_error_names_line(self):
        es = ("//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:1}}}\n"
              "function evaluatePixel(s){\n  return [s.nothing.B03];\n}")
        err = self.assertError(post(request(es)), 400, "TypeError")
        self.assertIn(":4", err["message"])

    def test_endless_loop_times_out_and_others_are_served(self):
        es = ("//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:1}}}\n"
              "function evaluatePixel(s){ while(true){} }")
        result = {}

        def loop():
            result["r"] = post(request(es))

        t = threading.Thread(target=loop)
        t.start()
        time.sleep(0.5)
        started = time.time()
        ok = post(request(script("true_color.js"), width=64, height=64))
        self.assertEqual(ok.status_code, 200)
        self.assertLess(time.time() - started, 8, "another request is served while the loop runs")
        t.join(120)
        self.assertError(result["r"], 400, "longer than")
        self.assertEqual(post(request(script("true_color.js"), width=64, height=64)).status_code, 200)

    def test_unbounded_allocation_is_stopped(self):
        es = ("//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:1}}}\n"
              "const keep=[];\nfunction evaluatePixel(s){ while(true){ keep.push(new Array(100000).fill(1)); } }")
        r = post(request(es))
        self.assertEqual(r.status_code, 400, r.text[:300])
        # Stopped by the heap guard, or by the time limit first on a slow machine: never a crash.
        self.assertRegex(error_of(r)["message"], "memory|longer than")
        for _ in range(3):  # the worker threads' isolates are reusable afterwards
            ok = post(request(script("true_color.js"), width=64, height=64))
            self.assertEqual(ok.status_code, 200, ok.text[:300])

    def test_single_huge_builtin_allocations_never_kill_the_server(self):
        # Builtins that build one huge object in a call V8 cannot interrupt: refused or stopped.
        for expr in ("Array.from({length: 1e8})", "'x'.repeat(5e8)", "Array(2e7).join('ab')",
                     "JSON.stringify(new Array(3e7))", "new Array(3e7).fill(1.5)"):
            es = ("//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:1}}}\nvar k;\n"
                  f"function evaluatePixel(s){{ k = {expr}; return [1]; }}")
            r = post(request(es, width=16, height=16))
            self.assertEqual(r.status_code, 400, f"{expr}: {r.text[:300]}")
            self.assertRegex(error_of(r)["message"], "RangeError|memory|longer than")
        self.assertEqual(post(request(script("true_color.js"), width=64, height=64)).status_code, 200)

    def test_output_too_large(self):
        self.assertError(post(request(script("true_color.js"), width=3000, height=3000)), 400, "2500")

    def test_unknown_band(self):
        es = "//VERSION=3\nfunction setup(){return{input:['B99'],output:{bands:1}}}\nfunction evaluatePixel(s){return [s.B99]}"
        self.assertError(post(request(es)), 400, "B99")

    def test_unknown_collection(self):
        r = post(request(script("true_color.js"), data=[{"type": "landsat-ot-l2"}]))
        self.assertError(r, 400, "landsat-ot-l2")

    def test_inverted_time_range(self):
        data = [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2022-06-20T00:00:00Z",
                                                                         "to": "2022-06-10T00:00:00Z"}}}]
        self.assertError(post(request(script("true_color.js"), data=data)), 400, "timeRange")

    def test_time_range_without_products(self):
        data = [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2019-01-01T00:00:00Z",
                                                                         "to": "2019-01-31T00:00:00Z"}}}]
        self.assertError(post(request(script("true_color.js"), data=data)), 404, "no", "product")

    def test_area_outside_every_product(self):
        self.assertError(post(request(script("true_color.js"), bbox=[-60, -10, -59, -9])), 404, "product")

    def test_date_without_time_is_refused(self):
        data = [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2022-06-10", "to": "2022-06-20"}}}]
        self.assertError(post(request(script("true_color.js"), data=data)), 400, "time part")

    def test_wrong_band_count_returned(self):
        es = "//VERSION=3\nfunction setup(){return{input:['B04'],output:{bands:3}}}\nfunction evaluatePixel(s){return [1]}"
        self.assertError(post(request(es)), 400, "3")

    def test_malformed_json(self):
        r = requests.post(PROCESS, data="{not json", headers={"Authorization": "Bearer " + TOKEN,
                                                                 "Content-Type": "application/json"})
        self.assertError(r, 400, "JSON")


if __name__ == "__main__":
    unittest.main()
