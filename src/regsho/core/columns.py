"""Column names shared by the readers at the edge and the analyses that use them."""

from __future__ import annotations

from typing import Final

#: The code column beside each text column of the firm's quotes (``regsho.adapters.quotes.read_quotes`` adds them;
#: ``regsho.surveillance.metrics`` cuts the quotes into pairs by them): integers equal exactly when the text is.
QUOTE_CODES: Final = {"symbol": "symbol_code", "mm_id": "mm_id_code"}
