"""Whole workflows on top of the stages: the offline demo and the Bern replication."""
