__version__ = "0.1.0"
"""The distribution's version (read by the build backend from this line)."""
