from .adaptive_loss_aggregator import AdaptiveLossAggregator

__all__ = ['AdaptiveLossAggregator']
