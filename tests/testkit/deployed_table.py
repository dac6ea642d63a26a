# SPDX-License-Identifier: AGPL-3.0-or-later
"""The deployed PostgreSQL directory for the integration tests: the server scripts/test.sh
starts (NEXUS_TEST_DATABASE_URL), the deployed `directory_instances` table (migrations 014 and
116) created in a schema of the test's own, and psql to set it up."""

import os
import subprocess

DATABASE_URL = os.environ.get("NEXUS_TEST_DATABASE_URL", "")

SCHEMA_SQL = """
CREATE SCHEMA {schema};
CREATE TABLE {schema}.directory_instances (
  id SERIAL PRIMARY KEY, slug VARCHAR(63) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL,
  description TEXT, url TEXT NOT NULL, ip VARCHAR(45), language VARCHAR(10) DEFAULT 'fr',
  country VARCHAR(2), theme VARCHAR(50), members INT DEFAULT 0, online INT DEFAULT 0,
  version VARCHAR(20),
  status VARCHAR(20) DEFAULT 'pending'
    CHECK (status IN ('pending','active','inactive','banned')),
  token VARCHAR(64) NOT NULL UNIQUE, cloudflare_record_id TEXT, last_seen TIMESTAMPTZ,
  registered_at TIMESTAMPTZ DEFAULT NOW(),
  relay_transport TEXT CHECK (relay_transport IS NULL OR relay_transport IN ('tcp7443','wss')),
  relay_transport_at TIMESTAMPTZ);
"""


def psql(sql):
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", DATABASE_URL, "-c", sql],
                   check=True, capture_output=True, text=True, timeout=30)
