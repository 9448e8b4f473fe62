"""Booru tags from a tagger's scores: which tags to keep (``select``), how they are written
(``text``), and the options that say so (``style``)."""
