"""Corpus loading, chunking, BM25, dense search and the on-disk index."""
