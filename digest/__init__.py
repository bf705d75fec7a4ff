"""digest: turn a folder of articles into a digest of per-section and per-article summaries."""

from digest.errors import DigestError
from digest.model import ArticleSummary, Digest, Document, Section, SectionSummary, Skipped
from digest.pipeline import Options, make_digest
from digest.publishing import MailPlan, Published, PublishOptions, publish
from digest.version import __version__

__all__ = [
    "__version__",
    "ArticleSummary",
    "Digest",
    "DigestError",
    "Document",
    "MailPlan",
    "Options",
    "PublishOptions",
    "Published",
    "Section",
    "SectionSummary",
    "Skipped",
    "make_digest",
    "publish",
]
