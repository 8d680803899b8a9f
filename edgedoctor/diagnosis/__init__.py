"""Pure diagnosis: evidence in, node results and findings out. No I/O here."""
