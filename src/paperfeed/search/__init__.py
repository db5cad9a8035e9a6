"""Search: keyword, vector and hybrid retrieval over the paper store."""
