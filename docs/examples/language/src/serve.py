"""Serve on $PORT, answering /health."""
