"""dllab: the library behind the reproducible deep-learning lab.

Grouped by subject (``mnist``, ...); ``stages/`` and ``web/`` are thin shells over it.
"""
