from .conv_bn_adapter import ConvBNAdapter

__all__ = ['ConvBNAdapter']
