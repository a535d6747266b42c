"""Public disclosure: verified bundles become a static site anyone can read, search and verify.

Inputs are bundles, folders of bundles and stores (read-only), whose supervisor reviews put
the 复核分数 (never the note) on the page of the very bundle reviewed. Only bundles that pass
`verify` are published, and never the unit's original: each is redacted (private fields
removed), re-evaluated and signed again by the publisher's key as a public copy that names
its original. Unit texts reach the pages only through autoescaping
templates. See `site.publish` for the steps.
"""

from __future__ import annotations

from .collect import Accepted, Collected, Rejected, collect
from .redact import PublicCopy, public_copy, redact_submission
from .site import PublishReport, publish

__all__ = ["Accepted", "Collected", "PublicCopy", "PublishReport", "Rejected", "collect", "public_copy", "publish",
           "redact_submission"]
