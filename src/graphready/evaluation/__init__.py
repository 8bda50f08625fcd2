"""Evaluation: retrieval recall and answer quality on question sets, through the same retrieval
path that ``/chat`` uses."""
