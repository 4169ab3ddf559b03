#!/usr/bin/python3
"""scripts/with-postgres gives each test run its own PostgreSQL 15 + PostGIS 3 cluster on loopback:
this pins what the scale-out catalogue tests rely on."""
import os
import subprocess
import unittest
from urllib.parse import urlparse

URL = os.environ["DATASPACE_PG_URL"]


def sql(query, url=URL):
    return subprocess.run(["psql", url, "-tAc", query], capture_output=True, text=True, check=True).stdout.strip()


class Cluster(unittest.TestCase):
    def test_postgis_answers_spatial_queries(self):
        self.assertTrue(sql("select postgis_lib_version()").startswith("3."))
        self.assertEqual(sql("select ST_Intersects(ST_MakeEnvelope(11, 46, 12, 47, 4326), "
                             "ST_SetSRID(ST_Point(11.35, 46.49), 4326))"), "t")
        self.assertEqual(sql("show fsync"), "off")

    def test_listens_on_loopback_only(self):
        self.assertEqual(urlparse(URL).hostname, "127.0.0.1")
        self.assertEqual(sql("show listen_addresses"), "127.0.0.1")

    def test_a_nested_cluster_gets_its_own_port(self):
        here = os.path.dirname(os.path.abspath(__file__))
        script = os.path.join(here, "..", "..", "scripts", "with-postgres")
        inner = subprocess.run([script, "sh", "-c", 'echo "$DATASPACE_PG_URL"'], capture_output=True, text=True,
                               check=True).stdout.strip()
        self.assertNotEqual(urlparse(inner).port, urlparse(URL).port)


if __name__ == "__main__":
    unittest.main(verbosity=2)
