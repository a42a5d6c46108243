"""The security domain: the service identities, and the jobs that rotate and re-grant keys."""
