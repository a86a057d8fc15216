"""Manifests of the lessons, loaded by name: `cluster.apply("00-web.yaml")`."""
