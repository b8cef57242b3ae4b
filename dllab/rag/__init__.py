"""Knowledge base for the chatbot: documents → chunks → embeddings → a ChromaDB index → ranked passages.

The public entry points are ``dllab.rag.index.build_index`` and ``dllab.rag.search.Retriever`` / ``search``.
"""
