"""Talking to a Kubernetes API server: reading evidence (live) and changing objects (writer).

Nothing here imports the kubernetes client at module import time; it is loaded
inside the functions that need it (it costs about half a second).
"""
