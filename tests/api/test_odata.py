#!/usr/bin/python3
"""The OData catalogue through python requests, replaying the query shapes of CDSE's documentation
and of the clients that use it (CDSETool, eodag, sentinelsat-style scripts), against the shared
test archive (make_archive.py). Run by harness.py --archive, which sets DATASPACE_URL."""
import json
import os
import sqlite3
import sys
import xml.etree.ElementTree as ET

import requests

BASE = os.environ["DATASPACE_URL"] + "/odata/v1"
ARCHIVE = os.environ["DATASPACE_ARCHIVE"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def get(path, **params):
    r = requests.get(BASE + path, params=params, timeout=30)
    check(r.status_code != 500, f"no 500 for {path} {params}")
    return r


def products(flt=None, **params):
    if flt is not None:
        params["$filter"] = flt
    r = get("/Products", **params)
    check(r.status_code == 200, f"200 for {params}: {r.status_code} {r.text[:300]}")
    return r.json()


def names(doc):
    return [p["Name"] for p in doc["value"]]


def db_names(sql, *args):
    con = sqlite3.connect(f"file:{ARCHIVE}/catalogue.db?mode=ro", uri=True)
    try:
        return sorted(r[0] for r in con.execute(sql, args))
    finally:
        con.close()


def attribute_db_names(attr, op, value, collection):
    return db_names(
        "SELECT p.name FROM products p, json_each(p.doc, '$.attributes') a WHERE p.collection = ? AND "
        f"json_extract(a.value, '$.name') = ? AND json_extract(a.value, '$.value') {op} ?",
        collection, attr, value)


def expect_error(status, path, fragment=None, **params):
    r = get(path, **params)
    check(r.status_code == status, f"{status} for {path} {params}: got {r.status_code} {r.text[:200]}")
    try:
        body = r.json()
    except ValueError:
        check(False, f"JSON error body for {params}")
        return None
    if status == 422:
        check("detail" in body and body["detail"][0]["loc"][0] == "query", f"FastAPI 422 shape: {body}")
    else:
        check("error" in body and "message" in body["error"] and "code" in body["error"], f"OData error: {body}")
        if fragment:
            check(fragment in body["error"]["message"], f"message names {fragment!r}: {body['error']['message']}")
    return body


# --- the entity and the envelope ------------------------------------------------------------------
doc = products()
check(doc["@odata.context"] == "$metadata#Products", "context")
check(len(doc["value"]) == 20, "default $top is 20")
p = doc["value"][0]
for field in ["Id", "Name", "ContentType", "ContentLength", "OriginDate", "PublicationDate", "ModificationDate",
              "Online", "EvictionDate", "S3Path", "Checksum", "ContentDate", "Footprint", "GeoFootprint"]:
    check(field in p, f"entity has {field}")
check(p["@odata.mediaContentType"] == "application/octet-stream", "media type annotation")
check(p["Footprint"].startswith("geography'SRID=4326;"), "Footprint literal")
check(p["GeoFootprint"]["type"] in ("Polygon", "MultiPolygon"), "GeoFootprint is GeoJSON")
check(p["ContentDate"]["Start"].endswith("Z") and len(p["ContentDate"]["Start"]) == 27, "6-digit dates")
check(p["S3Path"].startswith("/eodata/"), "S3Path")
check(p["EvictionDate"] == "9999-12-31T23:59:59.999999Z", "never evicted")

# --- CDSETool's query, verbatim (only the host changes) --------------------------------------------
aoi = "POLYGON((11.0 46.2,11.8 46.2,11.8 46.8,11.0 46.8,11.0 46.2))"
cdsetool = (f"Collection/Name eq 'SENTINEL-2' and OData.CSC.Intersects(area=geography'SRID=4326;{aoi}') and "
            "ContentDate/Start gt 2022-06-10T00:00:00.000Z and ContentDate/Start lt 2022-06-21T00:00:00.000Z")
doc = products(cdsetool, **{"$orderby": "ContentDate/Start asc", "$top": "1000", "$expand": "Attributes"})
s2 = db_names("SELECT name FROM products WHERE collection = 'SENTINEL-2'")
check(sorted(names(doc)) == s2, f"CDSETool query finds every S2 product: {names(doc)} vs {s2}")
starts = [x["ContentDate"]["Start"] for x in doc["value"]]
check(starts == sorted(starts), "ordered by ContentDate/Start asc")
check(doc["@odata.context"] == "$metadata#Products(Attributes())", "context with expand")
check(all(any(a["Name"] == "cloudCover" and a["ValueType"] == "Double" for a in x["Attributes"]) for x in doc["value"]
          if x["Name"].startswith("S2")), "S2 attributes carry cloudCover as Double")

# --- typed attribute lambdas, including the mismatched casts real clients send ----------------------
cc = products("Collection/Name eq 'SENTINEL-2' and Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq "
              "'cloudCover' and att/OData.CSC.DoubleAttribute/Value le 40.00)", **{"$top": "100"})
check(sorted(names(cc)) == attribute_db_names("cloudCover", "<=", 40.0, "SENTINEL-2"), "cloudCover le 40")
ro = attribute_db_names("relativeOrbitNumber", "=", 22, "SENTINEL-2")
check(len(ro) > 0, "the archive has relative orbit 22")
for shape in [
        "Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq 'relativeOrbitNumber' and "
        "att/OData.CSC.IntegerAttribute/Value eq 22)",
        # sentinelsat#583: a String cast around an integer value
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'relativeOrbitNumber' and "
        "att/OData.CSC.IntegerAttribute/Value eq 22)",
        # eodag: an Integer cast with a quoted value
        "Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq 'relativeOrbitNumber' and "
        "att/OData.CSC.StringAttribute/Value eq '22')",
        # lower-case prefix, untyped value, another variable name
        "attributes/OData.CSC.IntegerAttribute/any(i0:i0/Name eq 'relativeOrbitNumber' and i0/Value eq 22)"]:
    got = names(products("Collection/Name eq 'SENTINEL-2' and " + shape, **{"$top": "100"}))
    check(sorted(got) == ro, f"lenient attribute shape finds orbit 22: {shape}")
pt = names(products("Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
                    "att/OData.CSC.StringAttribute/Value eq 'S2MSI2A')", **{"$top": "100"}))
check(sorted(pt) == db_names("SELECT name FROM products WHERE product_type = 'S2MSI2A'"), "productType eq S2MSI2A")

# --- names, in, not, ne, Online, dates with offsets, points -----------------------------------------
check(all(n.startswith("S2A_MSIL2A") for n in names(products("startswith(Name,'S2A_MSIL2A')"))), "startswith")
check(all(n.endswith(".SEN3") for n in names(products("endswith(Name,'.SEN3')"))), "endswith")
check(all("_NO2_" in n for n in names(products("contains(Name,'_NO2_')"))), "contains")
two = db_names("SELECT name FROM products ORDER BY name LIMIT 2")
quoted = ",".join(f"'{n}'" for n in two)
check(sorted(names(products(f"Name in ({quoted})"))) == two, "in list")
not_s5p = names(products("not (Collection/Name eq 'SENTINEL-5P')", **{"$top": "100"}))
check(len(not_s5p) == len(db_names("SELECT name FROM products WHERE collection <> 'SENTINEL-5P'")), "not")
check(len(names(products("Collection/Name ne 'SENTINEL-5P'", **{"$top": "100"}))) == len(not_s5p), "ne")
check(len(names(products("Online eq true", **{"$top": "100"}))) == len(db_names("SELECT name FROM products")),
      "all online")
day = names(products("ContentDate/Start ge 2022-06-12 and ContentDate/Start lt 2022-06-13T02:00:00.000+02:00",
                     **{"$top": "100"}))
check(sorted(day) == db_names("SELECT name FROM products WHERE sensing_start >= 1654992000000000 AND "
                              "sensing_start < 1655078400000000"), "date-only literal and offset")
point = names(products("OData.CSC.Intersects(area=geography'SRID=4326;POINT(11.35 46.49)') and "
                       "Collection/Name eq 'SENTINEL-2'", **{"$top": "100"}))
check(sorted(point) == s2, "intersects a point")
check(names(products("OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((-60 -30,-59 -30,-59 -29,-60 -29,"
                     "-60 -30))')")) == [], "nothing in the South Atlantic")

# --- paging: nextLink walk, $count, $select -------------------------------------------------------
total = len(db_names("SELECT name FROM products"))
doc = products(None, **{"$top": "7", "$count": "true", "$orderby": "PublicationDate desc"})
check(doc["@odata.count"] == total, f"@odata.count {doc.get('@odata.count')} == {total}")
seen = names(doc)
while "@odata.nextLink" in doc:
    check("%24skip=" in doc["@odata.nextLink"], "skip-based next link, encoded like CDSE")
    r = requests.get(doc["@odata.nextLink"], timeout=30)
    check(r.status_code == 200, "next link works")
    doc = r.json()
    seen += names(doc)
check(len(seen) == total and len(set(seen)) == total, f"walk visits each product once ({len(seen)} of {total})")
sel = products(None, **{"$select": "Name,ContentDate", "$top": "1"})["value"][0]
check(set(sel) == {"@odata.mediaContentType", "Id", "Name", "ContentDate"}, f"$select keeps Id: {sorted(sel)}")

# --- single entity, expansions, quicklooks -------------------------------------------------------
pid = products("startswith(Name,'S2')", **{"$top": "1"})["value"][0]["Id"]
one = get(f"/Products({pid})", **{"$expand": "Attributes,Assets,Locations"})
check(one.status_code == 200, "single entity")
e = one.json()
check(e["@odata.context"] == "$metadata#Products(Attributes(),Locations(),Assets())/$entity", "entity context")
check(e["Locations"][0]["DownloadLink"].endswith(f"/odata/v1/Products({pid})/$value"), "Locations download link")
check(len(e["Assets"]) == 1 and e["Assets"][0]["Type"] == "QUICKLOOK", "quicklook asset")
ql = requests.get(e["Assets"][0]["DownloadLink"], timeout=30)
check(ql.status_code == 200 and ql.content[:8] in (b"\x89PNG\r\n\x1a\n",) or ql.content[:3] == b"\xff\xd8\xff",
      f"quicklook bytes: {ql.status_code} {ql.headers.get('content-type')}")
check(ql.headers.get("Accept-Ranges") == "bytes", "quicklook supports ranges")
part = requests.get(e["Assets"][0]["DownloadLink"], headers={"Range": "bytes=0-3"}, timeout=30)
check(part.status_code == 206 and len(part.content) == 4, "quicklook range")
expect_error(404, "/Products(00000000-0000-0000-0000-000000000000)")
expect_error(404, "/Products(not-a-uuid)")
expect_error(404, "/Assets(00000000-0000-0000-0000-000000000000)/$value")

# --- FilterList, Attributes, Collections, DeletedProducts, $metadata ----------------------------------
r = requests.post(BASE + "/Products/OData.CSC.FilterList",
                  json={"FilterProducts": [{"Name": two[0]}, {"Name": "NO_SUCH_PRODUCT.SAFE"}, {"Name": two[1]}]},
                  timeout=30)
check(r.status_code == 200 and sorted(names(r.json())) == two, f"FilterList skips unknown names: {r.text[:200]}")
r = requests.post(BASE + "/Products/OData.CSC.FilterList", data="{", timeout=30)
check(r.status_code == 400 and "error" in r.json(), "FilterList bad body")
attrs = get("/Attributes(SENTINEL-2)").json()
check({"Name": "cloudCover", "ValueType": "Double"} in attrs, "Attributes(SENTINEL-2) lists cloudCover")
check("SENTINEL-1" in get("/Attributes").json(), "Attributes lists every collection")
expect_error(404, "/Attributes(NOPE)")
cols = get("/Collections").json()["value"]
check(any(c["Name"] == "SENTINEL-2" and "S2MSI2A" in c["ProductTypes"] for c in cols), "Collections")
deleted = get("/DeletedProducts", **{"$count": "true"}).json()
check(deleted["@odata.count"] == 0 and deleted["value"] == [], "no deleted products")
md = get("/$metadata")
check(md.status_code == 200 and md.headers["Content-Type"].startswith("application/xml"), "$metadata")
root = ET.fromstring(md.content)
check(any(el.get("Name") == "Product" for el in root.iter("{http://docs.oasis-open.org/odata/ns/edm}EntityType")),
      "CSDL describes Product")

# --- bad input: OData errors, never a 500 -------------------------------------------------------------
expect_error(400, "/Products", "missing ')'", **{"$filter": "(Collection/Name eq 'SENTINEL-2'"})
expect_error(400, "/Products", "unknown property or function", **{"$filter": "frobnicate(Name,'x')"})
expect_error(400, "/Products", "date-time", **{"$filter": "ContentDate/Start gt 'yesterday'"})
expect_error(400, "/Products", "quoted string", **{"$filter": "Name eq 42"})
expect_error(400, "/Products", "invalid geometry",
             **{"$filter": "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((0 0,1 1,1 0,0 1,0 0))')"})
expect_error(400, "/Products", "SRID=4326", **{"$filter": "OData.CSC.Intersects(area=geography'SRID=3857;POINT(1 1)')"})
expect_error(400, "/Products", "compare it with a number", **{
    "$filter": "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
               "att/OData.CSC.DoubleAttribute/Value le 'cloudy')"})
expect_error(400, "/Products", "unterminated", **{"$filter": "Name eq 'abc"})
expect_error(400, "/Products", "expected an expression", **{"$filter": "( )"})
expect_error(400, "/Products", "cannot be filtered", **{"$filter": "OriginDate gt 2022-01-01"})
expect_error(400, "/Products", None, **{"$filter": "Name eq 'a' and"})
expect_error(400, "/Products", None, **{"$filter": "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                                                   "((((((((((Name eq 'a'" })
expect_error(422, "/Products", None, **{"$skip": "10001"})
expect_error(422, "/Products", None, **{"$top": "1001"})
expect_error(422, "/Products", None, **{"$top": "ten"})
expect_error(400, "/Products", None, **{"$orderby": "Footprint asc"})
expect_error(400, "/Products", None, **{"$expand": "Everything"})
expect_error(400, "/Products", None, **{"$select": "Name,Secret"})
expect_error(400, "/Products", None, **{"$count": "maybe"})
body = expect_error(400, "/Products", None, **{"$filter": "Name eq 'a' or or"})
if body:
    check(body["error"]["target"] == "$filter" and "position" in body["error"]["details"][0], "error names position")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("odata: all checks passed")
