from .recomposition_hook import RecompositionHook

__all__ = ['RecompositionHook']
