"""Language: the LLM client, captions, number words, summaries and the owner's style."""
