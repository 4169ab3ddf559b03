#!/usr/bin/python3
"""One question, three interfaces: 30 searches asked through OData, STAC and OpenSearch (resto) must
return the same products, because the three compile into the one catalogue query. Runs against the
shared test archive (harness.py --archive). Products are compared by name (STAC item ids drop the
.SAFE/.SEN3/.nc extension)."""
import itertools
import os
import re
import sys

import requests

URL = os.environ["DATASPACE_URL"]
failures = []

MISSIONS = {  # OData collection → (STAC collections, resto collection)
    "SENTINEL-1": (["sentinel-1-grd", "sentinel-1-slc"], "Sentinel1"),
    "SENTINEL-2": (["sentinel-2-l1c", "sentinel-2-l2a"], "Sentinel2"),
    "SENTINEL-3": (["sentinel-3-olci-1-efr"], "Sentinel3"),
    "SENTINEL-5P": (["sentinel-5p-l2"], "Sentinel5P"),
}
BOXES = {
    "bolzano": (11.0, 46.2, 11.8, 46.8),
    "north-east": (11.5, 46.5, 13.0, 47.5),
    "atlantic": (-40.0, 30.0, -39.0, 31.0),
}
WINDOWS = [("2022-06-10T00:00:00Z", "2022-06-14T23:59:59Z"), ("2022-06-15T00:00:00Z", "2022-06-20T23:59:59Z"),
           ("2022-06-01T00:00:00Z", "2022-07-01T00:00:00Z")]


def base_name(name):
    return re.sub(r"\.(SAFE|SEN3|nc|cog|COG)$", "", name)


def odata(mission, window, box, cloud=None, product_type=None, orbit=None):
    parts = [f"Collection/Name eq '{mission}'",
             f"ContentDate/Start ge {window[0]}", f"ContentDate/Start le {window[1]}"]
    if box:
        w, s, e, n = box
        parts.append(f"OData.CSC.Intersects(area=geography'SRID=4326;POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))')")
    if cloud is not None:
        parts.append("Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
                     f"att/OData.CSC.DoubleAttribute/Value lt {cloud})")
    if product_type:
        parts.append("Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
                     f"att/OData.CSC.StringAttribute/Value eq '{product_type}')")
    if orbit is not None:
        parts.append("Attributes/OData.CSC.IntegerAttribute/any(att:att/Name eq 'relativeOrbitNumber' and "
                     f"att/OData.CSC.IntegerAttribute/Value eq {orbit})")
    r = requests.get(URL + "/odata/v1/Products", params={"$filter": " and ".join(parts), "$top": "1000"}, timeout=30)
    r.raise_for_status()
    return {base_name(p["Name"]) for p in r.json()["value"]}


def stac(mission, window, box, cloud=None, product_type=None, orbit=None):
    args = [{"op": ">=", "args": [{"property": "start_datetime"}, {"timestamp": window[0]}]},
            {"op": "<=", "args": [{"property": "start_datetime"}, {"timestamp": window[1]}]}]
    if cloud is not None:
        args.append({"op": "<", "args": [{"property": "eo:cloud_cover"}, cloud]})
    if product_type:
        args.append({"op": "=", "args": [{"property": "product:type"}, product_type]})
    if orbit is not None:
        args.append({"op": "=", "args": [{"property": "sat:relative_orbit"}, orbit]})
    body = {"collections": MISSIONS[mission][0], "limit": 1000, "filter-lang": "cql2-json",
            "filter": {"op": "and", "args": args}}
    if box:
        body["bbox"] = list(box)
    names = set()
    url, method = URL + "/stac/search", "POST"
    while url:
        r = requests.request(method, url, json=body, timeout=30)
        r.raise_for_status()
        doc = r.json()
        names |= {f["id"] for f in doc["features"]}
        nxt = next((l for l in doc.get("links", []) if l.get("rel") == "next"), None)
        url = nxt["href"] if nxt else None
        method = nxt.get("method", "GET") if nxt else None
        body = nxt.get("body", body) if nxt else None
    return {base_name(n) for n in names}


def resto(mission, window, box, cloud=None, product_type=None, orbit=None):
    params = {"startDate": window[0], "completionDate": window[1], "maxRecords": "2000"}
    if box:
        params["box"] = ",".join(str(v) for v in box)
    if cloud is not None:
        params["cloudCover"] = f"[0,{cloud}["
    if product_type:
        params["productType"] = product_type
    if orbit is not None:
        params["relativeOrbitNumber"] = str(orbit)
    r = requests.get(URL + f"/resto/api/collections/{MISSIONS[mission][1]}/search.json", params=params, timeout=30)
    r.raise_for_status()
    return {base_name(f["properties"]["title"]) for f in r.json()["features"]}


questions = []
for mission, window, box in itertools.product(["SENTINEL-2", "SENTINEL-3", "SENTINEL-5P", "SENTINEL-1"], WINDOWS,
                                              [None, "bolzano", "north-east"]):
    questions.append(dict(mission=mission, window=window, box=BOXES[box] if box else None))
questions = questions[:24]
questions += [
    dict(mission="SENTINEL-2", window=WINDOWS[2], box=None, cloud=30),
    dict(mission="SENTINEL-2", window=WINDOWS[2], box=BOXES["bolzano"], cloud=60),
    dict(mission="SENTINEL-2", window=WINDOWS[2], box=None, product_type="S2MSI2A"),
    dict(mission="SENTINEL-2", window=WINDOWS[0], box=None, orbit=22),
    dict(mission="SENTINEL-3", window=WINDOWS[2], box=BOXES["atlantic"]),
    dict(mission="SENTINEL-1", window=WINDOWS[2], box=BOXES["bolzano"], product_type="IW_GRDH_1S-COG"),
]
assert len(questions) == 30

nonempty = 0
for i, q in enumerate(questions):
    answers = {}
    for name, fn in (("odata", odata), ("stac", stac), ("opensearch", resto)):
        try:
            answers[name] = fn(**q)
        except requests.RequestException as e:
            failures.append(f"question {i} through {name}: {e}")
            answers[name] = None
    if any(a is None for a in answers.values()):
        continue
    if answers["odata"]:
        nonempty += 1
    if not (answers["odata"] == answers["stac"] == answers["opensearch"]):
        failures.append(f"question {i} {q}: odata {sorted(answers['odata'])}, stac {sorted(answers['stac'])}, "
                        f"opensearch {sorted(answers['opensearch'])}")

if nonempty < 15:
    failures.append(f"only {nonempty} of 30 questions select anything: the battery is too weak")
for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print(f"equivalence: 30 questions, {nonempty} with answers, identical through OData, STAC and OpenSearch")
