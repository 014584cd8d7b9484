from .channel_selection import ChannelSelection
from .conv_bn_adapter import ConvBNAdapter

__all__ = ['ChannelSelection', 'ConvBNAdapter']
