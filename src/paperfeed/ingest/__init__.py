"""Ingest: batches of parsed items from any source → store writes, with a report of what changed.

``writer.ingest`` is the core of ``paperfeed ingest``, of the worker's harvest and Hugging Face jobs, of the demo
and of the benchmarks: whatever the source (``sources.registry``), its batches end up here.
"""
