"""The editors' home: assets (brief, review, history) and prompt templates.

Every state change goes through the services (pipeline.services.*); these modules only decide who
may ask for one and report what happened. One module a page: `assets` (the asset list and page),
`review` (the review queue and the transition buttons), `prompts`, `forms`.
"""

from . import assets, notices, prompts  # noqa: F401  (registering the admins)
