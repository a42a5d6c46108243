"""The warehouse domain: the Iceberg warehouse, its inventory and maintenance, the REST
catalog, recovery, the table sensor and the nightly schedule."""
