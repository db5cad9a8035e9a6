"""Search: query syntax, keyword and vector indexes, hybrid ranking, similar papers."""
