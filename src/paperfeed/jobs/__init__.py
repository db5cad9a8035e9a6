"""The recurring jobs: ``tasks`` says what each job does and when it is due (harvest arXiv through the sources'
registry, read the listing feeds, refresh Hugging Face signals, send digests), each under a store lease; ``worker``
runs them on Huey.
"""
