"""Fake-but-real-protocol stand-ins for every external service, with fault injection and a ledger.

Enabled by PHANTOMS_SANDBOX=1 and mounted under /sandbox/. Faults live in Redis (sandbox.faults)
so the web process and every worker see a change on their next request.
"""
