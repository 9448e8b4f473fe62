"""The V3 node declarations, one file per node group; their work is done in ``..host``."""
