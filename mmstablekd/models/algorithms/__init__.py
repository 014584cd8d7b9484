from .stablekd import StableKD

__all__ = ['StableKD']
