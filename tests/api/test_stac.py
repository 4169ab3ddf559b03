#!/usr/bin/python3
"""STAC API at /stac through python-requests, against a small synthetic archive.

    test_stac.py DATASPACE_BIN [unittest args]

The archive (Sentinel-1/2/3/5P around Bolzano, 2022-06-13..20, scale 10) is synthesised once into
<build>/test-cache/stac-archive (synth skips products already there), hard-linked into the test
server's data directory and ingested, except one Sentinel-5P product that a paging test ingests
between two pages. Expected answers are computed here from the full list of items, so every
filter is checked against an independent evaluation, not only for its status code.
"""
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import requests

BIN = sys.argv.pop(1)
URL = os.environ["DATASPACE_URL"]
DATA = os.path.join(os.environ["DATASPACE_DATA"], "var")
STAC = URL + "/stac"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCHEMAS = os.path.join(os.path.dirname(REPO), "shared", "schemas", "stac")
HELD_BACK = "Sentinel-5P/TROPOMI/L2__NO2___/2022/06/20"
ALL = {}  # item id -> item, filled once


def synthesise_and_ingest():
    cache = os.path.join(os.path.dirname(os.path.abspath(BIN)), "test-cache", "stac-archive")
    subprocess.run([BIN, "synth", "--data", cache, "--from", "2022-06-13", "--to", "2022-06-20",
                    "--missions", "s1,s2,s3,s5p", "--scale", "10"], check=True, capture_output=True)
    src = os.path.join(cache, "objects")
    dst = os.path.join(DATA, "objects")
    try:
        shutil.copytree(src, dst, copy_function=os.link, dirs_exist_ok=True)
    except OSError:
        shutil.copytree(src, dst, dirs_exist_ok=True)
    for prefix in ("Sentinel-1", "Sentinel-2", "Sentinel-3", "Sentinel-5P/TROPOMI/L2__NO2___/2022/06/1"):
        ingest(prefix)


def ingest(prefix):
    subprocess.run([BIN, "ingest", "--data", DATA, prefix], check=True, capture_output=True)


def setUpModule():
    synthesise_and_ingest()
    r = requests.get(STAC + "/search", params={"limit": 1000})
    r.raise_for_status()
    for f in r.json()["features"]:
        ALL[f["id"]] = f


def ids(resp):
    assert resp.status_code == 200, (resp.status_code, resp.text[:500])
    return [f["id"] for f in resp.json()["features"]]


