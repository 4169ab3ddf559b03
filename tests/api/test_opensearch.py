#!/usr/bin/python3
"""OpenSearch (resto-compatible) through python-requests, the way CDSE users script it: every
parameter, ranges, paging links, sorting, counts, describe.xml, search.atom, single features, and
resto's error JSON for every bad input (never a 500). Also replays URL shapes exactly as CDSE's
documentation and release notes show them (only the host changes).

    harness.py --server BIN -- test_opensearch.py BIN

Generates a two-day synthetic archive (S1, S2, S3, S5P, DEM, mosaic) into the server's data
directory and catalogues it while the server runs."""
import math
import os
import re
import subprocess
import sys
import unittest
import uuid
import xml.etree.ElementTree as ET

import requests

BIN = sys.argv.pop(1)
URL = os.environ["DATASPACE_URL"]
DATA = os.path.join(os.environ["DATASPACE_DATA"], "var")
API = URL + "/resto/api/collections"

OS = "{http://a9.com/-/spec/opensearch/1.1/}"
ATOM = "{http://www.w3.org/2005/Atom}"
PARAMS = "{http://a9.com/-/spec/opensearch/extensions/parameters/1.0/}"


def get(path, **params):
    return requests.get(API + path, params=params, timeout=30)


def search(path="/search.json", **params):
    r = get(path, **params)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    return r.json()


def ids(fc):
    return [f["id"] for f in fc["features"]]


def contains(geometry, lon, lat):
    """Point in a GeoJSON (multi)polygon, by ray casting over every ring."""
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    inside = False
    for poly in polys:
        for ring in poly:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
                if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
    return inside


def link(fc, rel):
    for l in fc["properties"]["links"]:
        if l["rel"] == rel:
            return l["href"]
    return None


class OpenSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = subprocess.run([BIN, "synth", "--data", DATA, "--from", "2022-06-12", "--to", "2022-06-13",
                              "--scale", "10", "--seed", "7", "--threads", "2"], capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr
        out = subprocess.run([BIN, "ingest", "--data", DATA], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        cls.all = search(maxRecords=2000, exactCount=1)
        cls.features = cls.all["features"]
        cls.by_id = {f["id"]: f for f in cls.features}
        assert len(cls.features) >= 8, len(cls.features)

    # --- errors -----------------------------------------------------------------------------------
    def assert_error(self, r, status=400, loc=None, message="Validation error."):
        self.assertEqual(r.status_code, status, r.text[:300])
        self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
        d = r.json()["detail"]
        self.assertEqual(d["ErrorCode"], status)
        self.assertEqual(d["ErrorMessage"], message)
        self.assertTrue(d["RequestID"])
        detail = d["ErrorDetail"]
        locs = detail["loc"] if isinstance(detail, dict) else [x for e in detail for x in e["loc"]]
        msgs = [detail["msg"]] if isinstance(detail, dict) else [e["msg"] for e in detail]
        self.assertTrue(all(msgs))
        if loc is not None:
            for name in [loc] if isinstance(loc, str) else loc:
                self.assertIn(name, locs)
        return d

    def test_unknown_collection_is_resto_404(self):
        d = self.assert_error(get("/Sentinl2/search.json"), 404, "collection", "Unknown collection.")
        self.assertEqual(d["ErrorDetail"][0]["msg"], "Collection 'Sentinl2' does not exist.")
        self.assert_error(get("/Sentinl2/describe.xml"), 404, "collection", "Unknown collection.")
        self.assert_error(get("/Sentinel2/nothing-here"), 404, message="Not Found.")

    def test_unknown_parameters_are_rejected_by_name(self):
        d = self.assert_error(get("/Sentinel2/search.json", productType="S2MSI1C", startDat="2023-06-11",
                                  completionDte="2023-06-22"), 400, ["startDat", "completionDte"],
                              "Unknown query parameter(s).")
        self.assertEqual(d["ErrorDetail"]["loc"], ["startDat", "completionDte"])
        self.assert_error(get("/search.json", productsType="S2MSI1C"), 400, "productsType",
                          "Unknown query parameter(s).")
        self.assert_error(get("/search.json", dataset="ESA-DATASET"), 400, "dataset", "Unknown query parameter(s).")
        # Offered elsewhere but not for this collection: radar has no cloud cover.
        self.assert_error(get("/Sentinel1/search.json", cloudCover="[0,10]"), 400, "cloudCover",
                          "Unknown query parameter(s).")
        self.assert_error(get("/Sentinel2/search.json", polarisation="VV"), 400, "polarisation",
                          "Unknown query parameter(s).")

    def test_every_bad_value_is_a_resto_400(self):
        cases = [
            ("maxRecords", "2001"), ("maxRecords", "0"), ("maxRecords", "ten"), ("maxRecords", "-1"),
            ("index", "10002"), ("index", "0"), ("page", "0"), ("page", "x"), ("page", "99999999999999999999"),
            ("sortParam", "cloudCover"), ("sortOrder", "up"), ("exactCount", "2"),
            ("startDate", "garbage"), ("startDate", "2022-13-45"), ("completionDate", "yesterday"),
            ("publishedAfter", "2022-02-30T00:00:00Z"), ("publishedBefore", "soon"), ("updated", "[x,2022-01-01]"),
            ("published", "[2023-01-01,2022-01-01]"),
            ("box", "1,2,3"), ("box", "a,b,c,d"), ("box", "0,10,1,5"), ("box", "0,0,200,1"), ("box", "0,-95,1,1"),
            ("geometry", "POLYGON((0 0,1 1))"), ("geometry", "CIRCLE(1 2)"), ("geometry", "POLYGON((0 0,1 1,1 0,0 1,0 0))"),
            ("cloudCover", "[10,5]"), ("cloudCover", "abc"), ("cloudCover", "[0,101]"), ("cloudCover", "[,]"),
            ("cloudCover", "[0,10,20]"), ("cloudCover", "0,10"), ("cloudCover", "-1"),
            ("orbitNumber", "ascending"), ("orbitNumber", "1.5"), ("relativeOrbitNumber", "[200,100]"),
            ("status", "FOO"), ("orbitDirection", "SIDEWAYS"), ("resolution", "[a,b]"),
        ]
        for name, value in cases:
            with self.subTest(name=name, value=value):
                self.assert_error(get("/search.json", **{name: value}), 400, name)

    def test_paging_cap_and_point_parameters(self):
        self.assert_error(get("/search.json", maxRecords=15, index=12, page=667), 400, ["page", "maxRecords", "index"])
        self.assert_error(get("/search.json", maxRecords=2000, page=7), 400, "page")
        self.assertEqual(get("/search.json", maxRecords=2000, page=6).status_code, 200)  # skip 10000 is the cap
        self.assertEqual(get("/search.json", index=10001).status_code, 200)
        self.assert_error(get("/search.json", lat=46.5), 400, "lon")
        self.assert_error(get("/search.json", lon=11.3), 400, "lat")
        self.assert_error(get("/search.json", radius=1000), 400, ["lon", "lat"])
        self.assert_error(get("/search.json", lon=11.3, lat=46.5, radius=-5), 400, "radius")
        self.assert_error(get("/search.json", lon=11.3, lat=46.5, radius=1e9), 400, "radius")
        self.assert_error(get("/search.json", lon=190, lat=46.5), 400, "lon")
        self.assert_error(get("/search.json", lon=11, lat=91), 400, "lat")
        r = requests.get(API + "/search.json?maxRecords=1&maxRecords=2", timeout=30)
        self.assert_error(r, 400, "maxRecords")

    # --- collections and features -----------------------------------------------------------------
    def test_collection_names_map_to_missions(self):
        everything = set(self.by_id)
        seen = set()
        for name, mission in [("Sentinel1", "SENTINEL-1"), ("Sentinel2", "SENTINEL-2"), ("Sentinel3", "SENTINEL-3"),
                              ("Sentinel5P", "SENTINEL-5P"), ("CopDem", "COP-DEM"),
                              ("GlobalMosaics", "GLOBAL-MOSAICS")]:
            with self.subTest(name=name):
                a = search("/%s/search.json" % name, maxRecords=100, exactCount=1)
                b = search("/%s/search.json" % mission, maxRecords=100)
                self.assertEqual(ids(a), ids(b))
                self.assertTrue(a["features"], name)
                self.assertEqual({f["properties"]["collection"] for f in a["features"]}, {mission})
                self.assertEqual(a["properties"]["query"]["originalFilters"]["collection"], mission)
                self.assertEqual(a["properties"]["totalResults"], len(a["features"]))
                seen |= set(ids(a))
        self.assertEqual(seen, everything)

    def test_feature_shape_and_urls(self):
        for f in self.features:
            with self.subTest(title=f["properties"]["title"]):
                uuid.UUID(f["id"])
                self.assertEqual(f["type"], "Feature")
                self.assertIn(f["geometry"]["type"], ("Polygon", "MultiPolygon"))
                p = f["properties"]
                for key in ("collection", "status", "parentIdentifier", "title", "description", "organisationName",
                            "startDate", "completionDate", "productType", "processingLevel", "platform",
                            "instrument", "resolution", "sensorMode", "orbitNumber", "quicklook", "thumbnail",
                            "updated", "published", "services", "links", "productIdentifier", "centroid"):
                    self.assertIn(key, p)
                self.assertEqual(p["status"], "ONLINE")
                self.assertTrue(p["startDate"].endswith("Z") and len(p["startDate"]) == 27, p["startDate"])
                dl = p["services"]["download"]
                self.assertEqual(dl["url"], f"{URL}/odata/v1/Products({f['id']})/$value")
                self.assertEqual(dl["mimeType"], "application/zip")
                self.assertGreater(dl["size"], 0)
                if p["quicklook"]:
                    self.assertEqual(p["quicklook"], f"{URL}/odata/v1/Assets({f['id']})/$value")
                self.assertTrue(p["productIdentifier"].startswith("/eodata/"))
                self.assertTrue(p["productIdentifier"].endswith("/" + p["title"]))
                self_href = p["links"][0]["href"]
                self.assertEqual(self_href, f"{URL}/resto/collections/{p['collection']}/{f['id']}.json")
                one = requests.get(self_href, timeout=30)
                self.assertEqual(one.status_code, 200)
                self.assertEqual(one.json(), f)
        s1 = [f for f in self.features if f["properties"]["collection"] == "SENTINEL-1"][0]["properties"]
        for key in ("orbitDirection", "relativeOrbitNumber", "polarisation", "swath", "timeliness"):
            self.assertIn(key, s1)
        self.assertRegex(s1["platform"], r"^S1[A-D]$")
        s2 = [f for f in self.features if f["properties"]["collection"] == "SENTINEL-2"][0]["properties"]
        self.assertIn("cloudCover", s2)
        self.assertIn("tileId", s2)
        missing = requests.get(f"{URL}/resto/collections/SENTINEL-2/{uuid.uuid4()}.json", timeout=30)
        self.assert_error(missing, 404, message="Not Found.")

    def test_all_collections_and_counts(self):
        fc = search()
        self.assertEqual(fc["type"], "FeatureCollection")
        props = fc["properties"]
        self.assertIsNone(props["totalResults"])
        self.assertEqual(props["exactCount"], 0)
        self.assertEqual(props["startIndex"], 1)
        self.assertEqual(props["itemsPerPage"], len(fc["features"]))
        self.assertIsNone(link(fc, "last"))  # only with exactCount
        self.assertEqual(link(fc, "search"), API + "/describe.xml")
        self.assertIsInstance(props["query"]["processingTime"], float)
        self.assertEqual(self.all["properties"]["totalResults"], len(self.features))
        self.assertEqual(self.all["properties"]["exactCount"], 1)
        self.assertTrue(self.all["properties"]["totalResultsExact"])

    # --- paging and sorting -----------------------------------------------------------------------
    def test_paging_by_links_visits_everything_once(self):
        fc = search("/search.json", maxRecords=3, exactCount=1)
        total = fc["properties"]["totalResults"]
        pages = math.ceil(total / 3)
        self.assertTrue(link(fc, "last").endswith("page=%d" % pages))
        self.assertIsNone(link(fc, "previous"))
        self.assertIsNone(link(fc, "first"))
        seen, n = [], 1
        while True:
            seen += ids(fc)
            self.assertEqual(fc["properties"]["startIndex"], (n - 1) * 3 + 1)
            if n > 1:
                self.assertTrue(link(fc, "previous").endswith("page=%d" % (n - 1)))
                self.assertTrue(link(fc, "first").endswith("page=1"))
            self.assertTrue(link(fc, "last").endswith("page=%d" % pages))
            nxt = link(fc, "next")
            if not nxt:
                break
            self.assertEqual(nxt.count("page="), 1)
            self.assertIn("maxRecords=3", nxt)
            fc = requests.get(nxt, timeout=30).json()
            n += 1
        self.assertEqual(n, pages)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(seen, ids(search("/search.json", maxRecords=100)))
        # previous of the last page is the page before it
        back = requests.get(link(fc, "previous"), timeout=30).json() if n > 1 else None
        if back:
            self.assertEqual(ids(back), seen[(n - 2) * 3:(n - 1) * 3])

    def test_index_is_one_based_and_combines_with_page(self):
        every = ids(search(maxRecords=100))
        fc = search(maxRecords=2, index=3)
        self.assertEqual(fc["properties"]["startIndex"], 3)
        self.assertEqual(ids(fc), every[2:4])
        fc = search(maxRecords=2, index=2, page=2)
        self.assertEqual(fc["properties"]["startIndex"], 4)
        self.assertEqual(ids(fc), every[3:5])
        self.assertEqual(ids(search(maxRecords=2, index=1000)), [])

    def test_sorting(self):
        for param, key in [("startDate", "startDate"), ("completionDate", "completionDate"),
                           ("published", "published"), ("updated", "updated")]:
            for order in ("ascending", "descending"):
                with self.subTest(param=param, order=order):
                    fc = search(maxRecords=100, sortParam=param, sortOrder=order)
                    values = [f["properties"][key] for f in fc["features"]]
                    self.assertEqual(values, sorted(values, reverse=order == "descending"))
                    self.assertEqual(set(ids(fc)), set(self.by_id))
        default = [f["properties"]["startDate"] for f in search(maxRecords=100)["features"]]
        self.assertEqual(default, sorted(default, reverse=True))

    # --- filters ----------------------------------------------------------------------------------
    def expect(self, predicate, path="/search.json", **params):
        fc = search(path, maxRecords=100, **params)
        want = {i for i, f in self.by_id.items() if predicate(f["properties"], f)}
        self.assertEqual(set(ids(fc)), want, params)
        return fc

    def test_dates(self):
        self.expect(lambda p, f: p["startDate"] >= "2022-06-13", startDate="2022-06-13")
        # a date-only completionDate covers the whole day
        self.expect(lambda p, f: p["startDate"] < "2022-06-13", completionDate="2022-06-12")
        self.expect(lambda p, f: "2022-06-12T10" <= p["startDate"] <= "2022-06-13T06",
                    startDate="2022-06-12T10:00:00Z", completionDate="2022-06-13T06:00:00Z")
        # zone offsets, encoded and as a bare '+' (which arrives as a space)
        self.expect(lambda p, f: p["startDate"] >= "2022-06-13T00", startDate="2022-06-13T02:00:00+02:00")
        r = requests.get(API + "/search.json?maxRecords=100&startDate=2022-06-13T02:00:00+02:00", timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(set(ids(r.json())), {i for i, f in self.by_id.items()
                                               if f["properties"]["startDate"] >= "2022-06-13T00"})
        self.expect(lambda p, f: False, startDate="2030-01-01")
        self.assert_error(get("/search.json", startDate="2022-06-13", completionDate="2022-06-12"), 400,
                          ["startDate", "completionDate"])
        self.expect(lambda p, f: "2022-06-12" <= p["startDate"] < "2022-06-13", startDate="2022-06-12",
                    completionDate="2022-06-12")
        published = sorted(f["properties"]["published"] for f in self.features)
        self.expect(lambda p, f: True, publishedAfter="2000-01-01", publishedBefore="2100-01-01")
        self.expect(lambda p, f: False, publishedBefore="2000-01-01")
        self.expect(lambda p, f: True, published="[2000-01-01,2100-01-01]", updated="2000-01-01")
        self.expect(lambda p, f: p["published"] >= published[-1], publishedAfter=published[-1])

    def test_places(self):
        self.expect(lambda p, f: True, box="10,46,12,47.2")  # Bolzano: every product touches it
        self.expect(lambda p, f: False, box="-10,-10,-9,-9")
        self.expect(lambda p, f: False, box="170,-10,-170,10")  # across the antimeridian
        at_point = lambda p, f: contains(f["geometry"], 11.35, 46.5)
        point = set(ids(self.expect(at_point, geometry="POINT(11.35 46.5)")))
        self.assertTrue(point)
        self.assertEqual(set(ids(self.expect(at_point, lon=11.35, lat=46.5))), point)
        area = set(ids(search(geometry="POLYGON((11.1 46.3,11.6 46.3,11.6 46.7,11.1 46.7,11.1 46.3))", maxRecords=100)))
        self.assertTrue(point <= area)
        self.expect(lambda p, f: False, geometry="POINT(-60 -20)")
        self.expect(lambda p, f: False, lon=-60, lat=-20, radius=100000)
        # a point outside every footprint but within reach of the circle
        near = search(lon=11.35, lat=49.5, radius=500000, maxRecords=100)
        far = search(lon=11.35, lat=49.5, radius=1000, maxRecords=100)
        self.assertTrue(near["features"])
        self.assertLess(len(far["features"]), len(near["features"]))
        self.assertEqual(get("/search.json", lon=179.9, lat=0, radius=100000).status_code, 200)
        self.assertEqual(get("/search.json", lon=0, lat=89.5, radius=200000).status_code, 200)

    def test_cloud_cover_ranges(self):
        s2 = {i: f["properties"]["cloudCover"] for i, f in self.by_id.items() if "cloudCover" in f["properties"]}
        self.assertTrue(s2)
        v = sorted(s2.values())[0]
        cc = lambda test: (lambda p, f: "cloudCover" in p and test(p["cloudCover"]))
        self.expect(cc(lambda x: 0 <= x <= 100), cloudCover="[0,100]")
        self.expect(cc(lambda x: x == v), cloudCover=f"[{v},{v}]")
        self.expect(cc(lambda x: x == v), cloudCover=str(v))
        self.expect(cc(lambda x: v < x <= 100), cloudCover=f"]{v},100]")
        self.expect(cc(lambda x: v <= x < 100), cloudCover=f"[{v},100[")
        self.expect(cc(lambda x: x > v), cloudCover=f"]{v},]")
        self.expect(cc(lambda x: x <= 10), path="/Sentinel2/search.json", cloudCover="[0,10]")

    def test_attribute_parameters(self):
        s1 = [f for f in self.features if f["properties"]["collection"] == "SENTINEL-1"][0]["properties"]
        s2 = [f for f in self.features if f["properties"]["collection"] == "SENTINEL-2"][0]["properties"]
        rel = s1["relativeOrbitNumber"]
        S1 = "/Sentinel1/search.json"
        is_s1 = lambda p: p["collection"] == "SENTINEL-1"
        self.expect(lambda p, f: is_s1(p) and p["orbitDirection"] == s1["orbitDirection"], S1,
                    orbitDirection=s1["orbitDirection"].lower())
        self.expect(lambda p, f: is_s1(p) and p["relativeOrbitNumber"] == rel, S1, relativeOrbitNumber=rel)
        self.expect(lambda p, f: is_s1(p), S1, relativeOrbitNumber=f"[{rel - 1},{rel + 1}]")
        self.expect(lambda p, f: False, S1, relativeOrbitNumber=f"]{rel},{rel + 5}]")
        self.expect(lambda p, f: is_s1(p), S1, orbitNumber=s1["orbitNumber"])
        self.expect(lambda p, f: is_s1(p), S1, polarisation="VV&VH")
        self.expect(lambda p, f: is_s1(p), S1, polarisation="VV,VH")
        self.expect(lambda p, f: False, S1, polarisation="HH")
        self.expect(lambda p, f: is_s1(p), S1, swath=s1["swath"], sensorMode=s1["sensorMode"],
                    timeliness=s1["timeliness"], instrument="SAR", processingLevel=s1["processingLevel"])
        self.expect(lambda p, f: p["platform"] == s1["platform"], platform=s1["platform"])
        self.expect(lambda p, f: p["platform"] == s1["platform"], platform="SENTINEL-1" + s1["platform"][-1])
        self.expect(lambda p, f: p["collection"] == "SENTINEL-5P", platform="S5P")
        self.expect(lambda p, f: p["platform"] == "TanDEM-X", platform="TanDEM-X")
        self.expect(lambda p, f: p.get("tileId") == s2["tileId"], tileId=s2["tileId"])
        self.expect(lambda p, f: p["productType"] == "S2MSI2A", productType="S2MSI2A")
        self.expect(lambda p, f: p["productType"] in ("S2MSI2A", "S2MSI1C"), productType="S2MSI2A,S2MSI1C")
        self.expect(lambda p, f: p["collection"] == "SENTINEL-2" and p["processingLevel"] == s2["processingLevel"],
                    "/Sentinel2/search.json", processingLevel=s2["processingLevel"])
        res = [f["properties"]["resolution"] for f in self.features if f["properties"]["collection"] == "COP-DEM"][0]
        self.expect(lambda p, f: p["collection"] == "COP-DEM", "/CopDem/search.json", resolution=f"[{res},{res}]")

    def test_status_and_identifiers(self):
        self.expect(lambda p, f: True, status="ONLINE")
        self.expect(lambda p, f: True, status="ALL")
        self.expect(lambda p, f: False, status="OFFLINE")
        one = self.features[0]
        self.expect(lambda p, f: f["id"] == one["id"], identifier=one["id"])
        self.expect(lambda p, f: f["id"] == one["id"], identifier=one["properties"]["title"])
        self.expect(lambda p, f: f["id"] == one["id"], productIdentifier=one["properties"]["productIdentifier"])
        self.expect(lambda p, f: False, identifier=str(uuid.uuid4()))

    def test_empty_values_are_left_out(self):
        # OpenSearch clients fill templates and send optional parameters empty
        r = requests.get(API + "/search.json?startDate=&completionDate=&box=&maxRecords=&cloudCover=", timeout=30)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(r.json()["features"]), min(20, len(self.features)))

    # --- describe.xml and Atom --------------------------------------------------------------------
    def test_describe_xml(self):
        for name, present, absent in [("Sentinel1", ["polarisation", "orbitDirection", "relativeOrbitNumber"],
                                       ["cloudCover", "tileId"]),
                                      ("Sentinel2", ["cloudCover", "tileId", "orbitDirection"], ["polarisation"]),
                                      ("", ["cloudCover", "polarisation", "platform"], [])]:
            with self.subTest(name=name):
                r = get(("/" + name if name else "") + "/describe.xml")
                self.assertEqual(r.status_code, 200)
                self.assertTrue(r.headers["Content-Type"].startswith("application/opensearchdescription+xml"))
                root = ET.fromstring(r.content)
                self.assertEqual(root.tag, OS + "OpenSearchDescription")
                self.assertTrue(root.find(OS + "ShortName").text)
                urls = {u.get("type"): u for u in root.findall(OS + "Url")}
                self.assertIn("application/json", urls)
                self.assertIn("application/atom+xml", urls)
                self.assertIn("application/opensearchdescription+xml", urls)
                tmpl = urls["application/json"].get("template")
                prefix = API + ("/" + name if name else "")
                self.assertTrue(tmpl.startswith(prefix + "/search.json?"), tmpl)
                self.assertTrue(urls["application/atom+xml"].get("template").startswith(prefix + "/search.atom?"))
                names = [p.get("name") for p in urls["application/json"].findall(PARAMS + "Parameter")]
                for n in ["maxRecords", "page", "index", "startDate", "completionDate", "box", "geometry", "lon",
                          "lat", "radius", "productType", "status", "sortParam", "sortOrder", "exactCount"] + present:
                    self.assertIn(n, names)
                    self.assertIn(n + "={", tmpl)
                for n in absent:
                    self.assertNotIn(n, names)
                mr = [p for p in urls["application/json"].findall(PARAMS + "Parameter") if p.get("name") == "maxRecords"][0]
                self.assertEqual(mr.get("maxInclusive"), "2000")
                st = [p for p in urls["application/json"].findall(PARAMS + "Parameter") if p.get("name") == "status"][0]
                self.assertEqual([o.get("value") for o in st], ["ONLINE", "OFFLINE", "ALL"])
                # filling the template (optional parameters left empty) gives a working search
                values = {"count": "2", "startPage": "1", "time:start": "2022-06-01"}
                url = tmpl
                url = re.sub(r"\{([^}?]+)\?\}", lambda m: values.get(m.group(1), ""), url)
                r = requests.get(url, timeout=30)
                self.assertEqual(r.status_code, 200, r.text[:300])
                self.assertLessEqual(len(r.json()["features"]), 2)

    def test_search_atom(self):
        r = get("/search.atom", maxRecords=3, exactCount=1)
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("application/atom+xml"))
        feed = ET.fromstring(r.content)
        self.assertEqual(feed.tag, ATOM + "feed")
        self.assertEqual(int(feed.find(OS + "totalResults").text), len(self.features))
        self.assertEqual(feed.find(OS + "startIndex").text, "1")
        self.assertEqual(feed.find(OS + "itemsPerPage").text, "3")
        entries = feed.findall(ATOM + "entry")
        json_ids = ids(search(maxRecords=3))
        self.assertEqual([e.find(ATOM + "id").text for e in entries], ["urn:uuid:" + i for i in json_ids])
        for e in entries:
            self.assertTrue(e.find(ATOM + "title").text)
            self.assertTrue(e.find(ATOM + "updated").text)
            self.assertIsNotNone(e.find("{http://www.georss.org/georss}polygon"))
            rels = {l.get("rel"): l.get("href") for l in e.findall(ATOM + "link")}
            self.assertTrue(rels["enclosure"].endswith(")/$value"))
        links = {l.get("rel"): l.get("href") for l in feed.findall(ATOM + "link")}
        self.assertIn("search.atom", links["next"])
        nxt = ET.fromstring(requests.get(links["next"], timeout=30).content)
        self.assertEqual(nxt.find(OS + "startIndex").text, "4")
        bad = get("/search.atom", maxRecords=5000)
        self.assert_error(bad, 400, "maxRecords")

    # --- CDSE documentation, replayed as written (only the host changes) --------------------------
    def test_cdse_documentation_urls(self):
        base = URL + "/resto/api/collections"
        ok = [
            "/Sentinel2/search.json?cloudCover=[0,10]&startDate=2022-06-11&completionDate=2022-06-22&maxRecords=10",
            "/search.json?cloudCover=[0,10]&startDate=2022-06-11&completionDate=2022-06-22&maxRecords=10",
            "/Sentinel2/search.json?startDate=2021-07-01&completionDate=2021-07-31&sortParam=startDate&maxRecords=20",
            "/Sentinel2/search.json?startDate=2021-07-01&completionDate=2021-07-31&sortParam=startDate&maxRecords=20&page=2",
            "/Sentinel2/search.json?cloudCover=%5B0,10%5D&startDate=2021-06-21&completionDate=2021-09-22&lon=21.01&lat=52.22",
            "/Sentinel2/search.json?cloudCover=[0,10]&startDate=2022-06-11&completionDate=2022-06-22&maxRecords=10&box=-1,1,-1,1",
            "/SENTINEL-2/search.json?cloudCover=[0,10]&startDate=2022-06-11&completionDate=2022-06-22&maxRecords=10",
        ]
        for path in ok:
            with self.subTest(path=path):
                r = requests.get(base + path, timeout=30)
                self.assertEqual(r.status_code, 200, r.text[:300])
                self.assertEqual(r.json()["type"], "FeatureCollection")
        first = requests.get(base + ok[0], timeout=30).json()
        want = {i for i, f in self.by_id.items() if f["properties"]["collection"] == "SENTINEL-2"
                and f["properties"]["cloudCover"] <= 10 and "2022-06-11" <= f["properties"]["startDate"] < "2022-06-23"}
        self.assertEqual(set(ids(first)), want)
        d1 = requests.get(base + "/Sentinel1/describe.xml", timeout=30)
        self.assertEqual(d1.status_code, 200)
        ET.fromstring(d1.content)
        # the release notes' error examples
        r = requests.get(base + "/Sentinel1/search.json?maxRecords=15&exactCount=1&index=12&page=667&productType=IW_SLC__1S",
                         timeout=30)
        self.assertEqual(r.json()["detail"]["ErrorDetail"][0]["loc"], ["page", "maxRecords", "index"])
        r = requests.get(base + "/Sentinel1/search.json?&index=10002&productType=IW_SLC__1S", timeout=30)
        self.assertEqual(r.json()["detail"]["ErrorDetail"][0]["msg"], "Input should be less than or equal to 10001.")
        r = requests.get(base + "/search.json?startDate=2021-07-01T00:00:00Z&completionDate=2021-07-31T23:59:59Z&maxRecords=2001",
                         timeout=30)
        self.assertEqual(r.json()["detail"]["ErrorDetail"][0]["msg"], "Input should be less than or equal to 2000.")
        r = requests.get(base + "/search.json?orbitNumber=ascending", timeout=30)
        self.assertEqual(r.json()["detail"]["ErrorDetail"][0]["msg"],
                         "Proper value types for specified attribute query parameters are: 'orbitNumber'-integer")
        r = requests.get(base + "/search.json?productsType=S2MSI1C", timeout=30)
        self.assertEqual(r.json()["detail"]["ErrorDetail"], {"loc": ["productsType"], "msg": "Query parameters do not exist."})
        r = requests.get(base + "/Sentinl2/search.json", timeout=30)
        self.assertEqual(r.status_code, 404)

    def test_landing_page_links_the_description(self):
        body = requests.get(URL + "/", timeout=30).json()
        self.assertIn(URL + "/resto/api/collections/describe.xml", [l["href"] for l in body["links"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
