"""Documents a regulator asks for, produced from the books as Markdown or HTML files.

- the 17 CFR 242.204(c) notice to correspondents (pre-borrow imposed and lifted);
- the Rule 204T market-maker written attestation in the form of FINRA Regulatory Notice 08-50, Attachment A;
- the options market maker's record substantiating (or not) an excepted threshold-security fail (CBOE circular,
  Question 10).

Templates are Jinja2 (maintained, made for exactly this); HTML is rendered from the Markdown with markdown-it-py.
"""

from regsho.reports.documents import Document, build_documents, write_documents

__all__ = ["Document", "build_documents", "write_documents"]
