from .portable_runner import PortableRunner
from .retrieval_loop import RetrievalTestLoop, RetrievalValLoop, embed_batch

__all__ = ['PortableRunner', 'RetrievalValLoop', 'RetrievalTestLoop',
           'embed_batch']
