"""A member's own research space: saved papers (tags, notes, reading state), collections, private ratings, imports
from reference managers and the export of everything they own."""
