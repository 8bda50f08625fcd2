"""The phased build: stages that bring each index in line with the documents, run in worker
processes and reporting progress as events."""