def ts(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def expect(pred):
    return {i for i, f in ALL.items() if pred(f)}


def prop(f, name, default=None):
    return f["properties"].get(name, default)


class Landing(unittest.TestCase):
    def test_landing_page_is_a_catalog_with_search_links_and_children(self):
        r = requests.get(STAC)
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(body["type"], "Catalog")
        for uri in ("https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
                    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text"):
            self.assertIn(uri, body["conformsTo"])
        rels = [(l["rel"], l.get("method")) for l in body["links"]]
        for rel in ("self", "root", "conformance", "data", "http://www.opengis.net/def/rel/ogc/1.0/queryables"):
            self.assertIn((rel, None), rels)
        self.assertIn(("search", "GET"), rels)
        self.assertIn(("search", "POST"), rels)
        children = [l["href"] for l in body["links"] if l["rel"] == "child"]
        self.assertIn(STAC + "/collections/sentinel-2-l2a", children)
        self.assertEqual(requests.get(STAC + "/conformance").json()["conformsTo"], body["conformsTo"])

    def test_unknown_path_is_a_stac_404(self):
        r = requests.get(STAC + "/nope")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json()["code"], "NotFound")


class Collections(unittest.TestCase):
    def test_collections_list_and_free_text(self):
        body = requests.get(STAC + "/collections").json()
        listed = [c["id"] for c in body["collections"]]
        self.assertIn("sentinel-2-l2a", listed)
        radar = [c["id"] for c in requests.get(STAC + "/collections", params={"q": "radar"}).json()["collections"]]
        self.assertTrue(radar and all(i.startswith("sentinel-1") for i in radar), radar)

    def test_collection_document(self):
        c = requests.get(STAC + "/collections/sentinel-2-l2a").json()
        self.assertEqual(c["type"], "Collection")
        self.assertEqual(c["stac_version"], "1.1.0")
        self.assertEqual(len(c["extent"]["spatial"]["bbox"][0]), 4)
        self.assertIn("sentinel-2a", c["summaries"]["platform"])
        self.assertIn("red", [b.get("eo:common_name") for b in c["summaries"]["bands"]])
        self.assertIn("license", [l["rel"] for l in c["links"]])
        self.assertIn("B04_10m", c["item_assets"])
        r = requests.get(STAC + "/collections/nope")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(set(r.json()) >= {"code", "description"}, True)


class Items(unittest.TestCase):
    def s2(self):
        return next(f for f in ALL.values() if f["collection"] == "sentinel-2-l2a")

    def test_features_and_single_item_by_id_or_full_name(self):
        r = requests.get(STAC + "/collections/sentinel-2-l2a/items", params={"limit": 2})
        self.assertEqual(r.headers["Content-Type"], "application/geo+json")
        self.assertTrue(all(f["collection"] == "sentinel-2-l2a" for f in r.json()["features"]))
        item = self.s2()
        for key in (item["id"], item["id"] + ".SAFE"):
            got = requests.get(STAC + "/collections/sentinel-2-l2a/items/" + key)
            self.assertEqual(got.status_code, 200, key)
            self.assertEqual(got.json()["id"], item["id"])
        self.assertEqual(requests.get(STAC + "/collections/sentinel-1-grd/items/" + item["id"]).status_code, 404)
        self.assertEqual(requests.get(STAC + "/collections/sentinel-2-l2a/items/nope").status_code, 404)
        uuid = item["assets"]["product"]["href"].split("Products(")[1].split(")")[0]
        self.assertEqual(requests.get(STAC + "/items/" + uuid).json()["id"], item["id"])

    def test_sentinel2_item_properties_assets_links(self):
        f = self.s2()
        p = f["properties"]
        self.assertRegex(p["platform"], r"^sentinel-2[abc]$")
        self.assertEqual(p["constellation"], "sentinel-2")
        self.assertEqual(p["product:type"], "S2MSI2A")
        self.assertRegex(p["grid:code"], r"^MGRS-\d\d[A-Z]{3}$")
        self.assertEqual(p["proj:epsg"], 32632)
        self.assertIn(p["sat:orbit_state"], ("ascending", "descending"))
        self.assertIsInstance(p["sat:relative_orbit"], int)
        self.assertTrue(0 <= p["eo:cloud_cover"] <= 100)
        for k in ("datetime", "start_datetime", "end_datetime", "created", "updated"):
            ts(p[k])
        b04 = f["assets"]["B04_10m"]
        self.assertTrue(b04["href"].startswith(URL + "/odata/v1/Products("), b04["href"])
        self.assertTrue(b04["href"].endswith("/$value"))
        self.assertTrue(b04["alternate"]["s3"]["href"].startswith("s3://eodata/Sentinel-2/"))
        self.assertGreater(b04["file:size"], 0)
        self.assertEqual(b04["bands"][0]["eo:common_name"], "red")
        self.assertEqual(f["assets"]["product"]["type"], "application/zip")
        self.assertEqual(f["assets"]["product"]["roles"], ["data", "metadata", "archive"])
        rels = {l["rel"]: l["href"] for l in f["links"]}
        self.assertEqual(rels["self"], STAC + "/collections/sentinel-2-l2a/items/" + f["id"])
        self.assertEqual(rels["collection"], STAC + "/collections/sentinel-2-l2a")
        self.assertTrue(rels["enclosure"].startswith("s3://eodata/"))
        checksums = [a["file:checksum"] for a in f["assets"].values() if "file:checksum" in a]
        for c in checksums:
            self.assertRegex(c, r"^(1620[0-9a-f]{64}|d50110[0-9a-f]{32})$")

    def test_sentinel1_item_has_sar_fields(self):
        f = next(f for f in ALL.values() if f["collection"] == "sentinel-1-grd")
        self.assertEqual(prop(f, "sar:instrument_mode"), "IW")
        self.assertTrue(set(prop(f, "sar:polarizations")) <= {"VV", "VH", "HH", "HV"})
        self.assertEqual(prop(f, "sar:frequency_band"), "C")


class Search(unittest.TestCase):
    def get(self, **params):
        return requests.get(STAC + "/search", params={"limit": 1000, **params})

    def post(self, body):
        return requests.post(STAC + "/search", json={"limit": 1000, **body})

    def check(self, expected, *responses):
        self.assertTrue(expected, "the expectation selects nothing: the test would prove little")
        for r in responses:
            self.assertEqual(set(ids(r)), expected, r.request.url)

    def test_collections_ids_bbox_intersects(self):
        s2 = expect(lambda f: f["collection"] == "sentinel-2-l2a")
        self.check(s2, self.get(collections="sentinel-2-l2a"), self.post({"collections": ["sentinel-2-l2a"]}))
        mission = expect(lambda f: f["collection"].startswith("sentinel-2-l"))
        self.check(mission, self.get(collections="SENTINEL-2"))
        two = sorted(ALL)[:2]
        self.check(set(two), self.get(ids=",".join(two)), self.post({"ids": two}))
        self.check(set(ALL), self.get(bbox="11,46.3,11.5,46.6"))
        self.assertEqual(ids(self.get(bbox="170,-10,-170,10")), [])  # across the antimeridian, far away
        poly = {"type": "Polygon", "coordinates": [[[11, 46.3], [11.5, 46.3], [11.5, 46.6], [11, 46.6], [11, 46.3]]]}
        self.check(set(ALL), self.post({"intersects": poly}), self.get(intersects=json.dumps(poly)))

    def test_datetime_forms(self):
        day = expect(lambda f: ts(prop(f, "start_datetime")) <= ts("2022-06-15T23:59:59Z") and
                     ts(prop(f, "end_datetime")) >= ts("2022-06-15T00:00:00Z"))
        self.check(day, self.get(datetime="2022-06-15T00:00:00Z/2022-06-15T23:59:59Z"),
                   self.post({"datetime": "2022-06-15T00:00:00Z/2022-06-15T23:59:59Z"}))
        after = expect(lambda f: ts(prop(f, "end_datetime")) >= ts("2022-06-17T00:00:00Z"))
        self.check(after, self.get(datetime="2022-06-17T00:00:00Z/.."), self.get(datetime="2022-06-17T00:00:00Z/"))
        before = expect(lambda f: ts(prop(f, "start_datetime")) <= ts("2022-06-14T00:00:00Z"))
        self.check(before, self.get(datetime="../2022-06-14T00:00:00Z"), self.get(datetime="/2022-06-14T00:00:00Z"))
        one = next(iter(ALL.values()))
        self.assertIn(one["id"], ids(self.get(datetime=prop(one, "datetime"))))

    def test_filter_comparisons_and_logic(self):
        low = expect(lambda f: prop(f, "eo:cloud_cover") is not None and prop(f, "eo:cloud_cover") < 40)
        self.check(low, self.get(filter="eo:cloud_cover < 40"), self.get(filter="cloudCover<40"),
                   self.post({"filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 40]}}),
                   self.get(**{"filter-lang": "cql2-json",
                               "filter": json.dumps({"op": "<", "args": [{"property": "eo:cloud_cover"}, 40]})}))
        mid = expect(lambda f: prop(f, "eo:cloud_cover") is not None and 5 <= prop(f, "eo:cloud_cover") <= 10)
        self.check(mid, self.get(filter="eo:cloud_cover BETWEEN 5 AND 10"))
        plat = expect(lambda f: prop(f, "platform") in ("sentinel-1a", "sentinel-2a"))
        self.check(plat, self.get(filter="platform IN ('sentinel-1a','sentinel-2a')"))
        nogrid = expect(lambda f: prop(f, "grid:code") is None)
        self.check(nogrid, self.get(filter="grid:code IS NULL"),
                   self.post({"filter": {"op": "isNull", "args": [{"property": "grid:code"}]}}))
        self.check(set(ALL) - nogrid, self.get(filter="grid:code IS NOT NULL"))
        combo = expect(lambda f: (prop(f, "sat:orbit_state") == "descending" and f["collection"] != "sentinel-1-grd")
                       or prop(f, "product:type") == "OL_1_EFR___")
        self.check(combo, self.get(filter="(sat:orbit_state = 'descending' AND NOT collection = 'sentinel-1-grd') "
                                          "OR \"product:type\" = 'OL_1_EFR___'"))
        orbit = next(prop(f, "sat:relative_orbit") for f in ALL.values() if prop(f, "sat:relative_orbit"))
        self.check(expect(lambda f: prop(f, "sat:relative_orbit") == orbit),
                   self.get(filter=f"sat:relative_orbit = {orbit}"))
        tile = next(prop(f, "grid:code") for f in ALL.values() if prop(f, "grid:code"))
        self.check(expect(lambda f: prop(f, "grid:code") == tile), self.get(filter=f"grid:code = '{tile}'"))

    def test_filter_like_on_id(self):
        self.check(expect(lambda f: f["id"].startswith("S2")), self.get(filter="id LIKE 'S2%'"))
        self.check(expect(lambda f: "MSIL2A" in f["id"]), self.get(filter="id LIKE '%MSIL2A%'"))
        some = sorted(ALL)[0]
        tail = some.rsplit("_", 1)[1]
        self.check(expect(lambda f: f["id"].endswith(tail)), self.get(filter=f"id LIKE '%{tail}'"))
        self.check({some}, self.get(filter=f"id = '{some}'"),
                   self.get(filter="id LIKE '" + some.replace("_", "\\_") + "'"))

    def test_filter_spatial(self):
        self.check(set(ALL), self.get(filter="S_INTERSECTS(geometry, POLYGON((11 46.3,11.5 46.3,11.5 46.6,11 46.6,11 46.3)))"),
                   self.get(filter="S_INTERSECTS(geometry, BBOX(11,46.3,11.5,46.6))"),
                   self.post({"filter": {"op": "s_intersects", "args": [{"property": "geometry"},
                                                                        {"bbox": [11, 46.3, 11.5, 46.6]}]}}))
        self.assertEqual(ids(self.get(filter="S_INTERSECTS(geometry, POINT(-40 -40))")), [])
        self.assertEqual(ids(self.get(filter="S_WITHIN(geometry, BBOX(11.2,46.4,11.3,46.5))")), [])
        within = ids(self.get(filter="S_WITHIN(geometry, BBOX(-10,30,30,60))"))
        self.assertEqual(set(within), set(ALL))
        self.assertEqual(set(ids(self.get(filter="S_CONTAINS(geometry, POINT(11.35 46.5))"))), set(ALL))

    def test_filter_temporal(self):
        t = "2022-06-17T00:00:00Z"
        self.check(expect(lambda f: ts(prop(f, "end_datetime")) < ts(t)),
                   self.get(filter=f"T_BEFORE(datetime, TIMESTAMP('{t}'))"))
        self.check(expect(lambda f: ts(prop(f, "start_datetime")) > ts(t)),
                   self.get(filter=f"T_AFTER(datetime, TIMESTAMP('{t}'))"))
        day = expect(lambda f: ts(prop(f, "start_datetime")) <= ts("2022-06-15T23:59:59.999999Z")
                     and ts(prop(f, "end_datetime")) >= ts("2022-06-15T00:00:00Z"))
        self.check(day, self.get(filter="T_INTERSECTS(datetime, DATE('2022-06-15'))"),
                   self.get(filter="T_INTERSECTS(datetime, INTERVAL('2022-06-15T00:00:00Z','2022-06-15T23:59:59.999999Z'))"))
        during = expect(lambda f: ts(prop(f, "start_datetime")) > ts("2022-06-14T00:00:00Z")
                        and ts(prop(f, "end_datetime")) < ts("2022-06-16T00:00:00Z"))
        self.check(during, self.get(filter="T_DURING(datetime, INTERVAL('2022-06-14T00:00:00Z','2022-06-16T00:00:00Z'))"))
        self.check(expect(lambda f: ts(prop(f, "start_datetime")) >= ts(t)),
                   self.get(filter=f"start_datetime >= TIMESTAMP('{t}')"),
                   self.get(filter=f"T_INTERSECTS(start_datetime, INTERVAL('{t}','..'))"))

    def test_filter_arrays(self):
        vv = expect(lambda f: "VV" in (prop(f, "sar:polarizations") or []))
        self.check(vv, self.get(filter="A_CONTAINS(sar:polarizations, ('VV'))"),
                   self.get(filter="A_OVERLAPS(sar:polarizations, ('VV','HH'))"),
                   self.post({"filter": {"op": "a_contains", "args": [{"property": "sar:polarizations"}, ["VV"]]}}))
        both = expect(lambda f: set(prop(f, "sar:polarizations") or []) == {"VV", "VH"})
        self.check(both, self.get(filter="A_EQUALS(sar:polarizations, ('VH','VV'))"))
        msi = expect(lambda f: prop(f, "instruments") == ["msi"])
        self.check(msi, self.get(filter="A_CONTAINS(instruments, ('msi'))"))

    def test_query_extension_and_free_text(self):
        low = expect(lambda f: prop(f, "eo:cloud_cover") is not None and prop(f, "eo:cloud_cover") <= 50)
        self.check(low, self.post({"query": {"eo:cloud_cover": {"lte": 50}}}),
                   self.get(query=json.dumps({"eo:cloud_cover": {"lte": 50}})))
        self.check(expect(lambda f: f["id"].startswith("S1")), self.post({"query": {"id": {"startsWith": "S1"}}}))
        self.check(expect(lambda f: prop(f, "platform") == "sentinel-3a" or prop(f, "platform") == "sentinel-3b"),
                   self.post({"query": {"platform": {"in": ["sentinel-3a", "sentinel-3b"]}}}))
        self.check(expect(lambda f: "OL_1_EFR" in f["id"]), self.get(q="ol_1_efr"))

    def test_sortby(self):
        r = self.get(sortby="-properties.datetime")
        dts = [ts(f["properties"]["datetime"]) for f in r.json()["features"]]
        self.assertEqual(dts, sorted(dts, reverse=True))
        self.assertEqual(ids(self.get(sortby="+id")), sorted(ALL))
        self.assertEqual(ids(self.post({"sortby": [{"field": "id", "direction": "desc"}]})), sorted(ALL, reverse=True))
        cc = [prop(f, "eo:cloud_cover") for f in self.get(sortby="eo:cloud_cover").json()["features"]]
        present = [c for c in cc if c is not None]
        self.assertEqual(present, sorted(present))
        self.assertEqual(cc[: len(present)], present)  # products without a cloud cover come last

    def test_fields(self):
        f = self.get(fields="id,-geometry", limit=1).json()["features"][0]
        self.assertNotIn("geometry", f)
        self.assertIn("id", f)
        f = self.post({"fields": {"include": ["properties.eo:cloud_cover"], "exclude": ["assets"]},
                       "collections": ["sentinel-2-l2a"], "limit": 1}).json()["features"][0]
        self.assertEqual(set(f["properties"]), {"eo:cloud_cover"})
        self.assertNotIn("assets", f)

    def test_counts(self):
        body = self.get(collections="sentinel-2-l2a", limit=1).json()
        n = len(expect(lambda f: f["collection"] == "sentinel-2-l2a"))
        self.assertEqual(body["numberReturned"], 1)
        if os.environ.get("DATASPACE_STAC_COUNT_LIMIT"):
            bound = int(os.environ["DATASPACE_STAC_COUNT_LIMIT"])
            body = self.get(limit=1).json()
            self.assertNotIn("numberMatched", body)
            self.assertEqual(body["context"]["matched_at_least"], bound)
            self.assertFalse(body["context"]["matched_exact"])
        else:
            self.assertEqual(body["numberMatched"], n)
            self.assertEqual(body["context"]["matched"], n)
        big = self.get(limit=5000).json()
        self.assertEqual(big["context"]["limit"], 1000)  # capped, as the spec allows


class Queryables(unittest.TestCase):
    def test_global_and_per_collection(self):
        r = requests.get(STAC + "/queryables")
        self.assertEqual(r.headers["Content-Type"], "application/schema+json")
        q = r.json()
        self.assertEqual(q["type"], "object")
        for k in ("id", "collection", "geometry", "datetime", "eo:cloud_cover", "sar:polarizations", "grid:code"):
            self.assertIn(k, q["properties"])
        self.assertEqual(q["properties"]["eo:cloud_cover"]["type"], "number")
        s1 = requests.get(STAC + "/collections/sentinel-1-grd/queryables").json()
        self.assertIn("sar:instrument_mode", s1["properties"])
        self.assertNotIn("eo:cloud_cover", s1["properties"])


class Paging(unittest.TestCase):
    def walk(self, first, follow):
        seen, pages, page = [], [], first
        while True:
            self.assertEqual(page.status_code, 200, page.text[:300])
            body = page.json()
            pages.append(body)
            seen += [f["id"] for f in body["features"]]
            nxt = [l for l in body["links"] if l["rel"] == "next"]
            if not nxt or len(pages) > 100:
                return seen, pages
            page = follow(nxt[0], len(pages))

    def test_get_walk_is_stable_when_a_product_arrives_between_pages(self):
        before = set(ALL)
        ingested = []

        def follow(link, n):
            if n == 1:
                ingest(HELD_BACK)
                ingested.append(True)
            return requests.get(link["href"])

        seen, pages = self.walk(requests.get(STAC + "/search", params={"limit": 3}), follow)
        self.assertTrue(ingested)
        self.assertEqual(len(seen), len(set(seen)), "duplicates across pages")
        self.assertEqual(set(seen) & before, before, "gaps across pages")
        # The newest product came in ahead of the cursor: the walk does not see it, and nothing shifts.
        self.assertEqual(set(seen), before)
        # prev of the last page is the page before it.
        prev = [l for l in pages[-1]["links"] if l["rel"] == "prev"][0]
        self.assertEqual(ids(requests.get(prev["href"])), [f["id"] for f in pages[-2]["features"]])
        after = requests.get(STAC + "/search", params={"limit": 1000}).json()
        self.assertEqual(len(after["features"]), len(before) + 1)
        ALL.update({f["id"]: f for f in after["features"]})  # the later tests expect the new product

    def test_post_walk_follows_post_links(self):
        body = {"collections": ["sentinel-2-l2a", "sentinel-1-grd", "sentinel-3-olci-1-efr"], "limit": 2}
        expected = expect(lambda f: f["collection"] in body["collections"])

        def follow(link, _):
            self.assertEqual(link["method"], "POST")
            return requests.post(link["href"], json=link["body"])

        seen, _ = self.walk(requests.post(STAC + "/search", json=body), follow)
        self.assertEqual(sorted(seen), sorted(expected))

    def test_attribute_sort_pages_by_offset(self):
        def follow(link, _):
            return requests.get(link["href"])

        seen, _ = self.walk(requests.get(STAC + "/search", params={"limit": 2, "sortby": "-eo:cloud_cover",
                                                                    "collections": "sentinel-2-l2a,sentinel-2-l1c"}),
                            follow)
        expected = expect(lambda f: f["collection"] in ("sentinel-2-l2a", "sentinel-2-l1c"))
        self.assertEqual(sorted(seen), sorted(expected))

    def test_foreign_token_is_rejected(self):
        r = requests.get(STAC + "/search", params={"token": "bm9wZQ"})
        self.assertEqual(r.status_code, 400)


class BadInput(unittest.TestCase):
    CASES = [
        {"bbox": "0,50,1,40"},  # south > north
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "0,0,1,1", "intersects": json.dumps({"type": "Point", "coordinates": [0, 0]})},
        {"intersects": "{not json"},
        {"datetime": "garbage"},
        {"datetime": "2022-06-20/2022-06-10"},
        {"datetime": "../.."},
        {"limit": "0"},
        {"limit": "20000"},
        {"limit": "ten"},
        {"filter": "(eo:cloud_cover < 10"},
        {"filter": "eo:cloud_cover < 10)"},
        {"filter": "foo(geometry)"},
        {"filter": "eo:cloud_cover = 'cloudy'"},
        {"filter": "platform = 3"},
        {"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1)))"},
        {"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0))"},
        {"filter": "nosuchproperty = 1"},
        {"filter": "id LIKE 'S2_MSI%'"},
        {"filter": "id LIKE 'S2%L2A%'"},
        {"filter": "eo:cloud_cover LIKE '1%'"},
        {"filter": "datetime > TIMESTAMP('yesterday')"},
        {"filter": "'unterminated"},
        {"filter": "S_TOUCHES(geometry, POINT(0 0))"},
        {"filter": "eo:cloud_cover !=  3"},
        {"filter": "(" * 200 + "id = 'x'" + ")" * 200},
        {"filter": "x", "filter-lang": "cql3"},
        {"filter": "{", "filter-lang": "cql2-json"},
        {"sortby": "geometry"},
        {"sortby": "-nosuch"},
        {"query": json.dumps({"eo:cloud_cover": {"approx": 3}})},
        {"token": "!!!"},
        {"filter-crs": "EPSG:3857", "filter": "id = 'x'"},
    ]
    BODIES = [
        {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}},
        {"bbox": "0,0,1,1x"},
        {"limit": "ten"},
        {"limit": 10.5},
        {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
        {"filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, "ten"]}},
        {"filter": {"op": "frobnicate", "args": []}},
        {"filter": {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": 3}]}},
        {"filter": {"op": "=", "args": [{"property": "nosuch"}, 1]}},
        {"filter": "not an object"},
        {"filter": {"op": "and", "args": [{"op": "=", "args": [{"property": "id"}]}]}},
        {"sortby": [{"field": "datetime", "direction": "sideways"}]},
        {"ids": "a", "collections": 5},
        {"query": {"eo:cloud_cover": 3}},
        {"fields": 7},
        {"datetime": 2022},
    ]

    def assert_stac_400(self, r, what):
        self.assertEqual(r.status_code, 400, f"{what}: {r.status_code} {r.text[:300]}")
        body = r.json()
        self.assertTrue(body.get("code") and body.get("description"), body)

    def test_get_parameters(self):
        for params in self.CASES:
            self.assert_stac_400(requests.get(STAC + "/search", params=params), params)

    def test_post_bodies(self):
        for body in self.BODIES:
            self.assert_stac_400(requests.post(STAC + "/search", json=body), body)
        self.assert_stac_400(requests.post(STAC + "/search", data="{nope", headers={"Content-Type": "application/json"}),
                             "malformed JSON")
        self.assert_stac_400(requests.post(STAC + "/search", json=[1, 2]), "array body")

    def test_cql2_errors_name_the_position(self):
        d = requests.get(STAC + "/search", params={"filter": "eo:cloud_cover < 10 AND (platform = 'x'"}).json()
        self.assertIn("position", d)
        self.assertIn("')'", d["description"])
        d = requests.get(STAC + "/search", params={"filter": "frob(1)"}).json()
        self.assertIn("unknown function 'frob'", d["description"])
        d = requests.get(STAC + "/search", params={"filter": "nosuch = 1"}).json()
        self.assertIn("nosuch", d["description"])

    def test_collection_items_share_the_checks(self):
        self.assert_stac_400(requests.get(STAC + "/collections/sentinel-2-l2a/items", params={"bbox": "0,9,1,1"}), "bbox")
        self.assertEqual(requests.get(STAC + "/collections/nope/items").status_code, 404)


class Validation(unittest.TestCase):
    """Every collection and a sample of items of every collection, through stac-node-validator
    1.3.2 with the schemas of ../shared/schemas/stac (offline)."""

    def test_stac_node_validator_accepts_our_documents(self):
        validator = os.path.join(HERE, "node_modules", ".bin", "stac-node-validator")
        if not os.path.isdir(SCHEMAS):
            self.skipTest(f"no STAC schemas at {SCHEMAS} (CI provides ../shared/schemas/stac)")
        if not os.path.exists(validator):
            self.skipTest("stac-node-validator is not installed: run `npm ci` in tests/api")
        with open(os.path.join(SCHEMAS, "stac-node-validator.config.json")) as f:
            config = json.load(f)
        config["schemaMap"] = [m.replace("=shared/schemas/stac/", "=" + SCHEMAS + "/") for m in config["schemaMap"]]
        work = tempfile.mkdtemp(prefix="stac-validate-")
        self.addCleanup(shutil.rmtree, work, True)
        with open(os.path.join(work, "config.json"), "w") as f:
            json.dump(config, f)
        files = []
        for c in requests.get(STAC + "/collections").json()["collections"]:
            files.append(os.path.join(work, "collection-" + c["id"] + ".json"))
            with open(files[-1], "w") as f:
                json.dump(c, f)
            for item in requests.get(STAC + f"/collections/{c['id']}/items", params={"limit": 2}).json()["features"]:
                files.append(os.path.join(work, "item-" + item["id"] + ".json"))
                with open(files[-1], "w") as f:
                    json.dump(item, f)
        self.assertGreater(len(files), 10)
        env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
                   http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="")
        r = subprocess.run([validator, *files, "--config", os.path.join(work, "config.json")],
                           capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr)[-4000:])
        self.assertNotIn("not found", r.stdout + r.stderr)


class Stacit(unittest.TestCase):
    """GDAL's STACIT driver reads our item search (following next links)."""

    def test_gdal_stacit_reads_the_search(self):
        if not shutil.which("gdalinfo"):
            self.skipTest("gdalinfo not installed")
        search = (f"{STAC}/search?collections=sentinel-2-l2a&datetime=2022-06-13T00:00:00Z/2022-06-20T23:59:59Z"
                  "&limit=1")
        env = dict(os.environ, CPL_DEBUG="ON")
        first_href = requests.get(search).json()["features"][0]["assets"]["B04_10m"]["href"]
        if requests.head(first_href).status_code == 401:
            # Files need a token (as on CDSE): a user of our own, and GDAL sends the bearer token.
            subprocess.run([BIN, "user", "add", "--data", DATA, "--email", "stacit@example.org", "--password",
                            "stacit-pass-1"], check=True, capture_output=True)
            tok = requests.post(URL + "/auth/realms/CDSE/protocol/openid-connect/token",
                                data={"grant_type": "password", "client_id": "cdse-public",
                                      "username": "stacit@example.org", "password": "stacit-pass-1"}).json()
            env["GDAL_HTTP_HEADERS"] = "Authorization: Bearer " + tok["access_token"]
        r = subprocess.run(["gdalinfo", f'STACIT:"{search}":asset=B04_10m'], capture_output=True, text=True,
                           timeout=120, env=env)
        out = r.stdout + r.stderr
        first = requests.get(search).json()["features"][0]
        has_grid = any(k in first["assets"]["B04_10m"] or k in first["properties"]
                       for k in ("proj:shape", "proj:transform", "proj:bbox"))
        # GDAL fetched every page (limit=1 → one request per item, through the next links).
        n = len(expect(lambda f: f["collection"] == "sentinel-2-l2a"))
        node = first["assets"]["B04_10m"]["href"]
        node_served = requests.head(node).status_code not in (404, 405)
        if has_grid and node_served:
            self.assertEqual(r.returncode, 0, out[-3000:])
            self.assertIn("Size is", out)
        elif has_grid:
            # The items carry their grids, so STACIT builds the mosaic from every page; it then opens
            # the first source for its band characteristics, which needs the download route.
            self.assertIn("to retrieve band characteristics", out, out[-3000:])
            self.assertNotIn("lacks at least 2 members", out)
        else:
            # Our catalogue does not record asset grids yet, so STACIT parses every item and then
            # finds no asset with proj:shape/transform: it must say exactly that, not fail on our JSON.
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("lacks at least 2 members among proj:bbox, proj:shape and proj:transform", out)
            self.assertEqual(out.count("Skipping asset B04_10m"), n, out[-3000:])
            self.assertIn("No compatible asset found", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
