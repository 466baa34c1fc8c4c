"""Privacy: keyed hashes that stand in for ids, redaction of free text, and the redacting tracker store."""
