"""Documents we write for others to read: feeds (RSS, Atom, JSON Feed), BibTeX, the Hugging Face papers API JSON.

Pure functions from papers (and their activity) to text or JSON-ready data; no store, no web framework.
"""
