"""The stage engine: how any registered stage claims its row, calls out, classifies and commits.

It owns the records that explain the pipeline (transitions, stage attempts, dead letters, breaker
events), the dead-letter service, the reconciler and the status selectors. It imports no app: apps
register their stages with `phantoms.engine.registry` from their AppConfig.ready(). See
docs/architecture.md.
"""
