from .retrieval_loop import RetrievalTestLoop, RetrievalValLoop, embed_batch

__all__ = ['RetrievalValLoop', 'RetrievalTestLoop', 'embed_batch']
