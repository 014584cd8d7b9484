from .feature_mse_loss import FeatureMSELoss
from .kd_loss import KDLoss

__all__ = ['FeatureMSELoss', 'KDLoss']
