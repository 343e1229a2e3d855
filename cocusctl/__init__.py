"""cocusctl: take the FastAPI RAG service from source to production on Google Cloud."""

__version__ = "0.1.0"
