"""Behaviour models of the container images the course runs.

The simulator cannot run a container, so each image the course uses has a model of the
behaviour the course observes: what it logs, when it exits, how it answers probes and exec.
`model_for(container)` picks the model; `base` defines what a model may do.
"""
