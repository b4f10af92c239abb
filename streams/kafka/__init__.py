"""Kafka plumbing shared by the worker and the commands: topics, and following one whole."""
