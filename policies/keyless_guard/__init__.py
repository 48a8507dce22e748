"""keyless-guard: CrossGuard rules for keyless-ingest, grouped by AWS service.

`pack.POLICIES` lists every rule; `policies/__main__.py` builds the pack from it.
"""
