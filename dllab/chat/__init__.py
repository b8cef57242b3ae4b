"""The voice chatbot: a local LLM answering from the knowledge base, with sources and two voices."""
