"""The plan: typed changes (changes), how they are computed (diff), limits (safety), and
how they are shown (render)."""
