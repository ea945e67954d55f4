"""Law as code: citations, the dated table of regulatory parameters, regimes and reason codes."""
