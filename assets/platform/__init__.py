"""The platform domain: namespace, object store, bucket and preflight; the bootstrap and
remediation jobs; the run-failure alert."""
