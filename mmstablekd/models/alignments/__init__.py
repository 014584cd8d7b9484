from .boundary_alignments import BoundaryAlignments
from .pca_projection import PCAProjection

__all__ = ['BoundaryAlignments', 'PCAProjection']
