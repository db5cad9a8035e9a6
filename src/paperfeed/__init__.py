"""paperfeed: a self-hostable research-paper discovery service.

The package is a core library (papers, store, sources, ingest) with thin doors (CLI, later web and jobs) onto it.
"""

__version__ = "0.1.0"
