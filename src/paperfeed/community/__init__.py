"""The community: the rules of members (rules.py), the trending formula (trending.py), comment markup (markup.py).

It sits above search (a submitted paper is indexed here, not by each door) and below the doors and digests.
"""
