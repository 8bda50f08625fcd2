"""The agent: chooses retrieval tools for a question and composes the answer with citations."""
