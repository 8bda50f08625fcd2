"""Language models behind the OpenAI chat API: the protocol, the client, the response cache."""
