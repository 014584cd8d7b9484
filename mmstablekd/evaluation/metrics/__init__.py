from .retrieval_map import RetrievalMAP

__all__ = ['RetrievalMAP']
