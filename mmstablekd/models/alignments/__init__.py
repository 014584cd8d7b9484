from .boundary_alignments import BoundaryAlignments
from .conv_resize import ConvResize
from .pca_projection import PCAProjection

__all__ = ['BoundaryAlignments', 'ConvResize', 'PCAProjection']
