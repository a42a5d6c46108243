"""Kubernetes side of the platform: preparing, rendering and checking `manifests/` offline.

Nothing here talks to a cluster; applying the rendered manifests is a later step.
"""
