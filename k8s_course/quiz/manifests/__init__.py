"""Manifests of chapter 6 (interview preparation), loaded by path: `files("k8s_course.quiz.manifests")`."""
